#!/usr/bin/env bash
# Integration test for deploy/systemd/: every unit and the vsock-proxy
# drop-in pass `systemd-analyze verify` with no warning (executables are
# pointed at stubs and AWS's units replaced by stand-ins, since nitro-cli is
# not installed here), the settings that matter are there (no
# --debug-mode, --num_workers >= the enclave's KMS connection cap, one
# manifest per instance name), and sealbid-enclave-check accepts only a
# RUNNING, non-debug enclave.
set -euo pipefail

SB_SRC=${SB_SRC:?set SB_SRC to the source tree}
UNITS="$SB_SRC/deploy/systemd"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# --- sealbid-enclave-check against a fake nitro-cli ------------------------
mkdir -p "$TMP/bin"
cat >"$TMP/bin/nitro-cli" <<'STUB'
#!/bin/sh
[ "$1" = describe-enclaves ] || exit 2
[ -n "${FAKE_DESCRIBE_FAIL:-}" ] && exit 1
cat "$FAKE_DESCRIBE"
STUB
chmod +x "$TMP/bin/nitro-cli"
describe() { # NAME STATE FLAGS
	printf '[{"EnclaveName":"%s","EnclaveID":"i-0abc-enc0123","ProcessID":4242,"EnclaveCID":16,"NumberOfCPUs":2,"CPUIDs":[1,3],"MemoryMiB":1024,"State":"%s","Flags":"%s"}]\n' "$1" "$2" "$3"
}
check() { # WANT CASE
	local want=$1 name=$2 got=0
	NITRO_CLI="$TMP/bin/nitro-cli" FAKE_DESCRIBE="$TMP/$name.json" \
		sh "$UNITS/sealbid-enclave-check" sealbid >/dev/null 2>"$TMP/$name.err" || got=$?
	[ "$got" -eq "$want" ] || fail "enclave-check $name: exit $got, want $want ($(cat "$TMP/$name.err"))"
}
describe sealbid RUNNING NONE >"$TMP/ok.json"; check 0 ok
describe sealbid RUNNING DEBUG_MODE >"$TMP/debug.json"; check 1 debug
grep -q 'debug mode' "$TMP/debug.err" || fail "enclave-check debug: unclear message"
describe sealbid TERMINATING NONE >"$TMP/term.json"; check 1 term
describe other RUNNING NONE >"$TMP/other.json"; check 1 other
grep -q 'no single enclave named sealbid' "$TMP/other.err" || fail "enclave-check other: unclear message"
echo '[]' >"$TMP/none.json"; check 1 none
{ describe sealbid RUNNING NONE; } | jq -c '. + .' >"$TMP/twice.json"; check 1 twice
echo 'Error: not json' >"$TMP/garbage.json"; check 1 garbage
grep -q 'not the expected JSON' "$TMP/garbage.err" || fail "enclave-check garbage: unclear message"
got=0
FAKE_DESCRIBE_FAIL=1 NITRO_CLI="$TMP/bin/nitro-cli" FAKE_DESCRIBE=/dev/null \
	sh "$UNITS/sealbid-enclave-check" sealbid 2>/dev/null || got=$?
[ "$got" -eq 1 ] || fail "enclave-check: nitro-cli failure not reported"

# --- grep-level checks -----------------------------------------------------
svc="$UNITS/sealbid-enclave.service"
dropin="$UNITS/nitro-enclaves-vsock-proxy.service.d/sealbid.conf"
job="$UNITS/sealbid-job@.service"
grep -q '^ExecStart=/usr/bin/nitro-cli run-enclave --eif-path ' "$svc" || fail "enclave unit: no run-enclave"
grep -v '^#' "$svc" | grep -q -- '--debug-mode' && fail "enclave unit: --debug-mode outside a comment"
grep -q '^ExecStartPost=/usr/local/libexec/sealbid/sealbid-enclave-check ' "$svc" || fail "enclave unit: no describe-enclaves check"
grep -q '^ExecStop=/usr/bin/nitro-cli terminate-enclave ' "$svc" || fail "enclave unit: no terminate on stop"
grep -q '^Requires=nitro-enclaves-allocator.service' "$svc" || fail "enclave unit: allocator not required"
# The drop-in must clear the stock ExecStart before setting its own.
[ "$(grep -c '^ExecStart=' "$dropin")" -eq 2 ] && grep -q '^ExecStart=$' "$dropin" ||
	fail "drop-in: ExecStart is not reset then set"
grep -q '^ExecStart=/usr/bin/vsock-proxy .*kms\.${SEALBID_KMS_REGION}\.amazonaws\.com 443 .*--num_workers ${SEALBID_PROXY_WORKERS}' "$dropin" ||
	fail "drop-in: vsock-proxy line"
