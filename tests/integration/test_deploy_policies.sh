#!/usr/bin/env bash
# Integration test for deploy/policies/: every template is JSON as it stands
# and a policy document after deploy/policies/render fills its
# placeholders; the buyer key policies are exactly what `sealbid policy
# --require-job` / `--job` print for the same values (so `policy check` and
# sealbid-kms treat them alike); the bucket, operator and trust policies
# grant what deploy/policies/README.md says and nothing more; render refuses
# a missing, unknown or unsafe value.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:?set SB_SRC to the source tree}
P="$SB_SRC/deploy/policies"
SB="$SB_BIN/sealbid"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
render() { "$P/render" "$@"; }

hex() { printf "%096d" 0 | tr 0 "$1"; }
PCR0=$(hex a) PCR1=$(hex b) PCR2=$(hex c)
printf '{"Measurements":{"HashAlgorithm":"Sha384 { ... }","PCR0":"%s","PCR1":"%s","PCR2":"%s"}}\n' \
	"$PCR0" "$PCR1" "$PCR2" >"$TMP/pcrs.json"
OPERATOR=111122223333
OPROLE=arn:aws:iam::$OPERATOR:role/sealbid-parent
B1=444455556666 B2=777788889999
K1=arn:aws:kms:us-east-1:$B1:key/1234abcd-12ab-34cd-56ef-1234567890ab
K2=arn:aws:kms:us-east-1:$B2:alias/buyer2

