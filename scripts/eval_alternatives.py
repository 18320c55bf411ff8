"""Alternatives to codeframe's defaults, measured on the same vectors (scripts/eval-alternatives.sh).

  cluster VECTORS.npy DATA.csv   ACC / NMI of clustering alternatives against the labels, two seeds
  coverage VECTORS.npy DATA.csv  accuracy and accuracy at 80% coverage of classifier alternatives
                                 on the seeded, stratified 50/50 split of scripts/eval_waves.py
  finetune DATA.csv MODEL EPOCHS the same figures after fine-tuning the embedding model itself
                                 (all-MiniLM-L6-v2 from MODEL, mean pooling, a linear head,
                                 cross-entropy) on wave 1, after each epoch

VECTORS.npy holds `codeframe embed` output for DATA.csv (one unit row per input row). Every row is
clustered here (codeframe sets non-answers aside), so compare rows with the same-run baseline
("KMeans(n_init=10)"), not with scripts/eval-shared.sh. Prints Markdown table rows.
"""

import csv
import sys
import warnings

import numpy as np

from eval_anchors import acc

warnings.filterwarnings("ignore")
SEEDS = (42, 1)


def read(path):
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    return [r["text"] for r in rows], [r["label"] for r in rows], rows


def spherical(x, k, rng, runs=10, iters=100):
    """Spherical k-means (cosine), greedy k-means++ seeding; the best of `runs` by total cosine."""
    best = None
    for _ in range(runs):
        n = len(x)
        d = np.maximum(1 - x @ x[rng.integers(n)], 0)
        c = [int(np.argmin(d))]
        for _ in range(k - 1):
            p = d ** 2 / (d ** 2).sum() if d.sum() > 0 else None
            cand = rng.choice(n, 2 + int(np.log(k)), p=p)
            tries = [np.minimum(d, np.maximum(1 - x @ x[i], 0)) for i in cand]
            j = int(np.argmin([(t ** 2).sum() for t in tries]))
            c.append(int(cand[j]))
            d = tries[j]
        cen = x[c]
        for _ in range(iters):
            lab = np.argmax(x @ cen.T, 1)
            new = np.array([x[lab == j].sum(0) if (lab == j).any() else cen[j] for j in range(k)])
            new /= np.linalg.norm(new, axis=1, keepdims=True) + 1e-12
            if np.abs(new - cen).max() < 1e-6:
                break
            cen = new
        score = (x @ cen.T).max(1).sum()
        if best is None or score > best[0]:
            best = (score, lab)
    return best[1]


