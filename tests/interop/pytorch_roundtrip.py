#!/usr/bin/env python3
"""Weights cross between this engine and PyTorch, both ways, with identical outputs.

Needs torch and safetensors (`tests/requirements.txt`); not part of `cargo test`, which must
run without Python. From the repository root:

    python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt
    .venv/bin/python tests/interop/pytorch_roundtrip.py
"""
import os
import subprocess
import sys
import tempfile
from collections import OrderedDict

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file


def conv_autoencoder():
    """The lab's convolutional autoencoder, with the state-dict names the engine uses."""
    encoder = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 7))
    decoder = nn.Sequential(
        nn.ConvTranspose2d(64, 32, 7), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())
    return nn.Sequential(OrderedDict(encoder=encoder, decoder=decoder))


def rust(mode, folder):
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "tp-runner", "--example",
           "pytorch_interop", "--", mode, folder]
    print(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip())


def main():
    folder = tempfile.mkdtemp(prefix="tp-interop-")
    model = conv_autoencoder().eval()

    # Ours -> PyTorch: load_state_dict(strict=True) accepts the file, and outputs agree.
    rust("export", folder)
    model.load_state_dict(load_file(os.path.join(folder, "ours.safetensors")), strict=True)
    io = load_file(os.path.join(folder, "ours_io.safetensors"))
    with torch.no_grad():
        diff = (model(io["input"]) - io["output"]).abs().max().item()
    print(f"engine weights loaded in PyTorch; largest output difference: {diff:.3e}")
    assert diff < 1e-5, diff

    # PyTorch -> ours: fresh PyTorch weights, saved with safetensors' save_file.
    torch.manual_seed(1)
    model = conv_autoencoder().eval()
    with torch.no_grad():
        out = model(io["input"])
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(folder, "torch.safetensors"))
    save_file({"input": io["input"], "output": out}, os.path.join(folder, "torch_io.safetensors"))
    rust("import", folder)
    print("round trip OK")


if __name__ == "__main__":
    sys.exit(main())
