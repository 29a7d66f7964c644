#!/usr/bin/env bash
# Sealed datasets and the AWS Encryption SDK for JavaScript (client-node v5,
# tools/node_modules from scripts/install-deps.sh), both through sealbid-kms
# on 127.0.0.1: (a) AWS's code seals -> `sealbid unseal` gives the CSV back,
# (b) `sealbid seal` -> AWS's code decrypts it, for both suites and several
# frame lengths; then what seal refuses, and tampered or misdirected messages
# that unseal must reject with a clear error and no output file.
source "$(dirname "$0")/test_kms_lib.bash"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export NODE_PATH="$ROOT/tools/node_modules" NODE_NO_WARNINGS=1
command -v node >/dev/null || fail "node is not installed (scripts/install-deps.sh)"
[ -f "$NODE_PATH/@aws-crypto/client-node/package.json" ] ||
	fail "@aws-crypto/client-node is not in tools/node_modules (scripts/install-deps.sh)"
JS="$ROOT/tests/integration/esdk_interop.js"
SB="$SB_BIN/sealbid"

write_config "$T/config.json"
mkdir -p "$T/data"
start_kms "$T/config.json" "$T/data"
URL="http://127.0.0.1:$KMS_PORT"
KEY1=$(aws_as "${B1[@]}" kms create-key | jq -r .KeyMetadata.KeyId)
KEY2=$(aws_as "${B2[@]}" kms create-key | jq -r .KeyMetadata.KeyId)
KEY3=$(aws_as "${B2[@]}" kms create-key | jq -r .KeyMetadata.KeyId)
aws_as "${B2[@]}" kms create-alias --alias-name alias/buyer2 --target-key-id "$KEY2"
cat >"$T/policy.json" <<JSON
{"Version": "2012-10-17", "Statement": [
 {"Sid": "buyer2 only", "Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::111122223333:user/buyer2"},
  "Action": "kms:*", "Resource": "*"}]}
JSON
aws_as "${B2[@]}" kms put-key-policy --key-id "$KEY2" --policy-name default \
	--policy "file://$T/policy.json"
ARN1="arn:aws:kms:us-east-1:111122223333:key/$KEY1"
ARN2="arn:aws:kms:us-east-1:111122223333:key/$KEY2"

manifest() { # manifest FILE JOB_ID
	cat >"$1" <<J
{"version": 1, "job_id": "$2", "region": "us-east-1",
 "parties": [
  {"name": "Buyer1", "input": "file:///in/b1.sealed", "format": "sealed", "key": "$ARN1"},
  {"name": "Buyer2", "input": "file:///in/b2.sealed", "format": "sealed", "key": "alias/buyer2"},
  {"name": "Buyer3", "input": "file:///in/b3.csv", "format": "kms-csv", "key": "$KEY3"}],
 "output": "file:///out/result.csv"}
J
}
manifest "$T/job.json" job-1
manifest "$T/other.json" job-2
HASH=$("$SB" manifest hash "$T/job.json")

# Buyer1's bids: many frames at small frame lengths. Amounts 7xxxxx.yy never
# appear elsewhere, so a leak into a log or an error is visible.
{ echo '[].contract,[].bid'; for i in $(seq 1 2000); do echo "prop-$i,7$((100000 + i)).25"; done; } >"$T/b1.csv"
printf '[].contract,[].bid\r\n9,712345\r\n10,700000.5' >"$T/b2.csv" # CRLF, no final LF

export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_KMS="$URL" AWS_EC2_METADATA_DISABLED=true \
	AWS_CONFIG_FILE="$T/aws-config" AWS_SHARED_CREDENTIALS_FILE="$T/aws-credentials"
unset AWS_SESSION_TOKEN AWS_PROFILE
: >"$T/aws-config"; : >"$T/aws-credentials"
as() { # as B1|B2 CMD...: with that buyer's credentials
	local -n who=$1; shift
	AWS_ACCESS_KEY_ID=${who[0]} AWS_SECRET_ACCESS_KEY=${who[1]} "$@"
}
node_encrypt() { as B1 node "$JS" encrypt "$URL" "$ARN1" "$1" "$2" "$HASH" Buyer1 "$T/b1.csv" "$3"; }
node_decrypt() { as "$1" node "$JS" decrypt "$URL" "$2" "$HASH" "$3" "$4" "$5"; }
no_leak() { # no_leak FILE: no amount of either buyer in FILE
	! grep -q -e '7[0-9]\{6\}\.25' -e 712345 -e 700000 "$1" || fail "a bid leaked into $1"
}

