#!/usr/bin/env bash
# deploy/README.md followed on the local stack, step by step: the operator's
# output bucket and the buyers' keys and buckets (sealbid-kms, a local S3
# server), the image measured, a manifest naming keys by alias ARN and key
# ARN, a debug-mode rehearsal under deploy/policies/buyer-key-policy-job.json
# rendered with the all-zero pin (the real job refused under it), the pinned
# production policies (`sealbid policy --require-job` for buyer 1, the
# rendered template for buyer 2), job-bound bids (encrypt-bids and seal), the
# production run from S3 to S3, `sealbid verify` by each buyer, and the
# clean-up (key deletion scheduled: the job can no longer run; buckets
# removed). Commands other helpers add (`policy check`, `make
# enclave-static`) run only when this build has them.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
R=$SB_SRC/deploy/policies/render
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin

if ! ls_have_aws; then
	echo "test_deploy_walkthrough: SKIP (the walk-through uses the AWS CLI v2; run scripts/install-deps.sh)"
	exit 0
fi

ROLE_ARN=arn:aws:iam::$LS_ACCOUNT:role/operator
OUT_BUCKET=sealbid-results
D=$LS_DIR
expected=$'Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins'
Z=$(printf '%096d' 0)

ls_start_kms user/buyer1 user/buyer2 role/operator
ls_start_proxy
ls_start_s3
run_job() { # MANIFEST CID
	AWS_ENDPOINT_URL_S3=$LS_S3_URL ls_as operator "$SB" run --manifest "$1" --enclave-cid "$2"
}
# S3 through curl's SigV4 (one AWS CLI start costs seconds on a loaded box);
# the README's `aws s3 mb/cp/rb` do the same requests.
s3() { curl -sS --fail-with-body --aws-sigv4 "aws:amz:$LS_REGION:s3" --user S3LOCALACCESSKEY1:local-s3-secret "$@"; }
s3mb() { s3 -X PUT "$LS_S3_URL/$1" >/dev/null; }
s3put() { s3 -T "$3" "$LS_S3_URL/$1/$2" >/dev/null; }
s3get() { s3 -o "$3" "$LS_S3_URL/$1/$2"; }
s3has() { s3 -o /dev/null -I "$LS_S3_URL/$1/$2" 2>/dev/null; }
s3keys() { s3 "$LS_S3_URL/$1?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's#</\{0,1\}Key>##g' || true; }
s3rb() { local k; for k in $(s3keys "$1"); do s3 -X DELETE "$LS_S3_URL/$1/$k" >/dev/null; done; s3 -X DELETE "$LS_S3_URL/$1" >/dev/null; }

# ---- 1. Operator: output bucket; role policies rendered -------------------
s3mb "$OUT_BUCKET" && ok "step 1: output bucket" || bad "step 1: output bucket"
"$R" "$SB_SRC/deploy/policies/operator-role-trust-policy.json" >"$D/trust.json" &&
	"$R" "$SB_SRC/deploy/policies/operator-output-bucket-policy.json" BUYER1_ACCOUNT=$LS_ACCOUNT \
		BUYER2_ACCOUNT=$LS_ACCOUNT OUTPUT_BUCKET=$OUT_BUCKET OUTPUT_PREFIX=auction-1/ >"$D/out-bucket.json" &&
	ok "step 1: trust and output bucket policies render" || bad "step 1: policies do not render"

# ---- 2. Buyers: keys, aliases, buckets; operator role policy --------------
K1=$(ls_create_key buyer1 buyer1)
K2=$(ls_create_key buyer2 buyer2)
A1=arn:aws:kms:$LS_REGION:$LS_ACCOUNT:alias/buyer1
for b in 1 2; do
	s3mb "buyer$b-bids"
	"$R" "$SB_SRC/deploy/policies/buyer-bucket-policy.json" OPERATOR_ROLE_ARN=$ROLE_ARN \
		BUYER_BUCKET=buyer$b-bids BIDS_PREFIX=bids/ >"$D/bucket$b.json" || bad "step 2: bucket policy $b"
done
"$R" "$SB_SRC/deploy/policies/operator-role-policy.json" BUYER1_KEY_ARN="$K1" BUYER2_KEY_ARN="$K2" \
	BUYER1_BUCKET=buyer1-bids BUYER2_BUCKET=buyer2-bids BIDS_PREFIX=bids/ OUTPUT_BUCKET=$OUT_BUCKET \
	OUTPUT_PREFIX=auction-1/ >"$D/role-policy.json" || bad "step 2: operator role policy"
[[ "$K1" == arn:aws:kms:* && "$K2" == arn:aws:kms:* ]] && ok "step 2: keys $K1, $K2 and buckets" ||
	bad "step 2: keys: $K1 $K2"

# ---- 3. Build and measure -------------------------------------------------
if grep -q '^enclave-static:' "$SB_SRC/Makefile"; then
	echo "note: 'make enclave-static' exists; not rebuilt here (the static build has its own test)"
fi
ls_build_image "$D/enclave.img"
"$SB" image measure "$D/enclave.img" >"$D/pcrs.json"
jq -e '.Measurements | (.PCR0 | length) == 96 and (.PCR1 | length) == 96 and (.PCR2 | length) == 96' \
	"$D/pcrs.json" >/dev/null && ok "step 3: image measured" || bad "step 3: measurements: $(cat "$D/pcrs.json")"
PCR0=$(jq -r .Measurements.PCR0 "$D/pcrs.json")
PCR1=$(jq -r .Measurements.PCR1 "$D/pcrs.json")
PCR2=$(jq -r .Measurements.PCR2 "$D/pcrs.json")

# ---- 4. The manifests: keys by alias ARN and key ARN ----------------------
manifest() { # FILE JOB_ID INPUT_NAME OUTPUT_NAME BUYER2_FORMAT BUYER2_EXT
	cat >"$1" <<J
{"version": 1, "job_id": "$2", "region": "$LS_REGION",
 "computation": "highest-bid", "disclose": "winner",
 "parties": [
  {"name": "Buyer1", "input": "s3://buyer1-bids/bids/$3.csv", "key": "$A1", "format": "kms-csv", "binding": "job"},
  {"name": "Buyer2", "input": "s3://buyer2-bids/bids/$3.$6", "key": "$K2", "format": "$5", "binding": "job"}],
 "output": "s3://$OUT_BUCKET/auction-1/$4.csv"}
J
}
manifest "$D/job.json" auction-1 auction-1 output sealed sealed
# The rehearsal manifest exactly as deploy/README.md derives it.
jq '.job_id = "auction-1-rehearsal"
    | .parties[] |= (.input |= sub("/bids/[^/]*$"; "/bids/rehearsal.csv") | .format = "kms-csv")
    | .output |= sub("/output\\.csv$"; "/rehearsal.csv")' "$D/job.json" >"$D/rehearsal.json"
HASH=$("$SB" manifest hash "$D/job.json")
RHASH=$("$SB" manifest hash "$D/rehearsal.json")
"$SB" manifest show "$D/job.json" | grep -q "party Buyer1: format kms-csv, binding job, key $A1" &&
	[ ${#HASH} -eq 96 ] && [ "$HASH" != "$RHASH" ] && ok "step 4: manifests agreed ($HASH)" ||
	bad "step 4: manifest show/hash"

# ---- 5. Debug-mode rehearsal ----------------------------------------------
for b in 1 2; do
	"$R" "$SB_SRC/deploy/policies/buyer-key-policy-job.json" BUYER_ACCOUNT=$LS_ACCOUNT OPERATOR_ROLE_ARN=$ROLE_ARN \
		PCR0="$Z" PCR1="$Z" PCR2="$Z" MANIFEST_HASH="$RHASH" >"$D/debug-policy$b.json"
	ls_put_policy "buyer$b" "alias/buyer$b" "$D/debug-policy$b.json" >/dev/null
done
bids() { # FILE P1 P2 P3: "property,amount" lines (encrypt-bids); FILE.hdr with the
	# AWS sample's header (seal)
	( umask 077; printf '1,%s\n2,%s\n3,%s\n' "$2" "$3" "$4" >"$1"
	  { echo '[].contract,[].bid'; cat "$1"; } >"$1.hdr" )
}
bids "$D/test1.csv" 100 200 150
bids "$D/test2.csv" 200 300 100
ls_as buyer1 "$SB" encrypt-bids --key-id "$A1" --manifest "$D/rehearsal.json" --party Buyer1 \
	"$D/test1.csv" >"$D/r1.csv"
ls_as buyer2 "$SB" encrypt-bids --key-id "$K2" --manifest "$D/rehearsal.json" --party Buyer2 \
	"$D/test2.csv" >"$D/r2.csv"
s3put buyer1-bids bids/rehearsal.csv "$D/r1.csv"
s3put buyer2-bids bids/rehearsal.csv "$D/r2.csv"
"$SB" enclave run --image "$D/enclave.img" --cid 16 --debug-mode >/dev/null
if run_job "$D/rehearsal.json" 16 >/dev/null 2>"$D/rehearsal.err"; then
	s3get $OUT_BUCKET auction-1/rehearsal.csv "$D/rehearsal-out.csv"
	s3get $OUT_BUCKET auction-1/rehearsal.receipt "$D/rehearsal-out.receipt"
	[ "$(cat "$D/rehearsal-out.csv")" = "$expected" ] && ok "step 5: rehearsal in debug mode ran" ||
		bad "step 5: rehearsal output: $(cat "$D/rehearsal-out.csv")"
else bad "step 5: rehearsal: $(cat "$D/rehearsal.err")"; fi
vfy() { # RECEIPT OUTPUT MANIFEST PCR-ARGS...
	local rc=$1 out=$2 man=$3
	shift 3
	"$SB" verify --receipt "$rc" --output "$out" --manifest "$man" --root "$D/dev-root.pem" "$@" \
		>/dev/null 2>"$D/verify.err"
}
vfy "$D/rehearsal-out.receipt" "$D/rehearsal-out.csv" "$D/rehearsal.json" --allow-debug --expect-pcr "0=$Z" &&
	ok "step 5: rehearsal receipt verifies with --allow-debug" || bad "step 5: debug verify: $(cat "$D/verify.err")"
vfy "$D/rehearsal-out.receipt" "$D/rehearsal-out.csv" "$D/rehearsal.json" --expect-pcr "0=$Z" &&
	bad "step 5: a debug receipt verified without --allow-debug" || ok "step 5: debug receipt refused without --allow-debug"

# The real bids, encrypted now, cannot be had by the debug enclave: the
# rehearsal policy is pinned to the rehearsal manifest.
bids "$D/bids1.csv" 100000 200000 150000
bids "$D/bids2.csv" 200000 300000 100000
ls_as buyer1 "$SB" encrypt-bids --key-id "$A1" --manifest "$D/job.json" --party Buyer1 \
	"$D/bids1.csv" >"$D/auction-1.csv"
ls_as buyer2 "$SB" seal --key-id "$K2" --manifest "$D/job.json" --party Buyer2 "$D/bids2.csv.hdr" \
	-o "$D/auction-1.sealed" 2>"$D/seal.err" || bad "step 6: seal: $(cat "$D/seal.err")"
s3put buyer1-bids bids/auction-1.csv "$D/auction-1.csv"
s3put buyer2-bids bids/auction-1.sealed "$D/auction-1.sealed"
if run_job "$D/job.json" 16 >/dev/null 2>"$D/real-on-debug.err"; then
	bad "step 5: the real job ran on the debug enclave under the rehearsal policy"
else
	grep -q AccessDenied "$D/real-on-debug.err" && ok "step 5: real job refused under the rehearsal policy" ||
		bad "step 5: real job on debug: $(cat "$D/real-on-debug.err")"
fi
s3has $OUT_BUCKET auction-1/output.csv &&
	bad "step 5: the refused job published output" || true
"$SB" enclave terminate --all >/dev/null

# ---- 6. Production policies: sealbid policy (buyer 1), template (buyer 2) --
"$SB" policy --role-arn "$ROLE_ARN" --owner "arn:aws:iam::$LS_ACCOUNT:user/buyer1" --pcrs "$D/pcrs.json" \
	--require-job >"$D/key-policy1.json"
# The local stack has one account, so the template's owner (the buyer
# account's root) would take in the operator's role too: name buyer 2 itself,
# as a buyer with its own account gets from arn:aws:iam::<account>:root.
"$R" "$SB_SRC/deploy/policies/buyer-key-policy.json" BUYER_ACCOUNT=$LS_ACCOUNT OPERATOR_ROLE_ARN=$ROLE_ARN \
	PCR0="$PCR0" PCR1="$PCR1" PCR2="$PCR2" |
	jq --arg o "arn:aws:iam::$LS_ACCOUNT:user/buyer2" '(.Statement[] | select(.Sid == "KeyOwnerAdministers")
		| .Principal.AWS) = $o' >"$D/key-policy2.json"
if "$SB" policy --help 2>&1 | grep -q 'policy check'; then
	for b in 1 2; do
		"$SB" policy check "$D/key-policy$b.json" --pcrs "$D/pcrs.json" >"$D/lint.out" 2>&1 &&
			ok "step 6: policy check passes policy $b" || bad "step 6: policy check $b: $(cat "$D/lint.out")"
	done
	"$SB" policy check "$D/debug-policy1.json" --pcrs "$D/pcrs.json" >/dev/null 2>&1 &&
		bad "step 6: policy check passed the all-zero rehearsal policy" || ok "step 6: policy check flags the zero pin"
else
	echo "note: this build has no 'sealbid policy check'; step 6 lint not run"
fi
for b in 1 2; do ls_put_policy "buyer$b" "alias/buyer$b" "$D/key-policy$b.json" >/dev/null; done
ok "step 6: pinned policies applied"

# ---- 7. Production run ----------------------------------------------------
"$SB" enclave run --image "$D/enclave.img" --cid 16 >/dev/null
if run_job "$D/job.json" 16 >"$D/run.out" 2>"$D/run.err"; then
	ok "step 7: production job ran (S3 in, S3 out)"
else bad "step 7: production job: $(cat "$D/run.err")"; fi
"$SB" enclave run --image "$D/enclave.img" --cid 17 --debug-mode >/dev/null
if run_job "$D/job.json" 17 >/dev/null 2>"$D/probe.err"; then
	bad "step 7: a debug enclave decrypted under the pinned policy"
else grep -q AccessDenied "$D/probe.err" && ok "step 7: debug enclave refused by the pinned policy" ||
	bad "step 7: debug probe: $(cat "$D/probe.err")"; fi

# ---- 8. Each buyer verifies -----------------------------------------------
for b in 1 2; do
	mkdir -p "$D/buyer$b"
	s3get $OUT_BUCKET auction-1/output.csv "$D/buyer$b/output.csv" &&
		s3get $OUT_BUCKET auction-1/output.receipt "$D/buyer$b/output.receipt" || bad "step 8: buyer $b download"
	[ "$(cat "$D/buyer$b/output.csv")" = "$expected" ] || bad "step 8: buyer $b output: $(cat "$D/buyer$b/output.csv")"
	vfy "$D/buyer$b/output.receipt" "$D/buyer$b/output.csv" "$D/job.json" --pcrs "$D/pcrs.json" &&
		ok "step 8: buyer $b verifies the receipt" || bad "step 8: buyer $b verify: $(cat "$D/verify.err")"
done
vfy "$D/buyer1/output.receipt" "$D/buyer1/output.csv" "$D/rehearsal.json" --pcrs "$D/pcrs.json" &&
	bad "step 8: receipt verified against another manifest" || ok "step 8: receipt does not verify for another manifest"

# ---- 9. Clean up ----------------------------------------------------------
for b in 1 2; do
	key=$K1; [ $b = 1 ] || key=$K2
	ls_aws "buyer$b" kms schedule-key-deletion --key-id "$key" --pending-window-in-days 7 \
		--query KeyState --output text >"$D/state$b" || bad "step 9: schedule-key-deletion $b"
done
[ "$(cat "$D/state1")" = PendingDeletion ] && [ "$(cat "$D/state2")" = PendingDeletion ] &&
	ok "step 9: keys pending deletion" || bad "step 9: key states $(cat "$D/state1" "$D/state2")"
if run_job "$D/job.json" 16 >/dev/null 2>"$D/after.err"; then bad "step 9: a job ran with keys pending deletion"
else grep -q KMSInvalidState "$D/after.err" && ok "step 9: no job after key deletion" ||
	bad "step 9: after deletion: $(cat "$D/after.err")"; fi
"$SB" enclave terminate --all >/dev/null
for b in 1 2; do ls_aws "buyer$b" kms delete-alias --alias-name "alias/buyer$b" || bad "step 9: delete-alias $b"; done
for bk in buyer1-bids buyer2-bids $OUT_BUCKET; do s3rb "$bk" || bad "step 9: delete bucket $bk"; done
s3 "$LS_S3_URL/" | grep -qE 'bids|sealbid-results' && bad "step 9: buckets left" || ok "step 9: buckets removed"

# No bid value in any log or error of the walk-through.
leaks=$(grep -lwE '100000|200000|150000|300000' "$D"/*.log "$D"/*.err "$SEALBID_STATE"/enclaves/*.log 2>/dev/null || true)
[ -z "$leaks" ] && ok "no bid value in any log or error" || bad "bid values in: $leaks"

ls_checks_done test_deploy_walkthrough
