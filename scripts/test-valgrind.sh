#!/usr/bin/env bash
# make test-valgrind: every unit test program (ctest -L unit) under valgrind
# memcheck. A test fails on any memcheck error (invalid read/write, use of
# uninitialised memory, bad free) or a definite leak (--error-exitcode=1),
# as well as on its own failures. Two programs run at once (the machine has
# 2 cores). Prints each program's time and a closing "N passed, N failed".
#
#   bash scripts/test-valgrind.sh [BUILD_DIR]     (default build/)
#   VALGRIND_JOBS=1 / VALGRIND_ONLY=test_aws_kms  to narrow a run
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
JOBS=${VALGRIND_JOBS:-2}
LOGS="$BUILD/valgrind"

command -v valgrind >/dev/null || { echo "test-valgrind: valgrind not installed (scripts/install-deps.sh)" >&2; exit 1; }
rm -rf "$LOGS"
mkdir -p "$LOGS"

# The unit programs ctest knows, by their test names "unit/test_x".
mapfile -t tests < <(cd "$BUILD" && ctest -L unit -N | sed -n 's|.*Test *#[0-9]*: unit/\(test_[a-z0-9_]*\)$|\1|p')
if [ -n "${VALGRIND_ONLY:-}" ]; then
  mapfile -t tests < <(printf '%s\n' "${tests[@]}" | grep -xE "$VALGRIND_ONLY")
fi
[ "${#tests[@]}" -gt 0 ] || { echo "test-valgrind: no unit tests found in $BUILD" >&2; exit 1; }

run_one() { # NAME: one program under memcheck; its log in $LOGS/NAME.log
  local t=$1 start rc=0
  start=$(date +%s)
  # The same environment ctest gives the unit tests (tests/CMakeLists.txt).
  SB_BIN="$BUILD/bin" SB_TEST_DATA="$ROOT/tests/data" \
    timeout 1800 valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=yes \
    --child-silent-after-fork=yes --quiet --log-file="$LOGS/$t.vg" \
    "$BUILD/bin/$t" >"$LOGS/$t.log" 2>&1 || rc=$?
  echo "$t $rc $(($(date +%s) - start))" >"$LOGS/$t.result"
}
export -f run_one
export BUILD ROOT LOGS

start=$(date +%s)
printf '%s\n' "${tests[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {}'

passed=0 failed=0
for t in "${tests[@]}"; do
  read -r _ rc secs <"$LOGS/$t.result"
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "valgrind: $t ok (${secs}s)"
  else
    failed=$((failed + 1)); echo "valgrind: $t FAILED (exit $rc, ${secs}s)" >&2
    tail -n 30 "$LOGS/$t.vg" >&2 || true
    tail -n 15 "$LOGS/$t.log" >&2 || true
  fi
done
echo "test-valgrind: ${#tests[@]} unit programs in $(($(date +%s) - start))s (logs in $LOGS)"
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
