#!/usr/bin/env bash
# Crash safety: a write load (CreateKey + PutKeyPolicy in a loop) runs while
# sealbid-kms is killed with SIGKILL; after a restart every key whose
# CreateKey got a response, and every acknowledged policy, must be there.
source "$(dirname "$0")/test_kms_lib.bash"
command -v curl >/dev/null || fail "curl is needed"

write_config "$T/config.json"
mkdir -p "$T/data"
start_kms "$T/config.json" "$T/data"

# kms OP BODY: one signed request with curl's SigV4 (not the server's code).
kms() {
	curl -sS --fail-with-body --max-time 10 --aws-sigv4 "aws:amz:us-east-1:kms" \
		--user "${B1[0]}:${B1[1]}" -H "Content-Type: application/x-amz-json-1.1" \
		-H "X-Amz-Target: TrentService.$1" --data-binary "$2" "http://127.0.0.1:$KMS_PORT/"
}

policy() { # policy MARK: a valid policy that names its version
	printf '{"Version":"2012-10-17","Statement":[{"Sid":"%s","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/buyer1"},"Action":"kms:*","Resource":"*"}]}' "$1"
}

writer() {
	local n=0 out id body
	while :; do
		out=$(kms CreateKey '{"Description":"crash test"}') || return 0
		id=$(jq -r .KeyMetadata.KeyId <<<"$out")
		echo "$id" >>"$T/acked-keys"
		n=$((n + 1))
		body=$(jq -cn --arg k "$id" --arg p "$(policy "v$n")" '{KeyId: $k, PolicyName: "default", Policy: $p}')
		kms PutKeyPolicy "$body" >/dev/null || return 0
		echo "$id v$n" >>"$T/acked-policies"
	done
}

: >"$T/acked-keys"
: >"$T/acked-policies"
writer 2>/dev/null &
WRITER=$!
# Let the load run until a good number of writes were acknowledged.
for i in $(seq 1 400); do
	[ "$(wc -l <"$T/acked-keys")" -ge 40 ] && break
	sleep 0.05 # backoff
done
kill -9 "$KMS_PID"
wait "$KMS_PID" 2>/dev/null || true
KMS_PID=
wait "$WRITER" || true
ACKED=$(wc -l <"$T/acked-keys")
[ "$ACKED" -ge 10 ] || fail "only $ACKED keys acknowledged before the kill"

start_kms "$T/config.json" "$T/data"
MISSING=0
while read -r id; do
	kms DescribeKey "{\"KeyId\":\"$id\"}" >/dev/null 2>&1 || { echo "lost key $id" >&2; MISSING=$((MISSING + 1)); }
done <"$T/acked-keys"
while read -r id mark; do
	got=$(kms GetKeyPolicy "{\"KeyId\":\"$id\"}" | jq -r .Policy | jq -r '.Statement[0].Sid')
	[ "$got" = "$mark" ] || { echo "lost policy $mark of $id (have $got)" >&2; MISSING=$((MISSING + 1)); }
done <"$T/acked-policies"
[ "$MISSING" = 0 ] || fail "$MISSING acknowledged writes lost"
# The store holds at least the acknowledged keys (one more may have
# committed without its response getting out).
TOTAL=$(kms ListKeys '{"Limit":1000}' | jq '.Keys | length')
[ "$TOTAL" -ge "$ACKED" ] || fail "list-keys has $TOTAL < $ACKED"
echo "test_kms_crash: ok ($ACKED keys, $(wc -l <"$T/acked-policies") policies acknowledged, all present)"
