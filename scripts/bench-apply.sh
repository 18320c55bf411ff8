#!/usr/bin/env bash
# Is `codeframe apply` bound by embedding? A frame fitted on ../shared/datasets/nhs_fft_phase1
# codes a 100,000-answer wave (every answer of the shared datasets, then pairs of them joined as
# answers naming two topics, all distinct; seeded), cold cache, f32. apply reports its phases;
# the anchor is its own embedding time in the same run: everything else should be under 5%.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/datasets
if [ ! -d "$SHARED" ]; then
  echo "bench-apply: $SHARED not found; skipping" >&2
  exit 0
fi
scripts/setup.sh >&2
scripts/cpu.sh
BIN=target/release/codeframe
DIR=${OUT:-out/bench-apply}
mkdir -p "$DIR"
python3 - "$SHARED" "$DIR/wave.csv" <<'PY'
import csv, os, random, sys
shared, out = sys.argv[1], sys.argv[2]
texts = []
for ds in sorted(os.listdir(shared)):
    p = os.path.join(shared, ds, "data.csv")
    if os.path.isfile(p):
        texts += [r["text"].strip() for r in csv.DictReader(open(p, encoding="utf-8")) if r["text"].strip()]
seen, wave = set(), []
for t in texts:
    if t not in seen:
        seen.add(t); wave.append(t)
rng = random.Random(42)
while len(wave) < 100_000:
    t = f"{rng.choice(texts)} Also: {rng.choice(texts)}"
    if t not in seen:
        seen.add(t); wave.append(t)
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "text"])
    for i, t in enumerate(wave[:100_000]):
        w.writerow([i, t])
PY
if [ ! -f "$DIR/frame.json" ]; then
  echo "[bench] fitting a frame on nhs_fft_phase1 (9 codes)" >&2
  "$BIN" --quiet fit "$SHARED/nhs_fft_phase1/data.csv" --text-column text --label-column label --id-column id \
    --out "$DIR/frame.json"
fi
echo "[bench] applying it to 100,000 answers (cold cache, f32)" >&2
start=$(date +%s.%N)
"$BIN" apply "$DIR/frame.json" "$DIR/wave.csv" --text-column text --id-column id --no-cache \
  --out "$DIR/apply" 2> "$DIR/apply.log"
end=$(date +%s.%N)
python3 - "$DIR/apply.log" "$start" "$end" "$(python3 -c "import json; print(json.load(open('$DIR/frame.json'))['training']['chosen'])")" <<'PY'
import re, sys
log = open(sys.argv[1]).read()
m = re.search(r"seconds — embedding ([\d.]+), coding ([\d.]+), candidate codes ([\d.]+), writing ([\d.]+)", log)
emb, code, cand, write = map(float, m.groups())
total = float(sys.argv[3]) - float(sys.argv[2])
rest = total - emb
print(f"apply 100,000 answers ({sys.argv[4]}): {total:.1f} s end to end; embedding {emb:.1f} s (anchor); "
      f"coding {code:.2f} s, candidate codes {cand:.2f} s, writing {write:.2f} s; "
      f"everything but embedding {rest:.1f} s = {100 * rest / total:.1f}% of the run")
PY
