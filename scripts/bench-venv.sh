#!/usr/bin/env bash
# Set-up shared by the evaluation scripts that need the shared datasets and the Python anchors:
# builds codeframe (scripts/setup.sh) and, once, .venv-bench with sentence-transformers,
# scikit-learn and BERTopic (which brings umap-learn). Prints a message and exits 3 when
# ../shared/datasets is absent. Usage: scripts/bench-venv.sh NAME (NAME prefixes the messages).
# With ANCHORS set (as scripts/eval-shared.sh takes it) and naming no BERTopic anchor, a venv
# without BERTopic is enough.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/datasets ]; then
  echo "$1: ../shared/datasets not found; skipping" >&2
  exit 3
fi
scripts/setup.sh >&2
modules="sentence_transformers, sklearn, bertopic"
case "${ANCHORS:-bertopic}" in *bertopic*) ;; *) modules="sentence_transformers, sklearn" ;; esac
if ! .venv-bench/bin/python -c "import $modules" 2>/dev/null; then
  echo "[eval] installing sentence-transformers, scikit-learn and BERTopic into .venv-bench" >&2
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --progress-bar off sentence-transformers scikit-learn bertopic
fi
