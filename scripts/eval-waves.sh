#!/usr/bin/env bash
# fit / apply on survey waves. Each shared dataset is split 50/50 (seeded, stratified) into wave 1
# (`codeframe fit`) and wave 2 (`codeframe apply`); wave 2's codes are scored by `codeframe
# evaluate` against the human codes, beside sentence-transformers + scikit-learn
# LogisticRegression() on the same split and model files (scripts/eval_waves.py). Then the ECCP
# survey: leave-one-out figures of `fit --folds loo`, and zero-shot coding from the frame alone.
# DATASETS="a b:sub" limits the shared datasets (default: every one with a data.csv, and
# nhs_fft_phase1:sub, its 44 sub-codes); the anchor embeds with the model the frame records.
# PRECISION=f32|bf16|int8 and MODEL=NAME|DIR pass --precision / --model to fit (apply follows the
# frame); CACHE=DIR embeds through that cache instead of --no-cache; ANCHORS=none skips the
# sentence-transformers anchor.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
scripts/cpu.sh
if ! .venv-bench/bin/python -c "import sentence_transformers, sklearn" 2>/dev/null; then
  echo "[eval] installing sentence-transformers and scikit-learn into .venv-bench" >&2
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --progress-bar off sentence-transformers scikit-learn bertopic
fi
BIN=${BIN:-target/release/codeframe}
PY=.venv-bench/bin/python
OUT=${OUT:-out/eval-waves}
SHARED=../shared/datasets
mkdir -p "$OUT"
EMB=(--precision "${PRECISION:-f32}")
[ -n "${MODEL:-}" ] && EMB+=(--model "$MODEL")
if [ -n "${CACHE:-}" ]; then CACHE_FLAG=(--cache-dir "$CACHE"); else CACHE_FLAG=(--no-cache); fi
f3() { python3 -c "import sys; v=sys.argv[1]; print('-' if v in ('None','null','') else f'{float(v):.3f}')" "$1"; }
echo "| data | fit / apply rows | method | accuracy | macro-F1 | kappa | acc. at 80% coverage | auto-coded share (accuracy) | fit's estimate [95% interval] | seconds |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
if [ -d "$SHARED" ]; then
  if [ -z "${DATASETS:-}" ]; then
    DATASETS=$(for d in $(ls "$SHARED"); do
      if [ -f "$SHARED/$d/data.csv" ]; then echo "$d"; fi
      if [ -f "$SHARED/$d/data_subcategory.csv" ]; then echo "$d:sub"; fi
    done)
  fi
  for spec in $DATASETS; do
    ds=${spec%%:*}
    file=$SHARED/$ds/data.csv
    name=$ds
    if [ "$spec" != "$ds" ]; then file=$SHARED/$ds/data_subcategory.csv; name="$ds (sub-codes)"; fi
    dir=$OUT/${spec/:/-}
    mkdir -p "$dir"
    $PY scripts/eval_waves.py split "$file" "$dir" 42
    rows() { python3 -c "import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], encoding='utf-8'))))" "$1"; }
    n1=$(rows "$dir/wave1.csv"); n2=$(rows "$dir/wave2.csv")
    echo "[eval] $name: fit on $n1 answers, apply to $n2" >&2
    start=$(date +%s.%N)
    # Translations of one sentence (sib200_eu's index_id) share a cross-validation fold.
    together=(); head -1 "$dir/wave1.csv" | grep -q index_id && together=(--keep-together index_id)
    "$BIN" --quiet fit "$dir/wave1.csv" --text-column text --label-column label --id-column id \
      --seed 42 "${together[@]}" "${EMB[@]}" "${CACHE_FLAG[@]}" --out "$dir/frame.json"
    "$BIN" --quiet apply "$dir/frame.json" "$dir/wave2.csv" --text-column text --id-column id \
      "${CACHE_FLAG[@]}" --out "$dir/apply"
    secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
    "$BIN" --quiet evaluate --pred "$dir/apply/assignments.csv" --pred-column code --gold "$dir/wave2.csv" \
      --gold-column label --mode codes --out "$dir/evaluation.json"
    "$BIN" --quiet agree "$dir/wave2.csv" --coders label --join "$dir/apply/assignments.csv:code=codeframe" \
      --bootstrap 1000 --seed 42 --out "$dir/agreement.json"
    AGREEMENTS="${AGREEMENTS:-} $dir/agreement.json:$spec"
    cov=$($PY scripts/eval_waves.py coverage "$dir/wave2.csv" "$dir/apply/assignments.csv")
    chosen=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['training']['chosen'])" "$dir/frame.json")
    python3 - "$dir/evaluation.json" "$cov" "$name" "$n1 / $n2" "$secs" "$chosen" "$dir/frame.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["report"]["classification"]
