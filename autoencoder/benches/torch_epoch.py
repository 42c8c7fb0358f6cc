"""The PyTorch peer of benches/epoch.rs: one epoch (Adam, batch 32, shuffled) of the same
autoencoders on 3 000 random examples, float32, CPU, one thread (the Rust products run on one
thread by default). Prints the median of 10 epochs after 2 warm-up epochs.

    python autoencoder/benches/torch_epoch.py
"""
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)
N = 3000


class Vae(nn.Module):
    def __init__(self, d, h, k):
        super().__init__()
        self.enc, self.mu, self.lv = nn.Linear(d, h), nn.Linear(h, k), nn.Linear(h, k)
        self.dec0, self.dec1 = nn.Linear(k, h), nn.Linear(h, d)

    def loss(self, x):
        h = F.relu(self.enc(x))
        m, lv = self.mu(h), self.lv(h)
        z = m + torch.exp(0.5 * lv) * torch.randn_like(m)
        out = self.dec1(F.relu(self.dec0(z)))
        rec = F.binary_cross_entropy_with_logits(out, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + lv - m * m - lv.exp())
        return (rec + kl) / x.shape[0]


class Ae(nn.Module):
    def __init__(self, d, h, k):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k),
                                 nn.Linear(k, h), nn.ReLU(), nn.Linear(h, d))

    def loss(self, x):
        return F.mse_loss(self.net(x), x)


def epoch(model, opt, x):
    perm = torch.randperm(N)
    for i in range(0, N, 32):
        xb = x[perm[i:i + 32]]
        opt.zero_grad()
        model.loss(xb).backward()
        opt.step()


for d, h, k in [(64, 64, 8), (784, 128, 16)]:
    x = torch.rand(N, d, dtype=torch.float32)
    for name, cls in [("ae", Ae), ("vae", Vae)]:
        model = cls(d, h, k)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(2):
            epoch(model, opt, x)
        times = []
        for _ in range(10):
            t = time.perf_counter()
            epoch(model, opt, x)
            times.append(time.perf_counter() - t)
        print(f"torch {torch.__version__} {name}_{d}-{h}-{k}-{h}-{d}: median {1e3 * statistics.median(times):.1f} ms per epoch")
