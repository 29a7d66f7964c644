#!/usr/bin/env bash
# sealbid demo: the AWS Nitro Enclaves bidding-service sample, done right,
# on this machine with no AWS at all. Everything it starts, it stops.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SB_BIN=${SB_BIN:-$ROOT/build/bin}
SB=$SB_BIN/sealbid
DEMO_NAME=demo
# shellcheck source=demo-prelude.bash
. "$ROOT/scripts/demo-prelude.bash"
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
  ls_pin_key "buyer$b" "$OPERATOR" "$LS_DIR/measurements.json" --require-job
done
say "Buyer1: $K1"; say "Buyer2: $K2"
say "policy: kms:Decrypt only for $OPERATOR, only from an enclave with those PCRs,"
say "        and only with a job-binding encryption context (sealbid policy --require-job)"

step "4. The parties agree on the job: the manifest, and its hash"
cat >"$LS_DIR/job.json" <<J
{"version": 1, "job_id": "demo-auction", "region": "$LS_REGION",
 "computation": "highest-bid", "disclose": "winner",
 "parties": [
  {"name": "Buyer1", "input": "file://$LS_DIR/buyer1-encrypted.csv", "format": "kms-csv", "key": "$K1"},
  {"name": "Buyer2", "input": "file://$LS_DIR/buyer2-encrypted.csv", "format": "kms-csv", "key": "$K2"}],
 "output": "file://$LS_DIR/out/output.csv"}
J
HASH=$("$SB" manifest hash "$LS_DIR/job.json")
say "sealbid manifest hash job.json: ${HASH:0:48}..."
say "(the same hash the receipt will carry; disclose: winner, so no amount is ever printed)"

if ls_have_aws; then how="AWS's own CLI (aws kms encrypt --encryption-context)"; else how="sealbid encrypt-bids (no AWS CLI here)"; fi
step "5. The buyers encrypt their bids, bound to this job"
printf '1,100000\n2,200000\n3,150000\n' >"$LS_DIR/buyer1-plain.csv"; chmod 600 "$LS_DIR/buyer1-plain.csv"
ls_as buyer1 "$SB" encrypt-bids --key-id alias/buyer1 --manifest "$LS_DIR/job.json" --party Buyer1 \
  "$LS_DIR/buyer1-plain.csv" >"$LS_DIR/buyer1-encrypted.csv"
rm -f "$LS_DIR/buyer1-plain.csv"
ls_encrypt_bound buyer2 alias/buyer2 "$LS_DIR/buyer2-encrypted.csv" "$LS_DIR/job.json" Buyer2 \
  1=200000 2=300000 3=100000
say "Buyer1 with sealbid encrypt-bids; Buyer2 with $how"
say "each bid's encryption context: sealbid:manifest=<hash>, sealbid:party, sealbid:property;"
say "a last 'sealbid:trailer' row seals the row count and a SHA-384 of the rows"
say "Buyer1 bids 100000, 200000, 150000; Buyer2 bids 200000, 300000, 100000 (only they know)"

step "6. The bidding service launches the enclave and runs the agreed job"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
say "enclave CID 16 running (its own process and network namespace, emulated NSM)"
ls_as bidding-service "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null
say "output.csv:"
sed 's/^/      /' "$LS_DIR/out/output.csv"

step "7. Any party verifies the receipt against the agreed PCRs"
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

step "8. The operator cannot read the bids itself"
ct=$(sed -n 2p "$LS_DIR/buyer1-encrypted.csv" | cut -d, -f2)
if ls_kms bidding-service Decrypt "{\"CiphertextBlob\":\"$ct\"}" >/dev/null 2>"$LS_DIR/denied.err"; then
  echo "demo: the operator decrypted a bid" >&2; exit 1
fi
say "its own Decrypt call: $(grep -o 'AccessDeniedException.*' "$LS_DIR/denied.err" | cut -c1-100)..."

step "9. Nor re-run them under a manifest of its own"
sed -e 's/"demo-auction"/"demo-auction-2"/' -e 's/"disclose": "winner"/"disclose": "winner-and-price"/' \
  -e "s|$LS_DIR/out/output.csv|$LS_DIR/out/altered.csv|" "$LS_DIR/job.json" >"$LS_DIR/altered.json"
say "the operator's altered manifest: new job id, disclose winner-and-price"
if ls_as bidding-service "$SB" run --manifest "$LS_DIR/altered.json" --enclave-cid 16 \
  >/dev/null 2>"$LS_DIR/altered.err"; then
  echo "demo: the altered manifest ran" >&2; exit 1
fi
[ ! -e "$LS_DIR/out/altered.csv" ] || { echo "demo: the altered job published" >&2; exit 1; }
say "refused by KMS: $(grep -o 'KMS Decrypt.*' "$LS_DIR/altered.err" | cut -c1-90)"
say "(the manifest hash in each bid's encryption context differs; nothing was published)"
cp "$LS_DIR/buyer2-encrypted.csv" "$LS_DIR/buyer2-agreed.csv"
cp "$LS_DIR/out/output.csv" "$LS_DIR/output-agreed.csv"
sed -i '3d' "$LS_DIR/buyer2-encrypted.csv"   # Buyer2's winning row on property 2
if ls_as bidding-service "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 \
  >/dev/null 2>"$LS_DIR/dropped.err"; then
  echo "demo: a dropped row went unnoticed" >&2; exit 1
fi
cmp -s "$LS_DIR/out/output.csv" "$LS_DIR/output-agreed.csv" || { echo "demo: output changed" >&2; exit 1; }
mv "$LS_DIR/buyer2-agreed.csv" "$LS_DIR/buyer2-encrypted.csv"
say "the agreed manifest, Buyer2's winning row dropped from its file:"
say "  $(grep -o 'row count differs.*' "$LS_DIR/dropped.err" | cut -c1-100)"
say "  (the agreed output.csv and its receipt are left as they were)"

step "What this showed"
say "- the winner of each property was computed without disclosing any bid (Buyer2, Buyer2, Buyer1)"
say "- KMS released the buyers' keys only to the measured enclave, never to the operator,"
say "  and only for the job the buyers agreed to: an altered manifest or input was refused"
say "- the result carries an attestation that binds it to the manifest and the code"
say "Files: $LS_DIR (output.csv, output.receipt, job.json, policies, measurements)"
