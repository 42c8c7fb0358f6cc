"""The decoder-only model of issue 16's speed target in PyTorch, for the side-by-side timing with
the `train_speed` example: vocabulary 65, width 128, 4 heads, 2 pre-LN layers, feed-forward 512
with GELU, learned positions, tied embeddings, context 64, batch 32, AdamW, float32, CPU.

    python transformer/benches/train_step_torch.py --threads 1 --steps 50

Prints the steps' tokens per second (after 3 warm-up steps). Uses `python` from the environment
of python/requirements.txt.
"""

import argparse
import time

import torch
from torch import nn


class Gpt(nn.Module):
    def __init__(self, vocab=65, width=128, heads=4, layers=2, ff=512, context=64):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.position_embedding = nn.Embedding(context, width)
        layer = nn.TransformerEncoderLayer(
            width, heads, ff, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(context))

    def forward(self, ids):
        t = ids.shape[1]
        x = self.token_embedding(ids) + self.position_embedding.weight[:t]
        x = self.blocks(x, mask=self.mask[:t, :t], is_causal=True)
        return self.norm(x) @ self.token_embedding.weight.T


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    context, batch = 64, 32
    model = Gpt(context=context)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    ids = (torch.arange(context * batch + 1) * 31 + torch.arange(context * batch + 1) // 7) % 65
    x = ids[:-1].reshape(batch, context)
    y = ids[1:].reshape(batch, context)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 65), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - started
    print(f"pytorch {args.threads} thread(s): {args.steps} steps, "
          f"{args.steps * batch * context / seconds:.0f} tokens/s")


if __name__ == "__main__":
    main()
