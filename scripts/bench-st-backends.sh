#!/usr/bin/env bash
# sentence-transformers' CPU backends (torch f32, ONNX f32, ONNX dynamic int8) on a CSV, as an
# anchor for codeframe's precisions. Runs scripts/bench-st-backends.py in its own venv,
# .venv-onnx (kept apart from .venv-bench so the ONNX extras cannot change that anchor's
# versions), created the first time with sentence-transformers 5 and its ONNX extras (optimum-onnx).
# Usage: scripts/bench-st-backends.sh --data FILE [--column text] [--n N] --model DIR [--model DIR2]
#        [--batch-sizes 32,128] [--reps R]   (all arguments go to the Python script; --help lists them)
# Example: scripts/bench-st-backends.sh --data ../shared/datasets/nhs_fft_phase1/data.csv --n 500 \
#          --model models/all-MiniLM-L6-v2
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-onnx
if ! "$VENV/bin/python" -c "import sentence_transformers, optimum.onnxruntime, onnxruntime, numpy" 2>/dev/null; then
  echo "[st-backends] creating $VENV with sentence-transformers 5 and optimum-onnx (brings onnxruntime and torch; several GB, once)" >&2
  python3 -m venv "$VENV"
  # Pinned so pip need not search: optimum-onnx 0.1 takes transformers < 4.58, which
  # sentence-transformers 6 no longer supports.
  "$VENV/bin/pip" install --progress-bar off "sentence-transformers>=5,<6" "transformers>=4.56,<4.58" \
    "optimum~=2.1.0" "optimum-onnx[onnxruntime]" >&2
fi
exec "$VENV/bin/python" scripts/bench-st-backends.py "$@"
