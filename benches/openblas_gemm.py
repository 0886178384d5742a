#!/usr/bin/env python3
"""numpy's (OpenBLAS) sgemm in GFLOP/s on the shapes of examples/gemm_gflops.rs, for ratios
taken side by side on the same machine within minutes.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 python3 benches/openblas_gemm.py
"""
import time

import numpy as np

SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (16, 9, 12544),
          (32, 144, 3136), (64, 1568, 64), (64, 784, 128), (64, 128, 784)]

for m, k, n in SHAPES:
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(k, n).astype(np.float32)
    c = np.empty((m, n), np.float32)
    flops = 2 * m * n * k
    reps = max(2, min(20000, int(1e9 / flops)))
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        best = min(best, (time.perf_counter() - start) / reps)
    print(f"{f'{m}x{k} * {k}x{n}':>22} {flops / best / 1e9:9.1f}")
