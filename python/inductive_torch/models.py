"""`torch.nn.Module`s equivalent to the Rust models, built from a checkpoint's stored config.

Each module's `state_dict` has exactly the names and shapes the Rust model lists, so a file
written by the Rust crate loads with `load_state_dict(strict=True)` and a trained module's
`state_dict` saves back into a file the Rust `load` accepts. Each module also keeps `kind` and
`config` (the Rust configuration as a dict) for writing back, and `from_ours(x)` / `to_ours(y)`
convert between the Rust batch layout (one column per example) and PyTorch's (one row per
example) where the two differ.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class ConfigError(ValueError):
    """A stored configuration this package cannot build."""


def activation_module(spec):
    """The module of a serialized `optim::Activation` (`"relu"`, `{"leaky_relu": 0.01}`, …)."""
    if isinstance(spec, dict):
        ((name, arg),) = spec.items()
        if name == "leaky_relu":
            return nn.LeakyReLU(arg)
        if name == "elu":
            return nn.ELU(arg)
        raise ConfigError(f"unknown activation {spec!r}")
    table = {
        "identity": nn.Identity,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "gelu": nn.GELU,  # exact (erf) form, as the Rust Gelu
        "softplus": nn.Softplus,
    }
    if spec not in table:
        raise ConfigError(f"unknown activation {spec!r}")
    return table[spec]()


def activation_name(spec):
    """The `activation` argument of `nn.TransformerEncoderLayer` for a serialized activation."""
    if spec in ("relu", "gelu"):
        return spec
    raise ConfigError(f"a transformer block with activation {spec!r} has no PyTorch layer")


# --------------------------------------------------------------------------------------- MLP


class Mlp(nn.Module):
    """`mlp::Mlp`: `nn.Sequential` named `layers`: per hidden width
    `Linear [→ BatchNorm1d] → activation [→ Dropout]`, then `Linear` to the outputs.

    Input `(batch, inputs)`, output `(batch, outputs)` (logits for classification).
    """

    kind = "mlp"

    def __init__(self, config):
        super().__init__()
        self.config = config
        layers = []
        width = config["inputs"]
        for h in config["hidden"]:
            layers.append(nn.Linear(width, h, bias=not config["batch_norm"]))
            if config["batch_norm"]:
                layers.append(
                    nn.BatchNorm1d(
                        h, eps=config["batch_norm_eps"], momentum=config["batch_norm_momentum"]
                    )
                )
            layers.append(activation_module(config["activation"]))
            if config["dropout"] > 0:
                layers.append(nn.Dropout(config["dropout"]))
            width = h
        layers.append(nn.Linear(width, config["outputs"]))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)

    def loss(self, output, target):
        """The training loss of the config: cross-entropy (with label smoothing) or MSE."""
        loss = self.config["loss"]
        if isinstance(loss, dict) and "cross_entropy" in loss:
            smoothing = loss["cross_entropy"]["label_smoothing"]
            return F.cross_entropy(output, target, label_smoothing=smoothing)
        return F.mse_loss(output, target)

    @staticmethod
    def classifier_config(inputs, hidden, outputs, activation="relu"):
        """The JSON of `mlp::Config::classifier(inputs, hidden, outputs).activation(a)`."""
        return {
            "inputs": inputs,
            "hidden": list(hidden),
            "outputs": outputs,
            "activation": activation,
            "loss": {"cross_entropy": {"label_smoothing": 0.0}},
            "dropout": 0.0,
            "batch_norm": False,
            "batch_norm_momentum": 0.1,
            "batch_norm_eps": 1e-5,
            "init": "pytorch_default",
        }


# --------------------------------------------------------------------------------------- CNN


class GlobalAvgPool(nn.Module):
    """`cnn::GlobalAvgPool`: the mean of each channel, `(B, C, H, W) → (B, C)`."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class BasicBlock(nn.Module):
    """`cnn::ResidualBlock`, ResNet's basic block: `relu(bn2(conv2(relu(bn1(conv1 x)))) + s(x))`
    with 3x3 convolutions without bias and the shortcut `s` a 1x1 convolution + batch norm when
    the shape changes (named `downsample.0`, `downsample.1` as in torchvision)."""

    def __init__(self, in_channels, out_channels, stride, changes_shape):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if changes_shape:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


