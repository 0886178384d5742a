#!/usr/bin/env python3
"""PyTorch twin of the pre-training protocol of `tp features` (crates/runner/src/experiments/
features.rs), on the same IDX files, so its numbers can sit beside ours.

The strided conv autoencoder (210,369 parameters) and its denoising twin (inputs x + N(0, 0.5²)
clipped to [0, 1], fresh noise every batch) are pre-trained on every training image without
labels, as `tp` trains them (Adam 1e-3, batch 64, MSE, 10 epochs, PyTorch default init). Then,
for 100 and 1,000 labels (the first N training images) and seeds 0, 1, 2:

- 20% of the labelled images are held out for validation (a draw per seed);
- every arm keeps the learning rate and the pass with the best validation accuracy (ties: the
  lower validation loss), with early stopping: at most 100 passes in batches of 32 on 80
  images, 20 in batches of 64 on 800, stopped after a fifth of them without improvement;
- from scratch: encoder + linear head, Adam at 1e-4, 3e-4 or 1e-3;
- probe: a linear head on the frozen code, standardized by the moments of every training
  code, Adam at 1e-3, 3e-3 or 1e-2;
- fine-tuned: that head (standardization folded in) and the encoder together, from the probe
  (pass 0 a candidate), Adam at 1e-4, 3e-4 or 1e-3.

  python tests/peers/pretrain_pytorch.py --data datasets/mnist-sample

(torch and numpy: `tests/requirements.txt`.) Prints one JSON line per (budget, arm) with the
test accuracy per seed, mean and standard deviation, then a summary line.

Its numbers on datasets/mnist-sample (torch 2.x CPU, the command above, seeds 0-2; test
accuracy, mean ± sd), beside `tp features`' own at the time this script was written:

    labels  arm                              PyTorch        tp
    100     from scratch                     67.9 ± 1.1%    68.5 ± 2.5%
    100     autoencoder: probe               68.6 ± 0.7%    67.7 ± 2.2%
    100     autoencoder: fine-tuned          69.0 ± 0.9%    67.5 ± 2.1%
    100     denoising: probe                 66.5 ± 0.8%    68.1 ± 0.4%
    100     denoising: fine-tuned            66.6 ± 0.9%    68.0 ± 0.2%
    1,000   from scratch                     86.5 ± 0.4%    86.5 ± 0.3%
    1,000   autoencoder: probe               86.1 ± 0.1%    85.7 ± 0.3%
    1,000   autoencoder: fine-tuned          86.5 ± 0.5%    86.7 ± 0.3%
    1,000   denoising: probe                 85.1 ± 0.4%    85.2 ± 0.2%
    1,000   denoising: fine-tuned            85.5 ± 0.3%    85.7 ± 0.4%

In both engines no pre-trained arm beats training from scratch by more than the seeds' spread.
"""
import argparse
import copy
import gzip
import json
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from lab_pytorch import load_images  # the same IDX reader as the lab's twin (this folder)


def load_labels(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    _, n = struct.unpack(">II", raw[:8])
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, count=n, offset=8).astype(np.int64))


def conv_autoencoder():
    encoder = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Conv2d(32, 64, 7))                                  # 64x1x1
    decoder = nn.Sequential(nn.ConvTranspose2d(64, 32, 7), nn.ReLU(),
                            nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.ReLU(),
                            nn.ConvTranspose2d(16, 1, 3, 2, 1, output_padding=1), nn.Sigmoid())
    return nn.Sequential(encoder, decoder)


def pretrain(x_train, noise, epochs, seed):
    torch.manual_seed(seed)
    model = conv_autoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        xs = x_train[torch.randperm(len(x_train), generator=g)]
        for i in range(0, len(xs), 64):
            y = xs[i:i + 64]
            x = y if noise == 0 else (y + noise * torch.randn(y.shape, generator=g)).clamp(0, 1)
            opt.zero_grad(set_to_none=True)
            F.mse_loss(model(x), y).backward()
            opt.step()
    return nn.Sequential(model[0], nn.Flatten())


@torch.no_grad()
def scores(model, x, y):
    model.eval()
    logits = torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    return (logits.argmax(1) == y).float().mean().item(), F.cross_entropy(logits, y).item()


def fit_early(model, xt, yt, xv, yv, lr, max_epochs, patience, batch, seed):
    """Adam on the trainable parameters, early stopping on (validation accuracy, −loss)."""
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    g = torch.Generator().manual_seed(seed)
    best = (0, scores(model, xv, yv))
    state = copy.deepcopy(model.state_dict())
    beats = lambda a, b: a[0] > b[0] or (a[0] == b[0] and a[1] < b[1])
    for epoch in range(1, max_epochs + 1):
        model.train()
        order = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), batch):
            idx = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
        now = scores(model, xv, yv)
        if beats(now, best[1]):
            best, state = (epoch, now), copy.deepcopy(model.state_dict())
        elif epoch - best[0] >= patience:
            break
    model.load_state_dict(state)
    return best


