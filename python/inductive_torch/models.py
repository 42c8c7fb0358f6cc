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


# ----------------------------------------------------------------------------------- seq2seq

PAD, BOS, EOS, UNK, SPECIALS = 0, 1, 2, 3, 4
"""The special ids of `rnn::seq2seq::Vocab` (characters follow, in sorted order)."""


def _recurrent(cell, inputs, hidden, layers=1):
    """`nn.RNN`/`nn.LSTM`/`nn.GRU` of a serialized `rnn::CellKind` (time-major)."""
    if cell in ("tanh", "relu"):
        return nn.RNN(inputs, hidden, num_layers=layers, nonlinearity=cell)
    if cell == "lstm":
        return nn.LSTM(inputs, hidden, num_layers=layers)
    if cell == "gru":
        return nn.GRU(inputs, hidden, num_layers=layers)
    raise ConfigError(f"unknown cell {cell!r}")


class Directions(nn.Module):
    """One encoder layer of `rnn::seq2seq::Seq2Seq`: a one-layer recurrent network per
    direction, named `forward` and `reverse` as in the Rust model (`encoder.0.forward.weight_ih_l0`).
    `forward` is also `nn.Module`'s method name, so the children are registered directly in
    `_modules` and read back with `fw` / `bw`; the container itself is never called."""

    def __init__(self, fw, bw=None):
        super().__init__()
        self._modules["forward"] = fw
        if bw is not None:
            self._modules["reverse"] = bw

    @property
    def fw(self):
        return self._modules["forward"]

    @property
    def bw(self):
        return self._modules.get("reverse")


def _reverse_index(lengths, steps):
    """`(S, B)` positions that reverse each column's first `n_b` steps and leave its padding in
    place (`rnn::seq2seq::model::reverse_into`; an involution)."""
    t = torch.arange(steps).unsqueeze(1)
    n = lengths.unsqueeze(0)
    return torch.where(t < n, n - 1 - t, t)


