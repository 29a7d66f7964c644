#!/usr/bin/env bash
# Integration test for `sealbid attest` and `sealbid image`: exit codes
# (0 valid / 1 not / 2 usage), --json shape, raw/base64/hex DOC input, --at,
# --expect-pcr, --root, and image build/measure. No servers are needed.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_TEST_DATA=${SB_TEST_DATA:-${SB_SRC:?}/tests/data}
SEALBID="$SB_BIN/sealbid"
DATA="$SB_TEST_DATA/nitro"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fails=0
# expect STATUS DESCRIPTION -- COMMAND...: runs the command, checks its exit status.
expect() {
	local want=$1 what=$2
	shift 3
	local got=0
	"$@" >"$TMP/out" 2>"$TMP/err" || got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, want $want" >&2
		sed 's/^/  stdout: /' "$TMP/out" >&2
		sed 's/^/  stderr: /' "$TMP/err" >&2
		fails=$((fails + 1))
	fi
}
# The failure reason is exactly one line on stderr.
one_line_err() {
	if [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -q "$1" "$TMP/err"; then
		echo "FAIL: stderr is not one line matching '$1':" >&2
		cat "$TMP/err" >&2
		fails=$((fails + 1))
	fi
}

DOC22="$DATA/aws-2022-10-13.cbor"
DOC21="$DATA/aws-2021-03-17.cbor"
AT22=2022-10-13T09:30:00Z
AT21=1616023800000 # 2021-03-17T23:30:00Z in Unix milliseconds
PCR0_22=f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b
PCR2_22=d8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc469a
PCR0_21=2d151586641b790f3b1b92b8f89678c3aa86e73dd97969c892124be9d2b7fdc62b58a55cd9ee8216f6f5689cebf590ad

# --- valid documents, three spellings ---
base64 -w0 "$DOC22" >"$TMP/doc22.b64"
od -An -v -tx1 "$DOC22" | tr -d ' \n' >"$TMP/doc22.hex"
for doc in "$DOC22" "$TMP/doc22.b64" "$TMP/doc22.hex"; do
	expect 0 "verify $doc" -- "$SEALBID" attest verify "$doc" --at "$AT22" \
		--expect-pcr "0=$PCR0_22" --expect-pcr "2=$PCR2_22"
done
grep -q "attestation document OK: enclave i-020b6af9246d90e92-enc0183d09086c24190" "$TMP/out" ||
	{ echo "FAIL: verify output" >&2; fails=$((fails + 1)); }
expect 0 "verify 2021 doc at Unix ms" -- "$SEALBID" attest verify "$DOC21" --at "$AT21" \
	--expect-pcr "0=$PCR0_21" --root "$DATA/aws-nitro-root-g1.pem"
# Tagged form (COSE tag 18).
{ printf '\xd2'; cat "$DOC22"; } >"$TMP/tagged.cbor"
expect 0 "tagged document" -- "$SEALBID" attest verify "$TMP/tagged.cbor" --at "$AT22"

# --- --json shape ---
expect 0 "verify --json" -- "$SEALBID" attest verify "$DOC22" --at "$AT22" --json
python3 - "$TMP/out" <<'EOF' || fails=$((fails + 1))
import json, sys
d = json.load(open(sys.argv[1]))
assert d["verified"] is True
assert d["module_id"] == "i-020b6af9246d90e92-enc0183d09086c24190", d["module_id"]
assert d["timestamp"] == 1665651482136
assert d["time"] == "2022-10-13T08:58:02.136Z"
assert d["digest"] == "SHA384"
assert sorted(int(k) for k in d["pcrs"]) == list(range(16))
assert d["pcrs"]["0"].startswith("f4d48b81a460c991") and len(d["pcrs"]["0"]) == 96
assert d["public_key"] is None and d["user_data"] is None
import base64
assert len(base64.b64decode(d["nonce"])) == 256
assert d["cabundle_length"] == 4
EOF
expect 0 "describe --json (no verification, any time)" -- "$SEALBID" attest describe "$DOC21" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["verified"] is False and d["nonce"] is None, d' \
	"$TMP/out" || fails=$((fails + 1))
expect 0 "describe text" -- "$SEALBID" attest describe "$TMP/doc22.hex"
grep -q "^PCR8 *8790eb3cce6c83d0" "$TMP/out" || { echo "FAIL: describe text" >&2; fails=$((fails + 1)); }

# --- invalid documents: exit 1, one line on stderr ---
expect 1 "expired now" -- "$SEALBID" attest verify "$DOC22"
one_line_err "expired"
expect 1 "not yet valid" -- "$SEALBID" attest verify "$DOC22" --at 2022-10-13T08:00:00Z
one_line_err "not yet valid"
expect 1 "wrong PCR0" -- "$SEALBID" attest verify "$DOC22" --at "$AT22" --expect-pcr "0=$PCR0_21"
one_line_err "PCR0"
expect 1 "missing PCR" -- "$SEALBID" attest verify "$DOC22" --at "$AT22" --expect-pcr "20=$PCR0_21"
one_line_err "missing"
head -c 1000 "$DOC22" >"$TMP/trunc.cbor"
expect 1 "truncated" -- "$SEALBID" attest verify "$TMP/trunc.cbor" --at "$AT22"
one_line_err "CBOR"
expect 1 "truncated (describe)" -- "$SEALBID" attest describe "$TMP/trunc.cbor"
python3 - "$DOC22" "$TMP/flip.cbor" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-10] ^= 1  # inside the signature
open(sys.argv[2], "wb").write(d)
EOF
expect 1 "flipped signature" -- "$SEALBID" attest verify "$TMP/flip.cbor" --at "$AT22"
one_line_err "signature"
printf 'not a document\n' >"$TMP/junk"
expect 1 "junk file" -- "$SEALBID" attest verify "$TMP/junk"
one_line_err "neither CBOR"
expect 1 "missing file" -- "$SEALBID" attest verify "$TMP/nope"
expect 1 "missing root file" -- "$SEALBID" attest verify "$DOC22" --root "$TMP/nope"

