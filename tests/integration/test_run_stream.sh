#!/usr/bin/env bash
# `sealbid run` streams its inputs: through the whole local stack, a job
# whose sealed input is small and one whose sealed input is large
# (SB_STREAM_ROWS bids, default 300000: about 5 MB sealed) run to a
# verified result, and the parent's peak RSS (ru_maxrss) stays under 64 MiB.
# The inputs are streamed (16 chunks of 256 KiB in flight at most); what
# still grows with the job is output.csv (one row per property), which the
# parent assembles from ResultParts of 4 MiB and the Result (the large job's
# is over 4 MiB, so both are used). Figures are printed for docs/BENCHMARKS.md.
set -euo pipefail
SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin

passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1" >&2; failed=$((failed + 1)); }
OPERATOR_ARN=arn:aws:iam::$LS_ACCOUNT:role/operator
mkdir -p "$LS_DIR/out"

ls_start_kms user/buyer1 user/buyer2 role/operator
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
K1=$(ls_create_key buyer1 buyer1)
K2=$(ls_create_key buyer2 buyer2)
for b in 1 2; do ls_pin_key "buyer$b" "$OPERATOR_ARN" "$LS_DIR/pcrs.json" --require-job; done

manifest() { # manifest FILE JOB_ID BUYER1_SEALED
  cat >"$1" <<J
{"version": 1, "job_id": "$2", "region": "$LS_REGION",
 "computation": "highest-bid", "disclose": "winner",
 "parties": [
  {"name": "Buyer1", "input": "file://$3", "format": "sealed", "key": "$K1"},
  {"name": "Buyer2", "input": "file://$LS_DIR/b2.sealed", "format": "sealed", "key": "$K2"}],
 "output": "file://$LS_DIR/out/$2.csv"}
J
}

# Peak RSS of a command in KiB (getrusage of the child), on stderr's last line.
maxrss() {
  python3 -c 'import resource, subprocess, sys
r = subprocess.call(sys.argv[1:])
print("maxrss_kib=%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(r)' "$@"
}

# Bids: Buyer1 bids on n properties, Buyer2 on the first three.
bids() { # bids N OUT
  { echo '[].contract,[].bid'; seq 1 "$1" | awk '{printf "%d,%d.25\n", $1, 100000 + ($1 % 50000)}'; } >"$2"
}
bids 3 "$LS_DIR/b2.csv"

declare -A rss
for size in small large; do
  n=1000; [ $size = large ] && n=${SB_STREAM_ROWS:-300000}
  bids "$n" "$LS_DIR/b1-$size.csv"
  manifest "$LS_DIR/$size.json" "stream-$size" "$LS_DIR/b1-$size.sealed"
  ls_as buyer1 "$SB" seal --key-id "$K1" --manifest "$LS_DIR/$size.json" --party Buyer1 \
    "$LS_DIR/b1-$size.csv" -o "$LS_DIR/b1-$size.sealed"
  ls_as buyer2 "$SB" seal --key-id "$K2" --manifest "$LS_DIR/$size.json" --party Buyer2 \
    "$LS_DIR/b2.csv" -o "$LS_DIR/b2.sealed"
  bytes=$(stat -c %s "$LS_DIR/b1-$size.sealed")
  start=$(date +%s.%N)
  if ls_as operator maxrss "$SB" run --manifest "$LS_DIR/$size.json" --enclave-cid 16 \
      --timeout-ms "${SB_STREAM_TIMEOUT_MS:-300000}" >/dev/null 2>"$LS_DIR/run-$size.err"; then
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    rss[$size]=$(sed -n 's/^maxrss_kib=//p' "$LS_DIR/run-$size.err")
    ok "$size job ($bytes bytes sealed) ran in ${secs}s; parent peak RSS ${rss[$size]} KiB"
  else
    bad "$size job: $(cat "$LS_DIR/run-$size.err")"; rss[$size]=0
    tail -5 "$SEALBID_STATE"/enclaves/*.log >&2 || true
  fi
  if "$SB" verify --receipt "$LS_DIR/out/stream-$size.receipt" --output "$LS_DIR/out/stream-$size.csv" \
      --manifest "$LS_DIR/$size.json" --pcrs "$LS_DIR/pcrs.json" --root "$LS_DIR/dev-root.pem" \
      >/dev/null 2>"$LS_DIR/verify.err"; then
    ok "$size job's receipt verifies"
  else bad "$size job's receipt: $(cat "$LS_DIR/verify.err")"; fi
done
[ "$(wc -l <"$LS_DIR/out/stream-large.csv")" -ge "${SB_STREAM_ROWS:-300000}" ] && ok "large job's output has every property" \
  || bad "large output: $(wc -l <"$LS_DIR/out/stream-large.csv") lines"
if [ "${rss[large]}" -gt 0 ] && [ "${rss[large]}" -lt 65536 ]; then
  ok "parent peak RSS with the large input under 64 MiB"
else bad "parent peak RSS with the large input: ${rss[large]} KiB"; fi

echo "test_run_stream: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
