"""`tour bench transformer` in PyTorch: the decoder-only model of
`transformer/benches/train_step_torch.py` (vocabulary 65, width 128, 4 heads, 2 pre-LN layers,
feed-forward 512 GELU, learned positions, tied embeddings), context 64, batch 32, AdamW (1e-3,
weight decay 0.1), float32, on 512 windows of random tokens, shuffled every epoch.

    python bench/transformer.py --threads 1 --seconds 5
"""
import sys

from common import ROOT, args, run, set_torch_threads

a = args()
set_torch_threads(a.threads)
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(ROOT / "transformer" / "benches"))
from train_step_torch import Gpt  # noqa: E402

context, batch, windows = 64, 32, 512
ids = torch.randint(0, 65, (windows * context + 1,))
x = ids[:-1].reshape(windows, context)
y = ids[1:].reshape(windows, context)
model = Gpt(context=context)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)


def epoch():
    perm = torch.randperm(windows)
    steps = 0
    for start in range(0, windows, batch):
        idx = perm[start:start + batch]
        opt.zero_grad(set_to_none=True)
        logits = model(x[idx])
        nn.functional.cross_entropy(logits.reshape(-1, 65), y[idx].reshape(-1)).backward()
        opt.step()
        steps += 1
    return steps


run("transformer", "tokens/s", batch * context, epoch, a)