# (a) AWS's encryptor -> sealbid unseal, both suites, frames of 1 byte to 64 KiB
# and one exactly the plaintext's length (the final frame is then full or empty).
size=$(stat -c %s "$T/b1.csv")
for case in "0x0578 4096" "0x0478 1024" "0x0578 1" "0x0478 65536" "0x0578 $size" "0x0478 $((size / 4))"; do
	set -- $case
	node_encrypt "$1" "$2" "$T/a.sealed" || fail "node encrypt $case"
	as B1 "$SB" unseal --manifest "$T/job.json" --party Buyer1 "$T/a.sealed" -o "$T/a.csv" ||
		fail "unseal of node's $case"
	cmp -s "$T/a.csv" "$T/b1.csv" || fail "unseal of node's $case: CSV differs"
	[ "$(stat -c %a "$T/a.csv")" = 600 ] || fail "unsealed CSV mode"
	rm -f "$T/a.csv"
done
echo "ok: node-sealed messages unsealed (0x0578, 0x0478; frames 1 B .. whole file)"
# Without -o the CSV goes to stdout.
as B1 "$SB" unseal --manifest "$T/job.json" --party Buyer1 "$T/a.sealed" >"$T/a.out" || fail "unseal to stdout"
cmp -s "$T/a.out" "$T/b1.csv" || fail "unseal to stdout: CSV differs"

# (b) sealbid seal -> AWS's decryptor: default (0x0578, 64 KiB), 0x0478, small frames.
for case in "0x0578 - 65536" "0x0478 --suite=0x0478 65536" "0x0578 --frame-size=512 512" \
	"0x0478 --suite=0x0478,--frame-size=7 7"; do
	set -- $case
	opts=(); [ "$2" = - ] || IFS=, read -r -a opts <<<"$2"
	rm -f "$T/b.sealed"
	as B1 "$SB" seal --key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "${opts[@]}" \
		"$T/b1.csv" -o "$T/b.sealed" || fail "seal $case"
	[ "$(stat -c %a "$T/b.sealed")" = 600 ] || fail "sealed file mode"
	got=$(node_decrypt B1 "$ARN1" Buyer1 "$T/b.sealed" "$T/b.csv") || fail "node decrypt of seal $case"
	[ "$got" = "suite=$1 frame=$3" ] || fail "node saw '$got' for $case"
	cmp -s "$T/b.csv" "$T/b1.csv" || fail "node decrypt of seal $case: CSV differs"
	as B1 "$SB" unseal --manifest "$T/job.json" --party Buyer1 "$T/b.sealed" -o "$T/b2.out" ||
		fail "unseal of seal $case"
	cmp -s "$T/b2.out" "$T/b1.csv" || fail "unseal of seal $case: CSV differs"
	rm -f "$T/b.csv" "$T/b2.out"
done
echo "ok: sealbid-sealed messages decrypted by the AWS Encryption SDK"

# A party whose manifest key is an alias: sealed with the alias as --key-id.
as B2 "$SB" seal --key-id alias/buyer2 --manifest "$T/job.json" --party Buyer2 "$T/b2.csv" \
	-o "$T/b2.sealed" || fail "seal under alias/buyer2"
[ "$(node_decrypt B2 "$ARN2" Buyer2 "$T/b2.sealed" "$T/b2.node")" = "suite=0x0578 frame=65536" ] ||
	fail "node decrypt of Buyer2"
cmp -s "$T/b2.node" "$T/b2.csv" || fail "Buyer2 CSV differs"
as B2 "$SB" unseal --manifest "$T/job.json" --party Buyer2 "$T/b2.sealed" -o "$T/b2.out" ||
	fail "unseal Buyer2"
cmp -s "$T/b2.out" "$T/b2.csv" || fail "unseal Buyer2: CSV differs"
echo "ok: alias-declared key"

