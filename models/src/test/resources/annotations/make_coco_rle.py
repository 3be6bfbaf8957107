"""Writes coco_rle_reference.json: masks with the RLE that the reference pycocotools computes for them.

Run once with pycocotools installed (pip install pycocotools); the JSON is committed so tests need no Python.
CocoRleTest checks Maskbeam's encoder and decoder against every case bit for bit.
"""
import importlib.metadata
import json

import numpy as np
import pycocotools.mask as coco

rng = np.random.default_rng(20261203)
cases = []


def add(name, mask):
    mask = np.asfortranarray(mask.astype(np.uint8))
    rle = coco.encode(mask)
    cases.append({
        "name": name,
        "height": int(mask.shape[0]),
        "width": int(mask.shape[1]),
        "rows": ["".join(str(int(v)) for v in row) for row in mask],
        "counts": rle["counts"].decode("ascii"),
        "area": int(coco.area(rle)),
        "bbox": [float(v) for v in coco.toBbox(rle)],
    })


add("empty", np.zeros((4, 5)))
add("full", np.ones((3, 7)))
small = np.zeros((4, 5)); small[1:3, 1:4] = 1
add("block", small)
first = np.zeros((6, 6)); first[0, 0] = 1; first[5, 5] = 1
add("corners", first)
for i in range(4):
    h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
    add(f"noise-{i}", rng.random((h, w)) < 0.3)
yy, xx = np.mgrid[0:200, 0:300]
blob = ((xx - 150) ** 2 / 90 ** 2 + (yy - 100) ** 2 / 60 ** 2) < 1
blob &= ~(((xx - 150) ** 2 + (yy - 100) ** 2) < 20 ** 2)
add("ellipse-with-hole-300x200", blob)
stripes = np.zeros((1000, 40)); stripes[:, ::7] = 1; stripes[400:900, 20:35] = 1
add("long-runs", stripes)

with open("coco_rle_reference.json", "w") as f:
    json.dump({"generator": "pycocotools " + importlib.metadata.version("pycocotools"), "cases": cases}, f)
