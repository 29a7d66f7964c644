#!/usr/bin/env bash
# KMS through a proxy that serves only 4 connections at a time, like AWS's
# stock vsock-proxy (--num_workers 4, its default):
# 1. `sealbid proxy --num-workers 2` queues connections beyond 2 (none
#    refused, every byte relayed) and says so at exit;
# 2. a job of 300 bids with the enclave's default --kms-max-connections (4)
#    succeeds through `--num-workers 4`, and the proxy never saw more than 4
#    connections open at once;
# 3. an enclave whose cap (16) is above the proxy's workers still succeeds:
#    its extra connections wait their turn, none fails.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
STUBS="$SB_SRC/tests/integration/stubs"
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin
mkdir -p "$LS_DIR/out"
BUYERS=3 PROPS=100

# proxy_start LOG ARGS...: sealbid proxy on vsock 3:8000 (sets PROXY_PID).
proxy_start() {
  local log=$1; shift
  rm -f "$SEALBID_VSOCK_DIR/3.8000"
  "$SB" proxy --port 8000 "$@" 2>"$log" &
  PROXY_PID=$!
  local i; for i in $(seq 100); do [ -S "$SEALBID_VSOCK_DIR/3.8000" ] && break; sleep 0.05; done
  [ -S "$SEALBID_VSOCK_DIR/3.8000" ] || ls_die "proxy did not start"
}
# proxy_stop LOG: stops it; sets acc open served waited from its exit line.
proxy_stop() {
  kill -TERM "$PROXY_PID"
  wait "$PROXY_PID" || ls_die "proxy exited with an error"
  read -r acc open served waited <<<"$(sed -n 's/^sealbid proxy: \([0-9]*\) connections; at most \([0-9]*\) open at once, \([0-9]*\) served at once (workers [0-9]*); \([0-9]*\) waited for a worker$/\1 \2 \3 \4/p' "$1")"
}

# 1. Queueing: 16 clients at once through 2 workers, 1 MiB echoed each.
coproc ECHO { exec python3 "$STUBS/echo_server.py"; }
LS_PIDS+=("$ECHO_PID")
read -r echo_port <&"${ECHO[0]}"
proxy_start "$LS_DIR/proxy-echo.log" --to "127.0.0.1:$echo_port" --num-workers 2
if python3 "$STUBS/proxy_client.py" "$SEALBID_VSOCK_DIR/3.8000" $((1 << 20)) 16; then
  proxy_stop "$LS_DIR/proxy-echo.log"
  if [ "$acc" = 16 ] && [ "$served" -le 2 ] && [ "$waited" -ge 1 ] && [ "$open" -gt 2 ]; then
    ok "16 connections through 2 workers: all echoed, $waited waited, at most $served served"
  else
    bad "queueing: accepted=$acc open=$open served=$served waited=$waited"
  fi
else
  proxy_stop "$LS_DIR/proxy-echo.log" || true
  bad "a client through --num-workers 2 failed"
fi
if "$SB" proxy --port 8001 --to 127.0.0.1:1 --max-conns 4 --num-workers 8 2>/dev/null; then
  bad "--num-workers above --max-conns accepted"
else
  ok "--num-workers above --max-conns refused"
fi

# The job: 3 buyers x 100 properties, one KMS Decrypt per bid.
ls_start_kms user/buyer1 user/buyer2 user/buyer3 role/operator
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
python3 - "$LS_DIR" "$BUYERS" "$PROPS" <<'PY'
import random, sys
d, nb, np_ = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(20261202)
for i in range(1, nb + 1):
    rows = ["%d,%d" % (p, r.randint(1, 10**6)) for p in range(1, np_ + 1)]
    open("%s/plain%d.csv" % (d, i), "w").write("property,bid\n" + "\n".join(rows) + "\n")
PY
{
  printf '{"version":1,"job_id":"conns","region":"%s","computation":"highest-bid",' "$LS_REGION"
  printf '"disclose":"winner","parties":['
  for i in $(seq $BUYERS); do
    K=$(ls_create_key "buyer$i" "buyer$i")
    [ "$i" = 1 ] || printf ','
    printf '{"name":"Buyer%s","input":"file://%s/bids%s.csv","key":"%s"}' "$i" "$LS_DIR" "$i" "$K"
  done
  printf '],"output":"file://%s/out/output.csv"}\n' "$LS_DIR"
} >"$LS_DIR/job.json"
for i in $(seq $BUYERS); do
  ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json"
  ls_as "buyer$i" "$SB" encrypt-bids --key-id "alias/buyer$i" --manifest "$LS_DIR/job.json" \
    --party "Buyer$i" "$LS_DIR/plain$i.csv" >"$LS_DIR/bids$i.csv"
