#!/usr/bin/env bash
# deploy/enclave/Dockerfile: clean under dockerfilelint (npm; hadolint is not
# packaged for Debian 12), and the project's own rules: every FROM is pinned
# by digest or is scratch, the final stage is FROM scratch, packages come
# from a snapshot.debian.org date, and the CMD's options are ones that
# sealbid-enclave --help names. A known-bad Dockerfile must fail the linter
# (so a linter that passes everything is caught).
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
DF=$SB_SRC/deploy/enclave/Dockerfile
LINT=$SB_SRC/tools/node_modules/.bin/dockerfilelint
passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1" >&2; failed=$((failed + 1)); }

[ -x "$LINT" ] || { echo "FAIL: no $LINT (make deps installs npm dockerfilelint into tools/)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

if "$LINT" "$DF" >"$W/lint.out" 2>&1; then ok "dockerfilelint: no issues"
else bad "dockerfilelint: $(cat "$W/lint.out")"; fi

cat >"$W/Dockerfile.bad" <<'BAD'
FROM debian
RUN apt-get update
RUN apt-get install curl
ADD http://example.invalid/x /x
CMD /x
BAD
if "$LINT" "$W/Dockerfile.bad" >"$W/bad.out" 2>&1; then bad "dockerfilelint passed a bad Dockerfile"
else ok "dockerfilelint rejects a bad Dockerfile"; fi

froms=$(grep -E '^FROM ' "$DF" | awk '{ print $2 }')
unpinned=$(grep -vE '^(scratch|[a-z0-9./-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64})$' <<<"$froms" || true)
[ -z "$unpinned" ] && ok "every FROM pinned by digest (or scratch)" || bad "unpinned FROM: $unpinned"
[ "$(tail -1 <<<"$froms")" = scratch ] && ok "final stage FROM scratch" || bad "final stage is not scratch"
grep -qE '^ARG DEBIAN_SNAPSHOT=[0-9]{8}T[0-9]{6}Z$' "$DF" && grep -q 'snapshot.debian.org/archive/debian/' "$DF" &&
  ok "packages from a snapshot.debian.org date" || bad "packages not pinned to a snapshot date"

cmd=$(grep -E '^CMD \[' "$DF" | tail -1)
grep -q '"/sealbid-enclave"' <<<"$cmd" || bad "CMD does not run /sealbid-enclave"
help=$("$SB_BIN/sealbid-enclave" --help 2>&1 || true)
for opt in $(grep -oE '"--[a-z-]+"' <<<"$cmd" | tr -d '"'); do
  grep -q -- "\[$opt " <<<"$help" && ok "CMD option $opt is sealbid-enclave's" || bad "CMD option $opt unknown to sealbid-enclave"
done
grep -q '"--port", "5005"' <<<"$cmd" && ok "channel on vsock port 5005" || bad "CMD not on port 5005"

echo "test_dockerfile_lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
