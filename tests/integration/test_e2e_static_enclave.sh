#!/usr/bin/env bash
# The local end-to-end auction (test_e2e_auction.sh, unchanged) with the
# enclave binary of the static image build (scripts/build-enclave-static.sh,
# built here from this tree into a scratch directory) instead of build/bin's:
# scripts/local-stack.bash builds the image from SB_ENCLAVE_BIN. First checks
# that the binary really is the static one and that the hook takes effect
# (the image's PCRs differ from those of an image of the dynamic binary).
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
JOBS=2 bash "$SB_SRC/scripts/build-enclave-static.sh" "$OUT/static" >"$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log" >&2; echo "FAIL: static enclave build" >&2; exit 1; }
export SB_ENCLAVE_BIN=$OUT/static/rootfs/sealbid-enclave

# Static where Debian allows: no libcurl, libssl, libcrypto or libjansson
# shared object is loaded.
needed=$(readelf -d "$SB_ENCLAVE_BIN" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
if grep -qE '^lib(curl|ssl|crypto|jansson)\.so' <<<"$needed"; then
  bad "the static enclave still needs: $(grep -E '^lib(curl|ssl|crypto|jansson)' <<<"$needed" | tr '\n' ' ')"
else
  ok "curl, OpenSSL and jansson linked statically (needs: $(tr '\n' ' ' <<<"$needed"))"
fi

# The hook: an image built without an explicit binary is the static one.
(
  ls_begin
  ls_build_image "$LS_DIR/static.img"
  ls_build_image "$LS_DIR/dynamic.img" "$SB_BIN/sealbid-enclave"
  "$SB_BIN/sealbid" image measure "$LS_DIR/static.img" >"$OUT/static-pcrs.json"
  "$SB_BIN/sealbid" image measure "$LS_DIR/dynamic.img" >"$OUT/dynamic-pcrs.json"
)
if [ -s "$OUT/static-pcrs.json" ] && ! cmp -s "$OUT/static-pcrs.json" "$OUT/dynamic-pcrs.json"; then
  ok "SB_ENCLAVE_BIN: the image is built from the static binary"
else
  bad "SB_ENCLAVE_BIN did not change the image"
fi
ls_checks_done "test_e2e_static_enclave (checks)" || exit 1

# The whole auction story with it.
SB_BIN=$SB_BIN SB_SRC=$SB_SRC bash "$SB_SRC/tests/integration/test_e2e_auction.sh"
