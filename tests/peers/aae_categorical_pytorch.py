#!/usr/bin/env python3
"""PyTorch twin of the categorical adversarial autoencoder of `tp clustering` and
`tp semisupervised` (crates/models/src/aae_clusters.rs, crates/runner/src/experiments/
clustering.rs and semisupervised.rs), on the same IDX files, so its numbers can sit beside ours.

The model: trunk 784-256-256 (ReLU), a cluster head (softmax over K) and a 2-value style head;
decoder (K + 2)-256-256-784 (sigmoid, BCE); discriminators 2K-128-128-1 on y beside its batch
mean and 2-128-128-1 on z. Each step: reconstruction (Adam 1e-3), both discriminators (Adam
2e-4), the encoder against both (Adam 2e-4 for the paper's soft code, 1e-3 for the others),
then for a semi-supervised run the cross-entropy of the cluster head on a labelled batch (its
own Adam, 1e-3). Recipes:

- `soft`: the softmax y to the decoder and the discriminator (the paper's code);
- `gumbel`: the one-hot of a sample of y (Gumbel noise on the logits, `gumbel_softmax` with
  `hard=True`), straight-through gradients (what `tp clustering` trains, `Recipe::GUMBEL`);
- `hard`: onehot(argmax y) with straight-through gradients (the same without the noise);
- semi-supervised: the softmax code, the encoder's adversarial phase at 1e-3, Gaussian noise
  of σ 0.3 on the encoder's input, each labelled image shifted at random by up to 2 pixels
  along each axis every time it is drawn (`--shift`); `labels_only`: the same encoder on the
  labelled images alone (same steps, shifts, noise, optimizer);
- `--self-augmented`: `selfaug`, the Gumbel code with self-augmented training of the cluster
  head (virtual adversarial training, Miyato et al. 2018, and shift consistency: the same
  prediction for the image shifted at random by up to 2 pixels; its own Adam at 2e-3),
  IMSAT's entropies in place of the cluster critic and batch norm in the trunk
  (`Recipe::SELF_AUGMENTED`); `selfaug_critic`, the same with the critic kept;
  `semi_selfaug`, the semi-supervised recipe with the same self-augmented training (Adam at
  1e-3) on the unlabelled batch (`semisupervised::SELF_AUGMENTED`).

Batch 64, 20 epochs, labelled images drawn per class and seed (not the same draw as `tp`'s).

  python tests/peers/aae_categorical_pytorch.py --data datasets/mnist-sample --jobs 2

(torch and numpy: `tests/requirements.txt`.) Prints one line per run and a summary: the
clustering error (each cluster labelled with its majority digit) or the classification error
on the test set, mean ± sd over the seeds.

Its numbers on datasets/mnist-sample (torch 2.x CPU, the command above, seeds 0-2), beside
`tp clustering` and `tp semisupervised` at the time they were written (the clustering rows
with `--only-clustering`, tp on a Zen 4 VM with AVX-512; the others on one with AVX2 only):

    run                                PyTorch         tp
    soft code, 16 clusters (seed 0)    62.4%           59.6%
    Gumbel one-hot code, 16 clusters   55.7 ± 8.5%     51.0 ± 3.6%
    Gumbel one-hot code, 30 clusters   51.3 ± 6.4%     48.3 ± 8.6%
    argmax one-hot code, 16 (seed 0)   57.5%           60.3%
    (argmax one-hot, 3 seeds, earlier: 64.1 ± 3.3% / 48.6 ± 3.3% with 16 / 30 clusters)
    semi-supervised, 100 labels        10.0 ± 2.4%     10.7 ± 1.4%
    same encoder, 100 labels alone     14.1 ± 1.8%     15.7 ± 1.6%
    semi-supervised, 1,000 labels      5.8 ± 0.4%      5.8 ± 1.2%
    same encoder, 1,000 labels alone   4.8 ± 0.6%      4.8 ± 0.6%

    self-augmented cluster head, 16     14.7 ± 1.0%     14.0 ± 0.8%
    self-augmented cluster head, 30     8.7 ± 1.9%      7.6 ± 1.9%
    the same, cluster critic kept, 16   22.1%           21.0%
    semi-supervised + self-aug., 100    8.0 ± 3.0%      5.3 ± 0.9%
    semi-supervised + self-aug., 1,000  4.5 ± 0.4%      4.7 ± 0.6%

(the self-augmented rows with `--self-augmented`: virtual adversarial training of the cluster
head, the move a quarter of the mean distance to the 10th nearest training image, and shift
consistency (up to 2 pixels); for clustering at twice the learning rate, IMSAT's entropies in
place of the cluster critic and batch norm in the trunk; tp on a Zen 4 VM with AVX-512.
Without the shift consistency they were 21.0 ± 3.1 / 14.7 ± 0.9 / 27.2 / 8.5 ± 3.3 / 4.1 ±
0.8% in PyTorch and 17.9 ± 0.4 / 14.4 ± 1.8 / 28.9 / 5.5 ± 0.5 / 7.1 ± 5.0% in tp, one seed
in each engine confusing 4 and 9 in the semi-supervised runs: PyTorch's seed 1 with 100
labels, 12.0%; tp's seed 1 with 1,000, 12.9%.)

(the semi-supervised rows with the shifts, `--only-semi`; without them, `--shift 0`, they
were 17.3 ± 1.6 / 21.9 ± 0.9 / 7.9 ± 0.8 / 8.0 ± 0.6% in PyTorch and 13.8 ± 0.9 / 24.6 ± 1.5
/ 8.0 ± 0.8 / 7.9 ± 0.2% in tp.)

In both engines the categorical AAE alone clusters worse than k-means on the pixels (31.8% and
23.9% with 16 and 30 clusters), and its unlabelled images help with 100 labels, not with 1,000;
with the self-augmented recipes, both engines cluster well below k-means, and the unlabelled
images bring 1,000 labels to the labels alone's level or below.
"""

