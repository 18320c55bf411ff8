#!/usr/bin/env python3
"""Cross-check the chi-square tests of `codeframe crosstab` against scipy.

Usage:
    python scripts/check-crosstab.py FILE.json [FILE.json ...]

Each FILE is a crosstab-COL.json that `codeframe crosstab` wrote. From its table (the base rows
and the value columns, the missing column and "Total" left out) the script recomputes Pearson's
chi-square without continuity correction (scipy.stats.chi2_contingency(correction=False)),
its degrees of freedom and p-value, Cramér's V (scipy.stats.contingency.association), the
expected counts under 5 and the column bases; every number must agree to 1e-9. Exits 1 on any
failure.
"""

import json
import sys

import numpy as np
from scipy.stats import chi2_contingency
from scipy.stats.contingency import association


def check(path):
    x = json.load(open(path))["crosstab"]
    cols = [i for i, c in enumerate(x["columns"][:-1]) if c != "(missing)"]
    table = np.array([[r["counts"][c] for c in cols] for r in x["rows"] if r["in_base"]])
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    fails = []
    base = [sum(r["counts"][c] for r in x["rows"] if r["in_base"]) for c in range(len(x["columns"]))]
    if not x["several_codes"] and base != x["respondents"]:
        fails.append(f"column bases {x['respondents']} != {base}")
    t = x["test"]
    if t is None:
        return fails, 0.0
    chi2, p, dof, expected = chi2_contingency(table, correction=False)
    v = association(table, method="cramer", correction=False)
    worst = 0.0
    for name, ours, ref in [
        ("chi_square", t["chi_square"], chi2),
        ("p_value", t["p_value"], p),
        ("cramers_v", t["cramers_v"], v),
        ("min_expected", t["min_expected"], expected.min()),
    ]:
        diff = abs(ours - ref)
        worst = max(worst, diff)
        if diff > 1e-9:
            fails.append(f"{name}: {ours} vs scipy {ref}")
    if t["df"] != dof:
        fails.append(f"df: {t['df']} vs scipy {dof}")
    if t["cells_expected_under_5"] != int((expected < 5).sum()):
        fails.append("cells with expected count under 5 differ")
    return fails, worst


def main():
    failed = False
    for path in sys.argv[1:]:
        fails, worst = check(path)
        print(f"{path}: {'ok' if not fails else 'FAILED'} (largest difference {worst:.2e})")
        for f in fails:
            print("  " + f)
        failed |= bool(fails)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
