#!/usr/bin/env bash
# The hostile operator against job-bound inputs (issue: manifest-bound data),
# through the whole local stack. The buyers agree on one manifest, bind their
# bids to it (kms-csv: an encryption context per bid and a trailer row; sealed:
# an AWS Encryption SDK message whose context names the manifest and party)
# and pin their keys with `sealbid policy --require-job`. Then the operator
# tries each attack of the review: a new job id that discloses prices, a party
# listed twice, a probe party under its own key, the agreed manifest with a
# row dropped, a ciphertext moved, a row duplicated. Each fails with a clear
# error and publishes nothing, while the agreed job runs and verifies. The
# same attacks against "binding": "none" inputs succeed, with the warning.
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

ls_start_kms user/buyer1 user/buyer2 user/buyer3 user/buyer4 role/operator
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null

# Buyers 1 and 2 bind their data to jobs; buyers 3 and 4 keep the AWS
# sample's unbound ciphertexts (their policies cannot require the context).
K1=$(ls_create_key buyer1 buyer1)
K2=$(ls_create_key buyer2 buyer2)
K3=$(ls_create_key buyer3 buyer3)
K4=$(ls_create_key buyer4 buyer4)
for b in 1 2; do ls_pin_key "buyer$b" "$OPERATOR_ARN" "$LS_DIR/pcrs.json" --require-job; done
for b in 3 4; do ls_pin_key "buyer$b" "$OPERATOR_ARN" "$LS_DIR/pcrs.json"; done
OPKEY=$(ls_aws operator kms create-key --query KeyMetadata.Arn --output text)
ok "keys created; buyers 1 and 2 require job binding"

# manifest FILE JOB_ID DISCLOSE OUTPUT PARTY_JSON...
manifest() {
  local f=$1 id=$2 disclose=$3 out=$4 first=1 p; shift 4
  { printf '{"version":1,"job_id":"%s","region":"%s","computation":"highest-bid","disclose":"%s","parties":[' \
      "$id" "$LS_REGION" "$disclose"
    for p in "$@"; do [ $first = 1 ] || printf ','; first=0; printf '%s' "$p"; done
    printf '],"output":"%s"}\n' "$out"; } >"$f"
}
party() { # NAME INPUT KEY FORMAT BINDING
  printf '{"name":"%s","input":"file://%s","key":"%s","format":"%s","binding":"%s"}' "$1" "$2" "$3" "$4" "$5"
}
run_job() { ls_as operator "$SB" run --manifest "$1" --enclave-cid 16; }
verify() { "$SB" verify --receipt "${2%.csv}.receipt" --output "$2" --manifest "$1" \
  --pcrs "$LS_DIR/pcrs.json" --root "$LS_DIR/dev-root.pem" >/dev/null 2>"$LS_DIR/verify.err"; }
expect_refused() { # WHAT PATTERN MANIFEST OUTPUT_FILE
  local before=""
  [ -e "$4" ] && before=$(sha256sum "$4" "${4%.csv}.receipt" 2>/dev/null)
  if run_job "$3" >/dev/null 2>"$LS_DIR/bad.err"; then bad "$1: the job ran"
  elif ! grep -q -- "$2" "$LS_DIR/bad.err"; then bad "$1: error was: $(cat "$LS_DIR/bad.err")"
  elif [ -z "$before" ] && { [ -e "$4" ] || [ -e "${4%.csv}.receipt" ]; }; then bad "$1: output published"
  elif [ -n "$before" ] && [ "$before" != "$(sha256sum "$4" "${4%.csv}.receipt")" ]; then
    bad "$1: the agreed output was changed"
  else ok "$1 refused: $(tr '\n' ' ' <"$LS_DIR/bad.err" | head -c 160)"; fi
}
expected=$'Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins'

# ---- kms-csv, job-bound -------------------------------------------------
AGREED=$LS_DIR/agreed.json OUT=$LS_DIR/out/agreed.csv
manifest "$AGREED" auction-1 winner "file://$OUT" \
  "$(party Buyer1 "$LS_DIR/b1.csv" "$K1" kms-csv job)" \
  "$(party Buyer2 "$LS_DIR/b2.csv" alias/buyer2 kms-csv job)"
