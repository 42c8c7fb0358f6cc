"""Continue training one of our checkpoints in PyTorch with DistributedDataParallel, then save it
back in our format (so `tour CHAPTER --load FILE` and the Rust `load` functions read it).

Launch with torchrun (Gloo on CPU; NCCL when every process has a GPU):

    torchrun --standalone --nproc_per_node=2 python/continue_ddp.py \\
        out/mlp_digits.safetensors --data optdigits.tra --divide 16 \\
        --epochs 5 --lr 1e-3 --out mlp_digits_ddp.safetensors

Data (`--data`), in PyTorch's layouts (one row per example):
- `.npz` with arrays `x` (features, images `(N, C, H, W)` or `(N, C·H·W)`, sequences `(T, N, …)`
  for the recurrent models, ids `(N, T)` for the GPT) and `y` (class labels, or regression
  targets, or next-token ids `(N, T)` for the GPT);
- a numeric CSV table (a header line is detected) with the class label in `--label-column`
  (an index from 0 or a header name; the last column by default), features scaled by
  `--divide D` or `--standardize` (population statistics of the rows, as the tour does).

Each process reads the whole file and trains on its `DistributedSampler` shard; gradients are
averaged across processes by DDP every step, so all replicas hold the same weights. Rank 0
writes the checkpoint and prints one JSON line: losses per epoch, accuracy on the data,
the number of processes, the backend, and whether the replicas' weights agree at the end.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inductive_torch as it  # noqa: E402


def read_csv(path, label_column):
    with open(path, encoding="utf-8-sig") as f:
        lines = [line.strip() for line in f if line.strip()]
    first = lines[0].split(",")
    try:
        [float(v) for v in first]
        header = None
    except ValueError:
        header, lines = [h.strip() for h in first], lines[1:]
    table = np.array([[float(v) for v in line.split(",")] for line in lines])
    if label_column is None:
        col = table.shape[1] - 1
    elif label_column.isdigit():
        col = int(label_column)
    elif header is not None and label_column in header:
        col = header.index(label_column)
    else:
        raise SystemExit(f"{path}: no label column {label_column!r} (header: {header})")
    labels = table[:, col]
    if not np.all(labels == np.round(labels)) or labels.min() < 0:
        raise SystemExit(f"{path}: column {col} does not hold class indices 0, 1, 2, …")
    return np.delete(table, col, axis=1), labels.astype(np.int64)


def read_data(args):
    if args.data.endswith(".npz"):
        arrays = np.load(args.data)
        x, y = arrays["x"], arrays["y"]
    else:
        x, y = read_csv(args.data, args.label_column)
    if args.divide:
        x = x / args.divide
    if args.standardize:
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    x = torch.tensor(x)
    x = x.float() if x.is_floating_point() else x.long()
    y = torch.tensor(y)
    y = y.float() if y.is_floating_point() else y.long()
    return x, y


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="one of our checkpoints (safetensors with kind/config)")
    p.add_argument("--data", required=True, help=".npz with x and y, or a CSV table")
    p.add_argument("--label-column", help="CSV: label column, index from 0 or header name")
    p.add_argument("--divide", type=float, help="divide the features by this (16 for optdigits)")
    p.add_argument("--standardize", action="store_true", help="standardize the features")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32, help="per process")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="where to write the continued checkpoint")
    args = p.parse_args(argv)

    cuda = torch.cuda.is_available() and torch.cuda.device_count() >= int(
        os.environ.get("LOCAL_WORLD_SIZE", "1"))
    backend = "nccl" if cuda else "gloo"
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    torch.manual_seed(args.seed + rank)  # dropout masks differ per process, as they should

    model = it.load(args.checkpoint, dtype=torch.float32).to(device).train()
    if isinstance(model, (it.Seq2Seq, it.EncoderDecoder)):
        raise SystemExit(f"{args.checkpoint}: a {model.kind} model reads pairs of sequences; "
                         "this script trains the single-input models (mlp, cnn, rnn, gpt)")
    ddp = DistributedDataParallel(model, device_ids=[device] if cuda else None)
    x, y = read_data(args)
    # the recurrent models take time-major sequences: the example axis is 1
    if isinstance(model, it.SeqModel):
        x = x.transpose(0, 1)
        if model.readout == "every":
            y = y.transpose(0, 1)
    data = TensorDataset(x, y)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True,
                                 seed=args.seed)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr)

    def batch(xb, yb):
        if isinstance(model, it.SeqModel):
            xb = xb.transpose(0, 1)
            if model.readout == "every":
                yb = yb.transpose(0, 1)
        return xb.to(device), yb.to(device)

    losses = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        total = torch.zeros(2, device=device)
        for xb, yb in loader:
            xb, yb = batch(xb, yb)
            optimizer.zero_grad()
            loss = model.loss(ddp(xb), yb)
            loss.backward()  # DDP averages the gradients of all processes here
            optimizer.step()
            total += torch.stack([loss.detach() * len(yb), torch.tensor(float(len(yb)),
                                                                          device=device)])
        dist.all_reduce(total)
        losses.append((total[0] / total[1]).item())

    # every replica must hold the same weights: compare a checksum across processes
    flat = torch.cat([t.detach().double().flatten() for t in model.state_dict().values()
                      if t.is_floating_point()])
    sums = [torch.zeros(2, dtype=torch.float64, device=device) for _ in range(world)]
    dist.all_gather(sums, torch.stack([flat.sum(), (flat * flat).sum()]))
    replicas_equal = all(torch.equal(s, sums[0]) for s in sums)

    if rank == 0:
        model.eval()
        with torch.no_grad():
            xs, ys = batch(x, y)
            out = model(xs)
            accuracy = None
            if not ys.is_floating_point():
                accuracy = (out.argmax(-1) == ys).double().mean().item()
        it.save(model, args.out, extra_metadata={"continued_in": f"pytorch ddp x{world}"})
        print(json.dumps({"processes": world, "backend": backend, "epochs": args.epochs,
                          "loss_per_epoch": losses, "accuracy": accuracy,
                          "replicas_equal": replicas_equal, "out": args.out}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
