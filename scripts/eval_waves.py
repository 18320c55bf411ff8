"""Helpers for scripts/eval-waves.sh.

  split DATA.csv OUTDIR SEED          seeded, stratified 50/50 split into OUTDIR/wave1.csv (fit) and
                                      OUTDIR/wave2.csv (apply); columns id,text,label; rows sharing
                                      an index_id (translations of one sentence) stay together, and
                                      the column is kept (fit --keep-together index_id)
  coverage WAVE2.csv ASSIGNMENTS.csv  accuracy of codeframe apply's 80% most confident answers, and of
                                      the answers its thresholds coded (JSON line)
  anchor WAVE1.csv WAVE2.csv MODEL    sentence-transformers embeddings + scikit-learn
                                      LogisticRegression() (defaults) on the same split (JSON line)
"""

import csv
import json
import random
import sys
import time
from collections import defaultdict


def read(path):
    return list(csv.DictReader(open(path, newline="", encoding="utf-8")))


def split(path, out, seed):
    rows = read(path)
    # Rows sharing an `index_id` (sib200_eu: the translations of one sentence) go to the same
    # wave, so a wave-2 answer never has its own translation among the answers learned from.
    unit = lambda r: r.get("index_id") or r["id"]
    units = defaultdict(list)
    for r in rows:
        units[unit(r)].append(r)
    by_label = defaultdict(list)
    for key in units:
        by_label[units[key][0]["label"]].append(key)
    rng = random.Random(int(seed))
    first, second = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        half = len(group) // 2
        first += [r for key in group[:half] for r in units[key]]
        second += [r for key in group[half:] for r in units[key]]
    columns = ["id", "text", "label"] + (["index_id"] if "index_id" in rows[0] else [])
    for name, part in (("wave1", first), ("wave2", second)):
        part.sort(key=lambda r: int(r["id"]) if r["id"].isdigit() else r["id"])
        with open(f"{out}/{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for r in part:
                w.writerow([r[c] for c in columns])


def at_coverage(pairs, share):
    """pairs: (confidence, correct); accuracy of the `share` most confident of all answers."""
    pairs = sorted(pairs, key=lambda p: -p[0])
    n = max(1, round(share * len(pairs)))
    return sum(c for _, c in pairs[:n]) / n


def coverage(wave2, assignments):
    gold = {r["id"]: r["label"] for r in read(wave2)}
    pairs, coded, coded_right = [], 0, 0
    for r in read(assignments):
        right = r["code"] == gold[r["id"]]
        conf = float(r["confidence"]) if r["confidence"] else -1.0
        pairs.append((conf, right))
        if r["status"] == "coded":
            coded += 1
            coded_right += right
    print(json.dumps({"acc_at_80": at_coverage(pairs, 0.8), "coded_share": coded / len(pairs),
                      "coded_accuracy": coded_right / coded if coded else None}))


def anchor(wave1, wave2, model_dir):
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score
    a, b = read(wave1), read(wave2)
    t = time.perf_counter()
    m = SentenceTransformer(model_dir, device="cpu")
    xa = m.encode([r["text"] for r in a], batch_size=32, normalize_embeddings=True)
    xb = m.encode([r["text"] for r in b], batch_size=32, normalize_embeddings=True)
    clf = LogisticRegression().fit(xa, [r["label"] for r in a])
    proba = clf.predict_proba(xb)
    pred = clf.classes_[proba.argmax(1)]
    secs = time.perf_counter() - t
    gold = [r["label"] for r in b]
    pairs = list(zip(proba.max(1), [p == g for p, g in zip(pred, gold)]))
    print(json.dumps({"accuracy": accuracy_score(gold, pred), "macro_f1": f1_score(gold, pred, average="macro"),
                      "kappa": cohen_kappa_score(gold, pred), "acc_at_80": at_coverage(pairs, 0.8),
                      "seconds": secs}))


if __name__ == "__main__":
    {"split": split, "coverage": coverage, "anchor": anchor}[sys.argv[1]](*sys.argv[2:])
