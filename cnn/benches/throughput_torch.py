"""PyTorch CPU twin of `cargo run --release -p inductive-cnn --example cnn_throughput`.

Trains the same LeNet-5 (conv5x5 6 pad 2 -> ReLU -> maxpool 2 -> conv5x5 16 -> ReLU -> maxpool 2
-> 120 -> ReLU -> 84 -> ReLU -> 10) on random 28x28 images, batch 64, SGD lr 0.01 momentum 0.9,
float32, and prints examples per second after 10 warm-up steps.

    python cnn/benches/throughput_torch.py --threads 1 [--steps 200] [--batch 64]
"""
import argparse
import time

import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--batch", type=int, default=64)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

# Same layer indices as cnn's Cnn::lenet5, so a cnn checkpoint loads into this module.
net = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
batches = [(torch.rand(a.batch, 1, 28, 28), torch.randint(0, 10, (a.batch,))) for _ in range(8)]


def step(x, y):
    opt.zero_grad(set_to_none=False)
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    return loss


for i in range(10):
    step(*batches[i % 8])
start = time.perf_counter()
for i in range(a.steps):
    last = step(*batches[i % 8]).item()
seconds = time.perf_counter() - start
print(
    f"torch {torch.__version__} LeNet-5 train: threads {a.threads}, batch {a.batch}, "
    f"{a.steps} steps in {seconds:.3f} s: {a.steps * a.batch / seconds:.0f} examples/s "
    f"({1e3 * seconds / a.steps:.3f} ms/step, last loss {last:.4f})"
)
