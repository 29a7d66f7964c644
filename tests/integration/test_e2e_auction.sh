#!/usr/bin/env bash
# The AWS bidding-service sample through the whole local stack: sealbid-kms
# with attestation-pinned key policies, buyers' ciphertexts made by the AWS
# CLI v2 (`aws kms encrypt`, exactly as the sample's scripts), inputs from a
# local S3 server and from files, the launched enclave decrypting through the
# proxy, outputs to S3 and to a file, receipts verified; then every way the
# operator could cheat, and bad inputs, each refused with nothing published.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin

OPERATOR_ARN=arn:aws:iam::$LS_ACCOUNT:role/operator

ls_start_kms user/buyer1 user/buyer2 role/operator
ls_start_proxy
ls_start_s3
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"

K1=$(ls_create_key buyer1 buyer1)
K2=$(ls_create_key buyer2 buyer2)
for b in 1 2; do
  ls_pin_key "buyer$b" "$OPERATOR_ARN" "$LS_DIR/pcrs.json"
done
ok "keys created and pinned to the enclave's PCRs"

# The AWS sample's bids, encrypted the sample's way (not bound to a job:
# tests/integration/test_e2e_binding.sh plays the job-bound story).
ls_encrypt buyer1 "$K1" "$LS_DIR/buyer1.csv" 1=100000 2=200000 3=150000
ls_encrypt buyer2 alias/buyer2 "$LS_DIR/buyer2.csv" 1=200000 2=300000 3=100000
ls_s3 create-bucket --bucket buyer1-bids >/dev/null
ls_s3 create-bucket --bucket bidding-service >/dev/null
ls_s3 put-object --bucket buyer1-bids --key encrypted.csv --body "$LS_DIR/buyer1.csv" >/dev/null
ok "buyer 1's bids in S3, buyer 2's in a file"

manifest() { # manifest FILE OUTPUT_URI BUYER1_INPUT BUYER2_INPUT [BUYER2_KEY]
  cat >"$1" <<J
{"version": 1, "job_id": "auction-2026-11-22", "region": "$LS_REGION",
 "computation": "highest-bid", "disclose": "winner",
 "parties": [
  {"name": "Buyer1", "input": "$3", "format": "kms-csv", "key": "$K1", "binding": "none"},
  {"name": "Buyer2", "input": "$4", "format": "kms-csv", "key": "${5:-alias/buyer2}", "binding": "none"}],
 "output": "$2"}
J
}
run_as_operator() { AWS_ENDPOINT_URL_S3=$LS_S3_URL ls_as operator "$SB" run "$@"; }
expected=$'Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins'

"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
mkdir -p "$LS_DIR/out"

# 1. Output to S3.
manifest "$LS_DIR/job-s3.json" s3://bidding-service/output.csv s3://buyer1-bids/encrypted.csv \
  "file://$LS_DIR/buyer2.csv"
if run_as_operator --manifest "$LS_DIR/job-s3.json" --enclave-cid 16 >"$LS_DIR/run.out" 2>"$LS_DIR/run.err"; then
  ok "job with S3 output ran"
else bad "job with S3 output: $(cat "$LS_DIR/run.err")"; fi
ls_s3 get-object --bucket bidding-service --key output.csv "$LS_DIR/s3-output.csv" >/dev/null
ls_s3 get-object --bucket bidding-service --key output.receipt "$LS_DIR/s3-output.receipt" >/dev/null
[ "$(cat "$LS_DIR/s3-output.csv")" = "$expected" ] && ok "S3 output.csv: Buyer2, Buyer2, Buyer1" \
  || bad "S3 output: $(cat "$LS_DIR/s3-output.csv")"

# 2. Output to a file.
manifest "$LS_DIR/job.json" "file://$LS_DIR/out/output.csv" s3://buyer1-bids/encrypted.csv \
  "file://$LS_DIR/buyer2.csv"
run_as_operator --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/run.err" \
  || bad "job with file output: $(cat "$LS_DIR/run.err")"
[ "$(cat "$LS_DIR/out/output.csv")" = "$expected" ] && ok "file output.csv: Buyer2, Buyer2, Buyer1" \
  || bad "file output: $(cat "$LS_DIR/out/output.csv" 2>&1)"

# 3. Receipts verify; one changed byte anywhere fails.
verify() { "$SB" verify --receipt "$1" --output "$2" --manifest "$3" --pcrs "${4:-$LS_DIR/pcrs.json}" \
  --root "$LS_DIR/dev-root.pem" >/dev/null 2>"$LS_DIR/verify.err"; }
