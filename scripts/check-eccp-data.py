#!/usr/bin/env python3
"""Check the ECCP 2020 reference data set against the report's published counts.

Run from anywhere: python3 scripts/check-eccp-data.py [BLIND_DIR]
(BLIND_DIR: the blind coder's input files; their checks are skipped when it is absent.)
Exits 1 on the first failed check list; prints what it checked.
"""
import csv, os, re, shutil, subprocess, sys, tempfile, tomllib
from collections import Counter

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "eccp-2020")
BLIND = sys.argv[1] if len(sys.argv) > 1 else "/tmp/eccp-blind"
HAVE_BLIND = os.path.isdir(BLIND)
fails = []

def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        fails.append(msg)

# Published annex tables (report, annex "Question 7" / "Question 8"), labels as printed.
Q7 = {"Financing and funding opportunities": 13, "Stakeholder/ eco-system engagement": 10, "Thematic": 9,
      "Other": 9, "Leadership and cluster management": 7, "Cluster Communication": 5, "Value proposition": 4,
      "Internationalisation": 4, "Business model": 3, "Business opportunities": 3,
      "Inter-cluster collaborations": 3, "Cluster policies": 3, "Strategy development": 2,
      "Knowledge management": 2, "EU policies and links to clusters": 2}
Q8 = {"Presentations": 34, "(List of) additional resources, links, etc.": 19, "Good practice examples": 16,
      "Recordings": 14, "Summary Report": 10, "Other": 10, "Handbook": 8,
      "Contact list/ list of attendees": 7, "Q&A, FAQ, Follow-up sessions": 3}
# Chapter 3 topic-group table.
GROUPS = {"Cluster business development": 25, "Internal cluster management": 16,
          "Communication and engagement": 15, "Thematic": 9, "(Cluster) Policy": 5, "Other": 9}

def read(path):
    raw = open(path, "rb").read()
    check(b"\r" not in raw, f"{os.path.basename(path)}: LF line ends only")
    raw.decode("utf-8")
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [row for row in r]

frame = tomllib.load(open(os.path.join(HERE, "frame.toml"), "rb"))
codes = {(c["question"], c["label"]): c for c in frame["codes"]}
groups = {g["id"]: g for g in frame["groups"]}
code_ids = [c["id"] for c in frame["codes"]]
check(len(code_ids) == len(set(code_ids)), "frame.toml: code ids unique")
kebab = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
check(all(kebab.match(i) for i in code_ids + list(groups)), "frame.toml: ids kebab-case")
check(set((q, l) for q, l in codes) == {("q7", l) for l in Q7} | {("q8", l) for l in Q8},
      "frame.toml: codes are exactly the annex labels of Q7 and Q8")
check(all(c.get("group") in groups for c in frame["codes"] if c["question"] == "q7")
      and all("group" not in c for c in frame["codes"] if c["question"] == "q8"),
      "frame.toml: every q7 code has a known group, q8 codes have none")
check(sorted(g["label"] for g in groups.values()) == sorted(GROUPS), "frame.toml: the six chapter-3 groups")

rt = {}
with open(os.path.join(HERE, "report_tables.csv"), encoding="utf-8", newline="") as f:
    for row in csv.DictReader(f):
        rt.setdefault(row["question"], {})[row["response"]] = int(row["count"])
print(f"     report_tables.csv: {len(rt)} tables, {sum(len(t) for t in rt.values())} rows")
for q, t in rt.items():
    print(f"     {sum(t.values()):4d}  {q}")
q7t = next(t for q, t in rt.items() if q.startswith("Question 7:"))
q8t = next(t for q, t in rt.items() if q.startswith("Question 8:"))
check(q7t == Q7 and q8t == Q8, "report_tables.csv: Q7/Q8 tables equal the published ones")
q10 = next(t for q, t in rt.items() if q.startswith("Question 10:"))
check(sum(q10.values()) == 120, "report_tables.csv: Q10 sums to the 120 respondents")

if HAVE_BLIND:
    blind_frame = open(os.path.join(BLIND, "frame_for_coder.md"), encoding="utf-8").read()
    check(all(l in blind_frame for _, l in codes), "frame_for_coder.md: lists every code label")
    check(not re.search(r"\d+ ?%|coder_a", blind_frame), "frame_for_coder.md: no counts/shares, no coder_a")

