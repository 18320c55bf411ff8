#!/usr/bin/env bash
# Discover on every dataset in ../shared/datasets with k = number of labels, scored by
# `codeframe evaluate` (ACC, NMI, ARI against the human labels), beside anchors measured in the
# same run on the same model files (scripts/eval_anchors.py): sentence-transformers + KMeans,
# TF-IDF + KMeans and BERTopic. Each is timed end to end. Prints a Markdown table.
# DATASETS="a b" limits the run; ANCHORS=st-kmeans,tfidf-kmeans,bertopic picks anchors;
# METHODS="umap kmeans kmeans-ward" picks codeframe's clustering methods (default: umap).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/datasets
# Exit 3: no shared datasets here (the message is printed); nothing to do.
scripts/bench-venv.sh eval-shared || { [ $? -eq 3 ] && exit 0; exit 1; }
scripts/cpu.sh
OUT=${OUT:-out/eval-shared}
ANCHORS=${ANCHORS:-st-kmeans,tfidf-kmeans,bertopic}
PRECISION=${PRECISION:-f32}
METHODS=${METHODS:-umap}
mkdir -p "$OUT"
BIN=target/release/codeframe
DATASETS=${DATASETS:-$(ls "$SHARED" | while read -r d; do [ -f "$SHARED/$d/data.csv" ] && echo "$d"; done)}
echo "| dataset | n | k | method | ACC | NMI | ARI | seconds | notes |"
echo "|---|---:|---:|---|---:|---:|---:|---:|---|"
for ds in $DATASETS; do
  data=$SHARED/$ds/data.csv
  k=$(python3 -c "import csv,sys; print(len({r['label'] for r in csv.DictReader(open(sys.argv[1], encoding='utf-8'))}))" "$data")
  n=$(python3 -c "import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], encoding='utf-8'))))" "$data")
  for method in $METHODS; do
    start=$(date +%s.%N)
    "$BIN" --quiet discover "$data" --text-column text --id-column id --k "$k" --seed 42 \
      --method "$method" --precision "$PRECISION" --no-cache --out "$OUT/$ds-$method"
    secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
    "$BIN" --quiet evaluate --pred "$OUT/$ds-$method/assignments.csv" --pred-column group --gold "$data" \
      --gold-column label --mode groups --out "$OUT/$ds-$method/evaluation.json"
    python3 - "$OUT/$ds-$method/evaluation.json" "$ds" "$n" "$k" "$secs" "$PRECISION" "$method" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
c = e["report"]["cluster"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | codeframe discover --method {sys.argv[7]} ({sys.argv[6]}) | "
      f"{c['acc']:.3f} | {c['nmi']:.3f} | {c['ari']:.3f} | {sys.argv[5]} | |")
PY
  done
  .venv-bench/bin/python scripts/eval_anchors.py "$data" models/all-MiniLM-L6-v2 "$ANCHORS" 2>/dev/null |
    python3 -c "
import json, sys
for line in sys.stdin:
    a = json.loads(line)
    notes = f\"{a['topics']} topics, {100 * a['outliers']:.0f}% outliers\" if 'topics' in a else ''
    print(f\"| $ds | $n | $k | {a['anchor']} | {a['acc']:.3f} | {a['nmi']:.3f} | {a['ari']:.3f} | {a['seconds']:.1f} | {notes} |\")
"
done