def choose(lrs, make, train):
    best = None
    for lr in lrs:
        model = make()
        epoch, s = train(model, lr)
        if best is None or s[0] > best[3][0] or (s[0] == best[3][0] and s[1] < best[3][1]):
            best = (model, lr, epoch, s)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="datasets/mnist-sample")
    ap.add_argument("--epochs", type=int, default=10, help="autoencoder pre-training epochs")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    x_train = load_images(f"{args.data}/train-images-idx3-ubyte.gz")
    y_train = load_labels(f"{args.data}/train-labels-idx1-ubyte.gz")
    x_test = load_images(f"{args.data}/t10k-images-idx3-ubyte.gz")
    y_test = load_labels(f"{args.data}/t10k-labels-idx1-ubyte.gz")
    encoders = {"autoencoder": pretrain(x_train, 0.0, args.epochs, 0),
                "denoising autoencoder (σ = 0.5)": pretrain(x_train, 0.5, args.epochs, 0)}
    codes = {}
    with torch.no_grad():
        for name, enc in encoders.items():
            enc.eval()
            train_codes, test_codes = enc(x_train), enc(x_test)
            mean, std = train_codes.mean(0), train_codes.std(0, unbiased=False).clamp_min(1e-6)
            codes[name] = ((train_codes - mean) / std, (test_codes - mean) / std, mean, std)
    network_lrs, head_lrs = [1e-4, 3e-4, 1e-3], [1e-3, 3e-3, 1e-2]
    results = {}
    for count in (100, 1000):
        val = round(0.2 * count)
        n_fit = count - val
        max_epochs, batch = (100, 32) if n_fit <= 100 else (20, 64)
        patience = -(-max_epochs // 5)
        arms = {}
        for seed in range(args.seeds):
            g = torch.Generator().manual_seed(1000 + seed)
            order = torch.randperm(count, generator=g)
            vi, ti = order[:val], order[val:]
            xt, yt, xv, yv = x_train[ti], y_train[ti], x_train[vi], y_train[vi]

            def head():
                torch.manual_seed(2000 + seed)
                return nn.Linear(64, 10)

            def fit(model, lr, xt=xt, xv=xv):
                return fit_early(model, xt, yt, xv, yv, lr, max_epochs, patience, batch, 3000 + seed)

            def scratch():
                torch.manual_seed(4000 + seed)
                return nn.Sequential(conv_autoencoder()[0], nn.Flatten(), head())

            net, lr, ep, v = choose(network_lrs, scratch, fit)
            arms.setdefault("from scratch", []).append(
                dict(lr=lr, epochs=ep, validation=v[0], test=scores(net, x_test, y_test)[0]))
            for name, enc in encoders.items():
                train_codes, test_codes, mean, std = codes[name]
                ct, cv = train_codes[ti], train_codes[vi]
                probe, lr, ep, v = choose(head_lrs, head,
                                          lambda m, lr: fit(m, lr, xt=ct, xv=cv))
                arms.setdefault(f"{name}: probe (frozen code)", []).append(
                    dict(lr=lr, epochs=ep, validation=v[0], test=scores(probe, test_codes, y_test)[0]))
                folded = copy.deepcopy(probe)
                with torch.no_grad():
                    folded.weight /= std
                    folded.bias -= folded.weight @ mean

                def fine_tune():
                    e = copy.deepcopy(enc)
                    e.requires_grad_(True)
                    return nn.Sequential(*e, copy.deepcopy(folded))

                net, lr, ep, v = choose(network_lrs, fine_tune, fit)
                arms.setdefault(f"{name}: fine-tuned", []).append(
                    dict(lr=lr, epochs=ep, validation=v[0], test=scores(net, x_test, y_test)[0]))
        for arm, trials in arms.items():
            tests = [t["test"] for t in trials]
            line = {"labels": count, "arm": arm, "mean": statistics.mean(tests),
                    "sd": statistics.stdev(tests) if len(tests) > 1 else 0.0, "trials": trials}
            results[(count, arm)] = line
            print(json.dumps(line, ensure_ascii=False), flush=True)
    print(json.dumps({"summary": {f"{c} {a}": f"{100 * r['mean']:.1f} ± {100 * r['sd']:.1f}%"
                                  for (c, a), r in results.items()},
                      "seconds": time.perf_counter() - t0}, ensure_ascii=False))


if __name__ == "__main__":
    main()
