#!/usr/bin/env bash
# Speed of `codeframe agree`: 100,000 units × 5 coders (10 codes, 10% cells missing, seeded),
# 1,000 bootstrap resamples, end to end (process start, CSV read, every coefficient, intervals,
# disagreements.csv, JSON). Anchor in the same run: one nominal alpha, no intervals, with the
# Python package krippendorff on the same table. REPS runs each (default 5), medians.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
scripts/cpu.sh
scripts/venv-check.sh
REPS=${REPS:-5}
DIR=${OUT:-out/bench-agree}
mkdir -p "$DIR"
.venv-check/bin/python - "$DIR/table.csv" <<'PY'
import csv, sys
import numpy as np
rng = np.random.default_rng(42)
n, coders, codes = 100_000, 5, 10
truth = rng.integers(0, codes, n)
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id"] + [f"c{j + 1}" for j in range(coders)])
    for i in range(n):
        row = []
        for j in range(coders):
            if rng.random() < 0.10:
                row.append("")
            else:
                row.append(f"code{truth[i] if rng.random() < 0.7 else rng.integers(0, codes)}")
        w.writerow([i] + row)
PY
echo "[bench] table: $DIR/table.csv (100,000 units x 5 coders); $REPS runs each" >&2
.venv-check/bin/python - "$DIR" "$REPS" <<'PY'
import csv, statistics, subprocess, sys, time
import numpy as np
import krippendorff
d, reps = sys.argv[1], int(sys.argv[2])
cmd = ["target/release/codeframe", "--quiet", "agree", f"{d}/table.csv", "--coders", "c1,c2,c3,c4,c5",
       "--bootstrap", "1000", "--seed", "42", "--out", f"{d}/agree.json"]
rows = list(csv.reader(open(f"{d}/table.csv")))[1:]
codes = sorted({c for r in rows for c in r[1:] if c})
idx = {c: i for i, c in enumerate(codes)}
data = np.array([[idx[c] if c else np.nan for c in r[1:]] for r in rows], dtype=float).T
ours, anchor = [], []
for _ in range(reps):
    t = time.perf_counter(); subprocess.run(cmd, check=True); ours.append(time.perf_counter() - t)
    t = time.perf_counter(); a = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    anchor.append(time.perf_counter() - t)
o, k = statistics.median(ours), statistics.median(anchor)
print(f"codeframe agree, all coefficients + 1,000 resamples: median {o:.3f} s (runs: {', '.join(f'{x:.3f}' for x in ours)})")
print(f"krippendorff.alpha once, no intervals (anchor):       median {k:.3f} s (runs: {', '.join(f'{x:.3f}' for x in anchor)})")
print(f"ratio codeframe / anchor: {o / k:.2f}; alpha {a:.6f}")
PY
