#!/usr/bin/env bash
# Runs every benchmark: each compiled $SB_BIN/bench_* program, then each
# bench/bench_*.sh script (so a new benchmark is just a new file). Exits
# non-zero if any of them failed; all of them run regardless.
set -uo pipefail
: "${SB_BIN:?SB_BIN must point at the bin directory of a build}"
here=$(cd "$(dirname "$0")" && pwd)
status=0
shopt -s nullglob
for b in "$SB_BIN"/bench_*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	echo "== $(basename "$b")"
	if ! "$b"; then
		echo "bench: $(basename "$b") failed" >&2
		status=1
	fi
	echo
done
for s in "$here"/bench_*.sh; do
	echo "== $(basename "$s")"
	if ! SB_BIN="$SB_BIN" bash "$s"; then
		echo "bench: $(basename "$s") failed" >&2
		status=1
	fi
	echo
done
exit "$status"