HASH=$("$SB" manifest hash "$AGREED")
[ ${#HASH} = 96 ] && ok "manifest hash is 96 hex digits" || bad "manifest hash: $HASH"
# Buyer 1 with sealbid encrypt-bids, buyer 2 with the AWS CLI and sha384sum.
printf '1,100000\n2,200000\n3,150000\n' >"$LS_DIR/plain1.csv"
ls_as buyer1 "$SB" encrypt-bids --key-id alias/buyer1 --manifest "$AGREED" --party Buyer1 \
  "$LS_DIR/plain1.csv" >"$LS_DIR/b1.csv"
ls_encrypt_bound buyer2 alias/buyer2 "$LS_DIR/b2.csv" "$AGREED" Buyer2 1=200000 2=300000 3=100000
if run_job "$AGREED" >/dev/null 2>"$LS_DIR/run.err" && [ "$(cat "$OUT")" = "$expected" ]; then
  ok "the agreed kms-csv job runs"
else bad "agreed job: $(cat "$LS_DIR/run.err")"; fi
verify "$AGREED" "$OUT" && ok "its receipt verifies" || bad "verify: $(cat "$LS_DIR/verify.err")"
grep -qi "warning" "$LS_DIR/run.err" && bad "a warning for a bound job" || ok "no binding warning for a bound job"

# Unbound ciphertexts under a --require-job key are useless, even to the agreed job.
ls_encrypt buyer2 alias/buyer2 "$LS_DIR/b2-unbound.csv" 1=200000 2=300000 3=100000
ls_encrypt buyer3 alias/buyer3 "$LS_DIR/b3.csv" 1=100000 2=200000 3=150000
manifest "$LS_DIR/nob.json" auction-1 winner "file://$LS_DIR/out/nob.csv" \
  "$(party Buyer3 "$LS_DIR/b3.csv" "$K3" kms-csv none)" \
  "$(party Buyer2 "$LS_DIR/b2-unbound.csv" alias/buyer2 kms-csv none)"
expect_refused "unbound ciphertexts under a --require-job key" "AccessDenied" "$LS_DIR/nob.json" "$LS_DIR/out/nob.csv"

attacks() { # FORMAT B1_FILE B2_FILE B1_KEY B2_KEY BINDING OUT_PREFIX -> manifests in $LS_DIR/$7-*.json
  local fmt=$1 f1=$2 f2=$3 k1=$4 k2=$5 bind=$6 pre=$7
  manifest "$LS_DIR/$pre-reprice.json" auction-2 winner-and-price "file://$LS_DIR/out/$pre-reprice.csv" \
    "$(party Buyer1 "$f1" "$k1" "$fmt" "$bind")" "$(party Buyer2 "$f2" "$k2" "$fmt" "$bind")"
  manifest "$LS_DIR/$pre-twice.json" auction-1 winner-and-price "file://$LS_DIR/out/$pre-twice.csv" \
    "$(party Buyer1 "$f1" "$k1" "$fmt" "$bind")" "$(party Buyer1b "$f1" "alias/${k1##*/}" "$fmt" "$bind")"
  manifest "$LS_DIR/$pre-probe.json" auction-1 winner "file://$LS_DIR/out/$pre-probe.csv" \
    "$(party Buyer1 "$f1" "$k1" "$fmt" "$bind")" "$(party Probe "$LS_DIR/probe-$fmt.csv" "$OPKEY" "$fmt" "$([ "$fmt" = sealed ] && echo job || echo none)")"
}
attacks kms-csv "$LS_DIR/b1.csv" "$LS_DIR/b2.csv" "$K1" alias/buyer2 job bound
# The twice attack names buyer1's key by alias: its alias is alias/buyer1.
sed -i "s|alias/$(basename "$K1")|alias/buyer1|" "$LS_DIR/bound-twice.json"
# The operator's probe: its own ciphertext for property 1 (a guess of 150000).
ls_encrypt operator "$OPKEY" "$LS_DIR/probe-kms-csv.csv" 1=150000
expect_refused "new job id disclosing prices (kms-csv)" "InvalidCiphertextException\|context" \
  "$LS_DIR/bound-reprice.json" "$LS_DIR/out/bound-reprice.csv"
expect_refused "Buyer1 listed twice (kms-csv)" "same KMS key\|same ciphertext\|InvalidCiphertext" \
  "$LS_DIR/bound-twice.json" "$LS_DIR/out/bound-twice.csv"
expect_refused "probe party under the operator's key (kms-csv)" "party Buyer1" \
  "$LS_DIR/bound-probe.json" "$LS_DIR/out/bound-probe.csv"
# The agreed manifest, Buyer2's file edited.
cp "$LS_DIR/b2.csv" "$LS_DIR/b2.orig"
sed -i '3d' "$LS_DIR/b2.csv"                                        # a row dropped
expect_refused "agreed manifest, a row dropped (kms-csv)" "row count differs" "$AGREED" "$OUT"
awk -F, 'NR==2{c=$2} NR==4{print "3," c; next} {print}' "$LS_DIR/b2.orig" >"$LS_DIR/b2.csv"  # moved
expect_refused "agreed manifest, a ciphertext moved to property 3 (kms-csv)" "Buyer2" "$AGREED" "$OUT"
{ sed -n 1,2p "$LS_DIR/b2.orig"; sed -n 2p "$LS_DIR/b2.orig"; sed -n '3,$p' "$LS_DIR/b2.orig"; } >"$LS_DIR/b2.csv"
expect_refused "agreed manifest, a row duplicated (kms-csv)" "Buyer2" "$AGREED" "$OUT"
cp "$LS_DIR/b2.orig" "$LS_DIR/b2.csv"
run_job "$AGREED" >/dev/null 2>"$LS_DIR/run.err" && verify "$AGREED" "$OUT" \
  && ok "after the attacks the agreed job still runs and verifies" || bad "agreed rerun: $(cat "$LS_DIR/run.err")"

# ---- kms-csv, "binding": "none": the same attacks succeed --------------
ls_encrypt buyer4 alias/buyer4 "$LS_DIR/b4.csv" 1=200000 2=300000 3=100000
attacks kms-csv "$LS_DIR/b3.csv" "$LS_DIR/b4.csv" "$K3" alias/buyer4 none unbound
if run_job "$LS_DIR/unbound-reprice.json" >/dev/null 2>"$LS_DIR/none.err" &&
   grep -q "300000" "$LS_DIR/out/unbound-reprice.csv"; then
  ok "binding none: a new job id prints the bids ($(tr '\n' ' ' <"$LS_DIR/out/unbound-reprice.csv"))"
else bad "binding none reprice: $(cat "$LS_DIR/none.err")"; fi
grep -qi "warning.*re-run\|re-run.*warning" "$LS_DIR/none.err" && ok "binding none: the warning is printed" \
  || bad "binding none: no warning: $(cat "$LS_DIR/none.err")"
sed -i "s|\"Buyer1\",\"input\":\"file://$LS_DIR/b1.csv\"|\"Buyer1\",\"input\":\"file://$LS_DIR/b3.csv\"|" \
  "$LS_DIR/unbound-probe.json"
if run_job "$LS_DIR/unbound-probe.json" >/dev/null 2>"$LS_DIR/none.err" &&
   grep -q "^1,Buyer1 Wins\|^1,Tie\|^1,Probe Wins" "$LS_DIR/out/unbound-probe.csv"; then
  ok "binding none: the probe party learns a comparison ($(sed -n 2p "$LS_DIR/out/unbound-probe.csv"))"
else bad "binding none probe: $(cat "$LS_DIR/none.err")"; fi
manifest "$LS_DIR/unbound-agreed.json" auction-1 winner "file://$LS_DIR/out/unbound-agreed.csv" \
  "$(party Buyer1 "$LS_DIR/b3.csv" "$K3" kms-csv none)" "$(party Buyer2 "$LS_DIR/b4.csv" alias/buyer4 kms-csv none)"
sed -i '3d' "$LS_DIR/b4.csv"  # Buyer2's winning bid on property 2 dropped
if run_job "$LS_DIR/unbound-agreed.json" >/dev/null 2>"$LS_DIR/none.err" &&
   grep -q "^2,Buyer1 Wins" "$LS_DIR/out/unbound-agreed.csv" && verify "$LS_DIR/unbound-agreed.json" "$LS_DIR/out/unbound-agreed.csv"; then
  ok "binding none: a dropped row changes the winner under a valid receipt"
else bad "binding none drop: $(cat "$LS_DIR/none.err")"; fi
# Listed twice and a duplicated row are refused whatever the binding.
sed -i "s|alias/$(basename "$K3")|alias/buyer3|" "$LS_DIR/unbound-twice.json"
sed -i "s|file://$LS_DIR/b1.csv|file://$LS_DIR/b3.csv|g" "$LS_DIR/unbound-twice.json"
expect_refused "binding none: Buyer1 listed twice (same key)" "same KMS key\|same ciphertext" \
  "$LS_DIR/unbound-twice.json" "$LS_DIR/out/unbound-twice.csv"

# ---- sealed (AWS Encryption SDK messages), job-bound --------------------
# Buyer 1 seals with sealbid seal; Buyer 2 with AWS's own SDK for JavaScript
# (@aws-crypto/client-node) when installed, else with sealbid seal.
SAGREED=$LS_DIR/sagreed.json SOUT=$LS_DIR/out/sagreed.csv
manifest "$SAGREED" sealed-1 winner "file://$SOUT" \
  "$(party Buyer1 "$LS_DIR/s1.sealed" "$K1" sealed job)" \
  "$(party Buyer2 "$LS_DIR/s2.sealed" "$K2" sealed job)"
SHASH=$("$SB" manifest hash "$SAGREED")
printf '[].contract,[].bid\n1,100000\n2,200000\n3,150000\n' >"$LS_DIR/splain1.csv"
printf '[].contract,[].bid\n1,200000\n2,300000\n3,100000\n' >"$LS_DIR/splain2.csv"
seal() { # BUYER PARTY PLAIN OUT [MANIFEST]
  ls_as "$1" "$SB" seal --key-id "alias/$1" --manifest "${5:-$SAGREED}" --party "$2" "$3" -o "$4"
}
seal buyer1 Buyer1 "$LS_DIR/splain1.csv" "$LS_DIR/s1.sealed"
NODE_PATH=$SB_SRC/tools/node_modules
if command -v node >/dev/null && [ -f "$NODE_PATH/@aws-crypto/client-node/package.json" ]; then
  NODE_PATH=$NODE_PATH NODE_NO_WARNINGS=1 ls_as buyer2 node "$SB_SRC/tests/integration/esdk_interop.js" \
    encrypt "$LS_KMS_URL" "$K2" 0x0578 4096 "$SHASH" Buyer2 "$LS_DIR/splain2.csv" "$LS_DIR/s2.sealed"
  ok "Buyer2 sealed with @aws-crypto/client-node"
else
  seal buyer2 Buyer2 "$LS_DIR/splain2.csv" "$LS_DIR/s2.sealed"
  ok "Buyer2 sealed with sealbid seal (client-node not installed)"
fi
if run_job "$SAGREED" >/dev/null 2>"$LS_DIR/run.err" && [ "$(cat "$SOUT")" = "$expected" ]; then
  ok "the agreed sealed job runs"
else bad "agreed sealed job: $(cat "$LS_DIR/run.err")"; fi
verify "$SAGREED" "$SOUT" && ok "its receipt verifies" || bad "verify: $(cat "$LS_DIR/verify.err")"

attacks sealed "$LS_DIR/s1.sealed" "$LS_DIR/s2.sealed" "$K1" "$K2" job sealed
sed -i "s|alias/$(basename "$K1")|alias/buyer1|" "$LS_DIR/sealed-twice.json"
printf '[].contract,[].bid\n1,150000\n' >"$LS_DIR/probe-plain.csv"
ls_as operator "$SB" seal --key-id "$OPKEY" --manifest "$LS_DIR/sealed-probe.json" --party Probe \
  "$LS_DIR/probe-plain.csv" -o "$LS_DIR/probe-sealed.csv"
expect_refused "new job id disclosing prices (sealed)" "encryption context does not match" \
  "$LS_DIR/sealed-reprice.json" "$LS_DIR/out/sealed-reprice.csv"
expect_refused "Buyer1 listed twice (sealed)" "encryption context does not match\|same KMS key" \
  "$LS_DIR/sealed-twice.json" "$LS_DIR/out/sealed-twice.csv"
expect_refused "probe party under the operator's key (sealed)" "party Buyer1" \
  "$LS_DIR/sealed-probe.json" "$LS_DIR/out/sealed-probe.csv"
# The agreed manifest, Buyer2's message edited: a row cannot be dropped,
# moved or duplicated without breaking a frame, the sequence or the signature.
cp "$LS_DIR/s2.sealed" "$LS_DIR/s2.orig"
size=$(stat -c %s "$LS_DIR/s2.orig")
python3 - "$LS_DIR/s2.orig" "$LS_DIR/s2.sealed" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[len(d) - 150] ^= 1   # a byte of the body (the row data)
open(sys.argv[2], "wb").write(bytes(d))
PY
expect_refused "agreed manifest, a byte of Buyer2's rows changed (sealed)" "party Buyer2" "$SAGREED" "$SOUT"
head -c $((size - 20)) "$LS_DIR/s2.orig" >"$LS_DIR/s2.sealed"
expect_refused "agreed manifest, Buyer2's message cut short (sealed)" "party Buyer2" "$SAGREED" "$SOUT"
{ cat "$LS_DIR/s2.orig"; printf '2,999999\n'; } >"$LS_DIR/s2.sealed"
expect_refused "agreed manifest, a row appended to Buyer2's message (sealed)" "bytes after the end" "$SAGREED" "$SOUT"
cp "$LS_DIR/s1.sealed" "$LS_DIR/s2.sealed"
expect_refused "agreed manifest, Buyer1's message as Buyer2's (sealed)" "party Buyer2" "$SAGREED" "$SOUT"
cp "$LS_DIR/s2.orig" "$LS_DIR/s2.sealed"
run_job "$SAGREED" >/dev/null 2>"$LS_DIR/run.err" && verify "$SAGREED" "$SOUT" \
  && ok "after the attacks the agreed sealed job still runs and verifies" || bad "sealed rerun: $(cat "$LS_DIR/run.err")"

# Mixed: a sealed party next to a kms-csv party, both bound.
MIXED=$LS_DIR/mixed.json
manifest "$MIXED" mixed-1 winner "file://$LS_DIR/out/mixed.csv" \
  "$(party Buyer1 "$LS_DIR/m1.sealed" "$K1" sealed job)" \
  "$(party Buyer2 "$LS_DIR/m2.csv" alias/buyer2 kms-csv job)"
seal buyer1 Buyer1 "$LS_DIR/splain1.csv" "$LS_DIR/m1.sealed" "$MIXED"
ls_as buyer2 "$SB" encrypt-bids --key-id alias/buyer2 --manifest "$MIXED" --party Buyer2 \
  <(tail -n +2 "$LS_DIR/splain2.csv") >"$LS_DIR/m2.csv"
if run_job "$MIXED" >/dev/null 2>"$LS_DIR/run.err" && [ "$(cat "$LS_DIR/out/mixed.csv")" = "$expected" ] &&
   verify "$MIXED" "$LS_DIR/out/mixed.csv"; then ok "a mixed job (sealed + kms-csv) runs and verifies"
else bad "mixed job: $(cat "$LS_DIR/run.err")"; fi

# No plaintext bid in any log or error.
leaks=$(grep -lwE '100000|200000|150000|300000' "$LS_DIR"/*.log "$LS_DIR"/*.err \
  "$SEALBID_STATE"/enclaves/*.log 2>/dev/null || true)
[ -z "$leaks" ] && ok "no bid value in any log or error" || bad "bid values in: $leaks"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
