"""Cross-check `codeframe evaluate` against scikit-learn on random label files.

Usage: .venv-bench/bin/python scripts/check-evaluate.py [--cases N]
Needs scikit-learn and scipy (the benchmark venv has them). Exits 1 on any difference > 1e-9.
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "codeframe")
TOL = 1e-9


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def acc(pred, gold):
    p = sorted(set(pred)); g = sorted(set(gold))
    m = np.zeros((len(p), len(g)))
    for a, b in zip(pred, gold):
        m[p.index(a), g.index(b)] += 1
    r, c = linear_sum_assignment(-m)
    return m[r, c].sum() / len(pred)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=60)
    args = ap.parse_args()
    rng = random.Random(7)
    tmp = tempfile.mkdtemp()
    worst = 0.0
    for case in range(args.cases):
        n = rng.randint(5, 400)
        kg = rng.randint(1, 12)
        codes_mode = case % 2 == 0
        gold_labels = [f"code {i} ü" for i in range(kg)]
        gold = [rng.choice(gold_labels) for _ in range(n)]
        if codes_mode:
            # Noisy copies of the gold codes.
            pred = [g if rng.random() < 0.6 else rng.choice(gold_labels) for g in gold]
        else:
            kp = rng.randint(1, 15)
            pred = [str(rng.randrange(kp)) if rng.random() < 0.5 else str(gold_labels.index(g) % kp) for g in gold]
        ids = [f"r{i}" for i in range(n)]
        order = list(range(n)); rng.shuffle(order)
        write(os.path.join(tmp, "pred.csv"), ["id", "label"], [[ids[i], pred[i]] for i in order])
        write(os.path.join(tmp, "gold.csv"), ["id", "code"], [[ids[i], gold[i]] for i in range(n)])
        out = subprocess.run([BIN, "--quiet", "evaluate", "--pred", os.path.join(tmp, "pred.csv"),
                              "--pred-column", "label", "--gold", os.path.join(tmp, "gold.csv"),
                              "--gold-column", "code", "--mode", "codes" if codes_mode else "groups"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"case {case}: codeframe failed: {out.stderr}")
        r = json.loads(out.stdout)["report"]
        want = {
            "acc": acc(pred, gold),
            "nmi": metrics.normalized_mutual_info_score(gold, pred),
            "ari": metrics.adjusted_rand_score(gold, pred),
            "homogeneity": metrics.homogeneity_score(gold, pred),
            "completeness": metrics.completeness_score(gold, pred),
            "v_measure": metrics.v_measure_score(gold, pred),
        }
        got = {k: r["cluster"][k] for k in want}
        if codes_mode:
            labels = sorted(set(gold) | set(pred))
            want["accuracy"] = metrics.accuracy_score(gold, pred)
            want["macro_f1"] = metrics.f1_score(gold, pred, average="macro", labels=labels, zero_division=0)
            k = metrics.cohen_kappa_score(gold, pred)
            if not np.isnan(k):
                want["kappa"] = k
            for key in ("accuracy", "macro_f1", "kappa"):
                if key in want:
                    got[key] = r["classification"][key]
        for key, w in want.items():
            d = abs(got[key] - w)
            worst = max(worst, d)
            if d > TOL:
                sys.exit(f"case {case} ({'codes' if codes_mode else 'groups'}, n={n}): {key} {got[key]} vs sklearn {w}")
    print(f"check-evaluate: {args.cases} random cases, every metric equal to scikit-learn "
          f"{__import__('sklearn').__version__} within {TOL} (largest difference {worst:.2e})")


if __name__ == "__main__":
    main()
