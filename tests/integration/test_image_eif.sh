#!/usr/bin/env bash
# Integration test for `sealbid image measure` on AWS Enclave Image Files:
# known answers for EIFs written by tests/data/eif/make_eif.py (unsigned,
# several ramdisks, aarch64, v2/v3/v4, signed with a test certificate),
# each compared byte for byte with tests/data/eif/eif_pcrs.py (an
# independent computation in Python's hashlib); and every malformed EIF
# refused with exit 1, one line on stderr naming the reason, nothing on
# stdout. No servers are needed.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_TEST_DATA=${SB_TEST_DATA:-${SB_SRC:?}/tests/data}
SEALBID="$SB_BIN/sealbid"
EIF_DATA="$SB_TEST_DATA/eif"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python3 "$EIF_DATA/make_eif.py" "$TMP/eif"

fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

good=0 bad=0
while IFS=$'\t' read -r name expect; do
	f="$TMP/eif/$name.eif"
	got=0
	"$SEALBID" image measure "$f" >"$TMP/out" 2>"$TMP/err" || got=$?
	if [ "$expect" = ok ]; then
		good=$((good + 1))
		python3 "$EIF_DATA/eif_pcrs.py" "$f" >"$TMP/want"
		if [ "$got" -ne 0 ]; then
			fail "$name: exit $got: $(cat "$TMP/err")"
		elif ! cmp -s "$TMP/out" "$TMP/want"; then
			fail "$name: sealbid and eif_pcrs.py disagree"
			diff "$TMP/want" "$TMP/out" >&2 || true
		elif [ -s "$TMP/err" ]; then
			fail "$name: unexpected stderr: $(cat "$TMP/err")"
		fi
		cp "$TMP/out" "$TMP/$name.json"
	else
		bad=$((bad + 1))
		if [ "$got" -ne 1 ]; then
			fail "$name: exit $got, want 1"
		elif [ -s "$TMP/out" ]; then
			fail "$name: output on stdout for a malformed EIF"
		elif [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -qF -- "$expect" "$TMP/err"; then
			fail "$name: stderr is not one line containing '$expect': $(cat "$TMP/err")"
		fi
	fi
done <"$TMP/eif/cases.tsv"
[ "$good" -ge 6 ] && [ "$bad" -ge 30 ] || fail "only $good good and $bad malformed cases ran"

# Properties of the known answers, beyond agreeing with the script:
python3 - "$TMP" "$TMP/eif/signer.pem" <<'PY' || fail "PCR properties"
import hashlib, json, subprocess, sys
d = sys.argv[1]
m = lambda n: json.load(open("%s/%s.json" % (d, n)))["Measurements"]
un, sg, v3 = m("good_v4_unsigned"), m("good_v4_signed"), m("good_v3_no_metadata")
one, multi = m("good_v4_one_ramdisk"), m("good_v4_multi_ramdisk_arm64")
# metadata and signature sections are outside PCR0..2
for k in ("PCR0", "PCR1", "PCR2"):
    assert un[k] == sg[k] == v3[k], k
assert "PCR8" in sg and "PCR8" not in un
# PCR8 = SHA384(zero48 || SHA384(certificate DER)), DER from openssl this time
der = subprocess.run(["openssl", "x509", "-in", sys.argv[2], "-outform", "DER"],
                     check=True, capture_output=True).stdout
assert sg["PCR8"] == hashlib.sha384(b"\0" * 48 + hashlib.sha384(der).digest()).hexdigest()
# one ramdisk: PCR0 == PCR1, and PCR2 is the extend of nothing
assert one["PCR0"] == one["PCR1"]
assert one["PCR2"] == hashlib.sha384(b"\0" * 48 + hashlib.sha384(b"").digest()).hexdigest()
# the boot ramdisk is shared, the user ramdisks are not
assert multi["PCR1"] == un["PCR1"] and multi["PCR2"] != un["PCR2"]
PY

# A local sealbid image is still measured as before, and says which format it is not.
printf 'not an image at all\n' >"$TMP/junk"
got=0
"$SEALBID" image measure "$TMP/junk" >"$TMP/out" 2>"$TMP/err" || got=$?
[ "$got" -eq 1 ] && grep -q "neither an AWS EIF" "$TMP/err" || fail "junk file: exit $got: $(cat "$TMP/err")"

if [ "$fails" -ne 0 ]; then
	echo "test_image_eif: $fails failure(s)" >&2
	exit 1
fi
echo "test_image_eif: $good EIFs measured as eif_pcrs.py computes, $bad malformed EIFs refused"