grep -q 'kms-max-connections' "$dropin" || fail "drop-in: no comment tying workers to --kms-max-connections"
workers=$(sed -n 's/^Environment=SEALBID_PROXY_WORKERS=\([0-9]*\)$/\1/p' "$dropin")
[ "${workers:-0}" -ge 16 ] || fail "drop-in: --num_workers default ${workers:-none} < 16"
env_workers=$(sed -n 's/^SEALBID_PROXY_WORKERS=\([0-9]*\)$/\1/p' "$UNITS/sealbid.env")
[ "${env_workers:-0}" -eq "${workers:-x}" ] || fail "sealbid.env and the drop-in disagree on the worker count"
# When the enclave binary states its default cap, the workers must cover it.
if [ -n "${SB_BIN:-}" ] && [ -x "$SB_BIN/sealbid-enclave" ]; then
	cap=$("$SB_BIN/sealbid-enclave" --help 2>&1 | tr '\n' ' ' |
		sed -n 's/.*--kms-max-connections N (1\.\.[0-9]*, default \([0-9]*\)).*/\1/p')
	if [ -n "$cap" ] && [ "$cap" -gt "${workers:-0}" ]; then
		fail "enclave's default --kms-max-connections $cap > proxy workers $workers"
	fi
fi
grep -q '^ExecStart=/usr/local/bin/sealbid run --manifest /etc/sealbid/jobs/%i.json --enclave-cid ' "$job" ||
	fail "job unit: manifest per instance name"
grep -q '^Requires=sealbid-enclave.service' "$job" || fail "job unit: enclave not required"
grep -q '^OnCalendar=' "$UNITS/sealbid-job@.timer" || fail "timer: no OnCalendar"

# Every ${SEALBID_*} a unit uses has a default in that unit and a line in
# sealbid.env (or the unit would run with an empty argument).
for f in "$svc" "$dropin" "$job"; do
	for v in $(grep -o '\${SEALBID_[A-Z_]*}' "$f" | tr -d '${}' | sort -u); do
		grep -q "^Environment=$v=." "$f" || fail "$(basename "$f"): no default for $v"
		grep -q "^$v=." "$UNITS/sealbid.env" || fail "sealbid.env: no $v"
	done
done
for f in "$svc" "$dropin" "$job"; do
	grep -q '^EnvironmentFile=-/etc/sealbid/sealbid.env$' "$f" || fail "$(basename "$f"): does not read sealbid.env"
done

# --- systemd-analyze verify ------------------------------------------------
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "test_deploy_units: SKIP systemd-analyze verify (systemd-analyze not installed); other checks ran"
else
	U="$TMP/units"
	mkdir -p "$U"
	cp -r "$UNITS/." "$U/"
	for b in vsock-proxy sealbid; do printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/$b"; chmod +x "$TMP/bin/$b"; done
	cp "$UNITS/sealbid-enclave-check" "$TMP/bin/"; chmod +x "$TMP/bin/sealbid-enclave-check"
	sed -i -e "s#/usr/bin/nitro-cli#$TMP/bin/nitro-cli#g" -e "s#/usr/bin/vsock-proxy#$TMP/bin/vsock-proxy#g" \
		-e "s#/usr/local/bin/sealbid#$TMP/bin/sealbid#g" \
		-e "s#/usr/local/libexec/sealbid/sealbid-enclave-check#$TMP/bin/sealbid-enclave-check#g" \
		"$U/sealbid-enclave.service" "$U/sealbid-job@.service" "$U/nitro-enclaves-vsock-proxy.service.d/sealbid.conf"
	# Stand-ins for the units aws-nitro-enclaves-cli installs.
	printf '[Unit]\nDescription=stand-in allocator\n[Service]\nType=oneshot\nExecStart=/bin/true\n' \
		>"$U/nitro-enclaves-allocator.service"
	printf '[Unit]\nDescription=stand-in vsock proxy\nAfter=network-online.target\n[Service]\nType=simple\nExecStart=%s 8000 kms.us-east-1.amazonaws.com 443\nRestart=always\n[Install]\nWantedBy=multi-user.target\n' \
		"$TMP/bin/vsock-proxy" >"$U/nitro-enclaves-vsock-proxy.service"
	verify() { # OUTFILE UNIT...: verify passes only with exit 0 and no output at all
		local out=$1 got=0
		shift
		SYSTEMD_UNIT_PATH="$U:" systemd-analyze verify "$@" >"$out" 2>&1 || got=$?
		[ "$got" -eq 0 ] && [ ! -s "$out" ]
	}
	verify "$TMP/verify.out" "$U/sealbid-enclave.service" "$U/sealbid-job@.service" \
		"$U/sealbid-job@auction-2026-12.service" "$U/sealbid-job@.timer" \
		"$U/nitro-enclaves-vsock-proxy.service" ||
		{ fail "systemd-analyze verify:"; sed 's/^/  /' "$TMP/verify.out" >&2; }
	# The verifier must see the drop-in and object to a bad one, or the
	# pass above proves nothing.
	echo 'ExecStart=relative/vsock-proxy' >>"$U/nitro-enclaves-vsock-proxy.service.d/sealbid.conf"
	verify "$TMP/bad.out" "$U/nitro-enclaves-vsock-proxy.service" &&
		fail "systemd-analyze verify accepted a broken drop-in"
	printf '[Timer]\nOnCalendar=not-a-date\n' >>"$U/sealbid-job@.timer"
	verify "$TMP/bad2.out" "$U/sealbid-job@.timer" && fail "systemd-analyze verify accepted a broken timer"
fi

if [ "$fails" -ne 0 ]; then
	echo "test_deploy_units: $fails failure(s)" >&2
	exit 1
fi
echo "test_deploy_units: ok"
