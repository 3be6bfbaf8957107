#!/usr/bin/env python3
"""Exports a PyTorch segmentation network to an ONNX folder Maskbeam runs: model.onnx + maskbeam-model.json.

    python3 export_pytorch.py --output=unet-onnx [--checkpoint=weights.pt] [--classes=camvid-11]
    java -jar pipelines/target/maskbeam.jar segment --model=unet-onnx --input='images/*.png' --output=out

The network here is a U-Net of the same shape as `maskbeam train`'s default (width 32, depth 4, 11 CamVid classes)
so that both backends can be measured side by side (`maskbeam bench segment --model=unet-onnx`); without
--checkpoint its weights are random (nothing is downloaded). For your own model, replace `build()` with your
network (MMSegmentation, segmentation_models.pytorch, torchvision) and keep the export call: a dynamic batch, height
and width, one image input, logits [N, C, H, W] out. The sidecar states the conventions Maskbeam cannot read from
the graph; see the README's "Models from PyTorch and other frameworks (ONNX)".
"""
import argparse
import json
import os

import torch
import torch.nn as nn

CAMVID = [("Sky", "#808080"), ("Building", "#800000"), ("Pole", "#c0c080"), ("Road", "#800080"),
          ("Pavement", "#3c28de"), ("Tree", "#808000"), ("SignSymbol", "#c08080"), ("Fence", "#404080"),
          ("Car", "#400080"), ("Pedestrian", "#404000"), ("Bicyclist", "#0080c0")]


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, classes, width=32, depth=4):
        super().__init__()
        chans = [width * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([block(3 if i == 0 else chans[i - 1], chans[i]) for i in range(depth)])
        self.bottom = block(chans[depth - 1], chans[depth])
        self.up = nn.ModuleList([nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))])
        self.dec = nn.ModuleList([block(chans[i] * 2, chans[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x):
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], 1))
        return self.head(x)


def build(classes):
    return UNet(classes)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--output", required=True)
    p.add_argument("--checkpoint", help="a state_dict saved with torch.save(model.state_dict(), path)")
    p.add_argument("--opset", type=int, default=13)
    a = p.parse_args()
    torch.manual_seed(0)
    model = build(len(CAMVID)).eval()
    if a.checkpoint:
        model.load_state_dict(torch.load(a.checkpoint, map_location="cpu"))
    os.makedirs(a.output, exist_ok=True)
    example = torch.zeros(1, 3, 64, 64)
    torch.onnx.export(model, example, os.path.join(a.output, "model.onnx"), input_names=["images"],
                      output_names=["logits"], opset_version=a.opset,
                      dynamic_axes={"images": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}})
    sidecar = {
        "format": "onnx",
        "numClasses": len(CAMVID),
        "ignoreValue": 11,
        "classes": [{"name": n, "color": c} for n, c in CAMVID],
        # Inputs: RGB, normalised with ImageNet's mean and std on the 0-255 scale (the defaults, written out);
        # the U-Net pools 4 times, so sizes are padded to multiples of 16.
        "onnx": {"layout": "NCHW", "dtype": "float32", "channelOrder": "RGB", "scale": "0-255",
                 "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375], "stride": 16,
                 "outputKind": "logits"},
    }
    with open(os.path.join(a.output, "maskbeam-model.json"), "w") as f:
        json.dump(sidecar, f, indent=2)
    print("wrote", a.output)


if __name__ == "__main__":
    main()
