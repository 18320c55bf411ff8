#!/usr/bin/env python3
"""Cross-check the agreement JSON of a command against independent Python implementations.

Usage:
    python scripts/check-agree.py [--tables N] [--seed S] [--keep DIR] -- CMD [ARGS...]

For each of N random tables (5-300 units, 2-6 coders, 2-8 codes, ~15% missing
cells; one in eight complete, one in forty with a single code) the script writes a CSV (columns id,c1..cN; empty = not coded), runs

    CMD [ARGS...] FILE --coders c1,...,cN --bootstrap 0

and parses stdout as the agreement JSON (see the README). For example:

    python scripts/check-agree.py -- codeframe agree --out -

References (pip install -r scripts/check-agree-requirements.txt):
  * krippendorff.alpha(level_of_measurement="nominal"): overall and per-code alpha
  * statsmodels cohens_kappa on each pair's confusion table: Cohen's kappa
  * statsmodels fleiss_kappa on each pair (= Scott's pi) and, for tables with
    no missing cell, on the whole table
  * irrCAC CAC: fleiss(), gwet() (AC1), bp(), krippendorff(), and percent
    agreement (pa); these handle missing ratings with Gwet's (2014) formulas
  * plain numpy: confusion matrices, pair percent agreement, unit counts, code uses

Every number must agree to 1e-9, and a coefficient must be undefined (null)
exactly when the reference cannot compute it. Prints the largest difference
per coefficient; exits 1 on any failure.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import krippendorff
from irrCAC.raw import CAC
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

TOL = 1e-9
LABELS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]

warnings.filterwarnings("ignore")  # references warn on 0/0; we test for undefined instead


def finite_or_none(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def safe(f):
    """Reference value, or None when the reference cannot compute it."""
    try:
        return finite_or_none(f())
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return None


def make_table(rng):
    n_units = int(rng.integers(5, 301))
    n_coders = int(rng.integers(2, 7))
    n_codes = int(rng.integers(2, 9))
    # Vary agreement and prevalence so the coefficients cover a wide range,
    # including skewed tables (the kappa paradox) and near-degenerate ones.
    p_true = float(rng.uniform(0.0, 1.0))
    prevalence = rng.dirichlet(np.full(n_codes, float(rng.choice([0.2, 1.0, 5.0]))))
    # One table in eight has no missing cell (so statsmodels' Fleiss applies);
    # one in forty uses a single code (every chance-corrected value undefined).
    kind = rng.random()
    missing = 0.0 if kind < 0.125 else 0.15
    if kind > 0.975:
        p_true, prevalence = 1.0, np.eye(n_codes)[0]
    x = np.full((n_units, n_coders), np.nan)
    for u in range(n_units):
        truth = rng.choice(n_codes, p=prevalence)
        for c in range(n_coders):
            if rng.random() < missing:
                continue
            x[u, c] = truth if rng.random() < p_true else rng.integers(n_codes)
    return x


def write_csv(path, x, rng):
    coders = [f"c{i + 1}" for i in range(x.shape[1])]
    rows = []
    for u, row in enumerate(x):
        cells = []
        for v in row:
            if np.isnan(v):
                cells.append("" if rng.random() < 0.8 else "  ")  # blank = missing
            else:
                label = LABELS[int(v)]
                cells.append(f" {label} " if rng.random() < 0.05 else label)  # trimmed
        rows.append([f"u{u}"] + cells)
    pd.DataFrame(rows, columns=["id"] + coders).to_csv(path, index=False)
    return coders


def irr(x):
    return CAC(pd.DataFrame(x), digits=15)


def irr_value(method):
    return safe(lambda: method()["est"]["coefficient_value"])


def pair_table(x, a, b, k):
    both = ~np.isnan(x[:, a]) & ~np.isnan(x[:, b])
    table = np.zeros((k, k), dtype=int)
    np.add.at(table, (x[both, a].astype(int), x[both, b].astype(int)), 1)
    return table, x[both][:, [a, b]]


def references(x):
    """Reference values keyed like the JSON; None = cannot be computed."""
    coded = (~np.isnan(x)).sum(axis=1)
    # The JSON lists codes sorted as text.
    used_codes = sorted({int(v) for v in x[~np.isnan(x)]}, key=lambda c: LABELS[c])
    q = len(used_codes)
    # Recode to 0..q-1 in that order.
    recode = {c: i for i, c in enumerate(used_codes)}
    xr = np.array([[np.nan if np.isnan(v) else recode[int(v)] for v in row] for row in x], dtype=float)
    ref = {
        "codes": [LABELS[c] for c in used_codes],
        "codes_used": q,
        "units_total": x.shape[0],
        "units_used": int((coded >= 2).sum()),
        "skipped_units": int((coded < 2).sum()),
        "single_coded_units": int((coded == 1).sum()),
        "pairable_values": int(coded[coded >= 2].sum()),
        "disagreement_units": int(
            sum(len({v for v in row if not np.isnan(v)}) > 1 for row in x)
        ),
    }
    cac = irr(xr)
    # irrCAC returns 0/0 rounding artefacts (e.g. 1.0) instead of NaN when a
    # single code is used, so those cases are undefined by definition here.
    pairable_codes = {int(v) for v in xr[coded >= 2].ravel() if not np.isnan(v)}
    coef = {
        "percent_agreement": safe(lambda: cac.gwet()["est"]["pa"]),
        "krippendorff_alpha": safe(
            lambda: krippendorff.alpha(reliability_data=xr.T, level_of_measurement="nominal")
        ),
        "krippendorff_alpha (irrCAC)": (
            irr_value(cac.krippendorff) if len(pairable_codes) >= 2 else None
        ),
        "fleiss_kappa": irr_value(cac.fleiss) if q >= 2 else None,
        "gwet_ac1": irr_value(cac.gwet) if q >= 2 else None,
        "brennan_prediger": irr_value(cac.bp) if q >= 2 else None,
    }
    if not np.isnan(x).any():
        counts, _ = aggregate_raters(xr.astype(int), n_cat=q)
        coef["fleiss_kappa (statsmodels)"] = safe(lambda: fleiss_kappa(counts, method="fleiss"))
    ref["overall"] = coef

    pairs = []
    n = x.shape[1]
    for a in range(n):
        for b in range(a + 1, n):
            table, both = pair_table(xr, a, b, q)
            m = int(table.sum())
            p = {"units": m, "confusion": table.tolist()}
            if m == 0:
                p.update(percent_agreement=None, cohen_kappa=None, scott_pi=None)
            else:
                p["percent_agreement"] = float(np.trace(table)) / m
                p["cohen_kappa"] = safe(lambda: cohens_kappa(table, return_results=False))
                agg, _ = aggregate_raters(both.astype(int), n_cat=q)
                p["scott_pi"] = safe(lambda: fleiss_kappa(agg, method="fleiss"))
            pairs.append(p)
    ref["pairs"] = pairs

    per_code = []
    for k in range(q):
        binary = np.where(np.isnan(xr), np.nan, (xr != k).astype(float))
        present = {int(v) for v in binary[~np.isnan(binary)]}
        entry = {
            "code": LABELS[used_codes[k]],
            "krippendorff_alpha": safe(
                lambda: krippendorff.alpha(reliability_data=binary.T, level_of_measurement="nominal")
            ),
            "uses_by_coder": {f"c{c + 1}": int((xr[:, c] == k).sum()) for c in range(n)},
        }
        if n == 2:
            table, _ = pair_table(binary, 0, 1, 2)
            entry["kappa_kind"] = "cohen"
            entry["kappa"] = (
                safe(lambda: cohens_kappa(table, return_results=False)) if table.sum() else None
            )
        else:
            entry["kappa_kind"] = "fleiss"
            entry["kappa"] = irr_value(irr(binary).fleiss) if len(present) == 2 else None
        per_code.append(entry)
    ref["per_code"] = per_code
    return ref


class Checker:
    def __init__(self):
        self.max_diff = defaultdict(float)
        self.compared = defaultdict(int)
        self.both_undefined = defaultdict(int)
        self.failures = []

    def number(self, table, name, ours, ref):
        if ours is None or ref is None:
            if ours is None and ref is None:
                self.both_undefined[name] += 1
            else:
                self.failures.append(f"table {table}: {name}: ours {ours}, reference {ref}")
            return
        diff = abs(ours - ref)
        self.compared[name] += 1
        self.max_diff[name] = max(self.max_diff[name], diff)
        if not diff <= TOL:
            self.failures.append(f"table {table}: {name}: ours {ours!r}, reference {ref!r}")

    def coefficient(self, table, name, coef, ref):
        if coef.get("value") is None and not coef.get("undefined"):
            self.failures.append(f"table {table}: {name}: null value without a reason")
        if coef.get("ci_low") is not None or coef.get("ci_high") is not None:
            self.failures.append(f"table {table}: {name}: interval without bootstrap")
        self.number(table, name, coef.get("value"), ref)

    def exact(self, table, name, ours, ref):
        self.compared[name] += 1
        if ours != ref:
            self.failures.append(f"table {table}: {name}: ours {ours!r}, reference {ref!r}")


def check_table(checker, t, ours, ref):
    for key in (
        "codes",
        "codes_used",
        "units_total",
        "units_used",
        "skipped_units",
        "single_coded_units",
        "pairable_values",
        "disagreement_units",
    ):
        checker.exact(t, key, ours.get(key), ref[key])
    overall = ours["overall"]
    for name, value in ref["overall"].items():
        key = name.split(" (")[0]
        checker.coefficient(t, name, overall[key], value)
    if len(ours["pairs"]) != len(ref["pairs"]):
        checker.failures.append(f"table {t}: {len(ours['pairs'])} pairs, expected {len(ref['pairs'])}")
        return
    for p, r in zip(ours["pairs"], ref["pairs"]):
        checker.exact(t, "pair units", p["units"], r["units"])
        checker.exact(t, "pair confusion", p["confusion"], r["confusion"])
        for key in ("percent_agreement", "cohen_kappa", "scott_pi"):
            checker.coefficient(t, f"pair {key}", p[key], r[key])
    if len(ours["per_code"]) != len(ref["per_code"]):
        checker.failures.append(f"table {t}: per_code length differs")
        return
    for c, r in zip(ours["per_code"], ref["per_code"]):
        checker.exact(t, "code label", c["code"], r["code"])
        checker.exact(t, "code uses", c["uses_by_coder"], r["uses_by_coder"])
        checker.exact(t, "code kappa_kind", c["kappa_kind"], r["kappa_kind"])
        checker.coefficient(t, "code krippendorff_alpha", c["krippendorff_alpha"], r["krippendorff_alpha"])
        checker.coefficient(t, f"code kappa ({r['kappa_kind']})", c["kappa"], r["kappa"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--keep", help="write the CSV files to this directory and keep them")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")

    rng = np.random.default_rng(args.seed)
    checker = Checker()
    workdir = args.keep or tempfile.mkdtemp(prefix="check-agree-")
    os.makedirs(workdir, exist_ok=True)
    for t in range(args.tables):
        x = make_table(rng)
        path = os.path.join(workdir, f"table{t:03d}.csv")
        coders = write_csv(path, x, rng)
        run = subprocess.run(
            command + [path, "--coders", ",".join(coders), "--bootstrap", "0"],
            capture_output=True,
            text=True,
        )
        ref = references(x)
        if run.returncode != 0:
            if ref["units_used"] == 0:
                checker.both_undefined["no pairable units (error)"] += 1
            else:
                checker.failures.append(f"table {t}: command failed: {run.stderr.strip()}")
            continue
        try:
            ours = json.loads(run.stdout)
        except json.JSONDecodeError as e:
            checker.failures.append(f"table {t}: stdout is not JSON: {e}")
            continue
        check_table(checker, t, ours, ref)
        if not args.keep:
            os.remove(path)
    if not args.keep:
        os.rmdir(workdir)

    names = sorted(set(checker.compared) | set(checker.both_undefined))
    width = max(len(n) for n in names)
    print(f"{'check':<{width}}  {'compared':>8}  {'both undef':>10}  largest |diff|")
    for name in names:
        diff = checker.max_diff.get(name)
        shown = f"{diff:.3e}" if name in checker.max_diff else "exact"
        print(
            f"{name:<{width}}  {checker.compared[name]:>8}  {checker.both_undefined[name]:>10}  {shown}"
        )
    if checker.failures:
        print(f"\n{len(checker.failures)} failure(s):")
        for f in checker.failures[:50]:
            print("  " + f)
        sys.exit(1)
    print(f"\nOK: {args.tables} tables, every value within {TOL:g}")


if __name__ == "__main__":
    main()