import argparse
import gzip
import os
import statistics
import time
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
        return read_idx(os.path.join(data, name), 16, (-1, 784)).astype(np.float32) / 255.0

    def labels(name):
        return read_idx(os.path.join(data, name), 8, (-1,)).astype(np.int64)

    return (
        torch.tensor(images("train-images-idx3-ubyte.gz")),
        torch.tensor(labels("train-labels-idx1-ubyte.gz")),
        torch.tensor(images("t10k-images-idx3-ubyte.gz")),
        labels("t10k-labels-idx1-ubyte.gz"),
    )


def mlp(*sizes, last=None):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers)


def cluster_error(pred, labels, k):
    wrong = 0
    for c in range(k):
        members = labels[pred == c]
        if len(members):
            wrong += len(members) - np.bincount(members, minlength=10).max()
    return wrong / len(labels)


def translate_at_random(x, shift, rng):
    """Each image (a row of 784) moved by its own random (dx, dy) in [-shift, shift]², the
    uncovered pixels 0 (`data::corrupt::translate_at_random`)."""
    images = F.pad(x.view(-1, 28, 28), (shift, shift, shift, shift))
    out = torch.empty(len(x), 28, 28)
    for i in range(len(x)):
        dx, dy = rng.randint(-shift, shift + 1, 2)
        out[i] = images[i, shift - dy : shift - dy + 28, shift - dx : shift - dx + 28]
    return out.view(-1, 784)


def smoothing_radius(xtr):
    """A quarter of the mean distance from a training image to its 10th nearest other
    (`train::clustering::smoothing_radius`)."""
    total = 0.0
    for start in range(0, len(xtr), 1000):
        d = torch.cdist(xtr[start : start + 1000], xtr)
        # The smallest is the image itself (0); the 11th smallest is the 10th other.
        total += d.topk(11, largest=False).values[:, 10].double().sum().item()
    return 0.25 * total / len(xtr)


def kl_from(p, logits):
    """KL(p ‖ softmax(logits)), batch mean, p a constant."""
    return (p * ((p + 1e-30).log() - F.log_softmax(logits, 1))).sum(1).mean()


