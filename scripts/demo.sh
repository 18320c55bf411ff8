#!/usr/bin/env bash
# The main job on the bundled data: set up (idempotent), then group the ECCP survey's answers to
# Q7 (webinar topics, reported under the frame's six topic groups) and Q8 (supporting materials,
# its nine codes), print each group table next to the report's, measure agreement between the
# report's coding, a second coder and codeframe, and say where the results are.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BIN=target/release/codeframe
D=data/eccp-2020
mkdir -p out

# A review store holds people's codes; discover will not replace a folder holding one.
for run in eccp-q7 eccp-q8 eccp-survey/q7 eccp-survey/q8; do
  if [ -f "out/$run/review.sqlite" ]; then
    keep="out/${run//\//-}-review-$(date +%Y%m%d-%H%M%S)"
    echo "[demo] out/$run holds a review store; keeping it in $keep/ before rerunning" >&2
    mkdir -p "$keep" && mv "out/$run"/review.sqlite* "$keep"/
  fi
done
echo "[demo] Q7: one group per code of the frame, reported under its six topic groups" >&2
"$BIN" discover "$D/q7_topics.csv" --text-column text --id-column id --k frame \
  --frame "$D/frame.toml" --level groups --out out/eccp-q7
echo "[demo] Q8: one group per code of the frame" >&2
"$BIN" discover "$D/q8_materials.csv" --text-column text --id-column id --k frame \
  --frame "$D/frame.toml" --out out/eccp-q8
echo "[demo] the whole survey export in one run: $D/survey.csv, one row per respondent with" >&2
echo "[demo] closed questions (cluster_org, role, members) and Q7 and Q8 side by side" >&2
"$BIN" discover "$D/survey.csv" --text-column q7 --text-column q8 --id-column respondent \
  --keep-column role --keep-column members --frame "$D/frame.toml" --k frame \
  --out out/eccp-survey --report

python3 - "$D" <<'PY'
import csv, sys, tomllib
d = sys.argv[1]
frame = tomllib.load(open(f"{d}/frame.toml", "rb"))
groups = {g["id"]: g["label"] for g in frame["groups"]}
q7_group = {c["label"]: groups[c["group"]] for c in frame["codes"] if c.get("question") == "q7"}

def report(question_prefix, by_group=False):
    counts = {}
    for r in csv.DictReader(open(f"{d}/report_tables.csv", encoding="utf-8")):
        if r["question"].startswith(question_prefix):
            key = q7_group.get(r["response"], r["response"]) if by_group else r["response"]
            counts[key] = counts.get(key, 0) + int(r["count"])
    return counts

def show(title, out, rep):
    mine = {r["response"]: int(r["count"]) for r in csv.DictReader(open(f"{out}/frequencies.csv", encoding="utf-8"))}
    names = sorted(set(mine) | set(rep), key=lambda n: (-rep.get(n, 0), -mine.get(n, 0), n))
    print(f"\n{title}\n  {'response':<48} {'codeframe':>9} {'report':>7}")
    for n in names:
        print(f"  {n[:48]:<48} {mine.get(n, 0):>9} {rep.get(n, 0):>7}")

show("Q7 topics for future webinars, by topic group", "out/eccp-q7", report("Question 7:", by_group=True))
show("Q8 supporting materials", "out/eccp-q8", report("Question 8:"))
print("\nThe survey file in one run (out/eccp-survey): codeframe counts respondents' answers,")
print("the report counts mentions (Q8: 121 mentions from 113 respondents); blanks are 'no answer'.")
show("Q7 topics, by code (survey run)", "out/eccp-survey/q7", report("Question 7:"))
show("Q8 supporting materials (survey run)", "out/eccp-survey/q8", report("Question 8:"))
PY
echo "" >&2
echo "[demo] Q8 by role (Question 11), from the survey run's kept column" >&2
"$BIN" crosstab out/eccp-survey/q8 --by role
# Agreement: the report's coding (coder_a) against the blind second coding (coder_b) and against
# codeframe (the discover runs above, joined by id). Q7 is compared at topic-group level, so the
# human codes are first mapped to their topic groups from the frame.
python3 - "$D" out/eccp-q7/coders_by_group.csv <<'PY'
import csv, sys, tomllib
d, out = sys.argv[1], sys.argv[2]
frame = tomllib.load(open(f"{d}/frame.toml", "rb"))
groups = {g["id"]: g["label"] for g in frame["groups"]}
to_group = {c["label"]: groups[c["group"]] for c in frame["codes"] if c.get("question") == "q7"}
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "text", "coder_a", "coder_b"])
    for r in csv.DictReader(open(f"{d}/q7_topics.csv", encoding="utf-8")):
        w.writerow([r["id"], r["text"], to_group.get(r["coder_a"], ""), to_group.get(r["coder_b"], "")])
PY
echo "" >&2
echo "[demo] Q7 agreement by topic group: coder_a, coder_b and codeframe" >&2
"$BIN" agree out/eccp-q7/coders_by_group.csv --coders coder_a,coder_b \
  --join out/eccp-q7/assignments.csv:group_name=codeframe --out out/eccp-q7/agreement.json
echo "[demo] Q8 agreement by code: coder_a, coder_b and codeframe" >&2
"$BIN" agree "$D/q8_materials.csv" --coders coder_a,coder_b \
  --join out/eccp-q8/assignments.csv:group_name=codeframe --out out/eccp-q8/agreement.json
# Scores against the report's coding go into each run's folder, so the report pages show them.
"$BIN" --quiet evaluate --pred out/eccp-q7/assignments.csv --pred-column group_name \
  --gold out/eccp-q7/coders_by_group.csv --gold-column coder_a --mode codes --out out/eccp-q7/evaluation.json
"$BIN" --quiet evaluate --pred out/eccp-q8/assignments.csv --pred-column group_name \
  --gold "$D/q8_materials.csv" --gold-column coder_a --mode codes --out out/eccp-q8/evaluation.json
"$BIN" --quiet report out/eccp-q7
"$BIN" --quiet report out/eccp-q8
echo "[demo] reports: $PWD/out/eccp-q7/report.html and $PWD/out/eccp-q8/report.html" >&2
echo "[demo] the survey run: $PWD/out/eccp-survey/report.html (a section per question)," >&2
echo "[demo]   summary.csv (every question's table), q7/ and q8/ (each a run of its own)" >&2
echo "[demo] results: out/eccp-q7/ and out/eccp-q8/ (assignments.csv: every answer with its group," >&2
echo "[demo]          groups.json: keywords and typical answers, frequencies.csv, manifest.json," >&2
echo "[demo]          agreement.json: every coefficient, disagreements.csv: answers to adjudicate," >&2
echo "[demo]          .xlsx copies of the tables, report.html: the page to read and share)" >&2
echo "[demo] review and code in the browser (a local server; Ctrl-C stops it):" >&2
echo "[demo]   $BIN review out/eccp-q8 --coder me --coders coder_a,coder_b" >&2
echo "[demo]   then open the http://127.0.0.1:8750/ address it prints" >&2
