"""PyTorch reference for optim/benches/linear.rs: nn.Linear(784, 256) forward + backward at batch
128, float32, one thread, on the CPU. Prints GFLOP/s with the same flop count as the Rust bench,
3 products x 2*128*784*256.

    python optim/benches/linear_torch.py [seconds]
"""

import sys
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)
BATCH, INPUTS, OUTPUTS = 128, 784, 256
FLOPS = 3 * 2 * BATCH * INPUTS * OUTPUTS

layer = torch.nn.Linear(INPUTS, OUTPUTS)
x = torch.randn(BATCH, INPUTS, requires_grad=True)
dy = torch.randn(BATCH, OUTPUTS)


def step():
    # As the Rust bench: gradients start from zero, dW, db and dX are all computed.
    layer.zero_grad(set_to_none=True)
    x.grad = None
    y = layer(x)
    y.backward(dy)


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
for _ in range(50):  # warm-up
    step()
best = float("inf")
rounds = []
deadline = time.perf_counter() + seconds
while time.perf_counter() < deadline:
    n = 20
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    per_step = (time.perf_counter() - t0) / n
    rounds.append(per_step)
    best = min(best, per_step)
rounds.sort()
median = rounds[len(rounds) // 2]
print(
    f"torch {torch.__version__}, {torch.get_num_threads()} thread: nn.Linear {INPUTS}->{OUTPUTS} "
    f"batch {BATCH} forward+backward: median {median * 1e3:.3f} ms = {FLOPS / median / 1e9:.1f} "
    f"GFLOP/s (best {FLOPS / best / 1e9:.1f} GFLOP/s over {len(rounds)} rounds of 20)"
)
