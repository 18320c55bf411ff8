#!/usr/bin/env bash
# discover and apply on 1,000,000 survey-length answers, cache cold, on this machine's cores.
# Answers: the clauses of ../shared/datasets/nhs_fft_phase1 (13,180 distinct, about 10 words),
# joined two by two into 1,000,000 distinct answers of about 20 words (seeded), so the lengths are
# those of real survey answers and no text repeats. discover runs with the default method; apply
# codes the same answers with a frame fitted on nhs_fft_phase1's 10,334 human-coded answers
# (fitted first, not timed). WARM=1 keeps the embedding cache. Each command's peak RSS comes from /usr/bin/time -v and its phases
# from its summary. PRECISION=f32|bf16|int8 (default: bf16 where the CPU has AMX, which ran it at
# 3x f32; else int8, faster than f32 on every CPU measured, bf16 with AVX512-BF16 alone slower;
# set PRECISION_SET=1 to keep the one given); N=answers; K=number of groups (default: discover's own
# default, --k auto). The anchor, in the same run: sentence-transformers' encode (torch, f32, batch
# 32) on a seeded sample of ANCHOR_N (5,000) of the answers, whose rate gives the seconds it would
# take just to embed all N; the last line puts discover + apply against that (ANCHOR_N=0: none).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/datasets
if [ ! -d "$SHARED" ]; then
  echo "bench-million: $SHARED not found; skipping" >&2
  exit 0
fi
ANCHOR_N=${ANCHOR_N:-5000}
if [ "$ANCHOR_N" -gt 0 ]; then
  ANCHORS=st-kmeans scripts/bench-venv.sh bench-million >&2
else
  scripts/setup.sh >&2
fi
scripts/cpu.sh
BIN=target/release/codeframe
DIR=${OUT:-out/bench-million}
N=${N:-1000000}
PRECISION=${PRECISION:-int8}
if [ -z "${PRECISION_SET:-}" ] && grep -qw amx_bf16 /proc/cpuinfo; then PRECISION=bf16; fi
mkdir -p "$DIR"
if [ ! -f "$DIR/answers-$N.csv" ]; then
  echo "[bench-million] making $N answers" >&2
  python3 - "$SHARED/nhs_fft_phase1/data.csv" "$DIR/answers-$N.csv" "$N" <<'PY'
import csv, random, re, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
clauses = set()
for r in csv.DictReader(open(src, encoding="utf-8")):
    for c in re.split(r"[.!?;]+|,\s+(?:and|but)\s+", r["text"]):
        c = c.strip()
        if len(c.split()) >= 2:
            clauses.add(c)
clauses = sorted(clauses)
rng = random.Random(42)
seen = set()
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "text"])
    while len(seen) < n:
        t = f"{rng.choice(clauses)}. {rng.choice(clauses)}"
        if t not in seen:
            seen.add(t)
            w.writerow([f"r{len(seen)}", t])
PY
fi
# A learned frame fixes the precision apply embeds at, so each precision has its own.
FRAME=$DIR/nhs.$PRECISION.frame.json
if [ ! -f "$FRAME" ]; then
  echo "[bench-million] fitting a frame on nhs_fft_phase1 (not timed)" >&2
  "$BIN" fit "$SHARED/nhs_fft_phase1/data.csv" --text-column text --id-column id --label-column label \
    --precision "$PRECISION" --cache-dir "$DIR/fit-cache" --out "$FRAME"
fi
# WARM=1 keeps the embedding cache of an earlier run (to time the other phases again).
CACHE_STATE="cache cold for discover"
if [ "${WARM:-0}" = 1 ]; then CACHE_STATE="cache warm"; else rm -rf "$DIR/cache"; fi
rm -rf "$DIR/discover" "$DIR/apply"
run() { # name, command… → the summary lines and peak RSS
  local name=$1; shift
  local start; start=$(date +%s.%N)
  /usr/bin/time -v "$@" 2> "$DIR/$name.err"
  local secs; secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$start" "$(date +%s.%N)")
  local rss; rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); printf "%.0f", $2 / 1024}' "$DIR/$name.err")
  echo "| $name | $secs | $rss | $(grep -E 'seconds —' "$DIR/$name.err" | sed 's/.*seconds — //') |"
  TOTAL=$((TOTAL + secs))
}
TOTAL=0
echo "| command ($N answers, $PRECISION, $CACHE_STATE) | seconds | peak RSS MB | phases (s) |"
echo "|---|---:|---:|---|"
K_FLAG=(); [ -n "${K:-}" ] && K_FLAG=(--k "$K")
run discover "$BIN" discover "$DIR/answers-$N.csv" --text-column text --id-column id "${K_FLAG[@]}" \
  --precision "$PRECISION" --cache-dir "$DIR/cache" --out "$DIR/discover"
run apply "$BIN" apply "$FRAME" "$DIR/answers-$N.csv" --text-column text --id-column id \
  --precision "$PRECISION" --cache-dir "$DIR/cache" --out "$DIR/apply"
[ "$ANCHOR_N" -gt 0 ] || exit 0
echo "[bench-million] anchor: sentence-transformers encode on $ANCHOR_N of the answers" >&2
.venv-bench/bin/python - "$DIR/answers-$N.csv" models/all-MiniLM-L6-v2 "$ANCHOR_N" "$N" "$TOTAL" <<'PY'
import csv, random, resource, sys, time
from sentence_transformers import SentenceTransformer
path, model, n, total_n, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
with open(path, newline="", encoding="utf-8") as f:
    texts = [r["text"] for r in csv.DictReader(f)]
sample = random.Random(42).sample(texts, min(n, len(texts)))
m = SentenceTransformer(model, device="cpu")
m.encode(sample[:64], batch_size=32)
t = time.perf_counter()
m.encode(sample, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
secs = time.perf_counter() - t
rate = len(sample) / secs
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"| sentence-transformers encode (anchor), {len(sample):,} of the answers | {secs:.0f} | {rss:.0f} | "
      f"{rate:.0f} answers/s: {total_n / rate:,.0f} s to embed all {total_n:,} |")
print()
print(f"discover + apply: {total:,} s, {total / (total_n / rate):.2f} x the time sentence-transformers "
      f"takes to embed the answers alone (same run).")
PY