class Seq2Seq(nn.Module):
    """`rnn::seq2seq::Seq2Seq`: the recurrent encoder–decoder with attention (notes §7.3).

    ```text
    encoder   h_j = [→h_j; ←h_j]   one RNN per layer and direction; the reverse one reads each
              source reversed within its own length (padding stays behind it)
    bridge    s_0 = tanh(W_b [→h_{n−1}; ←h_0] + b_b)   (every decoder layer; LSTM cells c_0 = 0)
    decoder   s_t = RNN(E_t y_{t−1}, s_{t−1})          (teacher forcing: BOS y_1 … y_n, PAD after)
    scores    additive e_tj = vᵀ tanh(W_q s_t + W_k h_j);  general h_jᵀ W s_t;  dot h_jᵀ s_t
    weights   α_t = softmax over j < n (padded j get 0);  c_t = Σ_j α_tj h_j
    output    o_t = tanh(W_c [c_t; s_t] + b_c)  ([s_t] alone without attention),  z_t = W_o o_t + b_o
    ```

    `forward(src, src_len, dec_in)`: time-major ids `src` `(S, B)` (PAD after each source),
    lengths `(B,)`, decoder inputs `(T, B)`; returns logits `(T, B, vocab)`. `batch(sources,
    targets)` pads lists of ids as `rnn::seq2seq::Batch::new` does.
    """

    kind = "seq2seq"

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.vocab = SPECIALS + len(config["vocab"])
        e, h, hd = config["embed"], config["hidden"], config["decoder_hidden"]
        self.bidirectional = config["bidirectional"]
        self.hidden, self.decoder_hidden = h, hd
        self.decoder_layers = config["decoder_layers"]
        self.cell = config["cell"]
        m = 2 * h if self.bidirectional else h
        self.src_embed = nn.Embedding(self.vocab, e)
        self.tgt_embed = nn.Embedding(self.vocab, e)
        self.encoder = nn.ModuleList()
        for layer in range(config["layers"]):
            i = e if layer == 0 else m
            bw = _recurrent(self.cell, i, h) if self.bidirectional else None
            self.encoder.append(Directions(_recurrent(self.cell, i, h), bw))
        self.bridge = nn.Linear(m, self.decoder_layers * hd)
        self.decoder = _recurrent(self.cell, e, hd, self.decoder_layers)
        self.attention_kind = config["attention"]
        a = config["attention_dim"]
        if self.attention_kind == "additive":
            self.attention = nn.Module()
            self.attention.query = nn.Linear(hd, a, bias=False)
            self.attention.key = nn.Linear(m, a, bias=False)
            self.attention.v = nn.Parameter(torch.empty(a).uniform_(-1 / math.sqrt(a), 1 / math.sqrt(a)))
        elif self.attention_kind == "general":
            self.attention = nn.Module()
            self.attention.query = nn.Linear(hd, m, bias=False)
        elif self.attention_kind == "dot":
            if hd != m:
                raise ConfigError(f"dot attention needs decoder_hidden {hd} = the encoder's width {m}")
        elif self.attention_kind != "none":
            raise ConfigError(f"unknown attention {self.attention_kind!r}")
        inputs = hd if self.attention_kind == "none" else m + hd
        self.combine = nn.Linear(inputs, hd)
        self.output = nn.Linear(hd, self.vocab)

    def encode(self, src, src_len):
        """Top encoder outputs `(S, B, M)` and the decoder's initial state."""
        x = self.src_embed(src)
        steps = src.shape[0]
        idx = _reverse_index(src_len, steps)
        for layer in self.encoder:
            fw, _ = layer.fw(x)
            if layer.bw is None:
                x = fw
                continue
            rev = idx.unsqueeze(-1).expand(-1, -1, x.shape[-1])
            bw, _ = layer.bw(x.gather(0, rev))
            x = torch.cat([fw, bw.gather(0, idx.unsqueeze(-1).expand(-1, -1, bw.shape[-1]))], -1)
        memory = x
        batch = torch.arange(src.shape[1])
        summary = memory[src_len - 1, batch, : self.hidden]
        if self.bidirectional:
            summary = torch.cat([summary, memory[0, :, self.hidden:]], -1)
        init = torch.tanh(self.bridge(summary))
        h0 = init.reshape(-1, self.decoder_layers, self.decoder_hidden).transpose(0, 1).contiguous()
        state = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0
        return memory, state

    def attend(self, memory, src_len, states):
        """`[c_t; s_t]` (or `s_t` without attention) and the weights `α` `(T, S, B)`."""
        if self.attention_kind == "none":
            return states, None
        if self.attention_kind == "additive":
            keys = self.attention.key(memory)  # (S, B, A)
            queries = self.attention.query(states)  # (T, B, A)
            tau = torch.tanh(queries.unsqueeze(1) + keys.unsqueeze(0))  # (T, S, B, A)
            scores = tau @ self.attention.v
        else:
            q = self.attention.query(states) if self.attention_kind == "general" else states
            scores = torch.einsum("sbm,tbm->tsb", memory, q)
        steps = memory.shape[0]
        padded = torch.arange(steps).unsqueeze(1) >= src_len.unsqueeze(0)  # (S, B)
        alpha = torch.softmax(scores.masked_fill(padded.unsqueeze(0), float("-inf")), dim=1)
        context = torch.einsum("tsb,sbm->tbm", alpha, memory)
        return torch.cat([context, states], -1), alpha

    def forward(self, src, src_len, dec_in):
        memory, state = self.encode(src, src_len)
        states, _ = self.decoder(self.tgt_embed(dec_in), state)
        cat, _ = self.attend(memory, src_len, states)
        return self.output(torch.tanh(self.combine(cat)))

    @staticmethod
    def batch(sources, targets):
        """`(src, src_len, dec_in, dec_out)` of lists of ids, time-major, padded with PAD
        (decoder inputs BOS y_1 … y_n, targets y_1 … y_n EOS), as `rnn::seq2seq::Batch::new`."""
        b = len(sources)
        s = max(len(x) for x in sources)
        t = max(len(y) for y in targets) + 1
        src = torch.full((s, b), PAD, dtype=torch.long)
        dec_in = torch.full((t, b), PAD, dtype=torch.long)
        dec_out = torch.full((t, b), PAD, dtype=torch.long)
        for c, (x, y) in enumerate(zip(sources, targets)):
            src[: len(x), c] = torch.tensor(x, dtype=torch.long)
            dec_in[0, c] = BOS
            if y:
                dec_in[1: len(y) + 1, c] = torch.tensor(y, dtype=torch.long)
                dec_out[: len(y), c] = torch.tensor(y, dtype=torch.long)
            dec_out[len(y), c] = EOS
        src_len = torch.tensor([len(x) for x in sources], dtype=torch.long)
        return src, src_len, dec_in, dec_out

    def teacher_forced(self, sources, targets):
        """Logits `(T, B, vocab)` of the padded pairs under teacher forcing."""
        src, src_len, dec_in, _ = self.batch(sources, targets)
        return self(src, src_len, dec_in)

    def loss(self, output, dec_out):
        """Mean cross-entropy over the real (non-PAD) target positions, as the Rust model."""
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), dec_out.reshape(-1),
                               ignore_index=PAD)

    def encode_text(self, text):
        """Ids of a string (unknown characters → UNK), as `Vocab::encode`."""
        chars = self.config["vocab"]
        return [SPECIALS + chars.index(ch) if ch in chars else UNK for ch in text]


