"""Writes python/tests/fixtures/torch/: models built (and one trained) in PyTorch, saved in our
format by `inductive_torch.save`, with a fixed input each and PyTorch's output on it
(`cases.json`, the format of tour/tests/bridge/mod.rs). tour/tests/torch_bridge.rs loads each
file with the Rust `load` functions and compares outputs, so the Rust tests need no Python.

It also trains two encoder–decoders in PyTorch on a reversal task and writes them with their test
pairs and PyTorch's exact-sequence accuracy: the recurrent `Seq2Seq` (seq2seq_reverse.*, the
test pairs as a `source<TAB>target` file for `tour seq2seq --load … --test …`) and the
Transformer `EncoderDecoder` (encdec_reverse.*, read by the crate's `load_model` in
tour/tests/torch_bridge.rs).

It also writes a 3-class CSV table (a header, the label column `label` second of four), split
into table_train.csv / table_test.csv, an MLP trained on it in PyTorch (table_mlp.safetensors)
and PyTorch's test accuracy (table_mlp.json), for `tour mlp --train … --test … --load …`.

Run from the repository root, with the environment of python/requirements.txt:
    .venv/bin/python python/tests/make_bridge_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import inductive_torch as it  # noqa: E402

OUT = os.path.join(HERE, "fixtures", "torch")


def perturb(module, gen):
    """Moves every parameter off its initial value (and running statistics off 0 and 1), then
    rounds every tensor to float32, the dtype the file stores, so the float64 outputs computed
    here are those of exactly the stored weights."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.2 * (2 * torch.rand(p.shape, generator=gen, dtype=p.dtype) - 1))
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.rand(b.shape, generator=gen, dtype=b.dtype) - 0.5)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen, dtype=b.dtype) + 0.5)
        for t in list(module.parameters()) + list(module.buffers()):
            if torch.is_floating_point(t):
                t.copy_(t.float().double())


def rows(gen, *shape):
    return (2 * torch.rand(*shape, generator=gen, dtype=torch.float64) - 1)


