#!/usr/bin/env bash
# Integration test for `sealbid policy check` (the key-policy linter a buyer
# runs before uploading bids) and for `sealbid policy`'s refusal of all-zero
# PCRs: one case per fixture in tests/data/policies with its exit status and
# message, the round trip (what `sealbid policy` emits passes the check),
# --json, AWS CLI get-key-policy output, bad input (exit 3) and usage (exit 2).
# No servers are needed.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_TEST_DATA=${SB_TEST_DATA:-${SB_SRC:?}/tests/data}
SB="$SB_BIN/sealbid"
D="$SB_TEST_DATA/policies"
M="$D/measurements.json"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() {
	echo "FAIL: $1" >&2
	sed 's/^/  stdout: /' "$T/out" >&2
	sed 's/^/  stderr: /' "$T/err" >&2
	failed=$((failed + 1))
}
# check WHAT STATUS PATTERN -- COMMAND...: exit status, and PATTERN in stdout+stderr.
check() {
	local what=$1 want=$2 pattern=$3 got=0
	shift 4
	"$@" >"$T/out" 2>"$T/err" || got=$?
	if [ "$got" -eq "$want" ] && grep -qE -- "$pattern" "$T/out" "$T/err"; then
		ok "$what"
	else
		bad "$what: exit $got (want $want), pattern '$pattern'"
	fi
}

# 1. One fixture per finding: exit 1, exactly that one finding, tag first.
for tag in unattested-decrypt pcr-mismatch debug-mode-pin operator-can-change-key \
	no-job-binding job-mismatch wildcard-pin any-principal; do
	check "fixture $tag" 1 "^$tag: statement [0-9]" -- \
		"$SB" policy check "$D/$tag.json" --pcrs "$M" --manifest "$D/job.json"
	[ "$(wc -l <"$T/out")" -eq 1 ] && ok "fixture $tag: one finding" || bad "$tag: not one finding"
	grep -q "1 finding: do not upload bids" "$T/err" && ok "fixture $tag: summary on stderr" \
		|| bad "$tag: summary"
done
check "clean fixture" 0 "no findings" -- "$SB" policy check "$D/clean.json" --pcrs "$M" \
	--manifest "$D/job.json"
check "pcr-mismatch names the PCR and both values" 1 \
	"pins PCR2 to 5836130fa76b7e49\.\.\. but the measurement is 882ed7fe49ebd9e7" -- \
	"$SB" policy check "$D/pcr-mismatch.json" --pcrs "$M"
check "job-mismatch only with --manifest" 0 "no findings" -- \
	"$SB" policy check "$D/job-mismatch.json" --pcrs "$M"

# 2. Round trip: what `sealbid policy` emits for the measurements passes.
ROLE=arn:aws:iam::111111111111:role/sealbid-enclave
"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::222222222222:root --pcrs "$M" \
	--require-job >"$T/require-job.json"
check "round trip --require-job" 0 "no findings" -- \
	"$SB" policy check "$T/require-job.json" --pcrs "$M" --manifest "$D/job.json"
"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::222222222222:root --pcrs "$M" \
	--job "$D/job.json" >"$T/job.json"
check "round trip --job" 0 "no findings" -- \
	"$SB" policy check "$T/job.json" --pcrs "$M" --manifest "$D/job.json"
jq --arg h "$("$SB" manifest hash "$D/job.json")" -e \
	'.Statement[1].Condition.StringEquals["kms:EncryptionContext:sealbid:manifest"] == $h' \
	"$T/job.json" >/dev/null && ok "--job pins the manifest hash" || bad "--job pin"
jq '.Measurements.PCR1 = ("ab" * 48)' "$M" >"$T/other-image.json"
check "the emitted policy against another image" 1 "^pcr-mismatch: .*PCR1" -- \
	"$SB" policy check "$T/job.json" --pcrs "$T/other-image.json"
"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::111111111111:user/buyer1 --pcrs "$M" \
	--require-job >"$T/same-account.json"
check "round trip, a named owner in the operator's account (the local stack's shape)" 0 \
	"no findings" -- "$SB" policy check "$T/same-account.json" --pcrs "$M"
"$SB" policy --role-arn "$ROLE" --pcrs "$M" --require-job >"$T/default-owner.json" 2>"$T/err"
grep -q "no --owner" "$T/err" && ok "policy notes the default owner" || bad "no default-owner note"
check "default owner is the operator's account" 1 "^operator-can-change-key: statement 1" -- \
	"$SB" policy check "$T/default-owner.json" --pcrs "$M"
"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::222222222222:root --pcrs "$M" \
	>"$T/no-job.json"
check "without --require-job: no-job-binding" 1 "^no-job-binding: statement 2" -- \
	"$SB" policy check "$T/no-job.json" --pcrs "$M"

# PCRs beyond 0..2 in the measurements (PCR8 of a signed image) are compared too.
jq '.Measurements.PCR8 = ("e" * 96)' "$M" >"$T/signed.json"
jq '.Statement[1].Condition.StringEqualsIgnoreCase["kms:RecipientAttestation:PCR8"] = ("f" * 96)' \
	"$D/clean.json" >"$T/pcr8-other.json"
