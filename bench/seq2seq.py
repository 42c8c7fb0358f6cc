"""`tour bench seq2seq` in PyTorch: the model of `rnn/benches/seq2seq_torch.py` (GRU 128 encoder
and decoder, additive attention, embeddings of 32), reversal of 20–30 symbols, batch 64 padded
to its longest sequence with padding masked, Adam 1e-3 with clipping at 1, float32; eight batches
per epoch (the 512 pairs of `tour bench seq2seq`).

    python bench/seq2seq.py --threads 1 --seconds 5
"""
import random
import sys

from common import ROOT, args, run, set_torch_threads

a = args()
set_torch_threads(a.threads)
import torch  # noqa: E402

sys.path.insert(0, str(ROOT / "rnn" / "benches"))
from seq2seq_torch import B, Seq2Seq, batch  # noqa: E402

rng = random.Random(0)
data = [batch(rng) for _ in range(8)]
model = Seq2Seq()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def epoch():
    order = list(range(len(data)))
    rng.shuffle(order)
    for i in order:
        loss = model(*data[i])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return len(order)


run("seq2seq", "sequences/s", B, epoch, a)
