"""Writes python/tests/fixtures/torch/: models built (and one trained) in PyTorch, saved in our
format by `inductive_torch.save`, with a fixed input each and PyTorch's output on it
(`cases.json`, the format of tour/tests/bridge/mod.rs). tour/tests/torch_bridge.rs loads each
file with the Rust `load` functions and compares outputs, so the Rust tests need no Python.

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
            y = module(x)
        it.save(module, os.path.join(OUT, f"{name}.safetensors"))
        out.append({"name": name, "kind": module.kind, "file": f"{name}.safetensors",
                    "input": x.tolist(), "output": y.tolist()})

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
    return out


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
    print(f"wrote {len(out)} cases and a table MLP (test accuracy {accuracy:.4f}) to {OUT}")


if __name__ == "__main__":
    main()