def _out_len(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


class Cnn(nn.Sequential):
    """`cnn::Cnn`: an `nn.Sequential` (parameters `0.weight`, `3.weight`, …, as the Rust names)
    of the stored layer specs. Input `(B, C·H·W)` in channel, row, column order (reshaped here) or `(B, C, H, W)`;
    output `(B, classes)` logits."""

    kind = "cnn"

    def __init__(self, config):
        shape = config["input"]
        c, h, w = shape["channels"], shape["height"], shape["width"]
        layers = []
        flat = False
        for spec in config["layers"]:
            kind = spec["layer"]
            if kind == "conv":
                kh, kw = spec["kernel"]
                sh, sw = spec["stride"]
                ph, pw = spec["padding"]
                dh, dw = spec["dilation"]
                layers.append(
                    nn.Conv2d(
                        spec["in_channels"], spec["out_channels"], (kh, kw), (sh, sw), (ph, pw),
                        (dh, dw), bias=spec["bias"],
                    )
                )
                c, h, w = spec["out_channels"], _out_len(h, kh, sh, ph, dh), _out_len(w, kw, sw, pw, dw)
            elif kind == "activation":
                layers.append(activation_module(spec["activation"]))
            elif kind in ("max_pool", "avg_pool"):
                k, s, p = spec["kernel"], spec["stride"], spec["padding"]
                if kind == "max_pool":
                    layers.append(nn.MaxPool2d(tuple(k), tuple(s), tuple(p)))
                else:
                    layers.append(
                        nn.AvgPool2d(tuple(k), tuple(s), tuple(p),
                                     count_include_pad=spec["count_include_pad"])
                    )
                h, w = _out_len(h, k[0], s[0], p[0]), _out_len(w, k[1], s[1], p[1])
            elif kind == "global_avg_pool":
                layers.append(GlobalAvgPool())
                h = w = 1
                flat = True
            elif kind == "batch_norm":
                norm = nn.BatchNorm1d if flat else nn.BatchNorm2d
                layers.append(norm(c * h * w if flat else c, eps=spec["eps"], momentum=spec["momentum"]))
            elif kind == "dropout":
                layers.append(nn.Dropout(spec["p"]))
            elif kind == "residual":
                o, s = spec["out_channels"], spec["stride"]
                nh, nw = _out_len(h, 3, s, 1), _out_len(w, 3, s, 1)
                layers.append(BasicBlock(c, o, s, (o, nh, nw) != (c, h, w)))
                c, h, w = o, nh, nw
            elif kind == "flatten":
                layers.append(nn.Flatten())
                c, h, w, flat = c * h * w, 1, 1, True
            elif kind == "dense":
                layers.append(nn.Linear(c * h * w, spec["outputs"]))
                c, h, w, flat = spec["outputs"], 1, 1, True
            else:
                raise ConfigError(f"unknown CNN layer {spec!r}")
        super().__init__(*layers)
        self.config = config
        self.input_shape = (shape["channels"], shape["height"], shape["width"])

    def forward(self, x):
        if x.dim() == 2:
            x = x.reshape(x.shape[0], *self.input_shape)
        return super().forward(x)

    def loss(self, output, target):
        return F.cross_entropy(output, target, label_smoothing=self.config.get("label_smoothing", 0.0))

    @staticmethod
    def lenet5_config():
        """The JSON of `cnn::Cnn::lenet5`'s architecture (1x28x28, 61 706 parameters)."""
        def conv(i, o, k, p):
            return {"layer": "conv", "in_channels": i, "out_channels": o, "kernel": [k, k],
                    "stride": [1, 1], "padding": [p, p], "dilation": [1, 1], "bias": True}
        relu = {"layer": "activation", "activation": "relu"}
        pool = {"layer": "max_pool", "kernel": [2, 2], "stride": [2, 2], "padding": [0, 0]}

        def dense(o):
            return {"layer": "dense", "outputs": o, "init": "pytorch_default"}
        return {
            "input": {"channels": 1, "height": 28, "width": 28},
            "layers": [conv(1, 6, 5, 2), relu, pool, conv(6, 16, 5, 0), relu, pool,
                       {"layer": "flatten"}, dense(120), relu, dense(84), relu, dense(10)],
            "label_smoothing": 0.0,
        }


# --------------------------------------------------------------------------------------- RNN


class SeqModel(nn.Module):
    """`rnn::SeqModel`: input encoding (dense features, one-hot tokens or an `nn.Embedding`
    named `embedding`), `nn.RNN`/`nn.LSTM`/`nn.GRU` named `rnn` (time-major, zero initial
    state) and an `nn.Linear` head named `head`, read at the last step or at every step.

    Input `(T, B, I)` features or `(T, B)` token ids; output `(B, outputs)` (readout `last`) or
    `(T, B, outputs)` (readout `every`). For a bidirectional network the last-step readout is
    the forward direction's `h_T` over the reverse direction's `h_0`, as in the Rust model.
    """

    kind = "rnn"

    def __init__(self, config):
        super().__init__()
        self.config = config
        rc = config["rnn"]
        enc = config["encoding"]
        self.one_hot = None
        self.embedding = None
        if isinstance(enc, dict) and "one_hot" in enc:
            self.one_hot = enc["one_hot"]
        elif isinstance(enc, dict) and "embedding" in enc:
            self.embedding = nn.Embedding(enc["embedding"]["vocab"], enc["embedding"]["dim"])
        elif enc != "dense":
            raise ConfigError(f"unknown encoding {enc!r}")
        cell = rc["cell"]
        common = dict(num_layers=rc["layers"], bidirectional=rc["bidirectional"])
        if cell in ("tanh", "relu"):
            self.rnn = nn.RNN(rc["input"], rc["hidden"], nonlinearity=cell, **common)
        elif cell == "lstm":
            self.rnn = nn.LSTM(rc["input"], rc["hidden"], **common)
        elif cell == "gru":
            self.rnn = nn.GRU(rc["input"], rc["hidden"], **common)
        else:
            raise ConfigError(f"unknown cell {cell!r}")
        self.hidden = rc["hidden"]
        self.directions = 2 if rc["bidirectional"] else 1
        self.head = nn.Linear(self.directions * rc["hidden"], config["outputs"])
        self.readout = config["readout"]

    def forward(self, x):
        if self.embedding is not None:
            x = self.embedding(x)
        elif self.one_hot is not None:
            x = F.one_hot(x, self.one_hot).to(self.head.weight.dtype)
        out, _ = self.rnn(x)  # (T, B, D·H)
        if self.readout == "last":
            last = out[-1]
            if self.directions == 2:
                last = torch.cat([out[-1, :, : self.hidden], out[0, :, self.hidden:]], dim=1)
            return self.head(last)
        return self.head(out)

    def loss(self, output, target):
        if target.dtype in (torch.int64, torch.int32):
            return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))
        return F.mse_loss(output, target)


