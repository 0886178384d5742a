# Every user-facing recipe. `just --list` shows them. Install just with `cargo install just`.

# The main job: train and evaluate on the committed MNIST sample (or DATA=dir with IDX files).
run *ARGS:
    cargo run --release -p tp-runner -- {{ARGS}}

# All tests (kernels against references, gradient checks, layers, models).
test:
    cargo test --workspace

# What CI runs: format check, clippy, benches build, tests.
ci:
    bash .ci/run

# GEMM GFLOP/s at square and the lab's shapes (criterion).
bench-gemm:
    cargo bench --bench gemm

# Each layer of the lab's convolutional autoencoder, forward and forward+backward (criterion).
bench-conv:
    cargo bench --bench conv

# Every criterion bench.
bench:
    cargo bench

# Format and lint.
fmt:
    cargo fmt --all
    cargo clippy --workspace --all-targets -- -D warnings

# Install the full Fashion-MNIST (60k/10k) from Debian's package into /usr/share/datasets/fashion-mnist.
fetch-fashion:
    apt-get update && apt-get install -y dataset-fashion-mnist
