#!/usr/bin/env bash
# End-to-end benchmark of the sample-compatible path (one KMS Decrypt with
# Recipient per bid): enclave -> proxy -> sealbid-kms, everything on this
# machine. Reports bids/s and properties/s for N buyers x P properties, as a
# ratio to this machine's RSA-2048 private-key rate (`openssl speed rsa2048`
# sign/s: the enclave's unavoidable cost per ciphertext is one RSA-2048
# private-key decrypt of the CMS envelope), and beside the AWS sample's
# design floor (it polls every 0.5 s on each side: >= 1 s per property).
#
#   BENCH_BUYERS="2 10" BENCH_PROPERTIES=10000 bash bench/bench_e2e.sh
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUYERS=${BENCH_BUYERS:-2 10}
PROPS=${BENCH_PROPERTIES:-10000}
SB=$SB_BIN/sealbid
# shellcheck source=../scripts/local-stack.bash
. "$ROOT/scripts/local-stack.bash"
ls_begin

speed=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6, $7}')
rsa_priv=${speed% *}
rsa_pub=${speed#* }
echo "machine: $(nproc) cores; openssl speed rsa2048: ${rsa_priv} private ops/s, ${rsa_pub} public ops/s"

max=0; for n in $BUYERS; do [ "$n" -gt "$max" ] && max=$n; done
principals=(role/operator); for i in $(seq "$max"); do principals+=("user/buyer$i"); done
ls_start_kms "${principals[@]}"
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null

# Each buyer: a pinned key, and P random bids encrypted by the KMS client.
t0=$(date +%s.%N)
enc_pids=()
for i in $(seq "$max"); do
  ls_create_key "buyer$i" "buyer$i" >"$LS_DIR/key$i"
  ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json"
  python3 -c 'import random,sys; r=random.Random(int(sys.argv[2]))
for p in range(1, int(sys.argv[1]) + 1): print("%d,%d" % (p, r.randrange(1, 500) * 1000))' "$PROPS" "$i" \
    >"$LS_DIR/plain$i.csv"
  ls_as "buyer$i" "$SB" encrypt-bids --key-id "alias/buyer$i" --unbound "$LS_DIR/plain$i.csv" >"$LS_DIR/bids$i.csv" &
  enc_pids+=($!)
done
for p in "${enc_pids[@]}"; do wait "$p"; done
echo "set-up: $max buyers x $PROPS bids encrypted in $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$(date +%s.%N)" "$t0") s (not measured)"

printf '%-8s %-11s %-8s %-10s %-12s %-13s %-12s %s\n' buyers properties bids seconds bids/s properties/s "vs RSA priv" "vs AWS sample"
for n in $BUYERS; do
  {
    printf '{"version":1,"job_id":"bench-%s","region":"%s","parties":[' "$n" "$LS_REGION"
    for i in $(seq "$n"); do
      [ "$i" = 1 ] || printf ','
      printf '{"name":"Buyer%s","input":"file://%s/bids%s.csv","key":"%s","binding":"none"}' "$i" "$LS_DIR" "$i" "$(cat "$LS_DIR/key$i")"
    done
    printf '],"output":"file://%s/out-%s/output.csv"}\n' "$LS_DIR" "$n"
  } >"$LS_DIR/job$n.json"
  mkdir -p "$LS_DIR/out-$n"
  s=$(date +%s.%N)
  ls_as operator "$SB" run --manifest "$LS_DIR/job$n.json" --enclave-cid 16 >/dev/null
  e=$(date +%s.%N)
  rows=$(($(wc -l <"$LS_DIR/out-$n/output.csv") - 1))
  [ "$rows" -eq "$PROPS" ] || { echo "bench: $rows rows, expected $PROPS" >&2; exit 1; }
  python3 - "$n" "$PROPS" "$s" "$e" "$rsa_priv" <<'PY'
import sys
n, props, s, e, rsa = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
secs = e - s
bids = n * props
print("%-8d %-11d %-8d %-10.2f %-12.0f %-13.0f %-12.2f %.0fx" % (
    n, props, bids, secs, bids / secs, props / secs, (bids / secs) / rsa, props / secs / 1.0))
PY
done
echo "vs RSA priv = end-to-end bids/s / openssl rsa2048 private ops/s (one core); target >= 0.50"
echo "vs AWS sample = properties/s / 1 property/s (the sample's polling floor)"
