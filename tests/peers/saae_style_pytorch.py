#!/usr/bin/env python3
"""PyTorch twin of the 10-D runs of `tp style` (crates/models/src/aae_supervised.rs,
crates/runner/src/experiments/style.rs): the supervised adversarial autoencoder, and the same
model with an MMD per digit in place of its discriminator, on the same IDX files, so that
their probes and test MSEs can sit beside ours.

The model: encoder 784-256-256-s, decoder (10 + s)-256-256-784 fed the one-hot digit beside
the style code (sigmoid, BCE). The adversarial run: each step the reconstruction (Adam 1e-3),
then a discriminator (s + 10)-128-128-1 reading the code beside the one-hot digit on N(0, I)
draws against the codes, then the encoder fooling it (both Adams 1e-3, β₁ 0.5). The MMD run
(--mmd λ): no discriminator; the reconstruction's loss carries λ·Σ_d (n_d/n)·MMD²(the batch's
codes of digit d, 64 N(0, I) draws), inverse multiquadric kernel C/(C + ‖x − y‖²), C = 2s
(`models::mmd::imq_mmd2`). Batch 64, 30 epochs. The probe: a softmax regression on the standardized
training codes, scored on the test codes (full-batch Adam, not `tp`'s minibatch fit).

  python tests/peers/saae_style_pytorch.py --data datasets/mnist-sample --seed 0

(torch and numpy: `tests/requirements.txt`.) Its numbers on datasets/mnist-sample (torch 2.x
CPU, the command above with seeds 0 and 1), beside `tp style` (same seeds, 30 epochs):

    run                       probe (PyTorch / tp)          test MSE (PyTorch / tp)
    discriminator, seed 0     35.9% / 44.6%                 0.0394 / 0.0374
    discriminator, seed 1     43.7% / 40.0%                 0.0374 / 0.0397
    MMD λ 10, seed 0          13.0% / 12.2%                 0.0323 / 0.0315
    MMD λ 10, seed 1          13.4% / 12.6%                 0.0302 / 0.0316

Chance is 11.35% (the share of 1s among the test digits); "near chance" in the report is
below 20.2%.
"""

import argparse
import gzip
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path, header, shape):
    with gzip.open(path) as f:
        data = f.read()
    return np.frombuffer(data[header:], np.uint8).reshape(shape)


def load(data):
    def images(name):
        raw = read_idx(os.path.join(data, name), 16, (-1, 784))
        return torch.tensor(raw.astype(np.float32) / 255.0)

    def labels(name):
        return torch.tensor(read_idx(os.path.join(data, name), 8, (-1,)).astype(np.int64))

    return (
        images("train-images-idx3-ubyte.gz"),
        labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        labels("t10k-labels-idx1-ubyte.gz"),
    )


def mlp(*sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# At least this many N(0, I) draws per digit (`models::aae_supervised::MMD_PRIOR_DRAWS`).
PRIOR_DRAWS = 64


def imq_mmd2(a, b):
    """Unbiased MMD² between the rows of a and b, kernel C/(C + ‖x − y‖²), C = 2·dim."""
    c = 2.0 * a.shape[1]

    def k(u, v):
        return c / (c + torch.cdist(u, v) ** 2)

    def within(m):
        n = len(m)
        return (m.sum() - m.diagonal().sum()) / (n * (n - 1))

    return within(k(a, a)) + within(k(b, b)) - 2 * k(a, b).mean()


def run(job):
    style, lam, epochs, seed, data = job
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = load(data)
    encoder, decoder = mlp(784, 256, 256, style), mlp(10 + style, 256, 256, 784)
    critic = mlp(style + 10, 128, 128, 1)
    o_rec = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), 1e-3)
    o_critic = torch.optim.Adam(critic.parameters(), 1e-3, betas=(0.5, 0.999))
    o_gen = torch.optim.Adam(encoder.parameters(), 1e-3, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        order = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = order[i : i + 64]
            x, y = xtr[idx], ytr[idx]
            n, onehot = len(x), F.one_hot(y, 10).float()
            z = encoder(x)
            loss = F.binary_cross_entropy_with_logits(decoder(torch.cat([onehot, z], 1)), x)
            if lam > 0:  # the MMD run: no discriminator
                for d in range(10):
                    zd = z[y == d]
                    if len(zd) >= 2:
                        draws = torch.randn(max(len(zd), PRIOR_DRAWS), style)
                        loss = loss + lam * len(zd) / n * imq_mmd2(zd, draws)
            o_rec.zero_grad()
            loss.backward()
            o_rec.step()
            if lam > 0:
                continue
            with torch.no_grad():
                fake = encoder(x)
            real = torch.randn(n, style)
            d_loss = bce(critic(torch.cat([real, onehot], 1)), torch.ones(n, 1)) + bce(
                critic(torch.cat([fake, onehot], 1)), torch.zeros(n, 1)
            )
            o_critic.zero_grad()
            d_loss.backward()
            o_critic.step()
            g_loss = bce(critic(torch.cat([encoder(x), onehot], 1)), torch.ones(n, 1))
            o_gen.zero_grad()
            g_loss.backward()
            o_gen.step()
    with torch.no_grad():
        ztr, zte = encoder(xtr), encoder(xte)
        out = torch.sigmoid(decoder(torch.cat([F.one_hot(yte, 10).float(), zte], 1)))
        mse = F.mse_loss(out, xte).item()
    mean, sd = ztr.mean(0), ztr.std(0) + 1e-6
    head = nn.Linear(style, 10)
    opt = torch.optim.Adam(head.parameters(), 1e-2)
    train_codes, test_codes = (ztr - mean) / sd, (zte - mean) / sd
    for _ in range(300):
        probe_loss = F.cross_entropy(head(train_codes), ytr)
        opt.zero_grad()
        probe_loss.backward()
        opt.step()
    probe = (head(test_codes).argmax(1) == yte).float().mean().item()
    return job[:2], probe, mse


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="datasets/mnist-sample")
    p.add_argument("--style", type=int, default=10)
    p.add_argument("--mmd", type=float, nargs="+", default=[0.0, 10.0],
                   help="0: the adversarial run; λ > 0: the MMD per digit in its place")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2)
    a = p.parse_args()
    jobs = [(a.style, lam, a.epochs, a.seed, a.data) for lam in a.mmd]
    with ProcessPoolExecutor(a.jobs) as pool:
        for (style, lam), probe, mse in pool.map(run, jobs):
            kind = f"MMD per digit λ {lam:g}" if lam > 0 else "discriminator"
            print(f"style {style}, {kind}: probe {100 * probe:.1f}%, "
                  f"test MSE {mse:.4f}", flush=True)


if __name__ == "__main__":
    main()
