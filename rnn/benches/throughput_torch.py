"""PyTorch CPU reference for rnn/examples/throughput.rs: 1-layer nn.LSTM (input 32, hidden 128,
length 50, batch 32), last-step linear head, MSE, Adam, float32, sequences per second.

    python rnn/benches/throughput_torch.py --threads 1 [--seconds 10]
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    I, H, T, B = 32, 128, 50, 32
    lstm = torch.nn.LSTM(I, H)
    head = torch.nn.Linear(H, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    data = [(torch.rand(T, B, I) * 2 - 1, torch.rand(B, 1) * 2 - 1) for _ in range(8)]

    def step(x, y):
        out, _ = lstm(x)
        pred = head(out[-1])
        loss = torch.nn.functional.mse_loss(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for x, y in data[:3]:
        step(x, y)
    start = time.perf_counter()
    cpu_start = time.process_time()
    iters = 0
    loss = 0.0
    while time.perf_counter() - start < args.seconds:
        x, y = data[iters % len(data)]
        loss = step(x, y)
        iters += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(
        f"torch {torch.__version__} nn.LSTM (I={I}, H={H}, T={T}, B={B}, f32, Adam) "
        f"threads={args.threads}: {iters * B / elapsed:.1f} sequences/s "
        f"({iters} steps in {elapsed:.2f} s, {1e3 * elapsed / iters:.2f} ms/step, last loss {loss:.4f})"
    )
    print(f"  per CPU-second: {iters * B / cpu:.1f} sequences ({cpu:.2f} CPU-s)")


if __name__ == "__main__":
    main()
