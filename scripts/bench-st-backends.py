#!/usr/bin/env python3
"""Speed and agreement of sentence-transformers' own CPU backends, as an anchor for codeframe.

usage: bench-st-backends.py --data FILE [--column text] [--n N] --model DIR [--model DIR2 ...]
                            [--batch-sizes 32[,128]] [--threads T] [--reps R]
                            [--quant-config avx512_vnni|avx2|avx512|arm64] [--cache DIR]
                            [--codeframe BIN [--precisions f32,int8]]

For each model folder it times `encode` with three backends:
  torch      the folder as it is, float32;
  onnx       exported to ONNX by sentence-transformers (Optimum), float32;
  onnx-int8  that ONNX model after `export_dynamic_quantized_onnx_model` (onnxruntime dynamic
             int8: int8 weights, activations quantised per tensor at run time).
The quantisation config follows the CPU: avx512_vnni where /proc/cpuinfo lists avx512_vnni,
otherwise avx2 (arm64 on ARM); --quant-config overrides it.

With --codeframe, `codeframe embed --no-cache --model DIR --precision P` runs in the same
repetitions for each precision P, timed end to end (process start, model load, int8
calibration, CSV read, tokenisation, embedding, writing the .npy): a conservative figure beside
sentence-transformers' encode alone; and again as "(embedding)" with the seconds of its own
summary line (tokenising and embedding the texts, what encode times). The texts are distinct
(codeframe embeds a repeated text once; sentence-transformers would not), so both encode the
same work.

Exported models are kept under --cache/<model folder name>/ (default out/st-onnx, git-ignored),
so reruns skip the export. Load and export time are not timed; each backend encodes 64 texts
to warm up, then the N texts (rows spread evenly over the file, so a file sorted by language
gives every language) once per repetition at each batch size; the backends alternate their
order between repetitions and the median is reported. Vectors are normalised; agreement is the
cosine of each text's vector to the torch float32 one at the first batch size. A folder whose
config_sentence_transformers.json names a default prompt (e5: `query: `) gets it from
sentence-transformers itself, on every backend.

Prints a Markdown table (with the CPU line of scripts/cpu.sh) on stdout; progress on stderr.
"""

import argparse
import csv
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WARMUP_TEXTS = 64


def log(msg):
    print(f"[st-backends] {msg}", file=sys.stderr, flush=True)