for qid, fname, table, n in (("q7", "q7_topics.csv", Q7, 79), ("q8", "q8_materials.csv", Q8, 121)):
    header, rows = read(os.path.join(HERE, fname))
    check(header == ["id", "respondent", "text", "coder_a", "coder_b"], f"{fname}: header")
    check(len(rows) == n and all(len(r) == 5 for r in rows), f"{fname}: {len(rows)} rows of 5 fields (want {n})")
    ids = [r[0] for r in rows]
    check(len(set(ids)) == n and all(re.fullmatch(qid + r"-\d{3}", i) for i in ids), f"{fname}: ids unique, {qid}-NNN")
    resp = [r[1] for r in rows]
    check(all(re.fullmatch(r"R\d{3}", x) and 1 <= int(x[1:]) <= 120 for x in resp), f"{fname}: respondents in R001-R120")
    rc = Counter(resp)
    print(f"     {fname}: {len(rc)} respondents, {sum(1 for v in rc.values() if v > 1)} with >1 row, max {max(rc.values())}")
    if qid == "q7":
        check(len(rc) == n, f"{fname}: one answer per respondent")
    check(all((qid, r[4]) in codes for r in rows), f"{fname}: every coder_b label is a {qid} code in frame.toml")
    agree = sum(r[3] == r[4] for r in rows)
    print(f"     {fname}: coder_a and coder_b agree on {agree}/{n}")
    got = Counter(r[3] for r in rows)
    check(got == Counter(table), f"{fname}: per-code counts equal the annex table")
    for label, k in table.items():
        if got[label] != k:
            print(f"       {label}: {got[label]} vs {k}")
    check(all((qid, r[3]) in codes for r in rows), f"{fname}: every coder_a label is a {qid} code in frame.toml")
    echo = [r[0] for r in rows for l in table if l != "Other" and l.lower() in r[2].lower()]
    check(not echo, f"{fname}: no answer contains a code label verbatim {echo}")
    if qid == "q7":
        gs = Counter(groups[codes[("q7", r[3])]["group"]]["label"] for r in rows)
        check(gs == Counter(GROUPS), f"{fname}: group sums {dict(gs)}")
    empty = sum(1 for r in rows if r[2].strip().lower() in ("", "n/a", "-", "no idea", "nothing specific", "no idea at the moment"))
    print(f"     {fname}: {empty} blank/non-answers")
    if not HAVE_BLIND:
        continue
    bh, brows = read(os.path.join(BLIND, fname.split("_")[0] + "_texts.csv"))
    check(bh == ["id", "text"] and sorted(brows) == sorted([r[0], r[2]] for r in rows),
          f"blind {fname.split('_')[0]}_texts.csv: only id,text; same ids and texts")
    check([r[0] for r in brows] != ids, f"blind {fname.split('_')[0]}_texts.csv: order shuffled")

# survey.csv: the same answers one row per respondent (scripts/make-eccp-survey.py).
sh, srows = read(os.path.join(HERE, "survey.csv"))
check(sh == ["respondent", "cluster_org", "role", "members", "q7", "q8"], "survey.csv: header")
check([r[0] for r in srows] == [f"R{i:03d}" for i in range(1, 121)], "survey.csv: R001-R120 once each")
for qid, fname in [("q7", "q7_topics.csv"), ("q8", "q8_materials.csv")]:
    _, rows = read(os.path.join(HERE, fname))
    joined = {}
    for r in rows:
        joined.setdefault(r[1], []).append(r[2].strip())
    col = sh.index(qid)
    check(all(r[col] == ", ".join(joined.get(r[0], [])) for r in srows),
          f"survey.csv: {qid} is each respondent's {fname} rows joined")
for col, question in [(1, "Question 10:"), (2, "Question 11:"), (3, "Question 13:")]:
    pub = Counter(next(t for q, t in rt.items() if q.startswith(question)))
    got = Counter(r[col] for r in srows if r[col])
    check(got == pub, f"survey.csv: {sh[col]} totals equal the annex table {question}")
check(all(r[1] == "Yes" or not (r[2] or r[3]) for r in srows),
      "survey.csv: role and members only for respondents of a cluster organisation")
tmp = tempfile.mkdtemp()
try:
    shutil.copytree(os.path.dirname(os.path.abspath(__file__)), os.path.join(tmp, "scripts"))
    shutil.copytree(HERE, os.path.join(tmp, "data", "eccp-2020"))
    subprocess.run([sys.executable, os.path.join(tmp, "scripts", "make-eccp-survey.py")],
                   check=True, capture_output=True)
    same = open(os.path.join(tmp, "data", "eccp-2020", "survey.csv"), "rb").read() == \
        open(os.path.join(HERE, "survey.csv"), "rb").read()
    check(same, "survey.csv: make-eccp-survey.py rebuilds it byte for byte")
finally:
    shutil.rmtree(tmp)

print("FAILED: %d" % len(fails) if fails else "ALL CHECKS PASSED")
sys.exit(1 if fails else 0)
