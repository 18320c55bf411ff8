"""Embedding benchmark: codeframe embed (f32, bf16) against sentence-transformers' encode.

Run by scripts/bench-embed.sh with the benchmark venv's Python. Alternates the three
contenders in each repetition, cold cache, same model files, CPU, batch 32; prints a
Markdown table of medians for BENCHMARKS.md.
"""

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# Multiply-adds of the MiniLM-L6 encoder per real token: 6 layers x (4 h^2 + 2 h i), h=384, i=1536.
FLOP_PER_TOKEN = 2 * 6 * (4 * 384 * 384 + 2 * 384 * 1536)

ST_CHILD = r"""
import json, resource, sys, time, csv
from sentence_transformers import SentenceTransformer
import torch
path, model_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path, newline='', encoding='utf-8') as f:
    texts = [r['text'] for r in csv.DictReader(f)]
m = SentenceTransformer(model_dir, device='cpu')
t = time.perf_counter()
e = m.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
dt = time.perf_counter() - t
import numpy as np
np.save(out, e.astype('float32'))
print(json.dumps({'seconds': dt, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  'torch': torch.__version__, 'threads': torch.get_num_threads()}))
"""


def run_child(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    # ru_maxrss of children is the max over all children so far; each run starts a fresh child,
    # so we also ask each child for its own figure where we can.
    return dt, p.stdout, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def peak_rss_mb(cmd):
    """Peak RSS of one run via /usr/bin/time -v when present, else None."""
    if not os.path.exists("/usr/bin/time"):
        return None
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) / 1024
    return None


PEAK_CHILD = r"""
import json, time, torch
torch.set_num_threads(%d)
out = {}
for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16)):
    a = torch.randn(2048, 2048).to(dt); b = torch.randn(2048, 2048).to(dt)
    for _ in range(3): a @ b
    n = 20; t = time.perf_counter()
    for _ in range(n): a @ b
    out[name] = 2 * 2048 ** 3 * n / (time.perf_counter() - t) / 1e9
print(json.dumps(out))
"""


def measured_peak():
    """GEMM GFLOP/s this CPU reaches (2048^3 matmul, f32 and bf16, all cores)."""
    p = subprocess.run([sys.executable, "-c", PEAK_CHILD % os.cpu_count()], capture_output=True, text=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--peak-gflops", type=float, required=True, help="nominal f32 peak from the clock")
    ap.add_argument("--sweep", default="", help="batch sizes to time codeframe f32/bf16 at, e.g. '16 32 64'")
    args = ap.parse_args()

    with open(args.data, newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.model_dir)
    tokens = sum(len(ids) for ids in tok(texts, truncation=True, max_length=256)["input_ids"])
    unique = list(dict.fromkeys(texts))
    unique_tokens = sum(len(ids) for ids in tok(unique, truncation=True, max_length=256)["input_ids"])
    n = len(texts)
    peak = measured_peak()
    tmp = tempfile.mkdtemp()
    st_out = os.path.join(tmp, "st.npy")
    results = {"st": [], "f32": [], "bf16": []}
    rss = {"st": [], "f32": [], "bf16": []}
    info = {}
    for rep in range(args.reps):
        for name in ["st", "f32", "bf16"]:
            if name == "st":
                cmd = [sys.executable, "-c", ST_CHILD, args.data, args.model_dir, st_out]
                _, out, _ = run_child(cmd)
                d = json.loads(out.strip().splitlines()[-1])
                results["st"].append(d["seconds"])
                rss["st"].append(d["rss_mb"])
                info = d
            else:
                cmd = [args.binary, "--quiet", "embed", args.data, "--text-column", "text",
                       "--no-cache", "--precision", name, "--model-dir", args.model_dir,
                       "--out", os.path.join(tmp, f"cf-{name}.npy")]
                dt, _, _ = run_child(cmd)
                results[name].append(dt)
                if rep == 0:
                    rss[name].append(peak_rss_mb(cmd) or float("nan"))
            print(f"rep {rep + 1} {name}: {results[name][-1]:.2f} s", file=sys.stderr)

    import numpy as np

    st = np.load(st_out)
    cos = {}
    for name in ["f32", "bf16"]:
        m = np.load(os.path.join(tmp, f"cf-{name}.npy"))
        cos[name] = float((st * m).sum(1).min())
    f32m = np.load(os.path.join(tmp, "cf-f32.npy"))
    bfm = np.load(os.path.join(tmp, "cf-bf16.npy"))
    cos["bf16_vs_f32"] = float((f32m * bfm).sum(1).min())

    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"data: {args.data} ({n} answers, {tokens} tokens incl. [CLS]/[SEP]; "
          f"{len(unique)} distinct texts, {unique_tokens} tokens)")
    print(f"measured GEMM peak (2048^3 matmul, torch, all cores): f32 {peak['f32']:.0f} GFLOP/s, "
          f"bf16 {peak['bf16']:.0f} GFLOP/s; nominal f32 peak from the clock {args.peak_gflops:.0f} GFLOP/s")
    print(f"sentence-transformers on torch {info.get('torch')} ({info.get('threads')} threads); "
          f"reps: {args.reps}, alternated; medians")
    print()
    print("| run | seconds | answers/s | tokens/s | peak RSS MB | x sentence-transformers "
          "| GFLOP/s done | % of GEMM peak | min cosine to ST |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, label in [("st", "sentence-transformers encode, f32"),
                        ("f32", "codeframe embed, f32"), ("bf16", "codeframe embed, bf16")]:
        s = med[name]
        # FLOPs actually executed: sentence-transformers encodes every answer, codeframe each
        # distinct text once (padding not counted for either).
        done = tokens if name == "st" else unique_tokens
        gf = done * FLOP_PER_TOKEN / s / 1e9
        pk = peak["bf16" if name == "bf16" else "f32"]
        c = "1" if name == "st" else f"{cos[name]:.5f}"
        r = statistics.median(rss[name]) if rss[name] else float("nan")
        print(f"| {label} | {s:.2f} | {n / s:.0f} | {tokens / s:.0f} | {r:.0f} | "
              f"{med['st'] / s:.2f} | {gf:.1f} | {100 * gf / pk:.0f}% | {c} |")
    print()
    print(f"min cosine bf16 vs f32 (codeframe): {cos['bf16_vs_f32']:.5f}")
    print("all runs (s): " + json.dumps({k: [round(x, 2) for x in v] for k, v in results.items()}))
    if args.sweep:
        print()
        print("| batch size | f32 s | bf16 s | f32 x ST | bf16 x ST |")
        print("|---:|---:|---:|---:|---:|")
        for bs in args.sweep.split():
            row = {}
            for name in ["f32", "bf16"]:
                cmd = [args.binary, "--quiet", "embed", args.data, "--text-column", "text",
                       "--no-cache", "--precision", name, "--batch-size", bs,
                       "--model-dir", args.model_dir, "--out", os.path.join(tmp, "sweep.npy")]
                row[name] = run_child(cmd)[0]
            print(f"| {bs} | {row['f32']:.2f} | {row['bf16']:.2f} | {med['st'] / row['f32']:.2f} | "
                  f"{med['st'] / row['bf16']:.2f} |")


if __name__ == "__main__":
    main()
