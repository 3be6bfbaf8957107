#!/usr/bin/python3
"""Writes the ONNX fixtures of OnnxModelTest and PyTorch's answers for them.

Run once with Debian's PyTorch (apt-get install python3-torch python3-onnx; /usr/bin/python3 make_fixtures.py) from
this folder; the outputs are committed beside this script, so the tests need neither PyTorch nor Python. Every
network is small and seeded: the point is the conventions (layout, dtype, normalisation, output kind, output
resolution), not accuracy.

Written here:
  images/*.png                 RGB test images (two 40x56, two 32x32)
  nchw_float.onnx              NCHW float32 input normalised with ImageNet's mean/std on the 0-255 scale (the
                               defaults: MMSegmentation's and torchvision's exports), dynamic batch/height/width,
                               logits [N, 4, H, W] at full resolution
  nhwc_uint8/model.onnx        NHWC uint8 input of a fixed 32x32 size (the model scales and normalises inside),
  nhwc_uint8/maskbeam-model.json  the sidecar naming those conventions and the classes
  downsampled.onnx             logits at 1/4 of the input resolution (average pooling), dynamic size
  classes.onnx                 class ids [N, H, W] (arg-max inside the graph): the class count cannot be read from
                               the graph, so it needs a sidecar
  rank2.onnx                   a classifier taking [N, 3]: not an image model
  opset99.onnx                 nchw_float.onnx stamped with an opset no runtime has
  nhwc_logits.onnx             nchw_float's network with its logits permuted to [N, H, W, C]
  expected/<model>.<image>.png PyTorch's class ids (8-bit grey PNG)
  expected/nchw_float.a.npy    PyTorch's softmax probabilities [H, W, C] for image a
For downsampled.onnx the reference is what Maskbeam documents: softmax, bilinear resize of the probabilities to the
input size (half-pixel centres, align_corners=False), then arg-max.
"""
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from PIL import Image

torch.manual_seed(7)
rng = np.random.default_rng(7)
os.makedirs("images", exist_ok=True)
os.makedirs("expected", exist_ok=True)
os.makedirs("nhwc_uint8", exist_ok=True)
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
CLASSES = 4


def scene(h, w):
    """A background gradient with a few coloured discs and boxes: regions a conv net labels differently."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, np.full((h, w), 90)], axis=-1).astype(np.float64)
    for _ in range(4):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(4, 12)
        colour = rng.integers(0, 256, 3)
        img[(y - cy) ** 2 + (x - cx) ** 2 <= r * r] = colour
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


images = {"a": scene(40, 56), "b": scene(40, 56), "c": scene(32, 32), "d": scene(32, 32)}
for name, img in images.items():
    Image.fromarray(img, "RGB").save(f"images/{name}.png")


def sharpen(head, gain):
    """Random heads give nearly one class everywhere; a larger gain and no bias let the image decide."""
    with torch.no_grad():
        head.weight.mul_(gain)
        head.bias.zero_()


def body(cin=3):
    layers = torch.nn.Sequential(
        torch.nn.Conv2d(cin, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, CLASSES, 1))
    sharpen(layers[-1], 6.0)
    return layers


def nchw(img):
    return torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float()


def save_labels(model_name, image_name, logits_or_probs):
    labels = logits_or_probs.argmax(1)[0].numpy().astype(np.uint8)
    Image.fromarray(labels, "L").save(f"expected/{model_name}.{image_name}.png")


def export(model, example, path, dynamic, input_names=("images",), output_names=("logits",)):
    torch.onnx.export(model, example, path, input_names=list(input_names), output_names=list(output_names),
                      opset_version=13, dynamic_axes=dynamic)


# 1. NCHW float32, normalised outside the graph (the defaults), dynamic size.
net = body().eval()
dyn = {"images": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}}
export(net, (nchw(images["a"]) - MEAN) / STD, "nchw_float.onnx", dyn)
with torch.no_grad():
    for name in ("a", "b"):
        logits = net((nchw(images[name]) - MEAN) / STD)
        save_labels("nchw_float", name, logits)
        if name == "a":
            np.save("expected/nchw_float.a.npy", F.softmax(logits, 1)[0].permute(1, 2, 0).numpy().astype(np.float32))


# 2. NHWC uint8 of a fixed 32x32 size; scaling and normalisation inside the graph.
class Uint8Nhwc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = body()

    def forward(self, x):
        x = x.permute(0, 3, 1, 2).float() / 255.0
        return self.net((x - 0.5) / 0.25)


u8 = Uint8Nhwc().eval()
export(u8, torch.from_numpy(images["c"]).unsqueeze(0), "nhwc_uint8/model.onnx", None)
with torch.no_grad():
    for name in ("c", "d"):
        save_labels("nhwc_uint8", name, u8(torch.from_numpy(images[name]).unsqueeze(0)))
with open("nhwc_uint8/maskbeam-model.json", "w") as f:
    f.write("""{
  "format": "onnx",
  "numClasses": 4,
  "classes": [
    {"name": "background", "color": "#000000"},
    {"name": "disc", "color": "#e6194b"},
    {"name": "box", "color": "#3cb44b"},
    {"name": "edge", "color": "#4363d8"}
  ],
  "onnx": {"layout": "NHWC", "dtype": "uint8"}
}
""")


# 3. Logits at a quarter of the input resolution.
class Downsampled(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                            torch.nn.AvgPool2d(4))
        self.head = torch.nn.Conv2d(8, CLASSES, 1)
        sharpen(self.head, 6.0)

    def forward(self, x):
        return self.head(self.features(x))


down = Downsampled().eval()
export(down, (nchw(images["a"]) - MEAN) / STD, "downsampled.onnx", dyn)
with torch.no_grad():
    for name in ("a", "b"):
        x = (nchw(images[name]) - MEAN) / STD
        probs = F.interpolate(F.softmax(down(x), 1), size=x.shape[2:], mode="bilinear", align_corners=False)
        save_labels("downsampled", name, probs)


# 4. Class ids from the graph.
class Classes(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x).argmax(1)


export(Classes(net).eval(), (nchw(images["a"]) - MEAN) / STD, "classes.onnx",
       {"images": {0: "n", 2: "h", 3: "w"}, "classes": {0: "n", 1: "h", 2: "w"}}, output_names=("classes",))

# 5. Models that are not usable as segmentation models.
export(torch.nn.Linear(3, 2).eval(), torch.zeros(1, 3), "rank2.onnx", {"images": {0: "n"}})
m = onnx.load("nchw_float.onnx")
m.opset_import[0].version = 99
onnx.save(m, "opset99.onnx")


# 6. Logits laid out NHWC ([N, H, W, C], as TensorFlow-converted models give them): the same network as 1 with its
# output permuted, so its answers are nchw_float's.
class ChannelsLast(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x).permute(0, 2, 3, 1)


export(ChannelsLast(net).eval(), (nchw(images["a"]) - MEAN) / STD, "nhwc_logits.onnx",
       {"images": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 1: "h", 2: "w"}})
print("fixtures written:", sorted(os.listdir(".")))