# --- usage errors: exit 2 ---
expect 2 "no subcommand" -- "$SEALBID" attest
expect 2 "unknown subcommand" -- "$SEALBID" attest frobnicate x
expect 2 "no DOC" -- "$SEALBID" attest verify
expect 2 "two DOCs" -- "$SEALBID" attest verify "$DOC22" "$DOC21"
expect 2 "bad --at" -- "$SEALBID" attest verify "$DOC22" --at yesterday
expect 2 "bad --expect-pcr" -- "$SEALBID" attest verify "$DOC22" --expect-pcr 0=abc
expect 2 "unknown option" -- "$SEALBID" attest verify "$DOC22" --frob
expect 2 "verify option on describe" -- "$SEALBID" attest describe "$DOC22" --allow-debug
expect 0 "--help" -- "$SEALBID" attest --help
grep -q "usage: sealbid attest verify" "$TMP/out" || { echo "FAIL: help" >&2; fails=$((fails + 1)); }

# --- sealbid verify: the expected PCRs must pin the image (issue 10 item 8) ---
# PCR1 is the same for every image: with it alone a modified enclave's receipt would pass.
rargs=(--receipt "$TMP/nope.receipt" --output "$TMP/nope.csv" --manifest "$TMP/nope.json")
expect 2 "verify with only PCR1" -- "$SEALBID" verify "${rargs[@]}" --expect-pcr "1=$PCR0_22"
one_line_err "PCR1 is the same for every enclave image"
grep -q "PCR0" "$TMP/err" && grep -q "PCR2" "$TMP/err" || { echo "FAIL: PCR0/PCR2 not named" >&2; fails=$((fails + 1)); }
expect 2 "verify with PCR1 and PCR4" -- "$SEALBID" verify "${rargs[@]}" --expect-pcr "1=$PCR0_22" \
	--expect-pcr "4=$PCR0_22"
expect 2 "verify with no PCR" -- "$SEALBID" verify "${rargs[@]}"
# PCR0 or PCR2 passes the check (then the missing receipt file fails: exit 1).
expect 1 "verify with PCR0" -- "$SEALBID" verify "${rargs[@]}" --expect-pcr "0=$PCR0_22"
expect 1 "verify with PCR1 and PCR2" -- "$SEALBID" verify "${rargs[@]}" --expect-pcr "1=$PCR0_22" \
	--expect-pcr "2=$PCR2_22"
expect 0 "verify --help" -- "$SEALBID" verify --help
grep -q "PCR1 (kernel and boot ramfs) is the same" "$TMP/out" || { echo "FAIL: verify help" >&2; fails=$((fails + 1)); }

# --- image build / measure ---
printf 'fake enclave binary v1' >"$TMP/enclave1"
printf 'fake enclave binary v2' >"$TMP/enclave2"
printf 'port=5005\n' >"$TMP/cfg"
expect 0 "image build" -- "$SEALBID" image build --enclave "$TMP/enclave1" --config "$TMP/cfg" -o "$TMP/img1"
cp "$TMP/out" "$TMP/build1.json"
expect 0 "image measure" -- "$SEALBID" image measure "$TMP/img1"
cmp -s "$TMP/out" "$TMP/build1.json" || { echo "FAIL: build and measure disagree" >&2; fails=$((fails + 1)); }
cp "$TMP/out" "$TMP/m1.json"
expect 0 "image build v2" -- "$SEALBID" image build --enclave "$TMP/enclave2" --config "$TMP/cfg" -o "$TMP/img2"
cp "$TMP/out" "$TMP/m2.json"
python3 - "$TMP/m1.json" "$TMP/m2.json" <<'EOF' || fails=$((fails + 1))
import json, sys
a = json.load(open(sys.argv[1]))["Measurements"]
b = json.load(open(sys.argv[2]))["Measurements"]
assert a["HashAlgorithm"] == "Sha384 { ... }"
for k in ("PCR0", "PCR1", "PCR2"):
    assert len(a[k]) == 96 and int(a[k], 16) >= 0
assert a["PCR0"] != b["PCR0"] and a["PCR2"] != b["PCR2"], "changed binary, same PCRs"
assert a["PCR1"] == b["PCR1"]
EOF
expect 1 "measure a non-image" -- "$SEALBID" image measure "$TMP/cfg"
one_line_err "invalid enclave image"
expect 1 "build from missing binary" -- "$SEALBID" image build --enclave "$TMP/nope" -o "$TMP/x"
expect 2 "build without -o" -- "$SEALBID" image build --enclave "$TMP/enclave1"
expect 2 "measure without IMAGE" -- "$SEALBID" image measure
expect 2 "image unknown subcommand" -- "$SEALBID" image frob
expect 0 "image --help" -- "$SEALBID" image --help

if [ "$fails" -ne 0 ]; then
	echo "test_attest_cli: $fails failure(s)" >&2
	exit 1
fi
echo "test_attest_cli: all checks passed"
