#!/usr/bin/env bash
# int8 against f32, answer by answer: every text of every shared dataset (and the bundled ECCP
# questions) embedded by `codeframe embed` at f32 and at int8 with each installed model; prints
# the cosine of each answer's int8 vector to its f32 vector (min, mean, answers under 0.99) as a
# Markdown table. MODELS="all-MiniLM-L6-v2 multilingual-e5-small" picks the models; vectors are
# cached in $OUT/cache, so a rerun only compares.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/datasets
if [ ! -d "$SHARED" ]; then
  echo "eval-int8: $SHARED not found (needs ../shared/datasets); skipping" >&2
  exit 0
fi
scripts/setup.sh >&2
scripts/cpu.sh
BIN=target/release/codeframe
OUT=${OUT:-out/eval-int8}
MODELS=${MODELS:-all-MiniLM-L6-v2 multilingual-e5-small}
mkdir -p "$OUT"
files=()
for d in "$SHARED"/*/; do
  [ -f "$d/data.csv" ] && files+=("$d/data.csv")
done
files+=(data/eccp-2020/q7_topics.csv data/eccp-2020/q8_materials.csv)
echo "| model | dataset | answers | min cosine | mean cosine | under 0.99 |"
echo "|---|---|---:|---:|---:|---:|"
for model in $MODELS; do
  for f in "${files[@]}"; do
    name=$(basename "$(dirname "$f")")
    [ "$name" = eccp-2020 ] && name="eccp $(basename "$f" .csv)"
    tag=$(echo "$model-$name" | tr ' /' '__')
    for p in f32 int8; do
      echo "[eval-int8] $model $name $p" >&2
      "$BIN" --quiet embed "$f" --text-column text --id-column id --model "$model" --precision "$p" \
        --cache-dir "$OUT/cache" --out "$OUT/$tag-$p.npy"
    done
    .venv/bin/python - "$OUT/$tag-f32.npy" "$OUT/$tag-int8.npy" "$model" "$name" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
# Rows embed leaves empty (blank answers) are zero in both files; they are not compared.
na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
keep = (na > 0) | (nb > 0)
cos = (a[keep] * b[keep]).sum(axis=1) / (na[keep] * nb[keep]).clip(1e-12)
print(f"| {sys.argv[3]} | {sys.argv[4]} | {len(cos):,} | {cos.min():.4f} | {cos.mean():.5f} | {(cos < 0.99).sum()} |")
PY
  done
done
