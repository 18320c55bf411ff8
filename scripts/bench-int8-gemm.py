"""How much faster libtorch's int8 matrix products are than its f32 ones on this CPU, on the
shapes of a BERT encoder's dense layers (a block of 1,024 token rows times the QKV, output, up
and down weights of a 384-wide, 1,536-inner model such as all-MiniLM-L6-v2 or
multilingual-e5-small). Measured with the libtorch codeframe links (the project's .venv):

  f32       torch.addmm (MKL sgemm), as codeframe's f32 dense layers run
  _int_mm   torch._int_mm on int8 rows and 7-bit int8 weights (oneDNN), as codeframe's int8
            layers run, without their quantisation and scaling around it
  layer     codeframe's int8 layer as a chain of libtorch ops (QuantLinear::forward_reference in
            src/embed/int8.rs): the row scales, the quantisation of the rows, _int_mm, the
            rescaling, the bias and the f32 outlier channels; codeframe itself runs the same
            arithmetic as two fused passes around _int_mm (src/embed/native.cpp)
  fbgemm    torch.ops.quantized.linear_dynamic (fbgemm, per-channel int8 weights), libtorch's
            dynamic quantised linear layer, quantisation of its input included

The ratio bounds what int8 can gain end to end: the dense layers are most, not all, of an
encoder's time. Usage: .venv/bin/python scripts/bench-int8-gemm.py [--reps 50] [--threads 2]
"""

import argparse
import time

import torch

ROWS = 1024
SHAPES = [("qkv", 384, 1152), ("out", 384, 384), ("up", 384, 1536), ("down", 1536, 384)]


def timed(f, reps):
    for _ in range(5):
        f()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t) / reps)
    return best


ROUNDING = 12_582_912.0


def int8_layer(x, wq, scale, b, outliers, outlier_wt, work, q, acc):
    """The operations of codeframe's QuantLinear::forward_reference, in its order."""
    torch.abs(x, out=work)
    work.index_fill_(1, outliers, 0.0)
    row_scale = work.amax(1, keepdim=True).clamp_min(1e-12) / 127.0
    torch.div(x, row_scale, out=work)
    work.add_(ROUNDING)
    work.sub_(ROUNDING)
    work.clamp_(-127.0, 127.0)
    q.copy_(work)
    torch._int_mm(q, wq.t(), out=acc)
    y = acc.float()
    y.mul_(row_scale)
    y.mul_(scale)
    y.add_(b)
    y.addmm_(x.index_select(1, outliers), outlier_wt)
    return y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {a.threads} threads, {ROWS} rows, best of 3 x {a.reps}")
    print("| layer | in x out | f32 ms | f32 GFLOP/s | _int_mm ms | x f32 | int8 layer ms | x f32 "
          "| fbgemm ms | x f32 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = {"f32": 0.0, "int_mm": 0.0, "layer": 0.0, "fbgemm": 0.0}
    for name, i, o in SHAPES:
        x = torch.randn(ROWS, i)
        w = torch.randn(o, i)
        b = torch.randn(o)
        xq = torch.randint(-127, 128, (ROWS, i), dtype=torch.int8)
        wq = torch.randint(-63, 64, (o, i), dtype=torch.int8)
        scale = w.abs().amax(1) / 127
        qw = torch.quantize_per_channel(w, scale, torch.zeros(o, dtype=torch.long), 0, torch.qint8)
        packed = torch.ops.quantized.linear_prepack(qw, b)
        f32 = timed(lambda: torch.addmm(b, x, w.t()), a.reps)
        imm = timed(lambda: torch._int_mm(xq, wq.t()), a.reps)
        outliers = torch.tensor([3, 7, 100, 200])
        outlier_wt = w.index_select(1, outliers).t().contiguous()
        bufs = (torch.empty(ROWS, i), torch.empty(ROWS, i, dtype=torch.int8),
                torch.empty(ROWS, o, dtype=torch.int32))
        lay = timed(lambda: int8_layer(x, wq, scale, b, outliers, outlier_wt, *bufs), a.reps)
        fbg = timed(lambda: torch.ops.quantized.linear_dynamic(x, packed, True), a.reps)
        for k, v in (("f32", f32), ("int_mm", imm), ("layer", lay), ("fbgemm", fbg)):
            total[k] += v
        gflops = 2 * ROWS * i * o / f32 / 1e9
        print(f"| {name} | {i} x {o} | {1e3 * f32:.3f} | {gflops:.0f} | {1e3 * imm:.3f} | "
              f"{f32 / imm:.2f} | {1e3 * lay:.3f} | {f32 / lay:.2f} | {1e3 * fbg:.3f} | "
              f"{f32 / fbg:.2f} |")
    print(f"| all four | | {1e3 * total['f32']:.3f} | | {1e3 * total['int_mm']:.3f} | "
          f"{total['f32'] / total['int_mm']:.2f} | {1e3 * total['layer']:.3f} | "
          f"{total['f32'] / total['layer']:.2f} | {1e3 * total['fbgemm']:.3f} | "
          f"{total['f32'] / total['fbgemm']:.2f} |")


if __name__ == "__main__":
    main()
