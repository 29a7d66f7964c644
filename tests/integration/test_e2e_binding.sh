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
    "$(party Buyer1 "$f1" "$k1" "$fmt" "$bind")" "$(party Probe "$LS_DIR/probe-$fmt.csv" "$OPKEY" "$fmt" none)"
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

# SEALED-PART

# No plaintext bid in any log or error.
leaks=$(grep -lwE '100000|200000|150000|300000' "$LS_DIR"/*.log "$LS_DIR"/*.err \
  "$SEALBID_STATE"/enclaves/*.log 2>/dev/null || true)
[ -z "$leaks" ] && ok "no bid value in any log or error" || bad "bid values in: $leaks"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
