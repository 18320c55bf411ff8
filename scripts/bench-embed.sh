#!/usr/bin/env bash
# Embedding speed: codeframe embed (f32, bf16) vs sentence-transformers' encode on
# ../shared/datasets/nhs_fft_phase1 (cold cache, CPU, batch 32, same model files), alternated,
# medians. sentence-transformers runs from its own venv (.venv-bench, latest release).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/nhs_fft_phase1/data.csv}
REPS=${REPS:-3}
if [ ! -f "$DATA" ]; then
  echo "bench-embed: $DATA not found (needs ../shared/datasets); skipping" >&2
  exit 0
fi
scripts/setup.sh
scripts/cpu.sh
if ! .venv-bench/bin/python -c "import sentence_transformers" 2>/dev/null; then
  echo "[bench] creating .venv-bench with the latest sentence-transformers (several GB)" >&2
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --progress-bar off sentence-transformers
fi
# Peak f32 FLOP/s of this CPU: cores x FLOP/cycle x GHz (AVX-512 FMA on Zen 4: 32 FLOP/cycle/core).
CORES=$(nproc)
MHZ=$(awk -F: '/cpu MHz/ {print $2; exit}' /proc/cpuinfo)
PEAK=$(python3 -c "print(round($CORES * 32 * $MHZ / 1000, 1))")
echo "[bench] $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $CORES cores, ${MHZ} MHz, f32 peak ~${PEAK} GFLOP/s" >&2
.venv-bench/bin/python scripts/bench_embed.py --data "$DATA" --binary target/release/codeframe \
  --model-dir models/all-MiniLM-L6-v2 --reps "$REPS" --peak-gflops "$PEAK" --sweep "${SWEEP:-}"
