#!/usr/bin/env python3
"""Builds data/eccp-2020/survey.csv, the bundled ECCP answers shaped like a survey tool's export:
one row per respondent (R001-R120), three closed questions the report tabulates, and the Q7 and
Q8 answers side by side.

- q7, q8: each respondent's rows of q7_topics.csv / q8_materials.csv, in file order, joined with
  ", " (8 respondents named two Q8 mentions, which the report counted apart); blank when the
  respondent gave none.
- cluster_org (Q10), role (Q11), members (Q13): the report publishes only their totals, so the
  values are dealt at random (seed 2020) to reproduce those totals exactly; role and members go
  only to respondents who work for a cluster organisation (Q10 "Yes"), the rest are blank as in
  the report's bases (90 and 93 answers). They carry no information about the respondents:
  crosstabs on them exercise the tables, not the survey.

Standard library only; writes the same bytes on every run.
"""
import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "eccp-2020"
SEED = 2020
RESPONDENTS = [f"R{i:03d}" for i in range(1, 121)]
Q10 = "Question 10: Do you manage or work for a cluster organisation?"
Q11 = "Question 11: What is your role in the cluster organisation?"
Q13 = "Question 13: How many members does your cluster have?"


def published(question):
    with open(DATA / "report_tables.csv", newline="", encoding="utf-8") as f:
        return [(r["response"], int(r["count"])) for r in csv.DictReader(f) if r["question"] == question]


def mentions(name):
    out = defaultdict(list)
    with open(DATA / name, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[r["respondent"]].append(r["text"].strip())
    return out


def deal(rng, people, totals):
    """Gives each of `people` one value so that every value's total is as published; the rest
    get none."""
    values = [v for v, n in totals for _ in range(n)]
    if len(values) > len(people):
        sys.exit(f"{len(values)} answers for {len(people)} respondents")
    order = list(people)
    rng.shuffle(order)
    return dict(zip(order, values))


def main():
    rng = random.Random(SEED)
    org = deal(rng, RESPONDENTS, published(Q10))
    members_of_org = [r for r in RESPONDENTS if org.get(r) == "Yes"]
    role = deal(rng, members_of_org, published(Q11))
    members = deal(rng, members_of_org, published(Q13))
    q7, q8 = mentions("q7_topics.csv"), mentions("q8_materials.csv")
    out = DATA / "survey.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["respondent", "cluster_org", "role", "members", "q7", "q8"])
        for r in RESPONDENTS:
            w.writerow([r, org.get(r, ""), role.get(r, ""), members.get(r, ""),
                        ", ".join(q7.get(r, [])), ", ".join(q8.get(r, []))])
    print(f"wrote {out}: {len(RESPONDENTS)} respondents, {len(q7)} with a Q7 answer, "
          f"{len(q8)} with a Q8 answer", file=sys.stderr)


if __name__ == "__main__":
    main()