# --------------------------------------------------------------------------------------- GPT


def sinusoidal(width, context):
    """`transformer::position::sinusoidal` as a `(context, width)` table: row `t`, column `i` is
    `sin(t / 10000^(2⌊i/2⌋/d))` for even `i`, `cos(…)` for odd `i`."""
    table = torch.zeros(context, width, dtype=torch.float64)
    for t in range(context):
        for i in range(width):
            angle = t / 10000.0 ** (2.0 * (i // 2) / width)
            table[t, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
    return table


class Gpt(nn.Module):
    """`transformer::Gpt`: token (+ learned or sinusoidal position) embeddings, causal
    `nn.TransformerEncoderLayer`s in an `nn.ModuleList` named `blocks`, a final `LayerNorm`
    named `norm` and the output projection (the token table when tied, else `lm_head`, no bias).

    Input `(B, T)` token ids, output `(B, T, vocab)` logits.
    """

    kind = "gpt"

    def __init__(self, config):
        super().__init__()
        self.config = config
        d, v = config["width"], config["vocab"]
        self.token_embedding = nn.Embedding(v, d)
        self.position_embedding = None
        positions = config["positions"]
        if positions == "learned":
            self.position_embedding = nn.Embedding(config["context"], d)
        elif positions == "sinusoidal":
            self.register_buffer("sinusoid", sinusoidal(d, config["context"]), persistent=False)
        elif positions != "none":
            raise ConfigError(f"unknown positions {positions!r}")
        self.positions = positions
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d, config["heads"], config["ff_width"], dropout=config["dropout"],
                activation=activation_name(config["activation"]), batch_first=True,
                norm_first=config["norm"] == "pre_ln",
            )
            for _ in range(config["layers"])
        )
        self.norm = nn.LayerNorm(d)
        self.lm_head = None if config["tied"] else nn.Linear(d, v, bias=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.token_embedding(ids)
        if self.position_embedding is not None:
            x = x + self.position_embedding.weight[:t]
        elif self.positions == "sinusoidal":
            x = x + self.sinusoid[:t].to(x.dtype)
        mask = nn.Transformer.generate_square_subsequent_mask(t, dtype=x.dtype, device=x.device)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        h = self.norm(x)
        w = self.token_embedding.weight if self.lm_head is None else self.lm_head.weight
        return h @ w.T

    def loss(self, output, target):
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))


BUILDERS = {m.kind: m for m in (Mlp, Cnn, SeqModel, Gpt)}
