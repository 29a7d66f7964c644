#!/usr/bin/env bash
# The local launcher plays the Nitro hypervisor: a document from the emulated
# NSM inside a launched enclave verifies against the exported dev root with
# the PCRs `sealbid image measure` printed; a changed binary gives other PCRs
# and fails; debug mode gives zero PCRs and fails unless --allow-debug; as
# root the enclave has a network namespace of its own.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB=$SB_BIN/sealbid
T=$(mktemp -d)
export SEALBID_STATE=$T/state SEALBID_VSOCK_DIR=$T/vsock
cleanup() { "$SB" enclave terminate --all >/dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1" >&2; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@" >"$T/out" 2>"$T/err"; then ok "$what"; else bad "$what"; cat "$T/err" >&2; fi; }
check_fails() { local what=$1 want=$2; shift 2; local rc=0; "$@" >"$T/out" 2>"$T/err" || rc=$?
  if [ $rc -eq 1 ] && grep -q "$want" "$T/err"; then ok "$what"; else bad "$what (rc $rc)"; cat "$T/err" >&2; fi; }

pcr() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Measurements"]["PCR"+sys.argv[2]])' "$1" "$2"; }
zero=$(printf '0%.0s' $(seq 96))

printf -- '--port\n5005\n' >"$T/conf"
"$SB" image build --enclave "$SB_BIN/sealbid-enclave" --config "$T/conf" -o "$T/good.img" >/dev/null
"$SB" image measure "$T/good.img" >"$T/good.json"
cp "$SB_BIN/sealbid-enclave" "$T/changed-enclave"
printf 'x' >>"$T/changed-enclave" # still runs: trailing bytes after the ELF image
"$SB" image build --enclave "$T/changed-enclave" --config "$T/conf" -o "$T/changed.img" >/dev/null
"$SB" image measure "$T/changed.img" >"$T/changed.json"
"$SB" enclave dev-root >"$T/root.pem"

[ "$(pcr "$T/good.json" 0)" != "$(pcr "$T/changed.json" 0)" ] && ok "changed binary: PCR0 differs" || bad "PCR0 same"
[ "$(pcr "$T/good.json" 2)" != "$(pcr "$T/changed.json" 2)" ] && ok "changed binary: PCR2 differs" || bad "PCR2 same"
[ "$(pcr "$T/good.json" 1)" = "$(pcr "$T/changed.json" 1)" ] && ok "changed binary: PCR1 (boot) same" || bad "PCR1 differs"

expect_pcrs=(--expect-pcr "0=$(pcr "$T/good.json" 0)" --expect-pcr "1=$(pcr "$T/good.json" 1)"
             --expect-pcr "2=$(pcr "$T/good.json" 2)")

# A good enclave.
check "launch" "$SB" enclave run --image "$T/good.img" --cid 16
check "describe lists it" "$SB" enclave describe
grep -q '"EnclaveCID":16' "$T/out" && ok "describe shows CID 16" || bad "describe: $(cat "$T/out")"
check "attest request" "$SB" attest request --cid 16 --nonce 00112233445566778899 -o "$T/good.doc"
check "document verifies with measured PCRs and the dev root" \
  "$SB" attest verify "$T/good.doc" --root "$T/root.pem" "${expect_pcrs[@]}"
check "describe --json" "$SB" attest verify "$T/good.doc" --root "$T/root.pem" --json
python3 - "$T/out" <<'PY' && ok "nonce carried" || bad "nonce not carried"
import base64, json, sys
d = json.load(open(sys.argv[1]))
assert base64.b64decode(d["nonce"]) == bytes.fromhex("00112233445566778899"), d["nonce"]
PY
check_fails "document fails against the AWS root" "root" "$SB" attest verify "$T/good.doc" "${expect_pcrs[@]}"

if [ "$(id -u)" = 0 ]; then
  sup=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ProcessID"])' <<<"$("$SB" enclave describe)")
  child=$(pgrep -P "$sup" | head -1)
  if [ -n "$child" ] && [ "$(readlink /proc/"$child"/ns/net)" != "$(readlink /proc/self/ns/net)" ]; then
    ok "enclave runs in its own network namespace"
  else bad "enclave shares the network namespace"; fi
fi

# A changed binary: its document does not carry the agreed PCRs.
check "launch changed" "$SB" enclave run --image "$T/changed.img" --cid 17
check "attest changed" "$SB" attest request --cid 17 -o "$T/changed.doc"
check_fails "changed binary rejected" "PCR" "$SB" attest verify "$T/changed.doc" --root "$T/root.pem" "${expect_pcrs[@]}"

# Debug mode: PCR0/1/2 are zero; rejected unless allowed.
check "launch debug" "$SB" enclave run --image "$T/good.img" --cid 18 --debug-mode
grep -q '"Flags":"DEBUG_MODE"' "$T/out" && ok "debug flag reported" || bad "no debug flag"
check "attest debug" "$SB" attest request --cid 18 -o "$T/debug.doc"
check_fails "debug mode rejected" "debug" "$SB" attest verify "$T/debug.doc" --root "$T/root.pem"
check_fails "debug mode fails the pinned PCRs even when allowed" "PCR" \
  "$SB" attest verify "$T/debug.doc" --root "$T/root.pem" --allow-debug "${expect_pcrs[@]}"
check "debug mode accepted with --allow-debug and zero PCRs" \
  "$SB" attest verify "$T/debug.doc" --root "$T/root.pem" --allow-debug --expect-pcr "0=$zero"

# A CID in use is refused; terminate ends them all.
check_fails "CID in use refused" "in use" "$SB" enclave run --image "$T/good.img" --cid 16
check "terminate all" "$SB" enclave terminate --all
grep -q '"Terminated":3' "$T/out" && ok "three terminated" || bad "terminate: $(cat "$T/out")"
check "describe empty" "$SB" enclave describe
[ "$(cat "$T/out")" = "[]" ] && ok "no enclaves left" || bad "left: $(cat "$T/out")"
check_fails "bad image refused" "image" "$SB" enclave run --image "$T/conf"
# An application that dies at start: reported at once (not after the wait), with its log.
printf -- '--no-such-option\n' >"$T/bad.conf"
"$SB" image build --enclave "$SB_BIN/sealbid-enclave" --config "$T/bad.conf" -o "$T/dies.img" >/dev/null
start=$(date +%s)
check_fails "an enclave that exits at start is reported" "exited during start-up" \
  "$SB" enclave run --image "$T/dies.img" --cid 19 --wait-ms 20000
[ $(($(date +%s) - start)) -lt 10 ] && ok "reported without waiting out the timeout" || bad "waited"
grep -q "unexpected argument" "$T/err" || grep -q "unexpected argument" "$SEALBID_STATE"/enclaves/*.log \
  && ok "its log says why" || bad "no reason in the log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