v = json.loads(sys.argv[2])
t = json.load(open(sys.argv[7]))["training"]
auto = f"{100 * v['coded_share']:.0f}% ({v['coded_accuracy']:.3f})" if v["coded_accuracy"] is not None else "0%"
est = "-"
if t.get("auto_coded_share") is not None and t.get("auto_coded_share_ci"):
    lo, hi = t["auto_coded_share_ci"]
    est = f"{100 * t['auto_coded_share']:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]"
    if t.get("auto_coded_accuracy_ci"):
        alo, ahi = t["auto_coded_accuracy_ci"]
        est += f" ({t['auto_coded_accuracy']:.3f} [{alo:.3f}, {ahi:.3f}])"
print(f"| {sys.argv[3]} | {sys.argv[4]} | codeframe fit + apply ({sys.argv[6]}) | {c['accuracy']:.3f} | "
      f"{c['macro_f1']:.3f} | {c['kappa']:.3f} | {v['acc_at_80']:.3f} | {auto} | {est} | {sys.argv[5]} |")
PY
    [ "${ANCHORS:-}" = none ] && continue
    anchor_model=$(python3 -c "
import json, sys
name = json.load(open(sys.argv[1]))['model']['name']
print('models/multilingual-e5-small' if 'multilingual-e5-small' in name else 'models/all-MiniLM-L6-v2')
" "$dir/frame.json")
    if [ -n "${MODEL:-}" ]; then anchor_model=$MODEL; [ -d "$anchor_model" ] || anchor_model=models/$MODEL; fi
    $PY scripts/eval_waves.py anchor "$dir/wave1.csv" "$dir/wave2.csv" "$anchor_model" 2>/dev/null |
      python3 -c "
import json, sys
a = json.loads(sys.stdin.read())
print(f\"| $name | $n1 / $n2 | sentence-transformers + LogisticRegression() (${anchor_model#models/}) | {a['accuracy']:.3f} | {a['macro_f1']:.3f} | {a['kappa']:.3f} | {a['acc_at_80']:.3f} | | | {a['seconds']:.1f} |\")
"
  done
else
  echo "eval-waves: $SHARED not found; shared datasets skipped" >&2
fi
D=data/eccp-2020
for q in q7_topics q8_materials; do
  dir=$OUT/eccp-$q
  mkdir -p "$dir"
  n=$(python3 -c "import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], encoding='utf-8'))))" "$D/$q.csv")
  "$BIN" --quiet fit "$D/$q.csv" --text-column text --label-column coder_a --id-column id --frame "$D/frame.toml" \
    --folds loo --seed 42 --out "$dir/frame.json"
  python3 - "$dir/frame.json" "ECCP ${q%%_*}" "$n" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["training"]
f = lambda v: "-" if v is None else f"{v:.3f}"
auto = "-" if t["auto_coded_share"] is None else f"{100 * t['auto_coded_share']:.0f}% ({f(t['auto_coded_accuracy'])})"
print(f"| {sys.argv[2]} | {t['n']} (leave-one-out) | codeframe fit --folds loo ({t['chosen']}) | {f(t['accuracy'])} | "
      f"{f(t['macro_f1'])} | {f(t['kappa'])} | {f(t['accuracy_at_80'])} | {auto} | | |")
PY
  "$BIN" --quiet apply "$D/frame.toml" "$D/$q.csv" --text-column text --id-column id --out "$dir/zero-shot"
  "$BIN" --quiet evaluate --pred "$dir/zero-shot/assignments.csv" --pred-column code --gold "$D/$q.csv" \
    --gold-column coder_a --mode codes --out "$dir/zero-shot.json"
  python3 - "$dir/zero-shot.json" "ECCP ${q%%_*}" "$n" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["report"]["classification"]
print(f"| {sys.argv[2]} | 0 / {sys.argv[3]} | codeframe apply frame.toml (zero-shot) | {c['accuracy']:.3f} | "
      f"{c['macro_f1']:.3f} | {c['kappa']:.3f} | | | | |")
PY
done
echo
echo "Agreement of codeframe apply with the human codes on wave 2 (codeframe agree, 1,000 bootstrap resamples, seed 42):"
echo
echo "| data | units | Cohen's kappa [95% CI] | Krippendorff's alpha [95% CI] | Gwet's AC1 [95% CI] |"
echo "|---|---:|---:|---:|---:|"
for a in ${AGREEMENTS:-}; do
  python3 - "${a%%:*}" "${a#*:}" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
f = lambda c: f"{c['value']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}]" if c["value"] is not None else "undefined"
p = a["pairs"][0]
print(f"| {sys.argv[2]} | {p['units']} | {f(p['cohen_kappa'])} | {f(a['overall']['krippendorff_alpha'])} | {f(a['overall']['gwet_ac1'])} |")
PY
done
