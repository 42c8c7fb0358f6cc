"""`tour bench gemm` in PyTorch: C = A·B (float32, `torch.mm` into a preallocated output) on the
shapes of the workloads and on squares 64–1024, each for an equal share of `--seconds`; prints
the total GFLOP/s and per shape on stderr.

    python bench/gemm.py --threads 1 --seconds 5
"""
import json
import sys
import time

from common import args, peak_rss_mb, set_torch_threads

a = args()
set_torch_threads(a.threads)
import torch  # noqa: E402

SHAPES = [
    ("mlp W1·X", 256, 784, 128),
    ("mlp dW1 = dY·Xᵀ", 256, 128, 784),
    ("mlp W2·H", 128, 256, 128),
    ("lenet conv2 im2col", 16, 150, 6400),
    ("lstm gates", 512, 128, 32),
    ("transformer qkv", 384, 128, 2048),
    ("transformer ff", 512, 128, 2048),
    ("rbm W·V", 500, 784, 100),
    ("square 64", 64, 64, 64),
    ("square 128", 128, 128, 128),
    ("square 256", 256, 256, 256),
    ("square 512", 512, 512, 512),
    ("square 1024", 1024, 1024, 1024),
]
budget = a.seconds / len(SHAPES)
rows, total_flop, total_secs, steps = [], 0.0, 0.0, 0
for name, m, k, n in SHAPES:
    A, B, C = torch.rand(m, k) - 0.5, torch.rand(k, n) - 0.5, torch.empty(m, n)
    flop = 2.0 * m * k * n
    t0, reps = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.2 * budget or reps < 3:
        torch.mm(A, B, out=C)
        reps += 1
    reps = max(3, int(0.8 * budget / ((time.perf_counter() - t0) / reps)))
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(A, B, out=C)
    secs = time.perf_counter() - t0
    g = flop * reps / secs / 1e9
    print(f"gemm {name:<22} {m:>5} x {k:>5} x {n:>5}: {g:>7.1f} GFLOP/s", file=sys.stderr)
    rows.append({"shape": name, "m": m, "k": k, "n": n, "gflops": g})
    total_flop += flop * reps
    total_secs += secs
    steps += reps
print(json.dumps({
    "workload": "gemm", "side": "pytorch", "unit": "GFLOP/s",
    "throughput": total_flop / total_secs / 1e9, "steps": steps, "seconds": total_secs,
    "threads": a.threads, "shards": 1, "peak_rss_mb": peak_rss_mb(), "shapes": rows,
}))
