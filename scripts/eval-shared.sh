#!/usr/bin/env bash
# Discover on every dataset in ../shared/datasets (nhs_fft_phase1 also at its 44 sub-codes) with
# k = number of labels or a sweep of k, scored by `codeframe evaluate` (ACC, NMI, ARI against the
# human labels), beside anchors measured in the same run on the same model files at the same k
# and seed (scripts/eval_anchors.py): sentence-transformers + KMeans, TF-IDF + KMeans and
# BERTopic. Each is timed end to end. Prints a Markdown table.
# DATASETS="a b:sub" limits the run ("NAME:sub" = NAME/data_subcategory.csv; default: every
# dataset with a data.csv, and nhs_fft_phase1:sub); the sentence-transformers anchor uses the
# model codeframe's own run chose (multilingual-e5-small for the multilingual sib200_eu);
# KS="labels 5 10 20 40 80" sets the numbers of groups ("labels": the dataset's number of labels;
# the default); SEEDS="42 1" the seeds (default 42), each passed to discover and to KMeans;
# ANCHORS=st-kmeans,tfidf-kmeans,bertopic picks anchors (none: no anchors); METHODS="umap kmeans kmeans-ward" picks
# codeframe's clustering methods (default: the default method, no --method); after the rows, a
# table of the default method beside the anchor (scripts/compare-shared.py). CACHE=1 embeds each
# dataset into an embedding cache first (untimed), so codeframe's seconds are then clustering
# and I/O only (marked "vectors cached"); by default every run embeds from scratch.
# MODEL=multilingual-e5-small (or a folder) embeds with another model (default: the installed
# English model); PRECISION=f32|bf16|int8.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/datasets
# Exit 3: no shared datasets here (the message is printed); nothing to do.
scripts/bench-venv.sh eval-shared || { [ $? -eq 3 ] && exit 0; exit 1; }
scripts/cpu.sh
OUT=${OUT:-out/eval-shared}
ANCHORS=${ANCHORS:-st-kmeans,tfidf-kmeans,bertopic}
PRECISION=${PRECISION:-f32}
METHODS=${METHODS:-default}
KS=${KS:-labels}
SEEDS=${SEEDS:-42}
CACHE=${CACHE:-0}
MODEL_FLAG=(); MODEL_LABEL=""
if [ -n "${MODEL:-}" ]; then MODEL_FLAG=(--model "$MODEL"); MODEL_LABEL="$MODEL, "; fi
mkdir -p "$OUT"
BIN=target/release/codeframe
if [ -z "${DATASETS:-}" ]; then
  DATASETS=$(for d in $(ls "$SHARED"); do
    if [ -f "$SHARED/$d/data.csv" ]; then echo "$d"; fi
    if [ -f "$SHARED/$d/data_subcategory.csv" ]; then echo "$d:sub"; fi
  done)
fi
count() { # file -> "rows labels"
  python3 -c "import csv,sys; r=[x['label'] for x in csv.DictReader(open(sys.argv[1], encoding='utf-8'))]; print(len(r), len(set(r)))" "$1"
}
rows() {
echo "| dataset | n | k | method | seed | ACC | NMI | ARI | seconds | notes |"
echo "|---|---:|---:|---|---:|---:|---:|---:|---:|---|"
for spec in $DATASETS; do
  ds=${spec%%:*}
  data=$SHARED/$ds/data.csv
  name=$ds
  if [ "$spec" != "$ds" ]; then data=$SHARED/$ds/data_subcategory.csv; name="$ds (sub-codes)"; fi
  read -r n labels < <(count "$data")
  ks=""
  for k in $KS; do [ "$k" = labels ] && k=$labels; ks="$ks $k"; done
  cache=(--no-cache)
  notes=""
  if [ "$CACHE" = 1 ]; then
    cache=(--cache-dir "$OUT/cache")
    notes="vectors cached"
    "$BIN" --quiet embed "$data" --text-column text --id-column id --precision "$PRECISION" "${cache[@]}" \
      "${MODEL_FLAG[@]}" --out "$OUT/${spec/:/-}.npy"
  fi
  for seed in $SEEDS; do
    for k in $ks; do
      for method in $METHODS; do
        dir=$OUT/${spec/:/-}-$method-k$k-s$seed
        flag=(); label="codeframe discover ($MODEL_LABEL$PRECISION)"
        if [ "$method" != default ]; then flag=(--method "$method"); label="codeframe discover --method $method ($MODEL_LABEL$PRECISION)"; fi
        start=$(date +%s.%N)
        "$BIN" --quiet discover "$data" --text-column text --id-column id --k "$k" --seed "$seed" \
          "${flag[@]}" --precision "$PRECISION" "${cache[@]}" "${MODEL_FLAG[@]}" --out "$dir"
        secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
        "$BIN" --quiet evaluate --pred "$dir/assignments.csv" --pred-column group --gold "$data" \
          --gold-column label --mode groups --out "$dir/evaluation.json"
        python3 - "$dir/evaluation.json" "$name" "$n" "$k" "$secs" "$label" "$seed" "$notes" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
c = e["report"]["cluster"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {sys.argv[6]} | {sys.argv[7]} | "
      f"{c['acc']:.3f} | {c['nmi']:.3f} | {c['ari']:.3f} | {sys.argv[5]} | {sys.argv[8]} |")
PY
      done
    done
  done
  [ "$ANCHORS" = none ] && continue
  # The anchor embeds with the model codeframe's last run used (its manifest names it).
  anchor_model=$(python3 -c "
import json, sys
name = json.load(open(sys.argv[1]))['model']['name']
print('models/multilingual-e5-small' if 'multilingual-e5-small' in name else 'models/all-MiniLM-L6-v2')
" "$dir/manifest.json")
  if [ -n "${MODEL:-}" ]; then
    anchor_model=$MODEL; [ -d "$anchor_model" ] || anchor_model=models/$MODEL
  fi
  .venv-bench/bin/python scripts/eval_anchors.py "$data" "$anchor_model" "$ANCHORS" \
    "$(echo $ks | tr ' ' ',')" "$(echo $SEEDS | tr ' ' ',')" 2>/dev/null |
    python3 -c "
import json, os, sys
for line in sys.stdin:
    a = json.loads(line)
    notes = f\"{a['topics']} topics, {100 * a['outliers']:.0f}% outliers\" if 'topics' in a else ''
    if 'MiniLM' not in '$anchor_model':
        notes = (notes + ', ' if notes else '') + os.path.basename('$anchor_model')
    k = a['k'] if a['k'] is not None else '-'
    seed = a['seed'] if a['seed'] is not None else '-'
    print(f\"| $name | $n | {k} | {a['anchor']} | {seed} | {a['acc']:.3f} | {a['nmi']:.3f} | {a['ari']:.3f} | {a['seconds']:.1f} | {notes} |\")
"
done
}
# Every row, then the default method beside the anchor (scripts/compare-shared.py).
rows | tee "$OUT/rows.md"
echo
python3 scripts/compare-shared.py "$OUT/rows.md"
