#!/usr/bin/env bash
# Long jobs (issue 11 item 5, docs/PROTOCOL.md §6.6), on the local stack with
# short lifetimes. KMS is reached through a relay that lets about one request
# through every SB_LONG_DELAY_MS (default 20 ms), so a job of SB_LONG_ROWS
# kms-csv rows (default 1400) decrypts for about 28 s, longer than:
#  (a) the operator's instance-role credentials: an IMDSv2 stand-in hands out
#      rotating sessions that live 20 s (sealbid-kms knows each one and
#      answers ExpiredTokenException after its expiration). The job succeeds
#      and sealbid-kms saw Decrypts signed with more than one session;
#  (b) the emulated NSM's certificates (`enclave run --test-cert-lifetime 20`):
#      the job succeeds, its receipt verifies, and the enclave used more than
#      one attestation document;
#  (c) static credentials that expire before the job's timeout: `sealbid run`
#      refuses at once with a clear error and publishes nothing.
set -euo pipefail
SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
STUBS=$SB_SRC/tests/integration/stubs
ROWS=${SB_LONG_ROWS:-1400}
DELAY_MS=${SB_LONG_DELAY_MS:-20}
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin
# sealbid-kms logs each request (with its access key id), the enclave each document.
export SEALBID_LOG=info

OPERATOR_ARN=arn:aws:iam::$LS_ACCOUNT:role/operator
mkdir -p "$LS_DIR/out"

