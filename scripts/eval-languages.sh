#!/usr/bin/env bash
# Answers in several languages, on ../shared/datasets/sib200_eu (the same 1,004 sentences in
# English, German, French and Spanish, 7 topics). For each model (MODELS, default
# "all-MiniLM-L6-v2 multilingual-e5-small"):
#   - a frame fitted on the English train+dev rows codes each language's test rows (apply, scored
#     by `codeframe evaluate --mode codes`): the other languages against 0.9 x English accuracy;
#   - discover on all 4,016 rows at k = 7: NMI with the topics and with the language, and the
#     share of groups whose answers are (at least 90 %) in one language;
#   - the language codeframe told for each row against the file's language.
# Then ECCP: each non-English answer of data/eccp-2020 against the English answer it translates
# (coded the same, or sent to review). Seed 42, f32.
set -euo pipefail
cd "$(dirname "$0")/.."
SIB=../shared/datasets/sib200_eu/data.csv
if [ ! -f "$SIB" ]; then
  echo "eval-languages: $SIB not found; skipping" >&2
  exit 0
fi
scripts/setup.sh >&2
scripts/cpu.sh
BIN=${BIN:-target/release/codeframe}
OUT=${OUT:-out/eval-languages}
mkdir -p "$OUT"
python3 - "$SIB" "$OUT" <<'PY'
import csv, sys
src, out = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(src, encoding="utf-8")))
def write(name, rs):
    with open(f"{out}/{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label", "lang"])
        for r in rs:
            w.writerow([r["id"], r["text"], r["label"], r["lang"]])
write("train-eng", [r for r in rows if r["lang"] == "eng" and r["split"] != "test"])
for lang in ("eng", "deu", "fra", "spa"):
    write(f"test-{lang}", [r for r in rows if r["lang"] == lang and r["split"] == "test"])
write("all", rows)
PY
echo "| model | rows | eng acc. (kappa) | deu acc. (kappa) | fra acc. (kappa) | spa acc. (kappa) | worst / eng | discover k=7: NMI topic | NMI language | one-language groups | language told right |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for model in ${MODELS:-all-MiniLM-L6-v2 multilingual-e5-small}; do
  dir=$OUT/$model
  mkdir -p "$dir"
  echo "[eval-languages] $model: fit on English, apply to four languages" >&2
  "$BIN" --quiet fit "$OUT/train-eng.csv" --text-column text --id-column id --label-column label \
    --model "$model" --seed 42 --no-cache --out "$dir/frame.json"
  for lang in eng deu fra spa; do
    "$BIN" --quiet apply "$dir/frame.json" "$OUT/test-$lang.csv" --text-column text --id-column id \
      --model "$model" --seed 42 --no-cache --out "$dir/apply-$lang"
    "$BIN" --quiet evaluate --pred "$dir/apply-$lang/assignments.csv" --pred-column code \
      --gold "$OUT/test-$lang.csv" --gold-column label --mode codes --out "$dir/apply-$lang/evaluation.json"
  done
  echo "[eval-languages] $model: discover on all four languages at k = 7" >&2
  "$BIN" --quiet discover "$OUT/all.csv" --text-column text --id-column id --k 7 \
    --model "$model" --seed 42 --no-cache --out "$dir/discover"
  for col in label lang; do
    "$BIN" --quiet evaluate --pred "$dir/discover/assignments.csv" --pred-column group \
      --gold "$OUT/all.csv" --gold-column "$col" --mode groups --out "$dir/discover/evaluation-$col.json"
  done
  python3 - "$dir" "$model" "$OUT/all.csv" <<'PY'
import collections, csv, json, sys
d, model, gold = sys.argv[1], sys.argv[2], sys.argv[3]
cells, acc = [], {}
n = 0
for lang in ("eng", "deu", "fra", "spa"):
    c = json.load(open(f"{d}/apply-{lang}/evaluation.json"))["report"]["classification"]
    acc[lang] = c["accuracy"]
    n += c["n"] if "n" in c else 0
    cells.append(f"{c['accuracy']:.3f} ({c['kappa']:.3f})")
worst = min(acc[l] for l in ("deu", "fra", "spa")) / acc["eng"]
nmi = {col: json.load(open(f"{d}/discover/evaluation-{col}.json"))["report"]["cluster"]["nmi"] for col in ("label", "lang")}
lang_of = {r["id"]: r["lang"] for r in csv.DictReader(open(gold, encoding="utf-8"))}
iso = {"eng": "en", "deu": "de", "fra": "fr", "spa": "es"}
groups = collections.defaultdict(collections.Counter)
right = total = 0
for r in csv.DictReader(open(f"{d}/discover/assignments.csv", encoding="utf-8")):
    lang = lang_of[r["id"]]
    total += 1
    right += r["language"] == iso[lang]
    if r["group"]:
        groups[r["group"]][lang] += 1
one = sum(1 for c in groups.values() if max(c.values()) >= 0.9 * sum(c.values()))
print(f"| {model} | 800 / 4 x 204 | {' | '.join(cells)} | {worst:.2f} | {nmi['label']:.3f} | {nmi['lang']:.3f} | "
      f"{one} of {len(groups)} | {right / total:.3f} |")
PY
done