# What seal refuses, each with a clear error and no output file.
seal_fails() { # seal_fails WHAT EXPECTED_TEXT WHO seal-args...
	local what=$1 want=$2 who=$3; shift 3
	echo previous >"$T/keep.sealed"
	if as "$who" "$SB" seal "$@" -o "$T/keep.sealed" 2>"$T/err"; then fail "seal: $what succeeded"; fi
	grep -q -- "$want" "$T/err" || fail "seal: $what: $(cat "$T/err")"
	[ "$(cat "$T/keep.sealed")" = previous ] || fail "seal: $what: output replaced"
	[ -z "$(find "$T" -name 'keep.sealed.tmp.*')" ] || fail "seal: $what: temporary file left"
	no_leak "$T/err"
	echo "ok: seal refuses $what ($(head -c 160 "$T/err"))"
}
seal_fails "a kms-csv party" 'party Buyer3 has format "kms-csv", not "sealed"' B2 \
	--key-id "$KEY3" --manifest "$T/job.json" --party Buyer3 "$T/b2.csv"
seal_fails "another key than the manifest's" "declares another key" B2 \
	--key-id "$KEY2" --manifest "$T/job.json" --party Buyer1 "$T/b2.csv"
seal_fails "the alias's key given by id" "declares the key alias/buyer2" B2 \
	--key-id "$KEY2" --manifest "$T/job.json" --party Buyer2 "$T/b2.csv"
seal_fails "an unknown party" 'no party "Buyer9"' B1 \
	--key-id "$KEY1" --manifest "$T/job.json" --party Buyer9 "$T/b1.csv"
seal_fails "a key the caller may not use" "AccessDenied" B1 \
	--key-id alias/buyer2 --manifest "$T/job.json" --party Buyer2 "$T/b2.csv"
{ head -n 1500 "$T/b1.csv"; echo "prop-x,7123456.25x"; tail -n 10 "$T/b1.csv"; } >"$T/bad-amount.csv"
seal_fails "a bad amount (line 1501, late in the stream)" "bid is not a non-negative decimal amount: .*bad-amount.csv: line 1501: amount has a non-digit$" B1 \
	--key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "$T/bad-amount.csv"
tail -n +2 "$T/b1.csv" >"$T/no-header.csv"
seal_fails "a missing header" 'line 1: expected the header' B1 \
	--key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "$T/no-header.csv"
printf '[].contract,[].bid\n1,712345\n\n2,712345\n' >"$T/blank.csv"
seal_fails "a blank line" 'line 3: empty line' B1 \
	--key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "$T/blank.csv"
printf '[].contract,[].bid\n' >"$T/header-only.csv"
seal_fails "no bids" 'no bids' B1 \
	--key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "$T/header-only.csv"
printf '[].contract,[].bid\nsealbid:trailer,712345\n' >"$T/reserved.csv"
seal_fails "a reserved property id" 'line 2: property ids starting with "sealbid:"' B1 \
	--key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "$T/reserved.csv"
seal_fails "a missing input" "nope.csv" B1 \
	--key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "$T/nope.csv"
rc=0; "$SB" seal --key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 --suite 0x0178 \
	"$T/b1.csv" -o "$T/x.sealed" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && [ ! -e "$T/x.sealed" ] && grep -q -- "--suite is 0x0578 or 0x0478" "$T/err" ||
	fail "seal --suite 0x0178: status $rc, $(cat "$T/err")"

# Tampered and misdirected messages: unseal fails clearly and writes nothing.
as B1 "$SB" seal --key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 --frame-size 4096 \
	"$T/b1.csv" -o "$T/good.sealed"
as B1 "$SB" seal --key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 --suite 0x0478 \
	--frame-size 4096 "$T/b1.csv" -o "$T/good478.sealed"
