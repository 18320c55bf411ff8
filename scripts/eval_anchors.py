"""Clustering anchors for scripts/eval-shared.sh, on one dataset (id,text,label):
sentence-transformers embeddings + scikit-learn KMeans(n_init=10), TF-IDF + KMeans(n_init=10),
and BERTopic with its defaults (same model files). Prints one JSON line per anchor with ACC,
NMI, ARI, seconds end to end, and for BERTopic its topic count and outlier share.
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
    k = len(set(gold))
    if "st-kmeans" in which:
        from sentence_transformers import SentenceTransformer
        t = time.perf_counter()
        m = SentenceTransformer(model_dir, device="cpu")
        e = m.encode(texts, batch_size=32, normalize_embeddings=True)
        pred = KMeans(n_clusters=k, n_init=10, random_state=42).fit_predict(e)
        print(json.dumps({"anchor": "sentence-transformers + KMeans(n_init=10)", "seconds": time.perf_counter() - t,
                          **scores(gold, list(pred))}), flush=True)
    if "tfidf-kmeans" in which:
        t = time.perf_counter()
        x = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(texts)
        pred = KMeans(n_clusters=k, n_init=10, random_state=42).fit_predict(x)
        print(json.dumps({"anchor": "TF-IDF + KMeans(n_init=10)", "seconds": time.perf_counter() - t,
                          **scores(gold, list(pred))}), flush=True)
    if "bertopic" in which:
        from bertopic import BERTopic
        from sentence_transformers import SentenceTransformer
        t = time.perf_counter()
        topics, _ = BERTopic(embedding_model=SentenceTransformer(model_dir, device="cpu")).fit_transform(texts)
        dt = time.perf_counter() - t
        print(json.dumps({"anchor": "BERTopic (defaults)", "seconds": dt, **scores(gold, [str(x) for x in topics]),
                          "topics": len(set(topics) - {-1}), "outliers": sum(1 for x in topics if x == -1) / len(topics)}),
              flush=True)


if __name__ == "__main__":
    main()
