#!/usr/bin/env bash
# sealbid-kms driven by Debian's AWS CLI v2: key, alias, policy, encrypt /
# decrypt, data keys, listings, an AccessDenied and a signature error.
source "$(dirname "$0")/test_kms_lib.bash"
[ -x "$AWS" ] || fail "$AWS (Debian awscli) is not installed"

write_config "$T/config.json"
mkdir -p "$T/data"
start_kms "$T/config.json" "$T/data"

KEY=$(aws_as "${B1[@]}" kms create-key --description "buyer1 bids" | jq -r .KeyMetadata.KeyId)
[[ "$KEY" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || fail "key id $KEY"
ARN="arn:aws:kms:us-east-1:111122223333:key/$KEY"
aws_as "${B1[@]}" kms create-alias --alias-name alias/buyer1 --target-key-id "$KEY"

cat >"$T/policy.json" <<JSON
{"Version": "2012-10-17", "Statement": [
 {"Sid": "buyer1 only", "Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::111122223333:user/buyer1"},
  "Action": "kms:*", "Resource": "*"}]}
JSON
aws_as "${B1[@]}" kms put-key-policy --key-id alias/buyer1 --policy-name default \
	--policy "file://$T/policy.json"
aws_as "${B1[@]}" kms get-key-policy --key-id "$KEY" --policy-name default --output text \
	--query Policy >"$T/got-policy.json"
[ "$(jq -S . "$T/got-policy.json")" = "$(jq -S . "$T/policy.json")" ] || fail "get-key-policy"

aws_as "${B1[@]}" kms encrypt --key-id alias/buyer1 --cli-binary-format raw-in-base64-out \
	--plaintext "100000" >"$T/enc.json"
[ "$(jq -r .KeyId "$T/enc.json")" = "$ARN" ] || fail "encrypt KeyId"
jq -r .CiphertextBlob "$T/enc.json" | base64 -d >"$T/bid.bin"
PLAIN=$(aws_as "${B1[@]}" kms decrypt --ciphertext-blob "fileb://$T/bid.bin" \
	--output text --query Plaintext | base64 -d)
[ "$PLAIN" = "100000" ] || fail "decrypt gave '$PLAIN'"
DEC=$(aws_as "${B1[@]}" kms decrypt --ciphertext-blob "fileb://$T/bid.bin")
[ "$(jq -r .KeyId <<<"$DEC")" = "$ARN" ] || fail "decrypt KeyId"
[ "$(jq -r .EncryptionAlgorithm <<<"$DEC")" = SYMMETRIC_DEFAULT ] || fail "decrypt algorithm"

aws_as "${B1[@]}" kms generate-data-key --key-id alias/buyer1 --key-spec AES_256 \
	--encryption-context sealbid:party=buyer1 >"$T/dk.json"
[ "$(jq -r .Plaintext "$T/dk.json" | base64 -d | wc -c)" = 32 ] || fail "data key size"
jq -r .CiphertextBlob "$T/dk.json" | base64 -d >"$T/dk.bin"
DK=$(aws_as "${B1[@]}" kms decrypt --ciphertext-blob "fileb://$T/dk.bin" \
	--encryption-context sealbid:party=buyer1 --output text --query Plaintext)
[ "$DK" = "$(jq -r .Plaintext "$T/dk.json")" ] || fail "data key round trip"
if aws_as "${B1[@]}" kms decrypt --ciphertext-blob "fileb://$T/dk.bin" 2>"$T/err"; then
	fail "decrypt without the encryption context succeeded"
fi
grep -q InvalidCiphertextException "$T/err" || fail "missing context: $(cat "$T/err")"

aws_as "${B1[@]}" kms list-keys | jq -e --arg k "$KEY" '.Keys[] | select(.KeyId == $k)' >/dev/null ||
	fail "list-keys"
aws_as "${B1[@]}" kms list-aliases | jq -e '.Aliases[] | select(.AliasName == "alias/buyer1")' \
	>/dev/null || fail "list-aliases"
[ "$(aws_as "${B1[@]}" kms describe-key --key-id alias/buyer1 | jq -r .KeyMetadata.Arn)" = "$ARN" ] ||
	fail "describe-key"
[ "$(aws_as "${B1[@]}" kms generate-random --number-of-bytes 24 --output text --query Plaintext |
	base64 -d | wc -c)" = 24 ] || fail "generate-random"

# buyer2 is not in the policy.
if aws_as "${B2[@]}" kms decrypt --ciphertext-blob "fileb://$T/bid.bin" 2>"$T/err"; then
	fail "buyer2 could decrypt buyer1's bid"
fi
grep -q "AccessDeniedException" "$T/err" || fail "buyer2: $(cat "$T/err")"
grep -q "user/buyer2 is not authorized to perform: kms:Decrypt" "$T/err" || fail "message"

# A wrong secret and an unknown access key.
if aws_as AKIAEXAMPLEBUYER1 wrong-secret kms list-keys 2>"$T/err"; then fail "wrong secret"; fi
grep -q InvalidSignatureException "$T/err" || fail "wrong secret: $(cat "$T/err")"
if aws_as AKIAUNKNOWNKEY00000 x kms list-keys 2>"$T/err"; then fail "unknown key"; fi
grep -q UnrecognizedClientException "$T/err" || fail "unknown key: $(cat "$T/err")"

# Keys survive a restart.
stop_kms
start_kms "$T/config.json" "$T/data"
PLAIN=$(aws_as "${B1[@]}" kms decrypt --ciphertext-blob "fileb://$T/bid.bin" \
	--output text --query Plaintext | base64 -d)
[ "$PLAIN" = "100000" ] || fail "decrypt after restart"

# Nothing secret in the server's log.
! grep -q -e 100000 -e MTAwMDAw -e secret/EXAMPLEKEY "$T/kms.log" || fail "secret in log"
grep -q "op=Decrypt key=$KEY principal=arn:aws:iam::111122223333:user/buyer2 outcome=AccessDeniedException" \
	"$T/kms.log" || fail "request log line"
echo "test_kms_awscli: ok"
