"""PyTorch CPU reference for the seq2seq training speed (`rnn_seq2seq --speed`): the same model
as rnn::seq2seq::Seq2Seq with a unidirectional GRU encoder of 128 units, a GRU decoder of 128,
additive attention (A = 128), embeddings of 32, on reversal of 20-30 symbols over 10 letters,
batches of 64 padded to their longest sequence, padding masked out of attention and loss,
Adam with gradient clipping at 1, float32. Prints training sequences per second.

    python rnn/benches/seq2seq_torch.py --threads 1 [--steps 30]
"""
import argparse
import random
import time

import torch

V, E, H, A, B = 14, 32, 128, 128, 64  # 10 letters + PAD, BOS, EOS, UNK
PAD, BOS, EOS = 0, 1, 2


class Seq2Seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.src_embed = torch.nn.Embedding(V, E)
        self.tgt_embed = torch.nn.Embedding(V, E)
        self.encoder = torch.nn.GRU(E, H)
        self.bridge = torch.nn.Linear(H, H)
        self.decoder = torch.nn.GRU(E, H)
        self.query = torch.nn.Linear(H, A, bias=False)
        self.key = torch.nn.Linear(H, A, bias=False)
        self.v = torch.nn.Parameter(torch.rand(A) / A**0.5)
        self.combine = torch.nn.Linear(2 * H, H)
        self.output = torch.nn.Linear(H, V)

    def forward(self, src, src_len, dec_in, dec_out):
        # src: S x B, dec_in/dec_out: T x B (time-major, padded)
        mem, _ = self.encoder(self.src_embed(src))  # S x B x H
        last = mem[src_len - 1, torch.arange(src.shape[1])]  # B x H
        s0 = torch.tanh(self.bridge(last)).unsqueeze(0)
        st, _ = self.decoder(self.tgt_embed(dec_in), s0)  # T x B x H
        keys = self.key(mem)  # S x B x A
        q = self.query(st)  # T x B x A
        e = torch.tanh(q.unsqueeze(1) + keys.unsqueeze(0)) @ self.v  # T x S x B
        mask = torch.arange(src.shape[0]).unsqueeze(1) >= src_len.unsqueeze(0)  # S x B
        e = e.masked_fill(mask.unsqueeze(0), float("-inf"))
        alpha = torch.softmax(e, dim=1)
        ctx = torch.einsum("tsb,sbh->tbh", alpha, mem)
        o = torch.tanh(self.combine(torch.cat([ctx, st], dim=2)))
        logits = self.output(o)
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, V), dec_out.reshape(-1), ignore_index=PAD
        )


def batch(rng):
    srcs = [[rng.randrange(4, V) for _ in range(rng.randint(20, 30))] for _ in range(B)]
    s = max(map(len, srcs))
    src = torch.full((s, B), PAD, dtype=torch.long)
    dec_in = torch.full((s + 1, B), PAD, dtype=torch.long)
    dec_out = torch.full((s + 1, B), PAD, dtype=torch.long)
    for b, x in enumerate(srcs):
        y = x[::-1]
        src[: len(x), b] = torch.tensor(x)
        dec_in[0, b] = BOS
        dec_in[1 : len(y) + 1, b] = torch.tensor(y)
        dec_out[: len(y), b] = torch.tensor(y)
        dec_out[len(y), b] = EOS
    return src, torch.tensor([len(x) for x in srcs]), dec_in, dec_out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    model = Seq2Seq()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = [batch(rng) for _ in range(8)]

    def step(b):
        loss = model(*b)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for b in data[:2]:
        step(b)
    start = time.perf_counter()
    for i in range(args.steps):
        loss = step(data[i % len(data)])
    elapsed = time.perf_counter() - start
    print(
        f"torch {torch.__version__} seq2seq GRU {H} additive attention, batch {B}, lengths 20-30, "
        f"threads={args.threads}: {args.steps * B / elapsed:.1f} sequences/s "
        f"({args.steps} steps in {elapsed:.2f} s, last loss {loss:.4f})"
    )


if __name__ == "__main__":
    main()
