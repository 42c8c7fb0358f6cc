"""The PyTorch bridge of `inductive`, both ways.

- `load(path)` reads one of our checkpoints (safetensors + `kind`/`config` metadata, written by
  `Mlp::save`, `Cnn::save`, `optim::checkpoint::save_model`, or the tour), builds the equivalent
  `torch.nn.Module` from the stored configuration and loads the weights (strictly: every name,
  every shape).
- `save(module, path)` writes a module built here (trained in PyTorch, e.g. with
  `continue_ddp.py`) back in our format, with the metadata `Mlp::load`, `Cnn` / `SeqModel` /
  `Gpt` loading and `tour CHAPTER --load FILE` read.

Models: `mlp` (`Mlp`), `cnn` (`Cnn`, LeNet-5 included), `rnn` (`SeqModel`: Elman, LSTM, GRU,
stacked, bidirectional, dense/one-hot/embedding inputs), `gpt` (`Gpt`), `seq2seq` (`Seq2Seq`,
the recurrent encoder–decoder with additive, general, dot or no attention) and
`encoder_decoder` (`EncoderDecoder`, the original Transformer).

Layouts: the Rust models take one column per example; these modules take PyTorch's one row per
example (`(B, features)`, `(T, B, I)` for the recurrent models, `(B, T)` ids for the GPT and
the Transformer encoder–decoder, `(S, B)` / `(T, B)` ids for the recurrent seq2seq); the two
encoder–decoders' `batch(sources, targets)` pad lists of ids exactly as the Rust models do.
"""
import torch

from .checkpoint import Checkpoint, CheckpointError, read, write
from .models import BUILDERS, Cnn, ConfigError, EncoderDecoder, Gpt, Mlp, Seq2Seq, SeqModel

__all__ = [
    "Checkpoint", "CheckpointError", "ConfigError", "Cnn", "EncoderDecoder", "Gpt", "Mlp",
    "Seq2Seq", "SeqModel",
    "build", "load", "read", "save", "write",
]


def build(kind, config):
    """An untrained module of `kind` (`"mlp"`, `"cnn"`, `"rnn"`, `"gpt"`, `"seq2seq"`,
    `"encoder_decoder"`) for a Rust config."""
    if kind not in BUILDERS:
        raise CheckpointError(
            f"model kind {kind!r} has no PyTorch counterpart here (known: {sorted(BUILDERS)})"
        )
    return BUILDERS[kind](config)


def load(path, dtype=torch.float64):
    """The module stored in `path`, in evaluation mode, its weights in `dtype`."""
    ck = read(path)
    module = build(ck.kind, ck.config).to(dtype)
    tensors = {k: v.to(dtype) for k, v in ck.tensors.items()}
    # PyTorch's batch norm has an integer batch counter we do not store; fill it in
    for name, buf in module.state_dict().items():
        if name.endswith("num_batches_tracked") and name not in tensors:
            tensors[name] = buf
    module.load_state_dict(tensors, strict=True)
    return module.eval()


def save(module, path, dtype=torch.float32, extra_metadata=None):
    """Writes a module built by this package (its `kind` and `config` go in the metadata)."""
    if isinstance(module, torch.nn.parallel.DistributedDataParallel):
        module = module.module
    write(path, module.state_dict(), module.kind, module.config, dtype, extra_metadata)
