package io.maskbeam.labels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

class LabelMapsTest {

  @Test
  void cityscapes8GroupsLabelIdsIntoCategories() {
    LabelMap m = LabelMaps.preset("cityscapes-8");
    assertThat(m.numClasses()).isEqualTo(8);
    assertThat(m.classes()).extracting(LabelClass::name)
        .containsExactly("void", "flat", "construction", "object", "nature", "sky", "human", "vehicle");
    assertThat(m.mapRaw(0)).isEqualTo(0);   // unlabeled -> void
    assertThat(m.mapRaw(7)).isEqualTo(1);   // road -> flat
    assertThat(m.mapRaw(11)).isEqualTo(2);  // building -> construction
    assertThat(m.mapRaw(20)).isEqualTo(3);  // traffic sign -> object
    assertThat(m.mapRaw(22)).isEqualTo(4);  // terrain -> nature
    assertThat(m.mapRaw(23)).isEqualTo(5);  // sky
    assertThat(m.mapRaw(25)).isEqualTo(6);  // rider -> human
    assertThat(m.mapRaw(33)).isEqualTo(7);  // bicycle -> vehicle
    assertThat(m.mapRaw(34)).isEqualTo(LabelMap.UNKNOWN);
    assertThat(m.mapRaw(255)).isEqualTo(255);
  }

  @Test
  void cityscapes19UsesTrainIdsAndIgnoresTheRest() {
    LabelMap m = LabelMaps.preset("cityscapes-19");
    assertThat(m.numClasses()).isEqualTo(19);
    assertThat(m.mapRaw(7)).isEqualTo(0);
    assertThat(m.mapRaw(26)).isEqualTo(13);
    assertThat(m.mapRaw(33)).isEqualTo(18);
    assertThat(m.mapRaw(9)).isEqualTo(255);  // parking is not trained
    assertThat(m.classes().get(0).name()).isEqualTo("road");
    assertThat(m.classes().get(0).hexColor()).isEqualTo("#804080");
  }

  @Test
  void vocAndPetsAndCamvidPresets() {
    LabelMap voc = LabelMaps.preset("voc");
    assertThat(voc.numClasses()).isEqualTo(21);
    assertThat(voc.mapRaw(15)).isEqualTo(15);
    assertThat(voc.mapRaw(255)).isEqualTo(255);
    assertThat(voc.mapRaw(21)).isEqualTo(LabelMap.UNKNOWN);
    assertThat(voc.classes().get(1).hexColor()).isEqualTo("#800000");
    assertThat(voc.mapColor(0xe0e0c0)).isEqualTo(255);

    LabelMap pets = LabelMaps.preset("pets-trimap");
    assertThat(new int[] {pets.mapRaw(1), pets.mapRaw(2), pets.mapRaw(3)}).containsExactly(1, 0, 2);

    LabelMap camvid = LabelMaps.preset("camvid-11");
    assertThat(camvid.numClasses()).isEqualTo(11);
    assertThat(camvid.mapRaw(10)).isEqualTo(10);
    assertThat(camvid.mapRaw(11)).isEqualTo(255);
    assertThat(camvid.mapRaw(12)).isEqualTo(LabelMap.UNKNOWN);
    assertThat(camvid.mapColor(0x804080)).isEqualTo(3);  // road colour
    assertThat(camvid.mapColor(0x000000)).isEqualTo(255); // void colour
  }

  @Test
  void valuesMapManyRawValuesToAClass() {
    LabelMap m = LabelMaps.parse("{\"values\": {\"0\": 0, \"10\": 1, \"20\": 1, \"30\": 2}}", "t");
    assertThat(m.numClasses()).isEqualTo(3);
    assertThat(m.mapRaw(20)).isEqualTo(1);
    assertThat(m.mapRaw(5)).isEqualTo(LabelMap.UNKNOWN);
    assertThat(m.mapRaw(255)).isEqualTo(255);
    assertThat(m.classes().get(2).name()).isEqualTo("class_2");
  }