def cases():
    gen = torch.Generator().manual_seed(21)
    torch.manual_seed(21)
    out = []

    def add(name, module, x):
        perturb(module, gen)
        module.eval()
        with torch.no_grad():
            if isinstance(x, dict):  # an encoder–decoder: lists of ids, padded by the model
                y = module.teacher_forced(x["sources"], x["targets"])
            else:
                y = module(x)
                x = x.tolist()
        it.save(module, os.path.join(OUT, f"{name}.safetensors"))
        out.append({"name": name, "kind": module.kind, "file": f"{name}.safetensors",
                    "input": x, "output": y.tolist()})

    def pairs(src, tgt, lo, hi):
        def seqs(lens):
            return [torch.randint(lo, hi, (n,), generator=gen).tolist() for n in lens]
        return {"sources": seqs(src), "targets": seqs(tgt)}

    mlp = it.Mlp.classifier_config(5, [8, 6], 3, activation="gelu")
    mlp.update(batch_norm=True, dropout=0.2)
    add("mlp_batchnorm", it.Mlp(mlp).double(), rows(gen, 4, 5))
    add("mlp_softplus", it.Mlp(it.Mlp.classifier_config(3, [4], 2, "softplus")).double(),
        rows(gen, 3, 3))

    conv = {"layer": "conv", "in_channels": 1, "out_channels": 3, "kernel": [3, 3],
            "stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "bias": True}
    cnn = {
        "input": {"channels": 1, "height": 6, "width": 6},
        "layers": [conv, {"layer": "batch_norm", "momentum": 0.1, "eps": 1e-5},
                   {"layer": "activation", "activation": "relu"},
                   {"layer": "max_pool", "kernel": [2, 2], "stride": [2, 2], "padding": [0, 0]},
                   {"layer": "residual", "out_channels": 4, "stride": 1},
                   {"layer": "flatten"}, {"layer": "dropout", "p": 0.25, "seed": 7},
                   {"layer": "dense", "outputs": 5, "init": "pytorch_default"}],
        "label_smoothing": 0.0,
        # the training augmentation (issue 22): PyTorch ignores it, the Rust loader reads it
        "augment": {"max_shift": 2, "max_rotation_degrees": 0.0},
    }
    add("cnn_small", it.Cnn(cnn).double(), rows(gen, 3, 36))

    def seq(cell, inp, hidden, outputs, readout, encoding="dense", layers=1, bi=False):
        return {"rnn": {"cell": cell, "input": inp, "hidden": hidden, "layers": layers,
                        "bidirectional": bi, "forget_bias": None},
                "encoding": encoding, "outputs": outputs, "readout": readout}

    add("rnn_lstm", it.SeqModel(seq("lstm", 3, 4, 2, "last", layers=2, bi=True)).double(),
        rows(gen, 5, 3, 3))
    gru = seq("gru", 4, 5, 6, "every", encoding={"embedding": {"vocab": 6, "dim": 4}})
    add("rnn_gru", it.SeqModel(gru).double(), torch.randint(0, 6, (5, 3), generator=gen))

    gpt = {"vocab": 9, "context": 5, "width": 8, "layers": 2, "heads": 2, "ff_width": 16,
           "tied": True, "norm": "pre_ln", "activation": "gelu", "dropout": 0.0,
           "positions": "learned", "attention_dropout": 0.0}
    add("gpt", it.Gpt(gpt).double(), torch.randint(0, 9, (2, 5), generator=gen))

    def s2s(cell, attention, bi=True, layers=1, dec_hidden=10, dec_layers=1):
        return {"vocab": "abcdef", "embed": 4, "cell": cell, "hidden": 5, "layers": layers,
                "bidirectional": bi, "decoder_hidden": dec_hidden, "decoder_layers": dec_layers,
                "attention": attention, "attention_dim": 3, "max_len": 16, "sampling": 0.0}

    add("seq2seq_gru_additive", it.Seq2Seq(s2s("gru", "additive")).double(),
        pairs([4, 2, 3], [3, 1, 4], 3, 10))
    add("seq2seq_lstm_general",
        it.Seq2Seq(s2s("lstm", "general", bi=False, layers=2, dec_hidden=6, dec_layers=2)).double(),
        pairs([2, 5, 3], [4, 2, 1], 3, 10))

    def encdec(norm, activation, layers):
        return {"src_vocab": 6, "tgt_vocab": 8, "src_context": 5, "tgt_context": 6, "width": 8,
                "heads": 2, "encoder_layers": layers[0], "decoder_layers": layers[1],
                "ff_width": 16, "norm": norm, "activation": activation, "bos": 6, "eos": 7}

    add("encdec_post_ln", it.EncoderDecoder(encdec("post_ln", "relu", (2, 1))).double(),
        pairs([5, 2, 3], [4, 1, 2], 0, 6))
    add("encdec_pre_ln", it.EncoderDecoder(encdec("pre_ln", "gelu", (1, 2))).double(),
        pairs([3, 5], [5, 2], 0, 6))
    return out


def reversal(rng, n, letters, lo, hi):
    """`n` random sequences of `lo..=hi` ids of `0..letters` and their reversals."""
    sources = [rng.integers(0, letters, rng.integers(lo, hi + 1)).tolist() for _ in range(n)]
    return sources, [list(reversed(x)) for x in sources]


def decisive_margin(logits, targets):
    """Per pair, the smallest gap between the target's logit and the best other one over the
    positions that decide teacher-forced exactness (every position of a right pair; up to the
    first wrong one of a wrong pair). Greedy decoding equals the target exactly when every
    teacher-forced arg max is right, so a pair whose margin exceeds the two implementations'
    rounding differences gets the same verdict in Rust as here."""
    margins, right = [], []
    for z, y in zip(logits, targets):  # z (T, V), y (T,) with -100 past the end
        m, ok = float("inf"), True
        for zt, yt in zip(z, y):
            if yt < 0:
                break
            other = torch.cat([zt[:yt], zt[yt + 1:]]).max()
            gap = (zt[yt] - other).item()
            m = min(m, abs(gap))
            if gap < 0:
                ok = False
                break
        margins.append(m)
        right.append(ok)
    return min(margins), sum(right) / len(right)


def train(model, sources, targets, epochs, lr, batch):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(1)
    for _ in range(epochs):
        perm = order.permutation(len(sources))
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            xs, ys = [sources[j] for j in idx], [targets[j] for j in idx]
            opt.zero_grad()
            if isinstance(model, it.Seq2Seq):
                src, src_len, dec_in, dec_out = model.batch(xs, ys)
                loss = model.loss(model(src, src_len, dec_in), dec_out)
            else:
                src, pad, tgt_in, tgt_out = model.batch(xs, ys)
                loss = model.loss(model(src, tgt_in, pad), tgt_out)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    return model.eval()


def encoder_decoders():
    """The recurrent seq2seq and the Transformer encoder–decoder trained (float32) on
    reversal, with their test pairs and PyTorch's exact-sequence accuracy."""
    rng = np.random.default_rng(8)
    letters = "abcdef"
    # recurrent: characters (ids 4.. of the vocabulary), tested through the tour
    config = {"vocab": letters, "embed": 8, "cell": "gru", "hidden": 16, "layers": 1,
              "bidirectional": True, "decoder_hidden": 32, "decoder_layers": 1,
              "attention": "additive", "attention_dim": 16, "max_len": 16, "sampling": 0.0}
    torch.manual_seed(0)
    model = it.Seq2Seq(config)
    xs, ys = reversal(rng, 1500, 6, 3, 7)
    tx, ty = reversal(rng, 200, 6, 3, 7)
    ids = lambda seqs: [[it.models.SPECIALS + i for i in s] for s in seqs]  # noqa: E731
    train(model, ids(xs), ids(ys), epochs=6, lr=1e-2, batch=32)
    with torch.no_grad():
        src, src_len, dec_in, dec_out = model.batch(ids(tx), ids(ty))
        logits = model(src, src_len, dec_in).transpose(0, 1)  # (B, T, V)
    targets = dec_out.T.masked_fill(dec_out.T == it.models.PAD, -100)
    margin, accuracy = decisive_margin(logits, targets)
    assert margin > 1e-3, f"seq2seq: a test pair is decided by a gap of {margin}; change the seed"
    it.save(model, os.path.join(OUT, "seq2seq_reverse.safetensors"))
    with open(os.path.join(OUT, "seq2seq_reverse_test.tsv"), "w") as f:
        for x, y in zip(tx, ty):
            f.write("".join(letters[i] for i in x) + "\t" + "".join(letters[i] for i in y) + "\n")
    with open(os.path.join(OUT, "seq2seq_reverse.json"), "w") as f:
        json.dump({"test_exact_accuracy": accuracy, "smallest_margin": margin}, f)
    s2s_accuracy = accuracy

    # Transformer: ids 0..6, bos 6, eos 7, tested through transformer's load_model
    config = {"src_vocab": 6, "tgt_vocab": 8, "src_context": 7, "tgt_context": 8, "width": 16,
              "heads": 2, "encoder_layers": 1, "decoder_layers": 1, "ff_width": 32,
              "norm": "post_ln", "activation": "relu", "bos": 6, "eos": 7}
    torch.manual_seed(0)
    model = it.EncoderDecoder(config)
    xs, ys = reversal(rng, 1500, 6, 3, 7)
    tx, ty = reversal(rng, 200, 6, 3, 7)
    train(model, xs, ys, epochs=12, lr=3e-3, batch=32)
    with torch.no_grad():
        src, pad, tgt_in, tgt_out = model.batch(tx, ty)
        logits = model(src, tgt_in, pad)
    margin, accuracy = decisive_margin(logits, tgt_out)
    assert margin > 1e-3, f"encdec: a test pair is decided by a gap of {margin}; change the seed"
    it.save(model, os.path.join(OUT, "encdec_reverse.safetensors"))
    with open(os.path.join(OUT, "encdec_reverse.json"), "w") as f:
        json.dump({"sources": tx, "targets": ty, "exact_accuracy": accuracy,
                   "smallest_margin": margin}, f)
    return s2s_accuracy, accuracy


def table():
    """A 3-class table with the label second of four columns; an MLP trained on it in PyTorch
    (float32, on features standardized with the training rows' population statistics, as the
    tour does) and its test accuracy."""
    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0.0, 0.0], [2.5, 0.5, -1.0], [0.5, 2.5, 1.5]])

    def draw(n):
        labels = rng.integers(0, 3, n)
        x = centres[labels] + rng.normal(0, 0.9, (n, 3))
        return x, labels

    def write(path, x, labels):
        with open(path, "w") as f:
            f.write("width,label,height,depth\n")
            for xi, li in zip(x, labels):
                f.write(f"{xi[0]:.4f},{li},{xi[1]:.4f},{xi[2]:.4f}\n")
        # what the tour reads back: the printed values
        return np.array([[float(f"{v:.4f}") for v in xi] for xi in x])

    x_train, y_train = draw(240)
    x_test, y_test = draw(120)
    x_train = write(os.path.join(OUT, "table_train.csv"), x_train, y_train)
    x_test = write(os.path.join(OUT, "table_test.csv"), x_test, y_test)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)  # population (1/n), as optim's
    xs = torch.tensor((x_train - mean) / std, dtype=torch.float32)
    xt = torch.tensor((x_test - mean) / std, dtype=torch.float32)
    ys, yt = torch.tensor(y_train), torch.tensor(y_test)
    torch.manual_seed(0)
    model = it.Mlp(it.Mlp.classifier_config(3, [16], 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        opt.zero_grad()
        loss = model.loss(model(xs), ys)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(xt)
    top2 = logits.topk(2, dim=1).values
    margin = (top2[:, 0] - top2[:, 1]).min().item()
    # a near tie could go either way between two float32 implementations
    assert margin > 1e-3, f"a test row is within {margin} of a tie; change the seed"
    accuracy = (logits.argmax(1) == yt).double().mean().item()
    it.save(model, os.path.join(OUT, "table_mlp.safetensors"))
    with open(os.path.join(OUT, "table_mlp.json"), "w") as f:
        json.dump({"test_accuracy": accuracy, "smallest_margin": margin}, f)
    return accuracy


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    out = cases()
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"cases": out}, f)
    torch.set_default_dtype(torch.float32)
    accuracy = table()
    s2s, encdec = encoder_decoders()
    print(f"wrote {len(out)} cases, a table MLP (test accuracy {accuracy:.4f}), a seq2seq "
          f"(exact {s2s:.4f}) and an encoder–decoder (exact {encdec:.4f}) to {OUT}")


if __name__ == "__main__":
    main()
