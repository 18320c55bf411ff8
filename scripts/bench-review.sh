#!/usr/bin/env bash
# The review workspace on a 50,000-answer folder: an apply run (zero-shot with the bundled ECCP
# frame, Q7) over 50,000 distinct answers from ../shared/datasets, then
#   - opening it: `codeframe review DIR` started until the first page of answers has arrived
#     (first open imports the run into review.sqlite; the second reopens the store);
#   - assigning a code: 1,000 POST /api/code round trips, one answer each, on one keep-alive
#     connection, as the page sends them (p50, p95, max);
#   - the store's size beside assignments.csv.
# The anchor, in the same run: reading assignments.csv with Python's csv module.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/datasets
if [ ! -d "$SHARED" ]; then
  echo "bench-review: $SHARED not found; skipping" >&2
  exit 0
fi
scripts/setup.sh >&2
scripts/cpu.sh
BIN=target/release/codeframe
DIR=${OUT:-out/bench-review}
N=${N:-50000}
mkdir -p "$DIR"
python3 - "$SHARED" "$DIR/answers.csv" "$N" <<'PY'
import csv, os, random, sys
shared, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = []
for ds in sorted(os.listdir(shared)):
    p = os.path.join(shared, ds, "data.csv")
    if os.path.isfile(p) and ds != "sib200_eu":
        texts += [r["text"].strip() for r in csv.DictReader(open(p, encoding="utf-8")) if r["text"].strip()]
seen, wave = set(), []
for t in texts:
    if t not in seen:
        seen.add(t); wave.append(t)
rng = random.Random(42)
while len(wave) < n:
    t = f"{rng.choice(texts)} Also: {rng.choice(texts)}"
    if t not in seen:
        seen.add(t); wave.append(t)
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "text"])
    for i, t in enumerate(wave[:n]):
        w.writerow([f"r{i}", t])
PY
PRECISION=f32
if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then PRECISION=bf16; fi
RUN=$DIR/run
if [ ! -f "$RUN/assignments.csv" ]; then
  echo "[bench-review] apply on $N answers ($PRECISION; not timed here)" >&2
  "$BIN" apply data/eccp-2020/frame.toml "$DIR/answers.csv" --question q7 --text-column text \
    --id-column id --precision "$PRECISION" --cache-dir "$DIR/cache" --out "$RUN"
fi
rm -f "$RUN"/review.sqlite*
python3 - "$BIN" "$RUN" <<'PY'
import csv, http.client, json, os, re, statistics, subprocess, sys, time
binary, run = sys.argv[1], sys.argv[2]

def anchor():
    t = time.perf_counter()
    with open(os.path.join(run, "assignments.csv"), newline="", encoding="utf-8") as f:
        n = sum(1 for _ in csv.reader(f))
    return time.perf_counter() - t, n - 1

def open_folder():
    t = time.perf_counter()
    p = subprocess.Popen([binary, "review", run, "--port", "0", "--coder", "bench"],
                         stderr=subprocess.PIPE, text=True)
    port = None
    for line in p.stderr:
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if m:
            port = int(m.group(1)); break
    c = http.client.HTTPConnection("127.0.0.1", port)
    h = {"Host": f"127.0.0.1:{port}"}
    c.request("GET", "/", headers=h); page = c.getresponse().read().decode()
    token = re.search(r'name="cf-token" content="([0-9a-f]+)"', page).group(1)
    c.request("GET", "/api/state", headers=h); state = json.loads(c.getresponse().read())
    c.request("GET", "/api/answers?view=all&offset=0&limit=100", headers=h)
    first = json.loads(c.getresponse().read())
    return time.perf_counter() - t, p, c, h, token, state, first

anchor_s, rows = anchor()
first_s, p, c, h, token, state, _ = open_folder()
p.terminate(); p.wait()
reopen_s, p, c, h, token, state, page = open_folder()
codes = [x["code"] for x in state["frame"]["codes"]]
c.request("GET", "/api/answers?view=all&offset=0&limit=500", headers=h)
rows_page = json.loads(c.getresponse().read())["rows"]
times = []
w = dict(h, **{"X-Codeframe-Token": token, "Content-Type": "application/json"})
for i in range(1000):
    a = rows_page[i % len(rows_page)]
    body = json.dumps({"writes": [[a["row"], a["base"]]], "code": codes[i % len(codes)]})
    t = time.perf_counter()
    c.request("POST", "/api/code", body=body, headers=w)
    r = c.getresponse(); out = json.loads(r.read())
    times.append(time.perf_counter() - t)
    if r.status != 200:
        sys.exit(f"bench-review: write failed: {out}")
    a["base"] = out["seqs"][0]
p.terminate(); p.wait()
times.sort()
size = lambda n: os.path.getsize(os.path.join(run, n)) if os.path.exists(os.path.join(run, n)) else 0
store = size("review.sqlite") + size("review.sqlite-wal")
csv_bytes = size("assignments.csv")
print(f"| answers | {rows} |")
print(f"| reading assignments.csv with Python csv (anchor) | {anchor_s:.2f} s |")
print(f"| first open (import into the store) until the first page | {first_s:.2f} s ({first_s / anchor_s:.1f}× anchor) |")
print(f"| reopen until the first page | {reopen_s:.2f} s ({reopen_s / anchor_s:.1f}× anchor) |")
print(f"| assign a code, 1,000 round trips: p50 / p95 / max | {1000 * times[500]:.1f} / {1000 * times[949]:.1f} / {1000 * times[-1]:.1f} ms |")
print(f"| store (review.sqlite + WAL, after 1,000 codings) / assignments.csv | {store / 1e6:.1f} MB / {csv_bytes / 1e6:.1f} MB = {store / csv_bytes:.2f}× |")
PY
