#!/usr/bin/env bash
# Does an answer's language decide its code? On the bundled ECCP questions, each of the 16
# answers not in English (data/eccp-2020/translations.csv, with an English rendering of each) is
# coded twice by the same frame and model: as written, and with every non-English answer of the
# question replaced by its English rendering. An answer passes when it gets its English
# counterpart's code, or is not coded automatically (it goes to review); it fails when it is
# coded automatically with another code. Two frames: the zero-shot frame.toml, and a frame
# fitted on the question's English answers (coder_a). MODEL (default multilingual-e5-small) and
# PRECISION (default f32) pick the embedding. Prints a Markdown table and the failures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
BIN=target/release/codeframe
D=data/eccp-2020
OUT=${OUT:-out/eval-eccp-languages}
MODEL=${MODEL:-multilingual-e5-small}
PRECISION=${PRECISION:-f32}
mkdir -p "$OUT"
EMB=(--model "$MODEL" --precision "$PRECISION" --cache-dir "$OUT/cache")
echo "| question | frame | non-English answers | same code as in English | to review | other code (fails) |"
echo "|---|---|---:|---:|---:|---:|"
for q in q7_topics q8_materials; do
  qid=${q%%_*}
  dir=$OUT/$q
  mkdir -p "$dir"
  # The question as written, in English only (translations swapped in), and its English rows.
  python3 - "$D/$q.csv" "$D/translations.csv" "$dir" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
tr = {r["id"]: r["text_en"] for r in csv.DictReader(open(sys.argv[2], encoding="utf-8"))}
fields = list(rows[0].keys())
def write(name, rs):
    with open(f"{sys.argv[3]}/{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rs)
write("as-written", rows)
write("in-english", [dict(r, text=tr.get(r["id"], r["text"])) for r in rows])
write("english-rows", [r for r in rows if r["id"] not in tr])
PY
  "$BIN" --quiet fit "$dir/english-rows.csv" --text-column text --id-column id --label-column coder_a \
    --frame "$D/frame.toml" --question "$qid" --seed 42 "${EMB[@]}" --out "$dir/fitted.json"
  for frame in zero-shot fitted; do
    f=$D/frame.toml; [ "$frame" = fitted ] && f=$dir/fitted.json
    for v in as-written in-english; do
      "$BIN" --quiet apply "$f" "$dir/$v.csv" --text-column text --id-column id --question "$qid" \
        "${EMB[@]}" --out "$dir/$frame-$v"
    done
    python3 - "$dir/$frame-as-written/assignments.csv" "$dir/$frame-in-english/assignments.csv" \
      "$D/translations.csv" "ECCP $qid" "$frame" "$dir/$frame-failures.txt" <<'PY'
import csv, sys
a = {r["id"]: r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))}
e = {r["id"]: r for r in csv.DictReader(open(sys.argv[2], encoding="utf-8"))}
tr = [r for r in csv.DictReader(open(sys.argv[3], encoding="utf-8")) if r["id"] in a]
same = review = 0
fails = []
for t in tr:
    w, en = a[t["id"]], e[t["id"]]
    if w["status"] != "coded":
        review += 1
    elif w["code"] == en["code"]:
        same += 1
    else:
        fails.append(f"{t['id']} {t['language']} {t['text']!r}: {w['code']!r} ({w['confidence']}), "
                     f"in English {t['text_en']!r}: {en['code']!r} ({en['status']})")
open(sys.argv[6], "w", encoding="utf-8").write("".join(x + "\n" for x in fails))
print(f"| {sys.argv[4]} | {sys.argv[5]} | {len(tr)} | {same} | {review} | {len(fails)} |")
for x in fails:
    print(f"[eval-eccp-languages] {sys.argv[4]} {sys.argv[5]}: {x}", file=sys.stderr)
PY
  done
done