# ------------------------------------------------------------------- Transformer encoder–decoder


class EncoderDecoder(nn.Module):
    """`transformer::seq2seq::EncoderDecoder`: the original Transformer (Vaswani et al. 2017)
    with learned positions, as PyTorch's `nn.TransformerEncoder` / `nn.TransformerDecoder`
    (each with its final `norm`, as `nn.Transformer`), dropout 0:

    ```text
    M  = LN_enc(Enc_L(… Enc_1(E_s[src] + P_s)))       source key padding masked
    Y  = LN_dec(Dec_L(… Dec_1(E_t[bos y_1 … y_n] + P_t, M)))   causal; padded source masked
    Z  = W Y + b                                       (`generator`)
    ```

    `forward(src, tgt_in, src_pad)`: ids `(B, S)` (padded with 0), decoder inputs `(B, T)`,
    padding flags `(B, S)` (True = padded; None = none); returns logits `(B, T, tgt_vocab)`.
    `batch(sources, targets)` pads lists of ids as the Rust model (decoder inputs padded with
    `eos`, padded targets ignored by the loss).
    """

    kind = "encoder_decoder"

    def __init__(self, config):
        super().__init__()
        self.config = config
        d, heads, ff = config["width"], config["heads"], config["ff_width"]
        self.src_embedding = nn.Embedding(config["src_vocab"], d)
        self.tgt_embedding = nn.Embedding(config["tgt_vocab"], d)
        self.src_positions = nn.Embedding(config["src_context"], d)
        self.tgt_positions = nn.Embedding(config["tgt_context"], d)
        common = dict(dim_feedforward=ff, dropout=0.0,
                      activation=activation_name(config["activation"]), batch_first=True,
                      norm_first=config["norm"] == "pre_ln")
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d, heads, **common), config["encoder_layers"],
            norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d, heads, **common), config["decoder_layers"],
            norm=nn.LayerNorm(d))
        self.generator = nn.Linear(d, config["tgt_vocab"])

    def forward(self, src, tgt_in, src_pad=None):
        s, t = src.shape[1], tgt_in.shape[1]
        x = self.src_embedding(src) + self.src_positions.weight[:s]
        memory = self.encoder(x, src_key_padding_mask=src_pad)
        y = self.tgt_embedding(tgt_in) + self.tgt_positions.weight[:t]
        mask = nn.Transformer.generate_square_subsequent_mask(t, dtype=y.dtype, device=y.device)
        y = self.decoder(y, memory, tgt_mask=mask, memory_key_padding_mask=src_pad,
                         tgt_is_causal=True)
        return self.generator(y)

    def batch(self, sources, targets):
        """`(src, src_pad, tgt_in, tgt_out)`: sources padded with 0 (flags True), decoder inputs
        `bos y_1 … y_n` padded with `eos`, targets `y_1 … y_n eos` padded with -100 (ignored)."""
        bos, eos = self.config["bos"], self.config["eos"]
        s = max(len(x) for x in sources)
        t = max(len(y) for y in targets) + 1
        src = torch.tensor([x + [0] * (s - len(x)) for x in sources], dtype=torch.long)
        pad = torch.tensor([[False] * len(x) + [True] * (s - len(x)) for x in sources])
        tgt_in = torch.tensor([[bos] + y + [eos] * (t - 1 - len(y)) for y in targets],
                              dtype=torch.long)
        tgt_out = torch.tensor([y + [eos] + [-100] * (t - 1 - len(y)) for y in targets],
                               dtype=torch.long)
        return src, pad, tgt_in, tgt_out

    def teacher_forced(self, sources, targets):
        """Logits `(B, T, tgt_vocab)` of the padded pairs under teacher forcing."""
        src, pad, tgt_in, _ = self.batch(sources, targets)
        return self(src, tgt_in, pad)

    def loss(self, output, tgt_out):
        """Mean cross-entropy per target token (`eos` included, padding ignored)."""
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), tgt_out.reshape(-1),
                               ignore_index=-100)


BUILDERS = {m.kind: m for m in (Mlp, Cnn, SeqModel, Gpt, Seq2Seq, EncoderDecoder)}
