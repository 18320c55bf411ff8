"""Side-by-side table from the rows `scripts/eval-shared.sh` prints: for each dataset and k, the
default method's ACC / NMI beside the anchor's (sentence-transformers + KMeans(n_init=10)) at the
same seed, and the difference; with several seeds, their means.

  python3 scripts/compare-shared.py ROWS.md [ROWS2.md …]
"""

import re
import sys
from collections import defaultdict

ANCHOR = "sentence-transformers + KMeans(n_init=10)"


def main():
    ours, theirs = defaultdict(dict), defaultdict(dict)
    seconds = defaultdict(list)
    order = []
    for path in sys.argv[1:]:
        for line in open(path, encoding="utf-8"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 9 or not cells[2].isdigit():
                continue
            name, n, k, method, seed, acc, nmi = cells[:7]
            key = (name, int(k))
            if key not in order:
                order.append(key)
            if method.startswith("codeframe discover (") and "--method" not in method:
                ours[key][seed] = (float(acc), float(nmi))
                seconds[key].append(float(cells[8]))
            elif method == ANCHOR:
                theirs[key][seed] = (float(acc), float(nmi))
    print("| dataset | k | seeds | default ACC / NMI | ST + KMeans(n_init=10) ACC / NMI | default − anchor |")
    print("|---|---:|---|---:|---:|---:|")
    for key in order:
        seeds = sorted(set(ours[key]) & set(theirs[key]), key=int)
        if not seeds:
            continue
        mean = lambda d, i: sum(d[s][i] for s in seeds) / len(seeds)
        a, b = (mean(ours[key], 0), mean(ours[key], 1)), (mean(theirs[key], 0), mean(theirs[key], 1))
        print(f"| {key[0]} | {key[1]} | {', '.join(seeds)} | {a[0]:.3f} / {a[1]:.3f} | "
              f"{b[0]:.3f} / {b[1]:.3f} | {a[0] - b[0]:+.3f} / {a[1] - b[1]:+.3f} |")


if __name__ == "__main__":
    main()
