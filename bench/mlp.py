"""`tour bench mlp` in PyTorch: 784-256-128-10 ReLU, Adam 1e-3, batch 128, float32, a pool of
8192 random examples (uniform pixels, random labels of 10 classes), shuffled every epoch.

    python bench/mlp.py --threads 1 --seconds 5
"""
from common import args, run, set_torch_threads

a = args()
set_torch_threads(a.threads)
import torch  # noqa: E402
from torch import nn  # noqa: E402

n, batch = 8192, 128
x = torch.rand(n, 784)
y = torch.randint(0, 10, (n,))
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()


def epoch():
    perm = torch.randperm(n)
    steps = 0
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
        steps += 1
    return steps


run("mlp", "examples/s", batch, epoch, a)