# Every template parses as it is (placeholders sit inside strings).
n=0
for f in "$P"/*.json; do
	n=$((n + 1))
	jq -e . "$f" >/dev/null 2>&1 || fail "$(basename "$f") is not JSON"
	grep -qF "$(basename "$f")" "$P/README.md" || fail "$(basename "$f") is not described in README.md"
done
[ "$n" -ge 7 ] || fail "only $n templates"

# Buyer key policy == sealbid policy --require-job.
render "$P/buyer-key-policy.json" BUYER_ACCOUNT=$B1 OPERATOR_ROLE_ARN=$OPROLE \
	PCR0="$PCR0" PCR1="$PCR1" PCR2="$PCR2" >"$TMP/key.json" || fail "render buyer-key-policy"
"$SB" policy --role-arn $OPROLE --owner arn:aws:iam::$B1:root --pcrs "$TMP/pcrs.json" --require-job \
	>"$TMP/key-sb.json"
[ "$(jq -S . "$TMP/key.json")" = "$(jq -S . "$TMP/key-sb.json")" ] ||
	{ fail "buyer-key-policy.json differs from sealbid policy --require-job"; diff <(jq -S . "$TMP/key.json") <(jq -S . "$TMP/key-sb.json") >&2 || true; }

# Job-pinned key policy == sealbid policy --job.
cat >"$TMP/job.json" <<JOB
{"version":1,"job_id":"auction-1","region":"us-east-1","computation":"highest-bid","disclose":"winner",
 "parties":[{"name":"Buyer1","input":"s3://buyer1-bids/bids/b1.csv","key":"$K1","format":"kms-csv","binding":"job"},
            {"name":"Buyer2","input":"s3://buyer2-bids/bids/b2.csv","key":"$K2","format":"kms-csv","binding":"job"}],
 "output":"s3://operator-results/auction-1/output.csv"}
JOB
HASH=$("$SB" manifest hash "$TMP/job.json")
render "$P/buyer-key-policy-job.json" BUYER_ACCOUNT=$B1 OPERATOR_ROLE_ARN=$OPROLE \
	PCR0="$PCR0" PCR1="$PCR1" PCR2="$PCR2" MANIFEST_HASH="$HASH" >"$TMP/keyjob.json" || fail "render job policy"
"$SB" policy --role-arn $OPROLE --owner arn:aws:iam::$B1:root --pcrs "$TMP/pcrs.json" --job "$TMP/job.json" \
	>"$TMP/keyjob-sb.json"
[ "$(jq -S . "$TMP/keyjob.json")" = "$(jq -S . "$TMP/keyjob-sb.json")" ] ||
	fail "buyer-key-policy-job.json differs from sealbid policy --job"

# Cross-account statements: the three non-owner statements of the key policy.
render "$P/buyer-key-cross-account-statements.json" OPERATOR_ROLE_ARN=$OPROLE \
	PCR0="$PCR0" PCR1="$PCR1" PCR2="$PCR2" >"$TMP/xacct.json" || fail "render cross-account statements"
# Its Denies also cover kms:ReEncryptFrom: an existing policy's owner
# statement (AWS's default grants kms:* to the account) would otherwise let
# ReEncrypt move a bid to a key without attestation conditions.
[ "$(jq -S . "$TMP/xacct.json")" = "$(jq -S '.Statement[1:] |
	(.[] | select(.Effect == "Deny") | .Action) = ["kms:Decrypt", "kms:ReEncryptFrom"]' "$TMP/key-sb.json")" ] ||
	fail "cross-account statements differ from the policy's"
# ... and merged into a default key policy they give the same decisions.
jq --slurpfile s "$TMP/xacct.json" '.Statement += $s[0]' >"$TMP/merged.json" <<DEF
{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",
 "Principal":{"AWS":"arn:aws:iam::$B1:root"},"Action":"kms:*","Resource":"*"}]}
DEF
[ "$(jq '.Statement | length' "$TMP/merged.json")" -eq 4 ] || fail "merge recipe"

# Buyer bucket: the operator role may GetObject under the bids prefix, nothing else.
render "$P/buyer-bucket-policy.json" OPERATOR_ROLE_ARN=$OPROLE BUYER_BUCKET=buyer1-bids BIDS_PREFIX=bids/ \
	>"$TMP/bucket.json" || fail "render bucket policy"
jq -e --arg r "$OPROLE" '[.Statement[] | select(.Effect == "Allow")] |
	length == 1 and .[0].Principal.AWS == $r and .[0].Action == "s3:GetObject" and
	.[0].Resource == "arn:aws:s3:::buyer1-bids/bids/*"' "$TMP/bucket.json" >/dev/null ||
	fail "bucket policy does not allow exactly GetObject on the bids prefix"
jq -e 'any(.Statement[]; .Effect == "Deny" and .Condition.Bool."aws:SecureTransport" == "false")' \
	"$TMP/bucket.json" >/dev/null || fail "bucket policy lets plain HTTP in"

# Operator role: Decrypt on each buyer key ARN, reads, one write prefix.
render "$P/operator-role-policy.json" BUYER1_KEY_ARN=$K1 BUYER2_KEY_ARN=$K2 BUYER1_BUCKET=buyer1-bids \
	BUYER2_BUCKET=buyer2-bids BIDS_PREFIX=bids/ OUTPUT_BUCKET=operator-results OUTPUT_PREFIX=auction-1/ \
	>"$TMP/op.json" || fail "render operator policy"
jq -e --arg k1 "$K1" --arg k2 "$K2" '
	(.Statement[] | select(.Action == "kms:Decrypt") | .Resource) == [$k1, $k2] and
	(.Statement[] | select(.Action == "s3:GetObject") | .Resource) ==
		["arn:aws:s3:::buyer1-bids/bids/*", "arn:aws:s3:::buyer2-bids/bids/*"] and
	(.Statement[] | select(.Action == "s3:PutObject") | .Resource) == "arn:aws:s3:::operator-results/auction-1/*" and
	all(.Statement[]; .Effect == "Allow" and (.Action | test("\\*") | not))' "$TMP/op.json" >/dev/null ||
	fail "operator role policy"
render "$P/operator-role-trust-policy.json" >"$TMP/trust.json" || fail "render trust policy"
jq -e '.Statement == [{"Sid":"Ec2AssumesTheParentInstanceRole","Effect":"Allow",
	"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]' "$TMP/trust.json" >/dev/null ||
	fail "trust policy"
render "$P/operator-output-bucket-policy.json" BUYER1_ACCOUNT=$B1 BUYER2_ACCOUNT=$B2 \
	OUTPUT_BUCKET=operator-results OUTPUT_PREFIX=auction-1/ >"$TMP/out.json" || fail "render output bucket policy"
jq -e '[.Statement[] | select(.Effect == "Allow") | .Action] == ["s3:GetObject"]' "$TMP/out.json" >/dev/null ||
	fail "output bucket policy lets buyers do more than read"

# render's failure paths: each one clear line, nothing on stdout.
refuse() { # WHAT PATTERN ARGS...
	local what=$1 pat=$2 got=0
	shift 2
	render "$@" >"$TMP/r.out" 2>"$TMP/r.err" || got=$?
	if [ "$got" -eq 0 ] || [ -s "$TMP/r.out" ] || ! grep -q -- "$pat" "$TMP/r.err"; then
		fail "render $what: exit $got, stderr: $(cat "$TMP/r.err")"
	fi
}
refuse "missing value" 'no value for ${PCR1} ${PCR2}' "$P/buyer-key-policy.json" \
	BUYER_ACCOUNT=$B1 OPERATOR_ROLE_ARN=$OPROLE PCR0="$PCR0"
refuse "quote in value" 'has a character outside' "$P/buyer-key-policy.json" 'BUYER_ACCOUNT=1","x":"'
refuse "empty value" 'empty' "$P/buyer-key-policy.json" BUYER_ACCOUNT=
refuse "unknown name" 'has no placeholder ${BUYER_ACOUNT}' "$P/buyer-key-policy.json" BUYER_ACOUNT=$B1
refuse "not NAME=VALUE" 'is not NAME=VALUE' "$P/buyer-key-policy.json" BUYER_ACCOUNT
refuse "no file" 'cannot read' "$TMP/none.json"
echo '{"Version":"2008-10-17","Statement":[]}' >"$TMP/old.json"
refuse "not a policy" 'not a policy document' "$TMP/old.json"

# The linter, where this build has it, passes the rendered key policies.
if "$SB" policy --help 2>&1 | grep -q 'policy check'; then
	"$SB" policy check "$TMP/key.json" --pcrs "$TMP/pcrs.json" >"$TMP/lint.out" 2>&1 ||
		fail "sealbid policy check buyer-key-policy: $(cat "$TMP/lint.out")"
	"$SB" policy check "$TMP/keyjob.json" --pcrs "$TMP/pcrs.json" --manifest "$TMP/job.json" \
		>"$TMP/lint.out" 2>&1 || fail "sealbid policy check buyer-key-policy-job: $(cat "$TMP/lint.out")"
	# The merged cross-account policy too: its owner statement is AWS's default.
	"$SB" policy check "$TMP/merged.json" --pcrs "$TMP/pcrs.json" >"$TMP/lint.out" 2>&1 ||
		fail "sealbid policy check merged cross-account policy: $(cat "$TMP/lint.out")"
	# And the linter is not blind: the zero pin of a rehearsal is a finding.
	z=$(printf '%096d' 0)
	render "$P/buyer-key-policy.json" BUYER_ACCOUNT=$B1 OPERATOR_ROLE_ARN=$OPROLE PCR0="$z" PCR1="$z" PCR2="$z" \
		>"$TMP/zero.json"
	"$SB" policy check "$TMP/zero.json" --pcrs "$TMP/pcrs.json" >/dev/null 2>&1 &&
		fail "sealbid policy check passed an all-zero pin"
else
	echo "test_deploy_policies: note: this build has no 'sealbid policy check'; skipped the lint step"
fi

if [ "$fails" -ne 0 ]; then
	echo "test_deploy_policies: $fails failure(s)" >&2
	exit 1
fi
echo "test_deploy_policies: ok"
