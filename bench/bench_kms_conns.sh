#!/usr/bin/env bash
# KMS connections vs. throughput: the sample-compatible path (one KMS
# Decrypt with Recipient per bid) through `sealbid proxy --num-workers W`,
# which serves W connections at a time like AWS's vsock-proxy --num_workers,
# for enclaves built with --kms-max-connections 1, 2, 4, 8, 16. Prints
# bids/s, the ratio to the same proxy at cap 1, and the ratio to this
# machine's RSA-2048 private-key rate (one per bid is the enclave's own
# floor). A cap above W makes connections wait their turn at the proxy.
#
#   BENCH_CAPS="1 4 16" BENCH_WORKERS="4 16" BENCH_BIDS=1000 bash bench/bench_kms_conns.sh
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CAPS=${BENCH_CAPS:-1 2 4 8 16}
WORKERS=${BENCH_WORKERS:-4 16}
BIDS=${BENCH_BIDS:-1000}
BUYERS=2
PROPS=$((BIDS / BUYERS))
SB=$SB_BIN/sealbid
# shellcheck source=../scripts/local-stack.bash
. "$ROOT/scripts/local-stack.bash"
ls_begin

speed=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
echo "machine: $(nproc) cores; openssl speed rsa2048: ${speed} private ops/s"

ls_start_kms role/operator user/buyer1 user/buyer2
for i in $(seq $BUYERS); do
  ls_create_key "buyer$i" "buyer$i" >"$LS_DIR/key$i"
  python3 -c 'import random,sys; r=random.Random(int(sys.argv[2]))
for p in range(1, int(sys.argv[1]) + 1): print("%d,%d" % (p, r.randrange(1, 500) * 1000))' "$PROPS" "$i" \
    >"$LS_DIR/plain$i.csv"
  ls_as "buyer$i" "$SB" encrypt-bids --key-id "alias/buyer$i" --unbound "$LS_DIR/plain$i.csv" >"$LS_DIR/bids$i.csv"
done
{
  printf '{"version":1,"job_id":"bench-conns","region":"%s","parties":[' "$LS_REGION"
  for i in $(seq $BUYERS); do
    [ "$i" = 1 ] || printf ','
    printf '{"name":"Buyer%s","input":"file://%s/bids%s.csv","key":"%s","binding":"none"}' "$i" "$LS_DIR" "$i" "$(cat "$LS_DIR/key$i")"
  done
  printf '],"output":"file://%s/out/output.csv"}\n' "$LS_DIR"
} >"$LS_DIR/job.json"
mkdir -p "$LS_DIR/out"

# One image per cap, its PCRs pinned in both buyers' key policies when used.
for cap in $CAPS; do
  printf -- '--port\n5005\n--kms-endpoint\nhttp://kms.%s.sealbid.local\n--kms-max-connections\n%s\n' \
    "$LS_REGION" "$cap" >"$LS_DIR/enclave$cap.conf"
  "$SB" image build --enclave "$SB_BIN/sealbid-enclave" --config "$LS_DIR/enclave$cap.conf" \
    -o "$LS_DIR/enclave$cap.img" >/dev/null
  "$SB" image measure "$LS_DIR/enclave$cap.img" >"$LS_DIR/pcrs$cap.json"
done

printf '%-8s %-5s %-8s %-9s %-9s %-13s %s\n' workers cap bids seconds bids/s "vs cap 1" "vs RSA priv"
cid=16
for w in $WORKERS; do
  rm -f "$SEALBID_VSOCK_DIR/3.8000"
  "$SB" proxy --port 8000 --to "127.0.0.1:$LS_KMS_PORT" --num-workers "$w" 2>"$LS_DIR/proxy$w.log" &
  proxy=$!
  for _ in $(seq 100); do [ -S "$SEALBID_VSOCK_DIR/3.8000" ] && break; sleep 0.05; done
  base=
  for cap in $CAPS; do
    for i in $(seq $BUYERS); do
      ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs$cap.json"
    done
    "$SB" enclave run --image "$LS_DIR/enclave$cap.img" --cid "$cid" >/dev/null
    rm -f "$LS_DIR/out/output.csv"
    s=$(date +%s.%N)
    ls_as operator "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid "$cid" >/dev/null 2>>"$LS_DIR/run.log"
    e=$(date +%s.%N)
    "$SB" enclave terminate --all >/dev/null
    cid=$((cid + 1))
    rows=$(($(wc -l <"$LS_DIR/out/output.csv") - 1))
    [ "$rows" -eq "$PROPS" ] || { echo "bench: $rows rows, expected $PROPS" >&2; exit 1; }
    rate=$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))' "$BIDS" "$s" "$e")
    [ -n "$base" ] || base=$rate
    python3 - "$w" "$cap" "$BIDS" "$s" "$e" "$rate" "$base" "$speed" <<'PY'
import sys
w, cap, bids = sys.argv[1], sys.argv[2], int(sys.argv[3])
secs = float(sys.argv[5]) - float(sys.argv[4])
rate, base, rsa = float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
print("%-8s %-5s %-8d %-9.2f %-9.0f %-13.2f %.3f" % (w, cap, bids, secs, rate, rate / base, rate / rsa))
PY
  done
  kill -TERM "$proxy"; wait "$proxy" || true
  echo "  proxy: $(tail -1 "$LS_DIR/proxy$w.log")"
done
echo "vs cap 1 = bids/s / bids/s of the first cap through the same proxy workers"
echo "vs RSA priv = bids/s / openssl rsa2048 private ops/s (one core)"
