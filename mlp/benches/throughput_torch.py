"""PyTorch side of the throughput comparison (examples/throughput.rs does the same in Rust).

784-256-128-10 ReLU network, batch 128, Adam (lr 1e-3, PyTorch's defaults), float32, on a pool
of 8192 random examples (uniform [0, 1) pixels, random labels of 10 classes) in shuffled
mini-batches: batch gathering, forward, loss, backward and the Adam step are all counted. One
warm-up epoch, then --epochs timed epochs (default 8, i.e. 512 steps); prints examples/s.

    python mlp/benches/throughput_torch.py --threads 1
    python mlp/benches/throughput_torch.py --threads 2
"""
import argparse
import time

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--epochs", type=int, default=8)
parser.add_argument("--fused", action="store_true", help="torch.optim.Adam(fused=True)")
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
n, batch = 8192, 128
x = torch.rand(n, 784)
y = torch.randint(0, 10, (n,))
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if args.fused else None)
loss_fn = nn.CrossEntropyLoss()


def epoch():
    perm = torch.randperm(n)
    steps = 0
    last = 0.0
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        xb, yb = x[idx], y[idx]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        steps += 1
        last = loss.item()
    return steps, last


epoch()  # warm-up
started = time.perf_counter()
steps = 0
for _ in range(args.epochs):
    s, last = epoch()
    steps += s
seconds = time.perf_counter() - started
print(
    f"PyTorch {torch.__version__} 784-256-128-10 relu, batch {batch}, Adam{' (fused)' if args.fused else ''}, "
    f"f32, threads {args.threads}: {steps * batch / seconds:.0f} examples/s "
    f"({steps} steps in {seconds:.2f} s, {1e3 * seconds / steps:.3f} ms/step; last loss {last:.4f})"
)
