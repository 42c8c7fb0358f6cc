"""The timing loop shared by the PyTorch (and scikit-learn) side of `tour bench`.

Each workload script builds the same model and synthetic data as `tour bench WORKLOAD` and hands
`run` one function that trains one epoch over its pool (shuffled mini-batches gathered by index,
forward, loss, backward, optimizer step) and returns the number of steps. `run` warms up for
about a fifth of `--seconds` (at least one epoch), times as many epochs as fill `--seconds`, and
prints one JSON line with the fields `tour bench --json` prints.
"""
import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def args(extra=None):
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5.0)
    if extra:
        extra(p)
    a = p.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    return a


def set_torch_threads(threads):
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)


def peak_rss_mb():
    # ru_maxrss is in kB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(workload, unit, per_step, epoch, a, side="pytorch", shards=1):
    started = time.perf_counter()
    warm = 0
    while warm == 0 or time.perf_counter() - started < 0.2 * a.seconds:
        epoch()
        warm += 1
    per_epoch = (time.perf_counter() - started) / warm
    epochs = max(1, math.ceil(a.seconds / per_epoch))
    started = time.perf_counter()
    steps = 0
    for _ in range(epochs):
        steps += epoch()
    seconds = time.perf_counter() - started
    out = {
        "workload": workload,
        "side": side,
        "unit": unit,
        "throughput": per_step * steps / seconds,
        "steps": steps,
        "seconds": seconds,
        "threads": a.threads,
        "shards": shards,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(out))
    sys.stdout.flush()
    return out
