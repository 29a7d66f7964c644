#!/usr/bin/env bash
# Latency of the AWS sample's own example (issue 10 item 17): 2 buyers x 3
# properties, kms-csv file inputs, the enclave already up and idle, one
# `sealbid run` at a time (BENCH_RUNS, default 20, one second apart).
# Prints min / median / p90 of the end-to-end wall time, and the enclave's
# own account of each job (its log: key pair, inputs, decrypt + compute +
# attest + post). Target: under 100 ms end to end.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${BENCH_RUNS:-20}
SB=$SB_BIN/sealbid
# shellcheck source=../scripts/local-stack.bash
. "$ROOT/scripts/local-stack.bash"
ls_begin

ls_start_kms user/buyer1 user/buyer2 role/operator
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
SEALBID_LOG=info "$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
K1=$(ls_create_key buyer1 buyer1)
K2=$(ls_create_key buyer2 buyer2)
for b in 1 2; do ls_pin_key "buyer$b" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json"; done
printf '1,100000\n2,200000\n3,150000\n' >"$LS_DIR/p1"
printf '1,200000\n2,300000\n3,100000\n' >"$LS_DIR/p2"
ls_as buyer1 "$SB" encrypt-bids --key-id alias/buyer1 --unbound "$LS_DIR/p1" >"$LS_DIR/b1.csv"
ls_as buyer2 "$SB" encrypt-bids --key-id alias/buyer2 --unbound "$LS_DIR/p2" >"$LS_DIR/b2.csv"
rm -f "$LS_DIR/p1" "$LS_DIR/p2"
mkdir -p "$LS_DIR/out"
cat >"$LS_DIR/job.json" <<J
{"version":1,"job_id":"latency","region":"$LS_REGION","parties":[
 {"name":"Buyer1","input":"file://$LS_DIR/b1.csv","key":"$K1","binding":"none"},
 {"name":"Buyer2","input":"file://$LS_DIR/b2.csv","key":"$K2","binding":"none"}],
 "output":"file://$LS_DIR/out/output.csv"}
J

: >"$LS_DIR/times"
for i in $(seq "$RUNS"); do
  sleep 1 # idle between jobs, as a real enclave mostly is
  s=$(date +%s%N)
  ls_as operator "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/run.err" ||
    { cat "$LS_DIR/run.err" >&2; exit 1; }
  e=$(date +%s%N)
  echo $(((e - s) / 1000)) >>"$LS_DIR/times"
done
grep -h 'job latency: done in' "$SEALBID_STATE"/enclaves/*.log >"$LS_DIR/enclave-times" || true
python3 - "$LS_DIR/times" "$LS_DIR/enclave-times" <<'PY'
import re, statistics, sys
t = sorted(int(x) / 1000 for x in open(sys.argv[1]))
p90 = t[min(len(t) - 1, int(len(t) * 0.9))]
print("runs %d: end to end min %.1f ms, median %.1f ms, p90 %.1f ms (target < 100 ms)"
      % (len(t), t[0], statistics.median(t), p90))
rows = [tuple(float(v) for v in re.findall(r"([0-9.]+) ms", l)) for l in open(sys.argv[2])]
if rows:
    cols = list(zip(*rows))
    med = [statistics.median(c) for c in cols]
    print("enclave (median): job %.1f ms = key pair ready after %.1f ms, inputs in after %.1f ms, "
          "decrypt + compute + attest + post %.1f ms" % tuple(med))
    print("the rest of the end-to-end time is the parent: process start, connect and Hello, "
          "reading the inputs, publishing output and receipt (fsync)")
PY
