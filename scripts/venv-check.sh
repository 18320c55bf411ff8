#!/usr/bin/env bash
# Creates .venv-check (idempotent) with the reference packages the agreement cross-check and
# benchmark compare against: krippendorff, statsmodels, irrCAC (scripts/check-agree-requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv-check/bin/python -c "import krippendorff, statsmodels, irrCAC" 2>/dev/null; then
  echo "[venv] installing krippendorff, statsmodels and irrCAC into .venv-check" >&2
  python3 -m venv .venv-check
  .venv-check/bin/pip install --progress-bar off -r scripts/check-agree-requirements.txt
fi