  /** SageMaker's documented example: {"map": {"0": 5, "1": 0, "2": 2}} turns encoded [0, 5, 2] into [1, 0, 2]. */
  @Test
  void sageMakerMapGoesFromClassToEncodedValue() {
    LabelMap m = LabelMaps.parse("{\"map\": {\"0\": 5, \"1\": 0, \"2\": 2}}", "sagemaker");
    assertThat(m.numClasses()).isEqualTo(3);
    assertThat(new int[] {m.mapRaw(0), m.mapRaw(5), m.mapRaw(2)}).containsExactly(1, 0, 2);
    assertThat(m.mapRaw(1)).isEqualTo(LabelMap.UNKNOWN);
    assertThatThrownBy(() -> LabelMaps.parse("{\"map\": {\"0\": 5, \"1\": 5}}", "x"))
        .hasMessageContaining("raw value 5 is given to classes 0 and 1");
  }

  /** SageMaker's scale rounds down: with scale 3, 0..2 are class 0, 3..5 class 1 (its docs: "the greatest integer"). */
  @Test
  void sageMakerScaleRoundsDown() {
    LabelMap m = LabelMaps.parse("{\"scale\": \"3\", \"classes\": [\"a\", \"b\", \"c\"]}", "t");
    assertThat(new int[] {m.mapRaw(0), m.mapRaw(2), m.mapRaw(3), m.mapRaw(7), m.mapRaw(8)})
        .containsExactly(0, 0, 1, 2, 2);
    assertThat(m.mapRaw(9)).isEqualTo(LabelMap.UNKNOWN);
    assertThat(m.mapRaw(255)).isEqualTo(255);
  }

  @Test
  void coloursMapColourCodedMasks() {
    LabelMap m = LabelMaps.parse(
        "{\"classes\": [\"bg\", \"cat\"], \"colors\": {\"#000000\": 0, \"255,0,0\": 1, \"#ffffff\": 255}}", "t");
    assertThat(m.hasColorTable()).isTrue();
    assertThat(m.mapColor(0xff0000)).isEqualTo(1);
    assertThat(m.mapColor(0xffffff)).isEqualTo(255);
    assertThat(m.mapColor(0x00ff00)).isEqualTo(LabelMap.UNKNOWN);
  }

  @Test
  void badLabelMapsFailWithMessagesNamingTheProblem() {
    assertThatThrownBy(() -> LabelMaps.parse("{not json", "x")).hasMessageContaining("not valid JSON");
    assertThatThrownBy(() -> LabelMaps.parse("{\"scal\": 3}", "x")).hasMessageContaining("unknown key \"scal\"");
    assertThatThrownBy(() -> LabelMaps.parse("{\"values\": {\"1\": 5}, \"classes\": [\"a\", \"b\"]}", "x"))
        .hasMessageContaining("maps to class 5 but declares only 2");
    assertThatThrownBy(() -> LabelMaps.parse("{\"classes\": [\"a\"], \"ignoreValue\": 0}", "x"))
        .hasMessageContaining("ignore value 0");
    assertThatThrownBy(() -> LabelMaps.preset("ade20k")).hasMessageContaining("presets:");
    assertThatThrownBy(() -> LabelMaps.parse("{\"map\": {\"1\": 1}, \"scale\": 2}", "x"))
        .hasMessageContaining("give one of");
  }

  @Test
  void serializedFormIsCompactAndRestoresTheTable() throws Exception {
    LabelMap m = LabelMaps.preset("cityscapes-19");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(m);
    }
    assertThat(bytes.size()).isLessThan(16 * 1024);
    LabelMap back;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      back = (LabelMap) in.readObject();
    }
    assertThat(back).isEqualTo(m);
    for (int raw = 0; raw <= LabelMap.MAX_RAW_VALUE; raw++) {
      assertThat(back.mapRaw(raw)).isEqualTo(m.mapRaw(raw));
    }
  }

  @Test
  void vocPaletteMatchesTheReferenceColours() {
    assertThat(LabelMaps.vocColor(0)).isEqualTo(0x000000);
    assertThat(LabelMaps.vocColor(1)).isEqualTo(0x800000);
    assertThat(LabelMaps.vocColor(2)).isEqualTo(0x008000);
    assertThat(LabelMaps.vocColor(15)).isEqualTo(0xc08080); // person
  }
}
