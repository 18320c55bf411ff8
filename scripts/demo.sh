#!/usr/bin/env bash
# The main job on the bundled data: set up (idempotent), then embed the bundled answers and
# say where the results are.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p out
echo "[demo] embedding data/examples/answers.csv with all-MiniLM-L6-v2" >&2
target/release/codeframe embed data/examples/answers.csv \
  --text-column text --id-column id --out out/examples.npy
echo "[demo] results: out/examples.npy (one 384-dimensional row per answer)," >&2
echo "[demo]          out/examples.ids.csv (row, id, line, status) and out/examples.manifest.json" >&2
