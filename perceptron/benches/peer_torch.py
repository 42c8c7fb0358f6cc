"""Peer timing for benches/epoch.rs: one epoch of the binary perceptron over 10 000 examples of
784 features in PyTorch (float32, one thread), written the way a PyTorch user writes an online
rule — one example at a time. Data are drawn like the Rust bench's (uniform [0, 1) inputs, labels
from a random hyperplane through the centre), not the same numbers.

python perceptron/benches/peer_torch.py
"""

import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)
N, D = 10_000, 784
X = torch.rand(N, D)
u = torch.rand(D) * 2 - 1
d = ((X - 0.5) @ u > 0).float()


def epoch(order):
    w = torch.zeros(D)
    b = torch.zeros(())
    mistakes = 0
    for j in order.tolist():
        x = X[j]
        y = 1.0 if (b + torch.dot(w, x)).item() > 0 else 0.0
        if y != d[j].item():
            step = d[j].item() - y
            w.add_(x, alpha=step)  # w <- w + eta (d - y) x, eta = 1
            b += step
            mistakes += 1
    return mistakes


times = []
for rep in range(5):
    order = torch.randperm(N)
    t = time.perf_counter()
    m = epoch(order)
    times.append(time.perf_counter() - t)
print(f"torch {torch.__version__}: one epoch 10000x784, {m} mistakes; min {min(times)*1e3:.1f} ms, median {sorted(times)[2]*1e3:.1f} ms")