done
python3 - "$LS_DIR" "$BUYERS" >"$LS_DIR/want.csv" <<'PY'
import csv, sys
d, nb = sys.argv[1], int(sys.argv[2])
best = {}
for i in range(1, nb + 1):
    for prop, amount in list(csv.reader(open("%s/plain%d.csv" % (d, i))))[1:]:
        if prop not in best or int(amount) > best[prop][0]:
            best[prop] = (int(amount), "Buyer%d" % i)
print("Property,Result")
for prop in sorted(best, key=int):
    print("%s,%s Wins" % (prop, best[prop][1]))
PY

# run_job CID TAG: the job on that enclave; the output must match the reference.
run_job() {
  rm -f "$LS_DIR/out/output.csv" "$LS_DIR/out/output.receipt"
  if ! ls_as operator "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid "$1" \
      >/dev/null 2>"$LS_DIR/run-$2.err"; then
    bad "$2: the job failed: $(head -c 300 "$LS_DIR/run-$2.err")"
    return 1
  fi
  if cmp -s "$LS_DIR/want.csv" "$LS_DIR/out/output.csv"; then
    ok "$2: $((BUYERS * PROPS)) bids decrypted, output matches the reference"
  else
    bad "$2: output differs from the reference"
    return 1
  fi
}

# 2. The default cap through 4 workers.
proxy_start "$LS_DIR/proxy-4.log" --to "127.0.0.1:$LS_KMS_PORT" --num-workers 4
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
run_job 16 "default cap, 4 workers" || true
proxy_stop "$LS_DIR/proxy-4.log"
if [ "${acc:-0}" -ge 1 ] && [ "$open" -le 4 ] && [ "$served" -le 4 ]; then
  ok "default cap: the proxy saw at most $open connections open at once ($acc in all)"
else
  bad "default cap: proxy saw accepted=${acc:-?} open=${open:-?} served=${served:-?}"
fi

# 3. A cap of 16 through the same 4 workers: queued, not failed.
printf -- '--port\n5005\n--kms-endpoint\nhttp://kms.%s.sealbid.local\n--kms-max-connections\n16\n' \
  "$LS_REGION" >"$LS_DIR/enclave16.conf"
"$SB" image build --enclave "$SB_BIN/sealbid-enclave" --config "$LS_DIR/enclave16.conf" \
  -o "$LS_DIR/enclave16.img" >/dev/null
"$SB" image measure "$LS_DIR/enclave16.img" >"$LS_DIR/pcrs16.json"
if cmp -s "$LS_DIR/pcrs.json" "$LS_DIR/pcrs16.json"; then
  bad "--kms-max-connections is not part of the measurement"
else
  ok "--kms-max-connections changes the measured PCRs"
fi
for i in $(seq $BUYERS); do
  ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs16.json"
done
proxy_start "$LS_DIR/proxy-16.log" --to "127.0.0.1:$LS_KMS_PORT" --num-workers 4
"$SB" enclave run --image "$LS_DIR/enclave16.img" --cid 17 >/dev/null
run_job 17 "cap 16, 4 workers" || true
proxy_stop "$LS_DIR/proxy-16.log"
if [ "${served:-9}" -le 4 ] && [ "${open:-0}" -gt 4 ] && [ "${waited:-0}" -ge 1 ]; then
  ok "cap 16: $open open at once, $served served, $waited waited for a worker"
else
  bad "cap 16: proxy saw accepted=${acc:-?} open=${open:-?} served=${served:-?} waited=${waited:-?}"
fi
# A cap outside 1..64 is refused by the enclave itself.
if "$SB_BIN/sealbid-enclave" --kms-max-connections 65 2>/dev/null; then
  bad "--kms-max-connections 65 accepted"
else
  ok "--kms-max-connections 65 refused"
fi
ls_checks_done test_kms_conns
