#!/usr/bin/env bash
# Cross-checks `codeframe crosstab` against scipy (scripts/check-crosstab.py, to 1e-9): discovers
# groups in the bundled ECCP Q7 answers and the Q8 mentions, tabulates them by respondent
# variables made up from the row number (the bundled data has none: they only give tables of
# several shapes) and recomputes every test. scipy comes from .venv-check (scripts/venv-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
scripts/venv-check.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jsons=()
for q in q7_topics q8_materials; do
  .venv-check/bin/python - "data/eccp-2020/$q.csv" "$work/$q.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "text", "two", "three", "five"])
    for i, r in enumerate(rows):
        w.writerow([r["id"], r["text"], "ab"[i % 2], "xyz"[i % 3], "pqrst"[i % 5]])
PY
  echo "[check-crosstab] discover $q and crosstab by three made-up variables" >&2
  target/release/codeframe --quiet discover "$work/$q.csv" --text-column text --id-column id \
    --keep-column two --keep-column three --keep-column five --out "$work/$q"
  for by in two three five; do
    target/release/codeframe --quiet crosstab "$work/$q" --by "$by" > /dev/null
    jsons+=("$work/$q/crosstab-$by.json")
  done
done
.venv-check/bin/python scripts/check-crosstab.py "${jsons[@]}"
