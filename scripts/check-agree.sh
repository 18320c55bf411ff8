#!/usr/bin/env bash
# Cross-checks `codeframe agree` on 200 random coding tables (missing cells included) against
# krippendorff, statsmodels and irrCAC (scripts/check-agree.py), all to 1e-9. The reference
# packages go into their own venv, .venv-check, pinned by scripts/check-agree-requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
scripts/venv-check.sh
exec .venv-check/bin/python scripts/check-agree.py "$@" -- target/release/codeframe --quiet agree --out -
