"""Reading and writing `inductive` checkpoints: a safetensors file whose tensors are a PyTorch
`state_dict` (names and shapes as PyTorch's, row-major) and whose metadata holds the model's
`kind` and its `config` as one JSON string (`optim::checkpoint::save_model` in the Rust crate).
"""
import json
from dataclasses import dataclass, field

import torch
from safetensors import safe_open
from safetensors.torch import save_file

KIND_KEY = "kind"
CONFIG_KEY = "config"
OPTIMIZER_PREFIX = "optimizer."


class CheckpointError(ValueError):
    """A file that is not a checkpoint of a model this package can build."""


@dataclass
class Checkpoint:
    """The contents of one checkpoint file."""

    kind: str
    config: dict
    tensors: dict
    metadata: dict = field(default_factory=dict)


def read(path):
    """Reads `path`: its tensors (optimizer state, `optimizer.*`, left out) and its metadata.

    Raises CheckpointError when the file has no `kind` or `config` metadata (a bare state_dict:
    build the module yourself and `load_state_dict`).
    """
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
        tensors = {
            name: f.get_tensor(name)
            for name in f.keys()
            if not name.startswith(OPTIMIZER_PREFIX)
        }
    if KIND_KEY not in metadata or CONFIG_KEY not in metadata:
        raise CheckpointError(
            f"{path}: no {KIND_KEY!r}/{CONFIG_KEY!r} metadata: not a model checkpoint of "
            "inductive (a bare state_dict loads with load_state_dict into a module you build)"
        )
    try:
        config = json.loads(metadata[CONFIG_KEY])
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: configuration is not JSON: {e}") from e
    return Checkpoint(metadata[KIND_KEY], config, tensors, metadata)


def write(path, state_dict, kind, config, dtype=torch.float32, extra_metadata=None):
    """Writes `state_dict` with the metadata `Mlp::load` (and the other models' `load`) read.

    Every floating tensor is written as `dtype` (float32: the tour's models train in f32; the Rust
    loader accepts F32 and F64 for either scalar type); PyTorch's integer batch counters
    (`num_batches_tracked`) are left out, as the Rust models keep no such buffer.
    """
    tensors = {}
    for name, t in state_dict.items():
        if name.endswith("num_batches_tracked"):
            continue
        if not torch.is_floating_point(t):
            raise CheckpointError(f"tensor {name!r} has dtype {t.dtype}; only floats are stored")
        tensors[name] = t.detach().to(dtype=dtype, device="cpu").contiguous()
    metadata = dict(extra_metadata or {})
    metadata[KIND_KEY] = kind
    metadata[CONFIG_KEY] = json.dumps(config, separators=(",", ":"))
    save_file(tensors, str(path), metadata=metadata)
