# What every demo script does first (sourced, after it sets ROOT, SB_BIN and
# SB): a fresh directory build/$DEMO_NAME (or $SEALBID_DEMO_DIR) for the local
# stack's state, the local stack itself (stopped on exit), and the step/say
# printers.
[ -x "$SB" ] || { echo "demo: build first (make)" >&2; exit 1; }
LS_DIR=${SEALBID_DEMO_DIR:-$ROOT/build/${DEMO_NAME:?set DEMO_NAME}}
rm -rf "$LS_DIR"
mkdir -p "$LS_DIR/out"
export SEALBID_STATE=$LS_DIR/state SEALBID_VSOCK_DIR=$LS_DIR/vsock
mkdir -p "$SEALBID_VSOCK_DIR"
# shellcheck source=local-stack.bash
. "$ROOT/scripts/local-stack.bash"
trap ls_stop EXIT

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '   %s\n' "$*"; }