flip() { # flip IN OFFSET OUT: one byte XORed with 0x01
	cp "$1" "$3"
	local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$3" bs=1 seek="$2" conv=notrunc status=none
}
unseal_fails() { # unseal_fails WHAT EXPECTED_TEXT FILE [PARTY [MANIFEST]]
	local what=$1 want=$2 file=$3 party=${4:-Buyer1} m=${5:-$T/job.json}
	rm -f "$T/out.csv"
	if as B1 "$SB" unseal --manifest "$m" --party "$party" "$file" -o "$T/out.csv" \
		>"$T/stdout" 2>"$T/err"; then
		fail "unseal: $what succeeded"
	fi
	grep -q -- "$want" "$T/err" || fail "unseal: $what: $(cat "$T/err")"
	[ ! -e "$T/out.csv" ] && [ ! -s "$T/stdout" ] || fail "unseal: $what: wrote output"
	[ -z "$(find "$T" -name 'out.csv.tmp.*')" ] || fail "unseal: $what: temporary file left"
	no_leak "$T/err"
	echo "ok: unseal rejects $what ($(head -c 160 "$T/err"))"
}
size=$(stat -c %s "$T/good.sealed")
flip "$T/good.sealed" 10 "$T/t.sealed" # the message id
unseal_fails "a header byte flipped (message id)" "key commitment mismatch" "$T/t.sealed"
flip "$T/good.sealed" 2 "$T/t.sealed" # the suite: 0x0579
unseal_fails "a header byte flipped (suite)" "unsupported algorithm suite" "$T/t.sealed"
flip "$T/good.sealed" $((size / 2)) "$T/t.sealed"
unseal_fails "a body byte flipped" "frame authentication failed" "$T/t.sealed"
flip "$T/good.sealed" $((size - 3)) "$T/t.sealed"
unseal_fails "a signature byte flipped" "signature invalid" "$T/t.sealed"
flip "$T/good478.sealed" $(($(stat -c %s "$T/good478.sealed") - 1)) "$T/t.sealed"
unseal_fails "0x0478: the final frame's tag flipped" "frame authentication failed" "$T/t.sealed"
head -c $((size - 20)) "$T/good.sealed" >"$T/t.sealed"
unseal_fails "a truncated signature" "truncated" "$T/t.sealed"
head -c $((size / 2)) "$T/good.sealed" >"$T/t.sealed"
unseal_fails "a message cut in half" "truncated" "$T/t.sealed"
head -c 100 "$T/good.sealed" >"$T/t.sealed"
unseal_fails "a message cut inside its header" "not even a whole header" "$T/t.sealed"
csv_size=$(stat -c %s "$T/b1.csv")
[ $((csv_size % 4096)) -ne 0 ] || fail "b1.csv is a whole number of frames"
# The final frame on the wire: end marker, seq, IV, length, content, tag.
head -c $(($(stat -c %s "$T/good478.sealed") - (4 + 4 + 12 + 4 + csv_size % 4096 + 16))) \
	"$T/good478.sealed" >"$T/t.sealed"
unseal_fails "0x0478: frames dropped at the end" "final frame missing" "$T/t.sealed"
{ cat "$T/good.sealed"; printf 'x'; } >"$T/t.sealed"
unseal_fails "a byte appended" "bytes after the end of the message" "$T/t.sealed"
unseal_fails "another party" "party Buyer2: not sealed for this manifest and party" \
	"$T/good.sealed" Buyer2
unseal_fails "another manifest" "party Buyer1: not sealed for this manifest and party" \
	"$T/good.sealed" Buyer1 "$T/other.json"
unseal_fails "a kms-csv party" 'not "sealed"' "$T/good.sealed" Buyer3
as B1 node "$JS" encrypt "$URL" "arn:aws:kms:us-east-1:111122223333:key/$KEY3" 0x0578 4096 \
	"$HASH" Buyer1 "$T/b1.csv" "$T/t.sealed" || fail "node encrypt under KEY3"
unseal_fails "the right context under another key" "no aws-kms encrypted data key for the declared key" \
	"$T/t.sealed"
: >"$T/t.sealed"
unseal_fails "an empty file" "not even a whole header" "$T/t.sealed"

# Under a pinned key (`sealbid policy --require-job`, buyer1 as owner) the owner
# still seals, but its own unseal is denied: every Decrypt without an
# attestation document is (docs/FORMATS.md, "Sealed dataset").
pcr=$(printf '%096d' 0 | tr 0 a)
printf '{"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "%s", "PCR1": "%s", "PCR2": "%s"}}\n' \
	"$pcr" "$pcr" "$pcr" >"$T/pcrs.json"
"$SB" policy --role-arn arn:aws:iam::111122223333:role/enclave --pcrs "$T/pcrs.json" \
	--owner arn:aws:iam::111122223333:user/buyer1 --require-job >"$T/pinned.json"
aws_as "${B1[@]}" kms put-key-policy --key-id "$KEY1" --policy-name default \
	--policy "file://$T/pinned.json"
as B1 "$SB" seal --key-id "$KEY1" --manifest "$T/job.json" --party Buyer1 "$T/b1.csv" \
	-o "$T/pinned.sealed" || fail "seal under a pinned key"
unseal_fails "its owner's Decrypt under a pinned key" "AccessDeniedException" "$T/pinned.sealed"

no_leak "$T/kms.log"
grep -q "op=GenerateDataKey key=$KEY1 principal=arn:aws:iam::111122223333:user/buyer1 outcome=ok" \
	"$T/kms.log" || fail "no GenerateDataKey in the KMS log"
echo "test_esdk_interop: ok"
