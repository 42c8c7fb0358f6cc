"""`tour bench lenet` in PyTorch: LeNet-5 with padding 2 (1x28x28 → conv 6 → pool → conv 16 → pool
→ 120 → 84 → 10, ReLU), SGD 0.01 with momentum 0.9, batch 64, float32, a pool of 2048 random
images with random labels, shuffled every epoch.

    python bench/lenet.py --threads 1 --seconds 5
"""
from common import args, run, set_torch_threads

a = args()
set_torch_threads(a.threads)
import torch  # noqa: E402
from torch import nn  # noqa: E402

n, batch = 2048, 64
x = torch.rand(n, 1, 28, 28)
y = torch.randint(0, 10, (n,))
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
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


run("lenet", "examples/s", batch, epoch, a)