verify "$LS_DIR/out/output.receipt" "$LS_DIR/out/output.csv" "$LS_DIR/job.json" \
  && ok "receipt verifies" || bad "receipt: $(cat "$LS_DIR/verify.err")"
verify "$LS_DIR/s3-output.receipt" "$LS_DIR/s3-output.csv" "$LS_DIR/job-s3.json" \
  && ok "S3 receipt verifies" || bad "S3 receipt: $(cat "$LS_DIR/verify.err")"
flip() { python3 - "$1" "$2" "$3" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
i = int(sys.argv[3]) % len(data)
data[i] = ord("x") if data[i] != ord("x") else ord("y")
open(sys.argv[2], "wb").write(bytes(data))
PY
}
for what in output manifest receipt; do
  for pos in 5 40 200; do
    cp "$LS_DIR/out/output.csv" "$LS_DIR/t.csv"; cp "$LS_DIR/job.json" "$LS_DIR/t.json"
    cp "$LS_DIR/out/output.receipt" "$LS_DIR/t.receipt"
    case $what in
      output) flip "$LS_DIR/out/output.csv" "$LS_DIR/t.csv" $pos ;;
      manifest) flip "$LS_DIR/job.json" "$LS_DIR/t.json" $pos ;;
      receipt) flip "$LS_DIR/out/output.receipt" "$LS_DIR/t.receipt" $pos ;;
    esac
    if verify "$LS_DIR/t.receipt" "$LS_DIR/t.csv" "$LS_DIR/t.json"; then
      bad "a changed byte of the $what (at $pos) still verifies"
    else ok "changed $what byte $pos rejected"; fi
  done
done
ls_build_image "$LS_DIR/other.img" "$SB_BIN/sealbid-kms" # another build
"$SB" image measure "$LS_DIR/other.img" >"$LS_DIR/other-pcrs.json"
verify "$LS_DIR/out/output.receipt" "$LS_DIR/out/output.csv" "$LS_DIR/job.json" "$LS_DIR/other-pcrs.json" \
  && bad "PCRs of another build accepted" || ok "PCRs of another build rejected"

# 4. The operator cannot decrypt a bid itself.
ct=$(sed -n 2p "$LS_DIR/buyer1.csv" | cut -d, -f2)
if ls_aws operator kms decrypt --ciphertext-blob "$ct" >/dev/null 2>"$LS_DIR/dec.err"; then
  bad "operator decrypted a bid directly"
else grep -q AccessDeniedException "$LS_DIR/dec.err" && ok "operator's direct decrypt: AccessDenied" \
  || bad "operator decrypt: $(cat "$LS_DIR/dec.err")"; fi

# 5. Cheating and bad input: clear error, nothing published, the enclave keeps serving.
expect_job_fails() { # WHAT PATTERN MANIFEST
  rm -f "$LS_DIR/out/bad.csv" "$LS_DIR/out/bad.receipt"
  if run_as_operator --manifest "$3" --enclave-cid "${CID:-16}" >/dev/null 2>"$LS_DIR/bad.err"; then
    bad "$1: job succeeded"
  elif ! grep -q "$2" "$LS_DIR/bad.err"; then bad "$1: error was: $(cat "$LS_DIR/bad.err")"
  elif [ -e "$LS_DIR/out/bad.csv" ] || [ -e "$LS_DIR/out/bad.receipt" ]; then bad "$1: output published"
  else ok "$1 refused: $(head -c 150 "$LS_DIR/bad.err")"; fi
}
# The operator's own key (the comparison-oracle attack).
ls_aws operator kms create-key --query KeyMetadata.Arn --output text >"$LS_DIR/opkey"
{ head -3 "$LS_DIR/buyer2.csv"; printf '3,'; ls_aws operator kms encrypt --key-id "$(cat "$LS_DIR/opkey")" \
  --cli-binary-format raw-in-base64-out --plaintext 999999 --query CiphertextBlob --output text; } >"$LS_DIR/swapped.csv"
