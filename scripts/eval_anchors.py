"""Clustering anchors for scripts/eval-shared.sh, on one dataset (id,text,label):
sentence-transformers embeddings + scikit-learn KMeans(n_init=10), TF-IDF + KMeans(n_init=10),
and BERTopic with its defaults (same model files). Prints one JSON line per anchor (and per k)
with ACC, NMI, ARI, seconds end to end, and for BERTopic its topic count and outlier share.

  eval_anchors.py DATA.csv MODEL_DIR ANCHORS [KS [SEEDS]]

KS: comma-separated numbers of groups for the two KMeans anchors ("labels", or absent: the
number of labels); each k reuses the one embedding, and its seconds are the embedding's plus its
own clustering. SEEDS: comma-separated random_state values for KMeans (default 42). BERTopic chooses its own topics.
"""

import csv
import json
import sys
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer


def acc(gold, pred):
    g = {v: i for i, v in enumerate(sorted(set(gold)))}
    p = {v: i for i, v in enumerate(sorted(set(pred)))}
    m = np.zeros((len(p), len(g)))
    for a, b in zip(pred, gold):
        m[p[a], g[b]] += 1
    r, c = linear_sum_assignment(-m)
    return m[r, c].sum() / len(gold)


def scores(gold, pred):
    return {"acc": acc(gold, pred), "nmi": metrics.normalized_mutual_info_score(gold, pred),
            "ari": metrics.adjusted_rand_score(gold, pred)}


def main():
    path, model_dir, which = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    texts = [r["text"] for r in rows]
    gold = [r["label"] for r in rows]
    labels = len(set(gold))
    spec = sys.argv[4] if len(sys.argv) > 4 else "labels"
    ks = [labels if v == "labels" else int(v) for v in spec.split(",")]
    seeds = [int(v) for v in (sys.argv[5] if len(sys.argv) > 5 else "42").split(",")]

    def kmeans(name, x, prep):
        for seed, k in ((s, k) for s in seeds for k in ks):
            t = time.perf_counter()
            pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
            print(json.dumps({"anchor": name, "k": k, "seed": seed, "seconds": prep + time.perf_counter() - t,
                              **scores(gold, list(pred))}), flush=True)

    if "st-kmeans" in which:
        from sentence_transformers import SentenceTransformer
        t = time.perf_counter()
        m = SentenceTransformer(model_dir, device="cpu")
        e = m.encode(texts, batch_size=32, normalize_embeddings=True)
        kmeans("sentence-transformers + KMeans(n_init=10)", e, time.perf_counter() - t)
    if "tfidf-kmeans" in which:
        t = time.perf_counter()
        x = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(texts)
        kmeans("TF-IDF + KMeans(n_init=10)", x, time.perf_counter() - t)
    if "bertopic" in which:
        from bertopic import BERTopic
        from sentence_transformers import SentenceTransformer
        t = time.perf_counter()
        topics, _ = BERTopic(embedding_model=SentenceTransformer(model_dir, device="cpu")).fit_transform(texts)
        dt = time.perf_counter() - t
        print(json.dumps({"anchor": "BERTopic (defaults)", "k": None, "seed": None, "seconds": dt, **scores(gold, [str(x) for x in topics]),
                          "topics": len(set(topics) - {-1}), "outliers": sum(1 for x in topics if x == -1) / len(topics)}),
              flush=True)


if __name__ == "__main__":
    main()