def cluster(vectors, data):
    from sklearn import metrics
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize
    x = np.load(vectors)
    texts, gold, _ = read(data)
    k = len(set(gold))
    name = data.split("/")[-2]

    def micro_ward(z, s):
        m = min(max(150, 3 * k), len(z))
        km = KMeans(m, n_init=1, random_state=s).fit(z)
        return AgglomerativeClustering(k, linkage="ward").fit_predict(km.cluster_centers_)[km.labels_]

    lsa = normalize(TruncatedSVD(128, random_state=0).fit_transform(
        TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english").fit_transform(texts)))
    centred = normalize(x - x.mean(0))
    alternatives = [
        ("KMeans(n_init=10) (baseline)", lambda s: KMeans(k, n_init=10, random_state=s).fit_predict(x)),
        ("spherical k-means, 10 runs", lambda s: spherical(x, k, np.random.default_rng(s))),
        ("k-means into max(150, 3k), Ward merge", lambda s: micro_ward(x, s)),
        ("embedding + 0.5 x TF-IDF (LSA 128), KMeans", lambda s: KMeans(k, n_init=10, random_state=s).fit_predict(
            np.hstack([x, 0.5 * lsa]))),
        ("centred embedding, KMeans", lambda s: KMeans(k, n_init=10, random_state=s).fit_predict(centred)),
    ]
    try:
        import umap

        alternatives.append(("UMAP (5-D, cosine), KMeans", lambda s: KMeans(k, n_init=10, random_state=42).fit_predict(
            umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=s).fit_transform(x))))
    except ImportError:
        pass
    for label, run in alternatives:
        cells = []
        for s in SEEDS:
            p = run(s)
            cells.append(f"{acc(gold, list(p)):.3f} / {metrics.normalized_mutual_info_score(gold, p):.3f}")
        print(f"| {name} | {k} | {label} | " + " | ".join(cells) + " |", flush=True)


def split(rows):
    """The seeded, stratified 50/50 split of scripts/eval_waves.py (row indices)."""
    import random
    from collections import defaultdict
    by = defaultdict(list)
    for i, r in enumerate(rows):
        by[r["label"]].append(i)
    rng = random.Random(42)
    a, b = [], []
    for label in sorted(by):
        g = by[label][:]
        rng.shuffle(g)
        a += g[: len(g) // 2]
        b += g[len(g) // 2:]
    return a, b


def report(name, label, prob, classes, yb):
    pred = classes[prob.argmax(1)]
    order = np.argsort(-prob.max(1), kind="stable")
    top = order[: round(0.8 * len(order))]
    print(f"| {name} | {label} | {np.mean(pred == yb):.3f} | {np.mean(pred[top] == yb[top]):.3f} |", flush=True)


def finetune(data, model_dir, epochs):
    import torch
    from transformers import AutoModel, AutoTokenizer
    torch.manual_seed(0)
    _, _, rows = read(data)
    name = data.split("/")[-2]
    a, b = split(rows)
    classes = np.array(sorted({r["label"] for r in rows}))
    index = {c: i for i, c in enumerate(classes)}
    tok = AutoTokenizer.from_pretrained(model_dir)
    enc = AutoModel.from_pretrained(model_dir)
    head = torch.nn.Linear(enc.config.hidden_size, len(classes))

    def embed(texts):
        t = tok(texts, padding=True, truncation=True, max_length=96, return_tensors="pt")
        mask = t["attention_mask"].unsqueeze(-1).float()
        e = (enc(**t).last_hidden_state * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(e, dim=-1)

    opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": 3e-5}, {"params": head.parameters(), "lr": 1e-2}])
    ya = torch.tensor([index[rows[i]["label"]] for i in a])
    yb = np.array([rows[i]["label"] for i in b])
    for epoch in range(int(epochs)):
        enc.train()
        perm = np.random.default_rng(epoch).permutation(len(a))
        for s in range(0, len(a), 32):
            idx = perm[s:s + 32]
            logits = head(embed([rows[a[i]]["text"] for i in idx])) * 20
            loss = torch.nn.functional.cross_entropy(logits, ya[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        enc.eval()
        with torch.no_grad():
            prob = torch.cat([torch.softmax(head(embed([rows[i]["text"] for i in b[s:s + 128]])) * 20, -1)
                              for s in range(0, len(b), 128)]).numpy()
        report(name, f"fine-tuned all-MiniLM-L6-v2 + linear head, epoch {epoch + 1}", prob, classes, yb)


def coverage(vectors, data):
    """Classifier alternatives on the split eval-waves uses (its seed 42)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC
    x = np.load(vectors)
    _, _, rows = read(data)
    name = data.split("/")[-2]
    a, b = split(rows)
    ya = np.array([rows[i]["label"] for i in a])
    yb = np.array([rows[i]["label"] for i in b])
    ta = [rows[i]["text"] for i in a]
    tb = [rows[i]["text"] for i in b]
    tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2).fit(ta)
    sa, sb = tfidf.transform(ta), tfidf.transform(tb)
    models = [
        ("LogisticRegression(C=4) on the embedding", lambda: (x[a], x[b], LogisticRegression(C=4, max_iter=3000))),
        ("RBF SVC (probabilities) on the embedding", lambda: (x[a], x[b], SVC(C=4, probability=True, random_state=0))),
        ("LogisticRegression(C=10) on TF-IDF (1-2 grams)", lambda: (sa, sb, LogisticRegression(C=10, max_iter=3000))),
        ("LogisticRegression(C=4) on embedding + TF-IDF", lambda: (
            hstack([csr_matrix(x[a]), sa]).tocsr(), hstack([csr_matrix(x[b]), sb]).tocsr(),
            LogisticRegression(C=4, max_iter=3000))),
    ]
    for label, make in models:
        fa, fb, m = make()
        m.fit(fa, ya)
        report(name, label, m.predict_proba(fb), m.classes_, yb)


if __name__ == "__main__":
    {"cluster": cluster, "coverage": coverage, "finetune": finetune}[sys.argv[1]](*sys.argv[2:])