# Rotating operator sessions: session i starts at T0 + 10 i and expires 20 s
# later, so the credentials IMDS hands out have 10..20 s left.
T0=$(date +%s)
python3 - "$T0" "$LS_DIR/sessions.json" "$OPERATOR_ARN" >"$LS_DIR/sessions-kms.json" <<'PY'
import json, sys, time
t0, path, arn = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sessions = []
for i in range(60):
    sessions.append({"AccessKeyId": "ASIAOPSESSION%07d" % i,
                     "SecretAccessKey": "local-only-session-secret-%d" % i,
                     "Token": "local-only-session-token-%d" % i,
                     "Start": t0 + 10 * i,
                     "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                 time.gmtime(t0 + 10 * i + 20))})
json.dump(sessions, open(path, "w"))
print(",".join(json.dumps({"arn": arn, "access_key_id": s["AccessKeyId"],
                           "secret_access_key": s["SecretAccessKey"],
                           "session_token": s["Token"], "expiration": s["Expiration"]})
               for s in sessions))
PY
# shellcheck disable=SC2034 # read by ls_start_kms (not exported: it holds secrets)
LS_KMS_EXTRA_PRINCIPALS=$(cat "$LS_DIR/sessions-kms.json")
ls_start_kms user/buyer1 user/buyer2 role/operator
KMS_DIRECT_PORT=$LS_KMS_PORT

# The slow relay between the parent's proxy and sealbid-kms.
python3 "$STUBS/throttle_relay.py" "$KMS_DIRECT_PORT" "$DELAY_MS" >"$LS_DIR/relay.port" &
LS_PIDS+=($!)
IMDS_STUB_SESSIONS=$LS_DIR/sessions.json python3 "$STUBS/imds_stub.py" >"$LS_DIR/imds.port" &
LS_PIDS+=($!)
for _ in $(seq 100); do [ -s "$LS_DIR/relay.port" ] && [ -s "$LS_DIR/imds.port" ] && break; sleep 0.1; done
if [ ! -s "$LS_DIR/relay.port" ] || [ ! -s "$LS_DIR/imds.port" ]; then
  ls_die "relay or IMDS stand-in did not start"
fi
LS_KMS_PORT=$(cat "$LS_DIR/relay.port") ls_start_proxy
IMDS_URL=http://127.0.0.1:$(cat "$LS_DIR/imds.port")

ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 17 --test-cert-lifetime 20 >/dev/null
K1=$(ls_create_key buyer1 buyer1)
K2=$(ls_create_key buyer2 buyer2)
for b in 1 2; do ls_pin_key "buyer$b" "$OPERATOR_ARN" "$LS_DIR/pcrs.json"; done

# Buyer1 bids on ROWS properties, Buyer2 on three.
seq 1 "$ROWS" | awk '{printf "%d,%d\n", $1, 100000 + $1}' >"$LS_DIR/p1.csv"
printf '1,500000\n2,1\n3,200000\n' >"$LS_DIR/p2.csv"
ls_as buyer1 "$SB" encrypt-bids --key-id "$K1" --unbound "$LS_DIR/p1.csv" >"$LS_DIR/b1.csv"
ls_as buyer2 "$SB" encrypt-bids --key-id "$K2" --unbound "$LS_DIR/p2.csv" >"$LS_DIR/b2.csv"

manifest() { # manifest NAME
  cat >"$LS_DIR/$1.json" <<J
{"version": 1, "job_id": "$1", "region": "$LS_REGION",
 "computation": "highest-bid", "disclose": "winner",
 "parties": [
  {"name": "Buyer1", "input": "file://$LS_DIR/b1.csv", "format": "kms-csv", "key": "$K1", "binding": "none"},
  {"name": "Buyer2", "input": "file://$LS_DIR/b2.csv", "format": "kms-csv", "key": "$K2", "binding": "none"}],
 "output": "file://$LS_DIR/out/$1.csv"}
J
}

# run_as_instance NAME CID: the job with the instance role's credentials (IMDS).
run_as_instance() {
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS_URL" AWS_CONFIG_FILE="$LS_DIR/aws-config" \
    AWS_SHARED_CREDENTIALS_FILE="$LS_DIR/aws-credentials" AWS_REGION="$LS_REGION" \
    "$SB" run --manifest "$LS_DIR/$1.json" --enclave-cid "$2" --timeout-ms 120000 \
    >"$LS_DIR/$1.out" 2>"$LS_DIR/$1.err"
}

check_result() { # check_result NAME
  local f=$LS_DIR/out/$1.csv
  if [ "$(head -1 "$f")" = "Property,Result" ] && grep -qx '1,Buyer2 Wins' "$f" &&
     grep -qx '2,Buyer1 Wins' "$f" && grep -qx '3,Buyer2 Wins' "$f" &&
     grep -qx "$ROWS,Buyer1 Wins" "$f" && [ "$(wc -l <"$f")" -eq $((ROWS + 1)) ]; then
    ok "$1: output.csv has the expected winners ($ROWS properties)"
  else bad "$1: unexpected output: $(head -5 "$f" 2>/dev/null)"; fi
  if "$SB" verify --receipt "$LS_DIR/out/$1.receipt" --output "$LS_DIR/out/$1.csv" \
      --manifest "$LS_DIR/$1.json" --pcrs "$LS_DIR/pcrs.json" --root "$LS_DIR/dev-root.pem" \
      >/dev/null 2>"$LS_DIR/verify.err"; then
    ok "$1: the receipt verifies"
  else bad "$1: receipt: $(cat "$LS_DIR/verify.err")"; fi
}

# ---- (a) short credentials, refreshed mid-job --------------------------------
manifest long-creds
start=$(date +%s)
if run_as_instance long-creds 16; then
  ok "(a) a $(( $(date +%s) - start )) s job with 20 s credentials succeeded"
  check_result long-creds
else
  bad "(a) job failed: $(cat "$LS_DIR/long-creds.err")"
  tail -n 5 "$SEALBID_STATE"/enclaves/*.log >&2 || true
fi
sessions=$({ grep 'op=Decrypt .*outcome=ok access_key=ASIAOPSESSION' "$LS_DIR/kms.log" || true; } |
  sed 's/.*access_key=//' | sort -u | wc -l)
if [ "$sessions" -gt 1 ]; then ok "(a) sealbid-kms saw Decrypts with $sessions sessions' credentials"
else bad "(a) sealbid-kms saw $sessions session credentials"; { grep 'op=Decrypt' "$LS_DIR/kms.log" || true; } | tail -3 >&2; fi
if grep -q 'outcome=ExpiredTokenException' "$LS_DIR/kms.log"; then
  bad "(a) a request was signed with expired credentials"
else ok "(a) no request used expired credentials"; fi
swaps=$(cat "$SEALBID_STATE"/enclaves/*.log | grep -c 'job: fresh AWS credentials (access key id ASIAOPSESSION' || true)
if [ "$swaps" -ge 1 ]; then ok "(a) the enclave asked for and swapped in fresh credentials $swaps times"
else bad "(a) the enclave never swapped in fresh credentials"; fi

# ---- (b) short certificate lifetime, documents renewed ----------------------
manifest long-cert
start=$(date +%s)
if run_as_instance long-cert 17; then
  ok "(b) a $(( $(date +%s) - start )) s job with 20 s certificates succeeded"
  check_result long-cert
else
  bad "(b) job failed: $(cat "$LS_DIR/long-cert.err")"
  tail -n 5 "$SEALBID_STATE"/enclaves/*.log >&2 || true
fi
docs=$(cat "$SEALBID_STATE"/enclaves/*.log 2>/dev/null | grep -c 'job: attestation document [2-9]' || true)
if [ "$docs" -ge 1 ]; then ok "(b) the enclave renewed its attestation document ($docs times)"
else bad "(b) the enclave used one attestation document"; fi

# ---- (c) refusal: static credentials expiring before the job's timeout ------
manifest refused
exp=$(date -u -d '+40 seconds' +%Y-%m-%dT%H:%M:%SZ)
if AWS_CREDENTIAL_EXPIRATION=$exp ls_as operator "$SB" run --manifest "$LS_DIR/refused.json" \
    --enclave-cid 16 --timeout-ms 600000 >"$LS_DIR/refused.out" 2>"$LS_DIR/refused.err"; then
  bad "(c) a job with credentials expiring in 40 s was started"
elif grep -q "expire in [0-9]* s, before the job's timeout" "$LS_DIR/refused.err"; then
  ok "(c) refused: $(tail -1 "$LS_DIR/refused.err")"
else bad "(c) unclear refusal: $(cat "$LS_DIR/refused.err")"; fi
if [ ! -e "$LS_DIR/out/refused.csv" ] && [ ! -e "$LS_DIR/out/refused.receipt" ]; then
  ok "(c) nothing was published"
else bad "(c) something was published"; fi
if grep -q "$(ls_principal_secret operator)" "$LS_DIR/refused.err" "$LS_DIR"/*.err; then
  bad "a secret reached stderr"
else ok "no secret on stderr"; fi

ls_checks_done test_long_job
