#!/usr/bin/env bash
# sealbid-kms driven by boto3 (tests/integration/kms_boto3.py): every
# operation sealbid-kms serves, its key states, grants and error names.
# Debian's python3-boto3 (scripts/install-deps.sh); DryRun goes out as a
# raw signed request because that boto3 (1.26) predates the parameter.
source "$(dirname "$0")/test_kms_lib.bash"
PY=/usr/bin/python3
if ! "$PY" -c 'import boto3' 2>/dev/null; then
	# Not Debian's: any python3 on PATH with boto3 will do.
	PY=$(command -v python3) || fail "python3 is not installed"
	"$PY" -c 'import boto3' 2>/dev/null || fail "boto3 is not installed (python3-boto3)"
fi

write_config "$T/config.json"
mkdir -p "$T/data"
start_kms "$T/config.json" "$T/data"

KMS_URL="http://127.0.0.1:$KMS_PORT" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	AWS_EC2_METADATA_DISABLED=true "$PY" "$(dirname "$0")/kms_boto3.py" ||
	fail "boto3 checks"

# No plaintext, key material or secret in the server's log.
grep -q "buyer1/secret" "$T/kms.log" && fail "a secret reached the log"
grep -q "outcome=DryRunOperationException" "$T/kms.log" || fail "DryRun not logged"
stop_kms
echo "PASS"
