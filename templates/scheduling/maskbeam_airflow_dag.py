"""Airflow DAG: nightly incremental bulk segmentation, then evaluation, on Dataflow (Flex Templates) or on Spark.

Requires apache-airflow-providers-google (Dataflow) and apache-airflow-providers-apache-spark (Spark). Set the
Airflow Variables below; pick the runner with maskbeam_runner = "dataflow" or "spark".
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.google.cloud.operators.dataflow import DataflowStartFlexTemplateOperator

PROJECT = Variable.get("maskbeam_project", default_var="my-project")
REGION = Variable.get("maskbeam_region", default_var="europe-west1")
BUCKET = Variable.get("maskbeam_bucket", default_var="my-bucket")
RUNNER = Variable.get("maskbeam_runner", default_var="dataflow")
SPARK_JAR = Variable.get("maskbeam_spark_jar", default_var="/opt/maskbeam/maskbeam-spark.jar")
# Beam's Spark runner starts its own context from --sparkMaster: give it the cluster the connection submits to.
SPARK_MASTER = Variable.get("maskbeam_spark_master", default_var="spark://spark-master:7077")
OPENS = " ".join(
    ["-XX:+IgnoreUnrecognizedVMOptions", "-Djdk.reflect.useDirectMethodHandle=false"]
    + [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util",
        "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref", "sun.nio.ch", "sun.nio.cs",
        "sun.security.action", "sun.util.calendar")])

SEGMENT = {
    "model": f"gs://{BUCKET}/models/camvid",
    "input": f"gs://{BUCKET}/photos/**.jpg",
    "output": f"gs://{BUCKET}/segmented",
    "incremental": "true",
}
EVALUATE = {
    "predictions": f"gs://{BUCKET}/segmented/masks",
    "masks": f"gs://{BUCKET}/annotations",
    "labelMap": "camvid-11",
    "output": f"gs://{BUCKET}/evaluation/{{{{ ds }}}}",
}

with DAG(
    dag_id="maskbeam_nightly_segmentation",
    start_date=datetime(2026, 11, 1),
    schedule="15 2 * * *",
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
) as dag:
    if RUNNER == "dataflow":
        def flex(task_id, template, params, experiments=()):
            return DataflowStartFlexTemplateOperator(
                task_id=task_id,
                project_id=PROJECT,
                location=REGION,
                body={"launchParameter": {
                    "jobName": f"maskbeam-{task_id}-{{{{ ds_nodash }}}}",
                    "containerSpecGcsPath": f"gs://{BUCKET}/templates/{template}.json",
                    "parameters": params,
                    "environment": {"additionalExperiments": list(experiments)},
                }},
            )
        segment = flex("segment", "segment",
                       {**SEGMENT, "acceleratorType": "type:nvidia-tesla-t4;count:1;install-nvidia-driver"},
                       experiments=["use_runner_v2"])
        evaluate = flex("evaluate", "evaluate", EVALUATE)
    else:
        def spark(task_id, command, params):
            return SparkSubmitOperator(
                task_id=task_id,
                application=SPARK_JAR,
                java_class="io.maskbeam.pipelines.Maskbeam",
                conf={"spark.executor.extraJavaOptions": OPENS, "spark.driver.extraJavaOptions": OPENS},
                application_args=[command, "--runner=SparkRunner", f"--sparkMaster={SPARK_MASTER}"]
                + (["--inferenceThreads=1"] if command == "segment" else [])
                + [f"--{k}={v}" for k, v in params.items()],
            )
        segment = spark("segment", "segment", SEGMENT)
        evaluate = spark("evaluate", "evaluate", EVALUATE)
    segment >> evaluate
