"""Helpers for scripts/eval-multi.sh (answers with several codes).

  prepare SRC OUT            SRC: a file with columns id,text,codes (codes separated by "; "),
                             pxtextmining's co_multi_label.csv (cat_1..cat_6, feedback; the
                             44 sub-codes, case folded) or its v6framework_*.csv (one column
                             per code, 0/1), or "eccp-q8" (data/eccp-2020: one row per
                             respondent, the survey file's Q8 cell and the codes of its
                             mentions). Writes OUT with id,text,codes.
  folds DATA OUTDIR K SEED   seeded K-fold cut of DATA into OUTDIR/train-F.csv, test-F.csv
  anchor DATA OUTDIR K MODEL sentence-transformers embeddings + scikit-learn
                             OneVsRestClassifier(LogisticRegression()) on the same folds,
                             codes with probability >= 0.5 (and, as a second figure, the most
                             probable code where none reaches it); JSON line of scores
  score PRED GOLD            sample-F1, micro-F1 and per-code binary alpha of PRED (id,codes)
                             against GOLD by scikit-learn and krippendorff (JSON line)
"""

import csv
import json
import random
import sys
import time
from collections import defaultdict

SEP = "; "


def read(path):
    return list(csv.DictReader(open(path, newline="", encoding="utf-8")))


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def codes(cell):
    out = []
    for c in cell.split(";"):
        c = c.strip()
        if c and c not in out:
            out.append(c)
    return out


def prepare(src, out):
    if src == "eccp-q8":
        survey = read("data/eccp-2020/survey.csv")
        by_resp = defaultdict(list)
        for r in read("data/eccp-2020/q8_materials.csv"):
            if r["coder_a"] not in by_resp[r["respondent"]]:
                by_resp[r["respondent"]].append(r["coder_a"])
        rows = [[s["respondent"], s["q8"], SEP.join(by_resp[s["respondent"]])]
                for s in survey if s["q8"].strip() and by_resp[s["respondent"]]]
    else:
        src_rows = read(src)
        head = list(src_rows[0].keys())
        if "codes" in head:
            rows = [[r["id"], r["text"], r["codes"]] for r in src_rows]
        elif "cat_1" in head:
            cats = [h for h in head if h.startswith("cat_")]
            rows = []
            for i, r in enumerate(src_rows):
                cs = []
                for h in cats:
                    v = r[h].strip().lower()
                    if v and v != "na" and v not in cs:
                        cs.append(v)
                rows.append([str(i + 1), r["feedback"], SEP.join(cs)])
        else:
            labels = head[head.index("Comment sentiment") + 1:]
            rows = []
            for r in src_rows:
                cs = [l for l in labels if r[l].strip() in ("1", "1.0")]
                rows.append([r["Comment ID"], r["FFT answer"], SEP.join(cs)])
        rows = [r for r in rows if r[1].strip() and r[2]]
    write(out, ["id", "text", "codes"], rows)
    n = len(rows)
    print(json.dumps({"answers": n, "codes_per_answer": sum(len(codes(r[2])) for r in rows) / n,
                      "several": sum(len(codes(r[2])) > 1 for r in rows)}))


def cut(rows, k, seed):
    order = sorted(range(len(rows)), key=lambda i: rows[i]["id"])
    random.Random(int(seed)).shuffle(order)
    fold = [0] * len(rows)
    for n, i in enumerate(order):
        fold[i] = n % k
    return fold


def folds(data, outdir, k, seed):
    rows = read(data)
    fold = cut(rows, int(k), seed)
    for f in range(int(k)):
        for name, keep in (("train", lambda g: g != f), ("test", lambda g: g == f)):
            write(f"{outdir}/{name}-{f}.csv", ["id", "text", "codes"],
                  [[r["id"], r["text"], r["codes"]] for r, g in zip(rows, fold) if keep(g)])


def sk_scores(gold_sets, pred_sets):
    import numpy as np
    import krippendorff
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer
    mlb = MultiLabelBinarizer().fit(gold_sets + pred_sets)
    g, p = mlb.transform(gold_sets), mlb.transform(pred_sets)
    alphas = []
    for c in range(g.shape[1]):
        data = np.vstack([g[:, c], p[:, c]]).astype(float)
        if len(set(data.flatten())) > 1:
            alphas.append(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return {
        "sample_f1": f1_score(g, p, average="samples", zero_division=0),
        "micro_f1": f1_score(g, p, average="micro", zero_division=0),
        "mean_alpha": sum(alphas) / len(alphas) if alphas else None,
        "codes_per_answer": float(p.sum(axis=1).mean()),
    }


def anchor(data, outdir, k, model_dir):
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer
    start = time.time()
    m = SentenceTransformer(model_dir, device="cpu")
    gold_sets, pred_sets, top_sets = [], [], []
    for f in range(int(k)):
        train, test = read(f"{outdir}/train-{f}.csv"), read(f"{outdir}/test-{f}.csv")
        x_tr = m.encode([r["text"] for r in train], normalize_embeddings=True)
        x_te = m.encode([r["text"] for r in test], normalize_embeddings=True)
        mlb = MultiLabelBinarizer()
        y = mlb.fit_transform([codes(r["codes"]) for r in train])
        keep = y.sum(axis=0) > 0
        clf = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(x_tr, y)
        prob = clf.predict_proba(x_te)
        for r, pr in zip(test, prob):
            gold_sets.append(codes(r["codes"]))
            on = [mlb.classes_[c] for c in np.argsort(-pr) if pr[c] >= 0.5 and keep[c]]
            pred_sets.append(on)
            top_sets.append(on or [mlb.classes_[int(np.argmax(pr))]])
    out = sk_scores(gold_sets, pred_sets)
    top = sk_scores(gold_sets, top_sets)
    out["top1_sample_f1"] = top["sample_f1"]
    out["top1_mean_alpha"] = top["mean_alpha"]
    out["top1_codes_per_answer"] = top["codes_per_answer"]
    out["seconds"] = time.time() - start
    print(json.dumps(out))


def score(pred, gold):
    g = {r["id"]: codes(r["codes"]) for r in read(gold)}
    p = {r["id"]: codes(r["codes"]) for r in read(pred)}
    ids = [i for i in g if g[i]]
    print(json.dumps(sk_scores([g[i] for i in ids], [p.get(i, []) for i in ids])))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"prepare": prepare, "folds": folds, "anchor": anchor, "score": score}[cmd](*args)
