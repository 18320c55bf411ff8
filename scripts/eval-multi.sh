#!/usr/bin/env bash
# Answers with several codes. Each data set is cut into K seeded folds; for each fold
# `codeframe fit` learns from the other folds' answers (label cells naming several codes,
# "A; B") and `codeframe apply --multi` codes the fold. The pooled codes are scored by
# `codeframe evaluate --mode multi` (sample-F1, micro-F1, mean per-code binary alpha) and
# cross-checked by scikit-learn and krippendorff, beside sentence-transformers + scikit-learn
# OneVsRestClassifier(LogisticRegression()) on the same folds and model files
# (scripts/eval_multi.py). Prints a Markdown table.
# DATASETS="eccp-q8:5 FILE:K ..." (default: eccp-q8:5 plus every MULTI_FILES entry at K=2).
# MULTI_FILES: files with several codes per answer that are not bundled, e.g. pxtextmining's
# datasets/phase_1/co_multi_label.csv and datasets/v6framework_230831.csv (commit ba6c0a2,
# github.com/The-Strategy-Unit/pxtextmining); columns are recognised by scripts/eval_multi.py.
# CACHE=DIR embeds through that cache instead of --no-cache.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
scripts/cpu.sh
if ! .venv-bench/bin/python -c "import sentence_transformers, sklearn, krippendorff" 2>/dev/null; then
  echo "[eval] installing sentence-transformers, scikit-learn and krippendorff into .venv-bench" >&2
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --progress-bar off sentence-transformers scikit-learn krippendorff
fi
BIN=${BIN:-target/release/codeframe}
PY=.venv-bench/bin/python
OUT=${OUT:-out/eval-multi}
mkdir -p "$OUT"
if [ -n "${CACHE:-}" ]; then CACHE_FLAG=(--cache-dir "$CACHE"); else CACHE_FLAG=(--no-cache); fi
specs=${DATASETS:-eccp-q8:5}
if [ -z "${DATASETS:-}" ]; then for f in ${MULTI_FILES:-}; do specs="$specs $f:2"; done; fi
echo "| data | answers (with several codes) | codes per answer: human / predicted | method | sample-F1 | micro-F1 | mean per-code alpha | seconds |"
echo "|---|---:|---:|---|---:|---:|---:|---:|"
for spec in $specs; do
  src=${spec%:*}; k=${spec##*:}
  name=$(basename "$src" .csv)
  dir=$OUT/$name
  mkdir -p "$dir"
  info=$($PY scripts/eval_multi.py prepare "$src" "$dir/data.csv")
  $PY scripts/eval_multi.py folds "$dir/data.csv" "$dir" "$k" 42
  echo "[eval] $name: $info, $k folds" >&2
  start=$(date +%s.%N)
  rm -f "$dir/pred.csv"
  for f in $(seq 0 $((k - 1))); do
    "$BIN" --quiet fit "$dir/train-$f.csv" --text-column text --label-column codes --id-column id \
      --seed 42 "${CACHE_FLAG[@]}" --out "$dir/frame-$f.json"
    "$BIN" --quiet apply "$dir/frame-$f.json" "$dir/test-$f.csv" --text-column text --id-column id \
      --multi "${CACHE_FLAG[@]}" --out "$dir/apply-$f"
    if [ "$f" = 0 ]; then head -1 "$dir/apply-$f/assignments.csv" > "$dir/pred.csv"; fi
    tail -n +2 "$dir/apply-$f/assignments.csv" >> "$dir/pred.csv"
  done
  secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  "$BIN" --quiet evaluate --pred "$dir/pred.csv" --pred-column codes --gold "$dir/data.csv" \
    --gold-column codes --mode multi --out "$dir/evaluation.json"
  check=$($PY scripts/eval_multi.py score "$dir/pred.csv" "$dir/data.csv")
  anchor=$($PY scripts/eval_multi.py anchor "$dir/data.csv" "$dir" "$k" models/all-MiniLM-L6-v2 2>/dev/null)
  python3 - "$dir/evaluation.json" "$check" "$anchor" "$name" "$info" "$secs" "$dir/frame-0.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["multi"]
check, a, info = json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[5])
for key in ("sample_f1", "micro_f1", "mean_alpha"):
    if abs(m[key] - check[key]) > 1e-9:
        sys.exit(f"evaluate's {key} {m[key]} differs from scikit-learn / krippendorff's {check[key]}")
rule = json.load(open(sys.argv[7])).get("multi") or {}
ratio = ""
if rule:
    further = f"{rule['ratio']:.2f}" if rule["ratio"] <= 1 else "off"
    part = f"{rule['part_ratio']:.2f}" if rule.get("part_ratio") is not None else "off"
    ratio = f" (fold 1: ratio {further}, parts {part})"
rows = f"{info['answers']} ({info['several']})"
f = lambda v: "-" if v is None else f"{v:.3f}"
print(f"| {sys.argv[4]} | {rows} | {m['gold_codes_per_answer']:.2f} / {m['predicted_codes_per_answer']:.2f} | "
      f"codeframe fit + apply --multi{ratio} | {f(m['sample_f1'])} | {f(m['micro_f1'])} | {f(m['mean_alpha'])} | {sys.argv[6]} |")
print(f"| | | {m['gold_codes_per_answer']:.2f} / {a['codes_per_answer']:.2f} | one-vs-rest LogisticRegression(), p ≥ 0.5 | "
      f"{f(a['sample_f1'])} | {f(a['micro_f1'])} | {f(a['mean_alpha'])} | {a['seconds']:.1f} |")
print(f"| | | {m['gold_codes_per_answer']:.2f} / {a['top1_codes_per_answer']:.2f} | the same, most probable code when none reaches 0.5 | "
      f"{f(a['top1_sample_f1'])} | | {f(a['top1_mean_alpha'])} | |")
PY
done
