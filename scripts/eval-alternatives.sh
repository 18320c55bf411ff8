#!/usr/bin/env bash
# Alternatives to discover's k-means and to fit's classifiers, measured with scikit-learn (and
# umap-learn) on codeframe's own vectors (`codeframe embed`) of every dataset in
# ../shared/datasets: which ideas move ACC / NMI, and accuracy at 80% coverage on nhs_fft_phase1.
# Prints Markdown tables. DATASETS="a b" limits the clustering part; FINETUNE_EPOCHS (default 5)
# sets the epochs of the fine-tuning row.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/datasets
# Exit 3: no shared datasets here (the message is printed); nothing to do.
scripts/bench-venv.sh eval-alternatives || { [ $? -eq 3 ] && exit 0; exit 1; }
OUT=${OUT:-out/eval-alternatives}
mkdir -p "$OUT"
BIN=target/release/codeframe
PY=.venv-bench/bin/python
DATASETS=${DATASETS:-$(ls "$SHARED" | while read -r d; do [ -f "$SHARED/$d/data.csv" ] && echo "$d"; done)}
vectors() { # dataset -> path of its vectors, embedded once
  local v=$OUT/$1.npy
  if [ ! -f "$v" ]; then
    echo "[eval] embedding $1" >&2
    "$BIN" --quiet embed "$SHARED/$1/data.csv" --text-column text --id-column id --out "$v"
  fi
  echo "$v"
}
echo "Clustering, k = number of labels; ACC / NMI for seeds 42 and 1:"
echo
echo "| dataset | k | method | seed 42 | seed 1 |"
echo "|---|---:|---|---:|---:|"
for ds in $DATASETS; do
  $PY scripts/eval_alternatives.py cluster "$(vectors "$ds")" "$SHARED/$ds/data.csv"
done
echo
echo "Classifiers on the eval-waves split (seed 42) of nhs_fft_phase1:"
echo
echo "| dataset | classifier | accuracy | accuracy at 80% coverage |"
echo "|---|---|---:|---:|"
$PY scripts/eval_alternatives.py coverage "$(vectors nhs_fft_phase1)" "$SHARED/nhs_fft_phase1/data.csv"
# Fine-tuning the embedding model itself on wave 1 (about 3.5 minutes per epoch on 2 cores);
# FINETUNE_EPOCHS=0 skips it.
if [ "${FINETUNE_EPOCHS:-5}" -gt 0 ]; then
  $PY scripts/eval_alternatives.py finetune "$SHARED/nhs_fft_phase1/data.csv" models/all-MiniLM-L6-v2 "${FINETUNE_EPOCHS:-5}"
fi
