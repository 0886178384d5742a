#!/usr/bin/env python3
"""PyTorch twin of the lab's models that ../shared/peers/pytorch/tp5.py lacks: the pooling
convolutional autoencoder (4,385 parameters), trained like tp5.py trains the others (Adam
1e-3, batch 64, PyTorch default init) but on the binary cross-entropy, as the course trains it
(with the MSE it collapses to an all-black output in both engines: `--loss mse`), so `tp all`'s test MSE can be compared.

  python tests/peers/lab_pytorch.py --data datasets/mnist-sample --epochs 10

(torch and numpy: `tests/requirements.txt`; `just peers` runs it in ../shared's venv.)

Prints one JSON line: parameters, seconds per epoch, test MSE.
"""
import argparse
import gzip
import json
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_images(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    _, n, h, w = struct.unpack(">IIII", raw[:16])
    x = np.frombuffer(raw, dtype=np.uint8, count=n * h * w, offset=16).astype(np.float32) / 255
    return torch.from_numpy(x.reshape(n, 1, h, w))


def conv_pool():
    same = lambda i, o: nn.Conv2d(i, o, 3, padding=1)
    encoder = nn.Sequential(same(1, 16), nn.ReLU(), nn.MaxPool2d(2),
                            same(16, 8), nn.ReLU(), nn.MaxPool2d(2),
                            same(8, 8), nn.ReLU(), nn.MaxPool2d(2, padding=1))       # 8x4x4
    decoder = nn.Sequential(same(8, 8), nn.ReLU(), nn.Upsample(scale_factor=2),       # 8x8x8
                            same(8, 8), nn.ReLU(), nn.Upsample(scale_factor=2),       # 8x16x16
                            nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Upsample(scale_factor=2),  # 16x28x28
                            same(16, 1), nn.Sigmoid())
    return nn.Sequential(encoder, decoder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="datasets/mnist-sample")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--loss", choices=["mse", "bce"], default="bce",
                    help="training loss (tp trains conv_pool with BCE: with MSE it collapses to black)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train = load_images(f"{args.data}/train-images-idx3-ubyte.gz")
    x_test = load_images(f"{args.data}/t10k-images-idx3-ubyte.gz")
    model = conv_pool()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    secs, curve = [], []
    for _ in range(args.epochs):
        model.train()
        xs = x_train[torch.randperm(len(x_train))]
        t0 = time.perf_counter()
        for i in range(0, len(xs), 64):
            x = xs[i:i + 64]
            opt.zero_grad(set_to_none=True)
            y = model(x)
            loss = F.binary_cross_entropy(y, x) if args.loss == "bce" else F.mse_loss(y, x)
            loss.backward()
            opt.step()
        secs.append(time.perf_counter() - t0)
        model.eval()
        with torch.no_grad():
            se = sum(float((model(x_test[i:i + 1000]) - x_test[i:i + 1000]).pow(2).sum())
                     for i in range(0, len(x_test), 1000))
        curve.append(se / x_test.numel())
    print(json.dumps({"model": "conv_pool", "params": sum(p.numel() for p in model.parameters()),
                      "epochs": args.epochs, "seed": args.seed, "loss": args.loss,
                      "train_seconds_per_epoch": sum(secs) / len(secs),
                      "test_mse": curve[-1], "test_mse_per_epoch": curve}))


if __name__ == "__main__":
    main()
