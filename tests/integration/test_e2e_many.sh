#!/usr/bin/env bash
# Five buyers x 1,000 properties through the whole local stack, with ties
# (amounts drawn from a small range) and gaps (each buyer skips some
# properties), second-price with disclosed prices, against a plain reference
# computation of the same bids.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin
mkdir -p "$LS_DIR/out"
BUYERS=5 PROPS=1000

ls_start_kms user/buyer1 user/buyer2 user/buyer3 user/buyer4 user/buyer5 role/operator
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
SEALBID_LOG=info "$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null

# Plaintext bids: amounts in 1..6 thousand (many ties), with decimals on some;
# buyer i skips properties where (p * i) % 7 == 0 (gaps); the files are shuffled.
python3 - "$LS_DIR" "$BUYERS" "$PROPS" <<'PY'
import random, sys
d, nb, np_ = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(20261123)
for i in range(1, nb + 1):
    rows = []
    for p in range(1, np_ + 1):
        if (p * i) % 7 == 0:
            continue
        amount = "%d000" % r.randint(1, 6)
        if r.random() < 0.1:
            amount += ".5"
        rows.append("%d,%s" % (p, amount))
    r.shuffle(rows)
    open("%s/plain%d.csv" % (d, i), "w").write("property,bid\n" + "\n".join(rows) + "\n")
PY
{
  printf '{"version":1,"job_id":"many","region":"%s","computation":"second-price",' "$LS_REGION"
  printf '"disclose":"winner-and-price","parties":['
  for i in $(seq $BUYERS); do
    K=$(ls_create_key "buyer$i" "buyer$i")
    ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json"
    [ "$i" = 1 ] || printf ','
    printf '{"name":"Buyer%s","input":"file://%s/bids%s.csv","key":"%s"}' "$i" "$LS_DIR" "$i" "$K"
  done
  printf '],"output":"file://%s/out/output.csv"}\n' "$LS_DIR"
} >"$LS_DIR/job.json"
# Each buyer binds its bids to this job (context + trailer).
for i in $(seq $BUYERS); do
  ls_as "buyer$i" "$SB" encrypt-bids --key-id "alias/buyer$i" --manifest "$LS_DIR/job.json" \
    --party "Buyer$i" "$LS_DIR/plain$i.csv" >"$LS_DIR/bids$i.csv"
done

ls_as operator "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null

python3 - "$LS_DIR" "$BUYERS" <<'PY'
import csv, io, sys
from decimal import Decimal
d, nb = sys.argv[1], int(sys.argv[2])
bids = {}
for i in range(1, nb + 1):
    for row in list(csv.reader(open("%s/plain%d.csv" % (d, i))))[1:]:
        bids.setdefault(row[0], []).append((Decimal(row[1]), "Buyer%d" % i, row[1]))
out = io.StringIO()
out.write("Property,Result,Price\n")
ties = 0
for prop in sorted(bids, key=int):
    b = bids[prop]
    best = max(x[0] for x in b)
    winners = [name for a, name, _ in sorted(b, key=lambda x: int(x[1][5:])) if a == best]
    rest = sorted((x[0] for x in b), reverse=True)
    price = rest[1] if len(rest) > 1 else rest[0]
    text = format(price.normalize(), "f") if price != price.to_integral() else str(int(price))
    if len(winners) > 1:
        ties += 1
        out.write('%s,"Tie: %s",%s\n' % (prop, ", ".join(winners), text))
    else:
        out.write("%s,%s Wins,%s\n" % (prop, winners[0], text))
got = open("%s/out/output.csv" % d).read()
if got != out.getvalue():
    for a, b in zip(got.splitlines(), out.getvalue().splitlines()):
        if a != b:
            print("first difference: got %r want %r" % (a, b), file=sys.stderr)
            break
    sys.exit("output.csv differs from the reference")
print("ok: %d properties (%d ties) match the reference" % (len(bids), ties))
PY
"$SB" verify --receipt "$LS_DIR/out/output.receipt" --output "$LS_DIR/out/output.csv" \
  --manifest "$LS_DIR/job.json" --pcrs "$LS_DIR/pcrs.json" --root "$LS_DIR/dev-root.pem" >/dev/null
echo "ok: receipt verifies"

# The enclave dies mid-job: the parent reports it, publishes nothing, and a
# new enclave runs the same job.
# The bids are bound to job.json, so the rerun is of that very manifest.
mv "$LS_DIR/out/output.csv" "$LS_DIR/first.csv"; mv "$LS_DIR/out/output.receipt" "$LS_DIR/first.receipt"
ls_as operator "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/died.err" &
run=$!
sup=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ProcessID"])' <<<"$("$SB" enclave describe)")
app=$(pgrep -P "$sup" | head -1)
# Kill it once this second job is under way (the log says it began).
for _ in $(seq 200); do [ "$(cat "$SEALBID_STATE"/enclaves/*.log 2>/dev/null | grep -c 'job many: 5 parties')" -ge 2 ] && break; sleep 0.05; done
kill -9 "$app"
if wait "$run"; then echo "FAIL: the job succeeded although the enclave died" >&2; exit 1; fi
[ ! -e "$LS_DIR/out/output.csv" ] && [ ! -e "$LS_DIR/out/output.receipt" ] \
  || { echo "FAIL: output published by a dead job" >&2; exit 1; }
echo "ok: enclave killed mid-job: $(head -c 120 "$LS_DIR/died.err")"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 17 >/dev/null
ls_as operator "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 17 >/dev/null
cmp -s "$LS_DIR/first.csv" "$LS_DIR/out/output.csv" || { echo "FAIL: rerun differs" >&2; exit 1; }
# The same bids under a manifest that differs only in its output: KMS refuses them.
sed "s|$LS_DIR/out/output.csv|$LS_DIR/out/other.csv|" "$LS_DIR/job.json" >"$LS_DIR/other.json"
if ls_as operator "$SB" run --manifest "$LS_DIR/other.json" --enclave-cid 17 >/dev/null 2>"$LS_DIR/other.err"; then
  echo "FAIL: job-bound bids ran under another manifest" >&2; exit 1
fi
grep -q "InvalidCiphertextException" "$LS_DIR/other.err" && [ ! -e "$LS_DIR/out/other.csv" ] \
  || { echo "FAIL: other manifest: $(cat "$LS_DIR/other.err")" >&2; exit 1; }
echo "ok: the bound bids are refused under another manifest"
echo "ok: a new enclave runs the job again, same result"
echo "5 passed, 0 failed"
