# Every user-facing recipe. `just --list` shows them. Install just with `cargo install just`.
# Extra flags go through: `just tp1 --epochs 20`, `just all --data /usr/share/datasets/fashion-mnist`.

# The main job: every exercise of the lab and every experiment after it, then runs/report.md.
all *ARGS:
    cargo run --release -p tp-runner -- all {{ARGS}}

# Exercise 1: the dense autoencoders (784-64-784 linear and ReLU code, 784-128-64-128-784).
tp1 *ARGS:
    cargo run --release -p tp-runner -- tp1 {{ARGS}}

# Exercise 2: the convolutional autoencoders, against the dense ones.
tp2 *ARGS:
    cargo run --release -p tp-runner -- tp2 {{ARGS}}

# Translations: the test images moved 0-4 px, dense against convolutional models (no training).
translation *ARGS:
    cargo run --release -p tp-runner -- translation {{ARGS}}

# Exercise 3: denoising (Gaussian noise, sigma 0.5 by default), MSE/PSNR/SSIM.
tp3 *ARGS:
    cargo run --release -p tp-runner -- tp3 {{ARGS}}

# The variational autoencoders (dense as tp5.py's, convolutional): ELBO, manifold, samples.
vae *ARGS:
    cargo run --release -p tp-runner -- vae {{ARGS}}

# The adversarial autoencoders: three priors, the label-conditioned mixture, MMD to the prior.
aae *ARGS:
    cargo run --release -p tp-runner -- aae {{ARGS}}

# Sample quality: VAE, AAE and plain AE samples measured by a digit classifier (FD-MNIST).
samples *ARGS:
    cargo run --release -p tp-runner -- samples {{ARGS}}

# Style and content: the supervised AAE (digit into the decoder), each test image's style drawn as 0-9.
style *ARGS:
    cargo run --release -p tp-runner -- style {{ARGS}}

# The sparse autoencoder: L1 on a 256-unit ReLU code at several weights, decoder features.
sparse *ARGS:
    cargo run --release -p tp-runner -- sparse {{ARGS}}

# The contractive autoencoder: the Jacobian penalty, with and without.
contractive *ARGS:
    cargo run --release -p tp-runner -- contractive {{ARGS}}

# What autoencoders are for: each runs one experiment of the report (see README). Every
# experiment of the registry (crates/runner/src/experiments/mod.rs) has its recipe here; a
# test checks it.
transfer *ARGS:
    cargo run --release -p tp-runner -- transfer {{ARGS}}
pca *ARGS:
    cargo run --release -p tp-runner -- pca {{ARGS}}
compression *ARGS:
    cargo run --release -p tp-runner -- compression {{ARGS}}
super-res *ARGS:
    cargo run --release -p tp-runner -- super-res {{ARGS}}
inpaint *ARGS:
    cargo run --release -p tp-runner -- inpaint {{ARGS}}
anomaly *ARGS:
    cargo run --release -p tp-runner -- anomaly {{ARGS}}
features *ARGS:
    cargo run --release -p tp-runner -- features {{ARGS}}
clustering *ARGS:
    cargo run --release -p tp-runner -- clustering {{ARGS}}
semisupervised *ARGS:
    cargo run --release -p tp-runner -- semisupervised {{ARGS}}

# The latent space in the browser: the engine built for wasm32, then the static page folder
# (`page/` by default; the VAE and 2-D autoencoder of `runs/`, trained there if missing).
# Serve it with any static server: `python3 -m http.server -d page`.
page *ARGS:
    cargo build --release --target wasm32-unknown-unknown -p tp-web
    cargo run --release -p tp-runner -- page {{ARGS}}

# The report again from the results.json files of a runs folder, training nothing: `just report --out runs`.
report *ARGS:
    cargo run --release -p tp-runner -- report {{ARGS}}

# One model with any flags: `just train --model dense2-relu --latent 16 --epochs 5`.
train *ARGS:
    cargo run --release -p tp-runner -- train {{ARGS}}

# All tests (kernels against references, gradient checks, layers, models, the CLI end to end).
test:
    cargo test --workspace

# What CI runs: format check, clippy, benches build, tests.
ci:
    bash .ci/run

# Every criterion bench (GEMM, convolution layers).
bench:
    cargo bench

# GEMM GFLOP/s at square and the lab's shapes (criterion).
bench-gemm:
    cargo bench --bench gemm

# Each layer of the lab's convolutional autoencoder, forward and forward+backward (criterion).
bench-conv:
    cargo bench --bench conv

# Format and lint.
fmt:
    cargo fmt --all
    cargo clippy --workspace --all-targets -- -D warnings

# Download the full MNIST (60,000 training images) into datasets/mnist and check the MD5s
# (needs internet; MNIST_MIRROR overrides the mirror). `tp` then uses it by default.
fetch-mnist:
    #!/usr/bin/env bash
    set -euo pipefail
    mirror="${MNIST_MIRROR:-https://ossci-datasets.s3.amazonaws.com/mnist}"
    mkdir -p datasets/mnist
    while read -r file md5; do
        [ -f "datasets/mnist/$file" ] || curl -fL --retry 3 -o "datasets/mnist/$file.part" "$mirror/$file"
        [ -f "datasets/mnist/$file.part" ] && mv "datasets/mnist/$file.part" "datasets/mnist/$file"
        if ! echo "$md5  datasets/mnist/$file" | md5sum -c --quiet -; then
            rm -f "datasets/mnist/$file"
            echo "datasets/mnist/$file: MD5 mismatch, removed (try another MNIST_MIRROR)" >&2
            exit 1
        fi
    done <<'LIST'
    train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873
    train-labels-idx1-ubyte.gz d53e105ee54ea40749a09fcbcd1e9432
    t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3
    t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c
    LIST
    zcat datasets/mnist/t10k-images-idx3-ubyte.gz | md5sum | grep -q 2646ac647ad5339dbf082846283269ea
    zcat datasets/mnist/t10k-labels-idx1-ubyte.gz | md5sum | grep -q 27ae3e4e09519cfbb04c329615203637
    echo "MNIST is in datasets/mnist; tp uses it when no --data is given"

# Install the full Fashion-MNIST (60k/10k) from Debian's package into /usr/share/datasets/fashion-mnist.
fetch-fashion:
    apt-get update && apt-get install -y dataset-fashion-mnist

# The same lab in PyTorch, for side-by-side test errors (a venv in /tmp, ~3.5 GB download).
peers EPOCHS="10":
    bash ../shared/peers/pytorch/setup.sh
    /tmp/peers-venv/bin/python ../shared/peers/pytorch/tp5.py --model dense1_none,dense1_relu,dense2_relu,conv,denoise,vae --data datasets/mnist-sample --epochs {{EPOCHS}}
    /tmp/peers-venv/bin/python tests/peers/lab_pytorch.py --data datasets/mnist-sample --epochs {{EPOCHS}}
    /tmp/peers-venv/bin/python tests/peers/pretrain_pytorch.py --data datasets/mnist-sample --epochs {{EPOCHS}}
    /tmp/peers-venv/bin/python tests/peers/aae_categorical_pytorch.py --data datasets/mnist-sample --epochs $(( {{EPOCHS}} * 2 ))
