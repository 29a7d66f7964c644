# Shared helpers for the sealbid-kms integration tests (sourced, not run).
# Needs SB_BIN; sets T (a temp dir, removed on exit), KMS_PID, KMS_PORT.
set -euo pipefail
: "${SB_BIN:?SB_BIN must point at the bin directory of a build}"
AWS=/usr/bin/aws # always Debian's AWS CLI v2, never another aws on PATH
T=$(mktemp -d /tmp/sb_kms_test.XXXXXX)
KMS_PID=
cleanup() {
	if [ -n "$KMS_PID" ]; then kill "$KMS_PID" 2>/dev/null || true; wait "$KMS_PID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$T/kms.log" ] && tail -20 "$T/kms.log" >&2; exit 1; }

# Waits for the server to write its port file: a bounded retry backoff
# (the server writes the file right after it starts listening).
backoff_until_port() {
	local i
	for i in $(seq 1 200); do
		[ -s "$T/port" ] && { KMS_PORT=$(cat "$T/port"); return 0; }
		kill -0 "$KMS_PID" 2>/dev/null || fail "sealbid-kms exited at start"
		sleep 0.05 # backoff
	done
	fail "sealbid-kms did not start"
}

# start_kms CONFIG DATA_DIR [EXTRA_OPTION...]
start_kms() {
	rm -f "$T/port"
	SEALBID_LOG=info "$SB_BIN/sealbid-kms" --listen 127.0.0.1:0 --data "$2" --config "$1" \
		--port-file "$T/port" "${@:3}" >>"$T/kms.log" 2>&1 &
	KMS_PID=$!
	backoff_until_port
}

stop_kms() { kill "$KMS_PID"; wait "$KMS_PID" || true; KMS_PID=; }

# aws_as ACCESS_KEY SECRET kms ...: the CLI against the server, no user config.
aws_as() {
	local ak=$1 sk=$2; shift 2
	: >"$T/aws-config"; : >"$T/aws-credentials"
	AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk AWS_SESSION_TOKEN= \
	AWS_CONFIG_FILE="$T/aws-config" AWS_SHARED_CREDENTIALS_FILE="$T/aws-credentials" \
	AWS_PAGER= AWS_EC2_METADATA_DISABLED=true \
		"$AWS" --endpoint-url "http://127.0.0.1:$KMS_PORT" --region us-east-1 --output json "$@"
}

# write_config FILE: two principals, buyer1 and buyer2.
write_config() {
	cat >"$1" <<JSON
{"region": "us-east-1", "account_id": "111122223333",
 "principals": [
  {"arn": "arn:aws:iam::111122223333:user/buyer1", "access_key_id": "AKIAEXAMPLEBUYER1",
   "secret_access_key": "buyer1/secret/EXAMPLEKEY", "session_token": null},
  {"arn": "arn:aws:iam::111122223333:user/buyer2", "access_key_id": "AKIAEXAMPLEBUYER2",
   "secret_access_key": "buyer2/secret/EXAMPLEKEY", "session_token": null}],
 "attestation_roots": [], "trust_aws_nitro_root": true}
JSON
}
B1=(AKIAEXAMPLEBUYER1 buyer1/secret/EXAMPLEKEY)
B2=(AKIAEXAMPLEBUYER2 buyer2/secret/EXAMPLEKEY)
