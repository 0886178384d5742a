#!/usr/bin/env bash
# Side by side on this machine, interleaved so that a noisy VM's slow spells hit every engine:
# GEMM against OpenBLAS (numpy), one training epoch of the lab's conv, dense and pooling
# autoencoders against PyTorch (10,000 MNIST images, batch 64, 2 threads), then a full Fashion-MNIST epoch
# of the conv autoencoder (both engines) and `tp bench`. Compare ratios within one run.
#
#   bash ../shared/peers/pytorch/setup.sh            # once: the PyTorch venv in /tmp/peers-venv
#   apt-get install -y dataset-fashion-mnist         # once: /usr/share/datasets/fashion-mnist
#   cargo build --release -p tp-runner -p tp-tensor --examples --bins
#   bash benches/side_by_side.sh [rounds] > side_by_side.log
#
# Each line of the log names the engine; take the best of the rounds for each.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
PY=${PY:-/tmp/peers-venv/bin/python}
FASHION=/usr/share/datasets/fashion-mnist
OUT=$(mktemp -d)
for round in $(seq "$ROUNDS"); do
  echo "=== round $round $(date +%T)"
  echo "--- openblas gemm (2 threads)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 "$PY" benches/openblas_gemm.py
  echo "--- ours gemm"
  ./target/release/examples/gemm_gflops
  echo "--- pytorch epochs (10,000 images)"
  "$PY" ../shared/peers/pytorch/tp5.py --model conv,dense2_relu --epochs 3 \
    --data datasets/mnist-sample --limit 10000 2>/dev/null | grep '^{' | "$PY" -c "
import sys, json
for line in sys.stdin:
    d = json.loads(line)
    print('pytorch', d['model'], 'epoch_s', *[round(x, 3) for x in d['epoch_seconds']], 'rss_mb', round(d['peak_rss_mb']))"
  echo "--- pytorch pooling conv AE epochs (10,000 images)"
  "$PY" tests/peers/lab_pytorch.py --data datasets/mnist-sample --epochs 2 2>/dev/null | grep '^{' | "$PY" -c "
import sys, json
d = json.loads(sys.stdin.read())
print('pytorch conv_pool epoch_s', round(d['train_seconds_per_epoch'], 3))"
  echo "--- ours epochs (10,000 images)"
  for model in conv dense2-relu conv-pool; do
    ./target/release/tp train --model "$model" --latent 64 --epochs 4 --test-limit 100 --out "$OUT" 2>&1 \
      | grep -E 'epoch +[0-9]+/4' | sed -E "s/.*epoch +([0-9]+)\/4.*, ([0-9.]+) s .*/ours $model epoch \1 \2 s/"
  done
done
if [ -d "$FASHION" ]; then
  echo "=== fashion-mnist, 60,000 images $(date +%T)"
  /usr/bin/time -v ./target/release/tp train --model conv --epochs 3 --data "$FASHION" --out "$OUT" 2>&1 \
    | grep -E 'epoch |Maximum resident'
  "$PY" ../shared/peers/pytorch/tp5.py --model conv --epochs 2 --data "$FASHION" 2>/dev/null | grep '^{'
fi
echo "=== tp bench $(date +%T)"
./target/release/tp bench
rm -rf "$OUT"