check "a PCR8 pin against a signed image's PCR8" 1 "^pcr-mismatch: .*PCR8 to ffff" -- \
	"$SB" policy check "$T/pcr8-other.json" --pcrs "$T/signed.json"
jq '.Statement[1].Condition.StringEqualsIgnoreCase["kms:RecipientAttestation:PCR8"] = ("E" * 96)' \
	"$D/clean.json" >"$T/pcr8-same.json"
check "the same PCR8 (any case under IgnoreCase)" 0 "no findings" -- \
	"$SB" policy check "$T/pcr8-same.json" --pcrs "$T/signed.json"
jq '.Measurements.PCR8 = "xyz"' "$M" >"$T/bad-pcr8.json"
check "a malformed PCR8 in the measurements" 3 "PCR8 must be 96 hex digits" -- \
	"$SB" policy check "$D/clean.json" --pcrs "$T/bad-pcr8.json"

# 3. All-zero PCRs: refused without --debug-mode; with it, a loud warning.
jq '.Measurements.PCR0 = ("0" * 96)' "$M" >"$T/zero.json"
check "policy refuses all-zero PCRs" 1 "all-zero PCRs .* refused" -- \
	"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::222222222222:root --pcrs "$T/zero.json"
[ ! -s "$T/out" ] && ok "no policy printed when refused" || bad "policy printed when refused"
check "policy --debug-mode warns" 0 "WARNING: DEBUG MODE ONLY" -- \
	"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::222222222222:root --pcrs "$T/zero.json" \
	--debug-mode --require-job
jq -e '.Id == "sealbid-DEBUG-MODE-ONLY-key-policy"' "$T/out" >/dev/null \
	&& ok "the debug policy says so in its Id" || bad "debug policy Id"
cp "$T/out" "$T/debug.json"
check "the debug policy fails the check" 1 "^debug-mode-pin: .*PCR0" -- \
	"$SB" policy check "$T/debug.json" --pcrs "$M"
check "policy --debug-mode with real measurements is a usage error" 2 "has no all-zero PCR" -- \
	"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::222222222222:root --pcrs "$M" --debug-mode
check "policy --debug-mode without --pcrs pins zeros" 0 "DEBUG MODE ONLY" -- \
	"$SB" policy --role-arn "$ROLE" --owner arn:aws:iam::222222222222:root --debug-mode
[ "$(jq -r '.Statement[1].Condition[]["kms:RecipientAttestation:PCR2"]' "$T/out")" = \
	"$(printf '0%.0s' $(seq 96))" ] && ok "zeros pinned" || bad "zeros not pinned"

# 4. --json, and the AWS CLI's get-key-policy answer.
check "--json" 1 '"tag": "wildcard-pin"' -- \
	"$SB" policy check "$D/wildcard-pin.json" --pcrs "$M" --json
jq -e '.findings | length == 1 and .[0].statement == 2 and (.[0].message | length > 20)' \
	"$T/out" >/dev/null && ok "--json shape" || bad "--json shape"
jq -n --rawfile p "$D/clean.json" '{Policy: $p, PolicyName: "default"}' >"$T/get-key-policy.json"
check "get-key-policy output" 0 "no findings" -- \
	"$SB" policy check "$T/get-key-policy.json" --pcrs "$M"

# 5. Input that is not a policy: exit 3, one line naming the file; usage: exit 2.
printf '{"Statement":[{"Effect":"Allow"}],"Statement":[]}' >"$T/dup.json"
check "duplicate keys" 3 "dup.json: not a valid IAM policy document: .*duplicate" -- \
	"$SB" policy check "$T/dup.json" --pcrs "$M"
[ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -s "$T/out" ] && ok "one line, no partial output" \
	|| bad "bad input output"
check "not JSON" 3 "not a valid IAM policy document" -- "$SB" policy check "$D/README.md" --pcrs "$M"
check "missing file" 3 "nope.json" -- "$SB" policy check "$T/nope.json" --pcrs "$M"
head -c 40000 /dev/zero | tr '\0' ' ' >"$T/big.json"
check "over 32 KB" 3 "longer than 32768" -- "$SB" policy check "$T/big.json" --pcrs "$M"
check "not measurements" 3 'no "Measurements" object' -- \
	"$SB" policy check "$D/clean.json" --pcrs "$D/job.json"
jq '.Measurements.PCR0 = "abc"' "$M" >"$T/short.json"
check "a short PCR" 3 "PCR0 must be 96 hex digits" -- \
	"$SB" policy check "$D/clean.json" --pcrs "$T/short.json"
check "bad manifest" 3 "measurements.json" -- \
	"$SB" policy check "$D/clean.json" --pcrs "$M" --manifest "$M"
check "no --pcrs" 2 "--pcrs" -- "$SB" policy check "$D/clean.json"
check "two policies" 2 "one KEY-POLICY" -- "$SB" policy check "$D/clean.json" "$D/clean.json" \
	--pcrs "$M"
check "help" 0 "operator-can-change-key" -- "$SB" policy check --help

echo "test_policy_check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
