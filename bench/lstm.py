"""`tour bench lstm` in PyTorch: one LSTM layer 32 → 128 over 50 steps, a linear read-out of the
last step, MSE, Adam 1e-3, batch 32, float32, a pool of 512 random sequences (uniform in
[-1, 1)) with random targets, shuffled every epoch.

    python bench/lstm.py --threads 1 --seconds 5
"""
from common import args, run, set_torch_threads

a = args()
set_torch_threads(a.threads)
import torch  # noqa: E402
from torch import nn  # noqa: E402

inputs, hidden, steps, n, batch = 32, 128, 50, 512, 32
x = torch.rand(steps, n, inputs) * 2 - 1
y = torch.rand(n, 1) * 2 - 1


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.out(h[-1])


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def epoch():
    perm = torch.randperm(n)
    done = 0
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(x[:, idx]), y[idx]).backward()
        opt.step()
        done += 1
    return done


run("lstm", "sequences/s", batch, epoch, a)
