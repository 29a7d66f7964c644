#!/usr/bin/env bash
# scripts/build-enclave-static.sh [OUT]: the enclave image's root file system,
# reproducibly (`make enclave-static`; docs/DEPLOY.md "Building the enclave
# image and checking its PCRs").
#
# OUT (default build-static/ in the source tree) is this script's own: it is
# emptied first. It ends up holding
#   sealbid-enclave       the binary as linked (with debug information)
#   rootfs/               /sealbid-enclave (debug information stripped),
#                         /etc/ssl/certs/ca-certificates.crt, the shared
#                         objects it still needs and their loader, /tmp (1777)
#   rootfs.tar            that tree: sorted, mtime SOURCE_DATE_EPOCH, uid/gid 0
#   rootfs-manifest.txt   every file with mode, size and SHA-256; the static
#                         archives and copied shared objects with their
#                         Debian package versions
#   SHA256SUMS            of the four above (rootfs/ through rootfs.tar)
#
# SOURCE_DATE_EPOCH is the commit time of HEAD when the tree is a git
# checkout (an inherited value is ignored, so the time of the build does not
# matter); outside git it must be given (the Dockerfile passes it).
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

die() { echo "build-enclave-static: $*" >&2; exit 1; }

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/build-static}
JOBS=${JOBS:-2}

if git -C "$SRC" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  epoch=$(git -C "$SRC" log -1 --format=%ct HEAD)
  if [ -n "${SOURCE_DATE_EPOCH:-}" ] && [ "$SOURCE_DATE_EPOCH" != "$epoch" ]; then
    echo "build-enclave-static: SOURCE_DATE_EPOCH from the commit ($epoch), not the environment" >&2
  fi
  SOURCE_DATE_EPOCH=$epoch
fi
[[ "${SOURCE_DATE_EPOCH:-}" =~ ^[0-9]{1,12}$ ]] || die "SOURCE_DATE_EPOCH must be set (not a git checkout)"
export SOURCE_DATE_EPOCH

case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
[ "$OUT" != "$SRC" ] && [ "$OUT" != / ] || die "refusing OUT=$OUT"
rm -rf "$OUT"
mkdir -p "$OUT"

# 1. The binary, alone, in its own build directory.
cmake -S "$SRC" -B "$OUT/cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_STATIC_ENCLAVE=ON >"$OUT/cmake.log" 2>&1 ||
  { tail -20 "$OUT/cmake.log" >&2; die "cmake configure failed"; }
cmake --build "$OUT/cmake" -j "$JOBS" --target sealbid-enclave >>"$OUT/cmake.log" 2>&1 ||
  { tail -30 "$OUT/cmake.log" >&2; die "build failed"; }
cp "$OUT/cmake/bin/sealbid-enclave" "$OUT/sealbid-enclave"

# 2. The root file system.
R=$OUT/rootfs
mkdir -p "$R/etc/ssl/certs" "$R/tmp"
objcopy --strip-debug "$OUT/sealbid-enclave" "$R/sealbid-enclave"
CA=${SB_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$CA" ] || die "no CA bundle at $CA (package ca-certificates)"
cp "$CA" "$R/etc/ssl/certs/ca-certificates.crt"

# Every shared object the loader resolves, at the path it resolves it to
# (symlinks followed: the file under its soname), and the loader itself at
# the binary's PT_INTERP path.
interp=$(readelf -l "$OUT/sealbid-enclave" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$interp" ] || die "no program interpreter in the binary"
sos=$(ldd "$OUT/sealbid-enclave" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
for so in $interp $sos; do
  mkdir -p "$R$(dirname "$so")"
  cp -L "$so" "$R$so"
done
# The loader finds them without an ld.so.cache: the image has the same
# multiarch directories the Debian loader searches by default.
if [ "$(id -u)" = 0 ]; then
  chroot "$R" /sealbid-enclave --help >/dev/null 2>"$OUT/chroot.err" ||
    die "the binary does not start in rootfs/: $(head -3 "$OUT/chroot.err")"
fi
find "$R" -type d -exec chmod 0755 {} +
find "$R" -type f -exec chmod 0644 {} +
chmod 0755 "$R/sealbid-enclave" "$R$interp"
chmod 1777 "$R/tmp"
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# 3. The deterministic archive: sorted names, fixed owner and times, no
# atime/ctime pax records.
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --owner=0 --group=0 --numeric-owner \
  --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$R" -cf "$OUT/rootfs.tar" .

# 4. The manifest and the sums.
pkg_of() { # the Debian package=version that ships a file, or "-"
  local p
  p=$(dpkg -S "$1" 2>/dev/null | head -1 | cut -d: -f1) || true
  [ -n "$p" ] || p=$(dpkg -S "$(readlink -f "$1")" 2>/dev/null | head -1 | cut -d: -f1) || true
  if [ -n "$p" ]; then echo "$p=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null | head -1)"; else echo -; fi
}
{
  echo "# sealbid enclave root file system"
  echo "source_date_epoch $SOURCE_DATE_EPOCH"
  echo "# files: mode size sha256 path"
  (cd "$R" && find . -type f | sort | while read -r f; do
     printf '%s %s %s %s\n' "$(stat -c %a "$f")" "$(stat -c %s "$f")" \
       "$(sha256sum "$f" | cut -d' ' -f1)" "${f#.}"
   done)
  echo "# directories"
  (cd "$R" && find . -mindepth 1 -type d | sort | while read -r d; do
     printf '%s %s\n' "$(stat -c %a "$d")" "${d#.}"; done)
  echo "# linked statically into /sealbid-enclave: archive package"
  while read -r a; do
    [ -n "$a" ] && printf '%s %s\n' "$a" "$(pkg_of "$a")"
  done <"$OUT/cmake/static-archives.txt"
  echo "# shared objects copied from the build system: path package"
  for so in $interp $sos; do printf '%s %s\n' "$so" "$(pkg_of "$so")"; done
} >"$OUT/rootfs-manifest.txt"

(cd "$OUT" && sha256sum sealbid-enclave rootfs/sealbid-enclave rootfs.tar rootfs-manifest.txt >SHA256SUMS)
echo "build-enclave-static: $OUT (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
cat "$OUT/SHA256SUMS"