def cpu_line():
    """The line scripts/cpu.sh prints (on stderr), and the CPU's flags."""
    p = subprocess.run(["bash", str(REPO / "scripts" / "cpu.sh")], capture_output=True, text=True)
    line = (p.stderr or p.stdout).strip().removeprefix("[cpu] ")
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for row in f:
                if row.startswith(("flags", "Features")):
                    flags = set(row.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return line or platform.processor() or "unknown CPU", flags


def pick_quant_config(flags):
    if platform.machine() in ("aarch64", "arm64"):
        return "arm64", "ARM CPU"
    if "avx512_vnni" in flags:
        return "avx512_vnni", "the CPU has avx512_vnni"
    return "avx2", "the CPU has no avx512_vnni"


def read_texts(path, column, n):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if column not in (reader.fieldnames or []):
            sys.exit(f"bench-st-backends: {path} has no column {column!r} (columns: {reader.fieldnames})")
        texts = list(dict.fromkeys(r[column] for r in reader if r[column] and r[column].strip()))
    if not texts:
        sys.exit(f"bench-st-backends: no texts in column {column!r} of {path}")
    if n and n < len(texts):
        step = len(texts) / n
        texts = [texts[int(i * step)] for i in range(n)]
    return texts


def session_options(threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return so


def source_stamp(model_dir):
    """Size and time of the folder's weights: a changed model must not reuse an old export."""
    parts = []
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = model_dir / name
        if f.exists():
            st = f.stat()
            parts.append(f"{name} {st.st_size} {st.st_mtime_ns}")
    return "\n".join(parts) + "\n"


def load_backends(model_dir, cache, quant, threads):
    """The three models of one folder, exporting the ONNX files into the cache when missing."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    def onnx_kwargs(file_name=None):
        # A fresh SessionOptions per model: onnxruntime reads it at session creation.
        kw = {"provider": "CPUExecutionProvider", "session_options": session_options(threads)}
        if file_name:
            kw["file_name"] = file_name
        return kw

    models = {}
    t = time.perf_counter()
    models["torch"] = ("-", SentenceTransformer(str(model_dir), device="cpu", backend="torch"))
    log(f"{model_dir.name}: torch loaded in {time.perf_counter() - t:.1f} s")

    f32_file = cache / "onnx" / "model.onnx"
    stamp_file = cache / "source.txt"
    stamp = source_stamp(model_dir)
    if f32_file.exists() and (not stamp_file.exists() or stamp_file.read_text() != stamp):
        log(f"{model_dir.name}: weights differ from the cached export; exporting again")
        for f in (cache / "onnx").glob("*.onnx"):
            f.unlink()
    if not f32_file.exists():
        log(f"{model_dir.name}: exporting to ONNX (float32) into {cache} (once)")
        t = time.perf_counter()
        exported = SentenceTransformer(str(model_dir), device="cpu", backend="onnx", model_kwargs=onnx_kwargs())
        exported.save_pretrained(str(cache))
        stamp_file.write_text(stamp)
        del exported
        log(f"{model_dir.name}: exported in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    onnx = SentenceTransformer(str(cache), device="cpu", backend="onnx", model_kwargs=onnx_kwargs("onnx/model.onnx"))
    models["onnx"] = ("onnx/model.onnx", onnx)
    log(f"{model_dir.name}: onnx loaded in {time.perf_counter() - t:.1f} s")

    # sentence-transformers names the file by the config's weight type: qint8 (signed, as
    # avx512_vnni) or quint8 (unsigned, as avx2).
    def quantised():
        found = sorted((cache / "onnx").glob(f"model_q*int8_{quant}.onnx"))
        return f"onnx/{found[0].name}" if found else None

    if quantised() is None:
        log(f"{model_dir.name}: dynamic int8 quantisation ({quant}) into {cache / 'onnx'} (once)")
        t = time.perf_counter()
        export_dynamic_quantized_onnx_model(onnx, quant, str(cache))
        log(f"{model_dir.name}: quantised in {time.perf_counter() - t:.1f} s")
    q_name = quantised()
    t = time.perf_counter()
    q = SentenceTransformer(str(cache), device="cpu", backend="onnx", model_kwargs=onnx_kwargs(q_name))
    models["onnx-int8"] = (q_name, q)
    log(f"{model_dir.name}: onnx-int8 loaded in {time.perf_counter() - t:.1f} s")
    return models


class Codeframe:
    """`codeframe embed` at one precision, run as a process on the texts written to a CSV."""

    def __init__(self, binary, model_dir, precision, workdir):
        self.binary, self.model_dir, self.precision, self.workdir = binary, model_dir, precision, workdir

    def encode(self, texts, batch_size=None):
        import numpy as np

        data = self.workdir / f"texts-{len(texts)}.csv"
        if not data.exists():
            with open(data, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["id", "text"])
                w.writerows((f"t{i}", t) for i, t in enumerate(texts))
        out = self.workdir / f"codeframe-{self.precision}.npy"
        run = subprocess.run([str(self.binary), "embed", str(data), "--text-column", "text",
                              "--id-column", "id", "--no-cache", "--model", str(self.model_dir),
                              "--precision", self.precision, "--out", str(out)],
                             check=True, stderr=subprocess.PIPE, text=True)
        # The summary line's seconds: tokenising and embedding the texts, as encode does.
        found = re.findall(r"embedded, .* truncated, ([0-9.]+) s, ", run.stderr)
        if not found:
            sys.exit(f"bench-st-backends: no embedding summary from codeframe:\n{run.stderr}")
        self.embed_seconds = float(found[-1])
        v = np.load(out).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True).clip(1e-12)


def encode(model, texts, batch_size):
    if isinstance(model, Codeframe):
        return model.encode(texts)
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)


def bench_model(model_dir, texts, args, quant):
    import numpy as np

    cache = Path(args.cache) / model_dir.name
    cache.mkdir(parents=True, exist_ok=True)
    models = load_backends(model_dir, cache, quant, args.threads)
    if args.codeframe:
        work = cache / "codeframe"
        work.mkdir(exist_ok=True)
        for p in args.precisions.split(","):
            models[f"codeframe {p}"] = ("end to end", Codeframe(Path(args.codeframe).resolve(), model_dir, p, work))
    st = models["torch"][1]
    prompt = st.prompts.get(st.default_prompt_name, "") if st.default_prompt_name else ""
    for name, (_, m) in models.items():
        if isinstance(m, Codeframe):
            encode(m, texts[:WARMUP_TEXTS], None)
            continue
        # The prompt must come from the folder's own config on every backend, or the
        # comparison would be between different inputs.
        p = m.prompts.get(m.default_prompt_name, "") if m.default_prompt_name else ""
        if p != prompt:
            sys.exit(f"bench-st-backends: {name} uses prompt {p!r}, torch {prompt!r}")
        encode(m, texts[:WARMUP_TEXTS], min(args.batch_sizes))
    log(f"{model_dir.name}: default prompt {prompt!r}; warmed up; timing {len(texts)} texts")

    names = list(models)
    times = {(n, b): [] for n in names for b in args.batch_sizes}
    loads = {(n, b): [] for n in names for b in args.batch_sizes}
    vecs = {}
    for rep in range(args.reps):
        order = names if rep % 2 == 0 else names[::-1]
        for b in args.batch_sizes:
            for n in order:
                t = time.perf_counter()
                v = encode(models[n][1], texts, b)
                dt = time.perf_counter() - t
                times[(n, b)].append(dt)
                loads[(n, b)].append(os.getloadavg()[0])
                vecs[(n, b)] = v
                if isinstance(models[n][1], Codeframe):
                    phase = n + " (embedding)"
                    times.setdefault((phase, b), []).append(models[n][1].embed_seconds)
                    loads.setdefault((phase, b), []).append(os.getloadavg()[0])
                    vecs[(phase, b)] = v
                log(f"{model_dir.name}: rep {rep + 1}/{args.reps} batch {b} {n}: {dt:.2f} s "
                    f"({len(texts) / dt:.0f} texts/s, load {os.getloadavg()[0]:.2f})")
    ref = vecs[("torch", args.batch_sizes[0])].astype(np.float64)
    rows = []
    for b in args.batch_sizes:
        base = statistics.median(times[("torch", b)])
        for n in names + [n + " (embedding)" for n in names if isinstance(models[n][1], Codeframe)]:
            sec = statistics.median(times[(n, b)])
            cos = (vecs[(n, b)].astype(np.float64) * ref).sum(axis=1)
            how = models[n][0] if n in models else "summary line"
            rows.append((model_dir.name, n, how, b, len(texts) / sec, sec, base / sec,
                         float(cos.min()), float(cos.mean()), max(loads[(n, b)])))
    del models
    return rows, prompt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="CSV file")
    ap.add_argument("--column", default="text", help="column with the texts (default text)")
    ap.add_argument("--n", type=int, default=1000, help="texts to encode, spread over the file (default 1000; 0 = all)")
    ap.add_argument("--model", action="append", required=True, help="sentence-transformers folder (repeatable)")
    ap.add_argument("--batch-sizes", default="32", help="comma list (default 32)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch and onnxruntime threads (default: all cores)")
    ap.add_argument("--reps", type=int, default=1, help="timed encodes per backend and batch size; median (default 1)")
    ap.add_argument("--quant-config", choices=["avx512_vnni", "avx512", "avx2", "arm64"],
                    help="onnxruntime int8 config (default: from the CPU flags)")
    ap.add_argument("--cache", default=str(REPO / "out" / "st-onnx"), help="exported models (default out/st-onnx)")
    ap.add_argument("--codeframe", help="codeframe binary to time beside the backends (end to end)")
    ap.add_argument("--precisions", default="f32,int8", help="codeframe precisions (default f32,int8)")
    args = ap.parse_args()
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    import numpy  # noqa: F401  (fail early, before any model loads)
    import onnxruntime
    import sentence_transformers
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    cpu, flags = cpu_line()
    quant, why = (args.quant_config, "--quant-config") if args.quant_config else pick_quant_config(flags)
    texts = read_texts(args.data, args.column, args.n)
    log(f"{len(texts)} texts from {args.data}; {args.threads} threads; int8 config {quant} ({why})")

    rows, prompts = [], {}
    for m in args.model:
        d = Path(m).resolve()
        if not (d / "modules.json").exists() and not (d / "config.json").exists():
            sys.exit(f"bench-st-backends: {m} is not a sentence-transformers folder")
        r, prompts[d.name] = bench_model(d, texts, args, quant)
        rows += r

    try:
        import optimum.version as ov
        optimum_version = ov.__version__
    except ImportError:
        optimum_version = "?"
    print(f"CPU: {cpu}")
    print(f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, "
          f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, optimum {optimum_version}; "
          f"{args.threads} threads (torch and onnxruntime)")
    print(f"Data: {args.data}, column {args.column!r}, {len(texts)} texts; batch sizes {args.batch_sizes}; "
          f"median of {args.reps} timed encode(s) after a {WARMUP_TEXTS}-text warm-up; load not timed")
    print(f"onnx-int8: export_dynamic_quantized_onnx_model, config {quant} ({why})")
    print("Prompts: " + ", ".join(f"{k} {v!r}" if v else f"{k} none" for k, v in prompts.items()))
    print()
    print("| model | backend | file | batch | texts/s | seconds | × torch | min cos vs torch f32 | mean cos | load avg |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (model, n, f, b, tps, sec, rel, cmin, cmean, load) in rows:
        print(f"| {model} | {n} | {f} | {b} | {tps:,.0f} | {sec:.2f} | {rel:.2f} | {cmin:.5f} | {cmean:.5f} | {load:.2f} |")


if __name__ == "__main__":
    main()
