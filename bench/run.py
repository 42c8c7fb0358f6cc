"""Runs `tour bench` and the PyTorch (scikit-learn for rbm) script of each workload side by side:
A B A B … for `--rounds` rounds at each thread count, each run a separate process under
`/usr/bin/time -v` (peak RSS), then writes the medians and ratios as Markdown and JSON.

    cargo build --release -p inductive-tour
    python -m venv .venv && .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/run.py --rounds 3 --threads 1 2 --seconds 5 [--workloads mlp lenet]

Writes bench/results.md and bench/results.json (or --out PREFIX). Ratio = ours / theirs on the
throughput (above 1: ours is faster); memory ratio = ours / theirs on peak RSS.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOADS = ["mlp", "lenet", "lstm", "transformer", "seq2seq", "rbm", "gemm"]


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (last JSON line of stdout, peak RSS in MB)."""
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return json.loads(line), (int(rss.group(1)) / 1024.0 if rss else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    ap.add_argument("--tour", default=str(ROOT / "target" / "release" / "tour"))
    ap.add_argument("--out", default=str(HERE / "results"))
    a = ap.parse_args()
    rows = []
    for w in a.workloads:
        for t in a.threads:
            ours_cmd = [a.tour, "bench", w, "--threads", str(t), "--seconds", str(a.seconds), "--json"]
            theirs_cmd = [sys.executable, str(HERE / f"{w}.py"), "--threads", str(t), "--seconds", str(a.seconds)]
            ours, theirs, ours_rss, theirs_rss = [], [], [], []
            for r in range(a.rounds):
                o, orss = timed(ours_cmd)
                p, prss = timed(theirs_cmd)
                ours.append(o["throughput"])
                theirs.append(p["throughput"])
                ours_rss.append(orss)
                theirs_rss.append(prss)
                print(f"{w} threads {t} round {r + 1}: ours {o['throughput']:.1f}, "
                      f"theirs {p['throughput']:.1f} {o['unit']}", file=sys.stderr)
            row = {
                "workload": w, "threads": t, "unit": o["unit"], "shards": o["shards"],
                "peer": p["side"],
                "ours": statistics.median(ours), "theirs": statistics.median(theirs),
                "ours_runs": ours, "theirs_runs": theirs,
                "ours_rss_mb": statistics.median(ours_rss), "theirs_rss_mb": statistics.median(theirs_rss),
            }
            row["ratio"] = row["ours"] / row["theirs"]
            rows.append(row)
    # two threads against one, per side
    for row in rows:
        one = next((r for r in rows if r["workload"] == row["workload"] and r["threads"] == 1), None)
        if one:
            row["ours_scaling"] = row["ours"] / one["ours"]
            row["theirs_scaling"] = row["theirs"] / one["theirs"]
    Path(a.out + ".json").write_text(json.dumps(rows, indent=1))
    lines = [
        f"Medians of {a.rounds} alternating rounds, {a.seconds} s timed per run.",
        "",
        "| workload | threads | unit | ours | peer | peer's | ratio | ours ×1 thr | peer ×1 thr | RSS ours / peer (MB) |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['threads']} | {r['unit']} | {r['ours']:.1f} | {r['peer']} | "
            f"{r['theirs']:.1f} | **{r['ratio']:.2f}×** | {r.get('ours_scaling', 1):.2f} | "
            f"{r.get('theirs_scaling', 1):.2f} | {r['ours_rss_mb']:.0f} / {r['theirs_rss_mb']:.0f} |"
        )
    Path(a.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
