#!/usr/bin/env bash
# sealbid demo: the AWS Nitro Enclaves bidding-service sample, done right,
# on this machine with no AWS at all. Everything it starts, it stops.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SB_BIN=${SB_BIN:-$ROOT/build/bin}
SB=$SB_BIN/sealbid
[ -x "$SB" ] || { echo "demo: build first (make)" >&2; exit 1; }
LS_DIR=${SEALBID_DEMO_DIR:-$ROOT/build/demo}
rm -rf "$LS_DIR"
mkdir -p "$LS_DIR/out"
export SEALBID_STATE=$LS_DIR/state SEALBID_VSOCK_DIR=$LS_DIR/vsock
mkdir -p "$SEALBID_VSOCK_DIR"
# shellcheck source=local-stack.bash
. "$ROOT/scripts/local-stack.bash"
trap ls_stop EXIT

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '   %s\n' "$*"; }
OPERATOR=arn:aws:iam::$LS_ACCOUNT:role/bidding-service

step "1. The agreed code: build the enclave image and measure it"
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/measurements.json"
pcr() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Measurements"]["PCR"+sys.argv[2]])' "$LS_DIR/measurements.json" "$1"; }
say "PCR0 $(pcr 0)"; say "PCR1 $(pcr 1)"; say "PCR2 $(pcr 2)"
say "(every party can rebuild the image and get the same numbers)"

step "2. Start the local stand-ins for AWS"
ls_start_kms user/buyer1 user/buyer2 role/bidding-service
say "sealbid-kms (a KMS that enforces attestation conditions) on $LS_KMS_URL"
ls_start_proxy
say "sealbid proxy: vsock port 8000 of the parent -> sealbid-kms (like vsock-proxy)"

step "3. Each buyer creates its own KMS key and pins it to the enclave's PCRs"
K1=$(ls_create_key buyer1 buyer1); K2=$(ls_create_key buyer2 buyer2)
for b in 1 2; do
  ls_pin_key "buyer$b" "$OPERATOR" "$LS_DIR/measurements.json"
done
say "Buyer1: $K1"; say "Buyer2: $K2"
say "policy: kms:Decrypt only for $OPERATOR, only from an enclave with those PCRs"

if ls_have_aws; then how="exactly as the AWS sample does (aws kms encrypt)"; else how="with sealbid encrypt-bids (no AWS CLI here)"; fi
step "4. The buyers encrypt their bids, $how"
ls_encrypt buyer1 alias/buyer1 "$LS_DIR/buyer1-encrypted.csv" 1=100000 2=200000 3=150000
ls_encrypt buyer2 alias/buyer2 "$LS_DIR/buyer2-encrypted.csv" 1=200000 2=300000 3=100000
say "Buyer1 bids 100000, 200000, 150000; Buyer2 bids 200000, 300000, 100000 (only they know)"
say "$(head -2 "$LS_DIR/buyer2-encrypted.csv" | tail -1 | cut -c1-72)..."

step "5. The bidding service launches the enclave and runs the job"
cat >"$LS_DIR/job.json" <<J
{"version": 1, "job_id": "demo-auction", "region": "$LS_REGION",
 "computation": "highest-bid", "disclose": "winner",
 "parties": [
  {"name": "Buyer1", "input": "file://$LS_DIR/buyer1-encrypted.csv", "format": "kms-csv", "key": "$K1"},
  {"name": "Buyer2", "input": "file://$LS_DIR/buyer2-encrypted.csv", "format": "kms-csv", "key": "$K2"}],
 "output": "file://$LS_DIR/out/output.csv"}
J
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
say "enclave CID 16 running (its own process and network namespace, emulated NSM)"
ls_as bidding-service "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null
say "output.csv:"
sed 's/^/      /' "$LS_DIR/out/output.csv"

step "6. Any party verifies the receipt against the agreed PCRs"
"$SB" verify --receipt "$LS_DIR/out/output.receipt" --output "$LS_DIR/out/output.csv" \
  --manifest "$LS_DIR/job.json" --pcrs "$LS_DIR/measurements.json" --root "$LS_DIR/dev-root.pem" |
  sed 's/^/   /'
cp "$LS_DIR/out/output.csv" "$LS_DIR/tampered.csv"
sed -i 's/3,Buyer1 Wins/3,Buyer2 Wins/' "$LS_DIR/tampered.csv"
if "$SB" verify --receipt "$LS_DIR/out/output.receipt" --output "$LS_DIR/tampered.csv" \
  --manifest "$LS_DIR/job.json" --pcrs "$LS_DIR/measurements.json" --root "$LS_DIR/dev-root.pem" \
  2>"$LS_DIR/tampered.err"; then
  echo "demo: a tampered output verified" >&2; exit 1
fi
say "an output changed by the operator fails: $(cat "$LS_DIR/tampered.err")"

step "7. The operator cannot read the bids itself"
ct=$(sed -n 2p "$LS_DIR/buyer1-encrypted.csv" | cut -d, -f2)
if ls_kms bidding-service Decrypt "{\"CiphertextBlob\":\"$ct\"}" >/dev/null 2>"$LS_DIR/denied.err"; then
  echo "demo: the operator decrypted a bid" >&2; exit 1
fi
say "its own Decrypt call: $(grep -o 'AccessDeniedException.*' "$LS_DIR/denied.err" | cut -c1-100)..."

step "What this showed"
say "- the winner of each property was computed without disclosing any bid (Buyer2, Buyer2, Buyer1)"
say "- KMS released the buyers' keys only to the measured enclave, never to the operator"
say "- the result carries an attestation that binds it to the manifest and the code"
say "Files: $LS_DIR (output.csv, output.receipt, job.json, policies, measurements)"