def run(job):
    kind, k, per_class, seed, data, epochs, shift = job
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    xtr, ytr, xte, yte = load(data)
    hard = kind in ("hard", "gumbel", "selfaug", "selfaug_critic")
    semi = kind in ("semi", "labels_only", "semi_selfaug")
    # Self-augmented training (`Recipe::smoothness`); for clustering with IMSAT's entropies
    # in place of the cluster critic (unless `selfaug_critic`) and batch norm in the trunk.
    smooth = kind in ("selfaug", "selfaug_critic", "semi_selfaug")
    entropies = kind in ("selfaug", "selfaug_critic")
    cluster_critic = kind != "selfaug"
    noise = 0.3 if semi else 0.0
    if entropies:
        trunk = nn.Sequential(
            nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(),
            nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(),
        )
    else:
        trunk = mlp(784, 256, 256, last=nn.ReLU())
    head_y, head_z = nn.Linear(256, k), nn.Linear(256, 2)
    radius = smoothing_radius(xtr) if smooth else 0.0
    decoder = mlp(k + 2, 256, 256, 784)
    critic_y, critic_z = mlp(2 * k, 128, 128, 1), mlp(2, 128, 128, 1)
    encoder = list(trunk.parameters()) + list(head_y.parameters()) + list(head_z.parameters())
    o_rec = torch.optim.Adam(encoder + list(decoder.parameters()), 1e-3)
    o_cy = torch.optim.Adam(critic_y.parameters(), 2e-4)
    o_cz = torch.optim.Adam(critic_z.parameters(), 2e-4)
    o_gen = torch.optim.Adam(encoder, 2e-4 if kind == "soft" else 1e-3)
    o_sup = torch.optim.Adam(list(trunk.parameters()) + list(head_y.parameters()), 1e-3)
    # The self-augmented phase at twice the reconstruction's rate when clustering
    # (`Recipe::smoothness_share`), at its rate beside labels.
    o_smooth = torch.optim.Adam(
        list(trunk.parameters()) + list(head_y.parameters()), 2e-3 if entropies else 1e-3
    )
    labelled = None
    if semi:
        yn = ytr.numpy()
        labelled = np.concatenate(
            [rng.choice(np.where(yn == d)[0], per_class, replace=False) for d in range(10)]
        )

    def encode(x):
        h = trunk(x)
        return head_y(h), head_z(h)

    def gate(y):
        if kind in ("gumbel", "selfaug", "selfaug_critic"):
            # One-hot of a sample of y (Gumbel noise on the logits), gradients through the
            # noisy softmax: `Recipe::GUMBEL` (evaluation reads the noiseless argmax).
            return F.gumbel_softmax((y + 1e-20).log(), tau=1.0, hard=True)
        if not hard:
            return y
        return F.one_hot(y.argmax(1), k).float() + y - y.detach()

    def with_mean(y):
        return torch.cat([y, y.mean(0, keepdim=True).expand_as(y)], 1)

    bce = nn.BCEWithLogitsLoss()
    start = time.time()
    for _ in range(epochs):
        order = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            x = xtr[order[i : i + 64]]
            n = len(x)
            if kind != "labels_only":
                noisy = x + noise * torch.randn_like(x) if noise else x
                logits, z = encode(noisy)
                out = decoder(torch.cat([gate(F.softmax(logits, 1)), z], 1))
                loss = F.binary_cross_entropy_with_logits(out, x)
                o_rec.zero_grad()
                loss.backward()
                o_rec.step()
                with torch.no_grad():
                    logits, z_fake = encode(x)
                    y_fake = gate(F.softmax(logits, 1))
                y_real = F.one_hot(torch.randint(0, k, (n,)), k).float()
                z_real = torch.randn(n, 2)
                ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
                d_loss = bce(critic_z(z_real), ones) + bce(critic_z(z_fake), zeros)
                if cluster_critic:
                    d_loss = d_loss + bce(critic_y(with_mean(y_real)), ones) + bce(
                        critic_y(with_mean(y_fake)), zeros
                    )
                o_cy.zero_grad()
                o_cz.zero_grad()
                d_loss.backward()
                o_cy.step()
                o_cz.step()
                logits, z = encode(x)
                g_loss = bce(critic_z(z), ones)
                if cluster_critic:
                    g_loss = g_loss + bce(critic_y(with_mean(gate(F.softmax(logits, 1)))), ones)
                o_gen.zero_grad()
                g_loss.backward()
                o_gen.step()
            if smooth:
                # Virtual adversarial training: one power iteration from a random move of
                # length 10, the move found scaled to the radius.
                own = head_y(trunk(x))
                p = F.softmax(own, 1).detach()
                d = torch.randn_like(x)
                d = (10.0 * d / d.norm(dim=1, keepdim=True)).requires_grad_(True)
                (g,) = torch.autograd.grad(kl_from(p, head_y(trunk(x + d))), d)
                r = radius * g / (g.norm(dim=1, keepdim=True) + 1e-12)
                v_loss = kl_from(p, head_y(trunk(x + r)))
                # Shift consistency (`Recipe::shift_consistency`): the same prediction for the
                # images shifted at random by up to 2 pixels.
                v_loss = v_loss + kl_from(p, head_y(trunk(translate_at_random(x, 2, rng))))
                if entropies:
                    q = F.softmax(own, 1)
                    m = q.mean(0)
                    conditional = -(q * F.log_softmax(own, 1)).sum(1).mean()
                    marginal = -(m * (m + 1e-8).log()).sum()
                    v_loss = v_loss + 0.1 * (conditional - 4.0 * marginal)
                o_smooth.zero_grad()
                v_loss.backward()
                o_smooth.step()
            if semi:
                pick = rng.choice(labelled, min(n, len(labelled)), replace=False)
                xl = xtr[pick]
                if shift:
                    xl = translate_at_random(xl, shift, rng)
                xl = xl + noise * torch.randn_like(xl)
                s_loss = F.cross_entropy(head_y(trunk(xl)), ytr[pick])
                o_sup.zero_grad()
                s_loss.backward()
                o_sup.step()
    trunk.eval()
    with torch.no_grad():
        pred = encode(xte)[0].argmax(1).numpy()
    error = float((pred != yte).mean()) if semi else cluster_error(pred, yte, k)
    return job[:4], error, len(set(pred.tolist())), time.time() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="datasets/mnist-sample")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--shift", type=int, default=2,
                   help="largest random shift of the labelled images, pixels (0: none)")
    p.add_argument("--only-semi", action="store_true", help="skip the clustering runs")
    p.add_argument("--only-clustering", action="store_true", help="skip the semi-supervised runs")
    p.add_argument("--self-augmented", action="store_true",
                   help="only the self-augmented recipes (and their comparison runs)")
    a = p.parse_args()
    seeds = range(a.seeds)
    jobs = []
    if a.self_augmented:
        if not a.only_semi:
            jobs += [("selfaug", k, 0, s, a.data, a.epochs, 0) for k in (16, 30) for s in seeds]
            jobs += [("selfaug_critic", 16, 0, 0, a.data, a.epochs, 0)]
        if not a.only_clustering:
            jobs += [("semi_selfaug", 10, pc, s, a.data, a.epochs, a.shift)
                     for pc in (10, 100) for s in seeds]
    elif not a.only_semi:
        jobs += [("soft", 16, 0, 0, a.data, a.epochs, 0)]
        jobs += [("gumbel", k, 0, s, a.data, a.epochs, 0) for k in (16, 30) for s in seeds]
        jobs += [("hard", 16, 0, 0, a.data, a.epochs, 0)]
    if not a.only_clustering and not a.self_augmented:
        jobs += [
            (kind, 10, per_class, s, a.data, a.epochs, a.shift)
            for kind in ("semi", "labels_only")
            for per_class in (10, 100)
            for s in seeds
        ]
    results = {}
    with ProcessPoolExecutor(a.jobs) as pool:
        for (kind, k, per_class, seed), error, used, seconds in pool.map(run, jobs):
            print(f"{kind:11} K={k:2} labels={10 * per_class:5} seed={seed}: "
                  f"error {100 * error:.1f}% ({used} clusters used, {seconds:.0f} s)", flush=True)
            results.setdefault((kind, k, per_class), []).append(error)
    print("summary (test error, mean ± sd over seeds):")
    for (kind, k, per_class), errors in results.items():
        sd = statistics.stdev(errors) if len(errors) > 1 else 0.0
        what = f"{10 * per_class} labels" if per_class else f"{k} clusters"
        print(f"  {kind:11} {what:11} {100 * statistics.mean(errors):.1f} ± {100 * sd:.1f}%")


if __name__ == "__main__":
    main()