manifest "$LS_DIR/bad1.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/swapped.csv"
expect_job_fails "ciphertext under the operator's key" "Buyer2, row 3" "$LS_DIR/bad1.json"
# The same with Buyer2 declared by ARN.
manifest "$LS_DIR/bad1b.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/swapped.csv" "$K2"
expect_job_fails "ciphertext under another key (declared ARN)" "Buyer2, row 3" "$LS_DIR/bad1b.json"
# A non-numeric bid.
ls_encrypt buyer2 alias/buyer2 "$LS_DIR/nonnum.csv" 1=200000 2=lots
manifest "$LS_DIR/bad2.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/nonnum.csv"
expect_job_fails "non-numeric bid" "Buyer2, row 2" "$LS_DIR/bad2.json"
grep -q lots "$LS_DIR/bad.err" && bad "the bad value leaked into the error" || ok "error does not hold the value"
# A negative bid.
ls_encrypt buyer2 alias/buyer2 "$LS_DIR/neg.csv" 1=-5
manifest "$LS_DIR/bad3.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/neg.csv"
expect_job_fails "negative bid" "Buyer2, row 1" "$LS_DIR/bad3.json"
# Duplicate property, missing field, unreadable input, unknown manifest field, one party.
ls_encrypt buyer2 alias/buyer2 "$LS_DIR/dup.csv" 1=200000 2=300000 1=5
manifest "$LS_DIR/bad4.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/dup.csv"
expect_job_fails "duplicate property" "property 1" "$LS_DIR/bad4.json"
{ cat "$LS_DIR/buyer2.csv"; sed -n 2p "$LS_DIR/buyer2.csv"; } >"$LS_DIR/dup2.csv"
manifest "$LS_DIR/bad4b.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/dup2.csv"
expect_job_fails "one ciphertext twice" "Buyer2 row 1 and party Buyer2 row 4" "$LS_DIR/bad4b.json"
{ cat "$LS_DIR/buyer2.csv"; echo "4"; } >"$LS_DIR/short.csv"
manifest "$LS_DIR/bad5.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/short.csv"
expect_job_fails "row with a missing field" "row 4" "$LS_DIR/bad5.json"
manifest "$LS_DIR/bad6.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/nope.csv"
expect_job_fails "unreadable input" "Buyer2" "$LS_DIR/bad6.json"
sed 's/"region"/"colour": "red", "region"/' "$LS_DIR/job.json" >"$LS_DIR/bad7.json"
expect_job_fails "unknown manifest field" "unknown field" "$LS_DIR/bad7.json"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m["parties"]=m["parties"][:1]; m["output"]=sys.argv[3]; json.dump(m, open(sys.argv[2],"w"))' \
  "$LS_DIR/job.json" "$LS_DIR/bad8.json" "file://$LS_DIR/out/bad.csv"
expect_job_fails "fewer than two parties" "2.." "$LS_DIR/bad8.json"

# An output location that cannot be written: no output and no receipt (both or neither).
mkdir -p "$LS_DIR/out/blocked.csv"
manifest "$LS_DIR/blocked.json" "file://$LS_DIR/out/blocked.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/buyer2.csv"
if run_as_operator --manifest "$LS_DIR/blocked.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/blocked.err"; then
  bad "unwritable output: job succeeded"
elif [ -e "$LS_DIR/out/blocked.receipt" ]; then bad "unwritable output: the receipt was left behind"
else ok "unwritable output: neither output nor receipt ($(head -c 100 "$LS_DIR/blocked.err"))"; fi

# After all that the same enclave still serves a good job.
rm -f "$LS_DIR/out/output.csv"
run_as_operator --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/run.err" \
  && [ "$(cat "$LS_DIR/out/output.csv")" = "$expected" ] && ok "enclave still serves the next job" \
  || bad "enclave after errors: $(cat "$LS_DIR/run.err")"

# 6. A debug-mode enclave and a modified enclave are refused by the pinned policy.
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 17 --debug-mode >/dev/null
manifest "$LS_DIR/dbg.json" "file://$LS_DIR/out/bad.csv" "file://$LS_DIR/buyer1.csv" "file://$LS_DIR/buyer2.csv"
CID=17 expect_job_fails "debug-mode enclave" "AccessDenied" "$LS_DIR/dbg.json"
cp "$SB_BIN/sealbid-enclave" "$LS_DIR/modified-enclave"; printf 'x' >>"$LS_DIR/modified-enclave"
ls_build_image "$LS_DIR/modified.img" "$LS_DIR/modified-enclave"
"$SB" enclave run --image "$LS_DIR/modified.img" --cid 18 >/dev/null
CID=18 expect_job_fails "modified enclave binary" "AccessDenied" "$LS_DIR/dbg.json"

# 7. No plaintext bid in any log or error.
leaks=$(grep -lwE '100000|200000|150000|300000|999999' "$LS_DIR"/*.log "$LS_DIR"/*.err \
  "$SEALBID_STATE"/enclaves/*.log 2>/dev/null || true)
[ -z "$leaks" ] && ok "no bid value in any log or error" || bad "bid values in: $leaks"

ls_checks_done
