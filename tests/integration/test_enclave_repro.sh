#!/usr/bin/env bash
# The enclave image is reproducible: the same commit, checked out in two
# different directories and built at different times with a different
# SOURCE_DATE_EPOCH in the environment and a different umask, gives
# byte-identical SHA256SUMS (binary, stripped binary, rootfs.tar, manifest).
# On a mismatch it prints what differs. Also: the archive's entries have
# uid/gid 0 and the commit's time, the binary names no build path, and a
# tree that is not a git checkout needs SOURCE_DATE_EPOCH.
set -euo pipefail
export TZ=UTC LC_ALL=C

SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1" >&2; failed=$((failed + 1)); }

git -C "$SB_SRC" rev-parse --verify -q HEAD >/dev/null || { echo "FAIL: $SB_SRC is not a git checkout" >&2; exit 1; }
commit=$(git -C "$SB_SRC" rev-parse HEAD)
epoch=$(git -C "$SB_SRC" log -1 --format=%ct HEAD)

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# Two checkouts whose paths differ in length too.
for d in a bb; do
  git clone -q --shared --no-checkout "$SB_SRC" "$W/$d/sealbid"
  git -C "$W/$d/sealbid" checkout -q "$commit"
done

# 0. Outside git, SOURCE_DATE_EPOCH is required (and nothing is built).
mkdir "$W/plain"
git -C "$SB_SRC" archive "$commit" | tar -x -C "$W/plain"
if env -u SOURCE_DATE_EPOCH bash "$W/plain/scripts/build-enclave-static.sh" "$W/plain/out" 2>"$W/plain.err"; then
  bad "a tree without git or SOURCE_DATE_EPOCH was built"
elif grep -q 'SOURCE_DATE_EPOCH must be set' "$W/plain.err" && [ ! -e "$W/plain/out" ]; then
  ok "no git and no SOURCE_DATE_EPOCH: refused before building"
else
  bad "unclear refusal: $(cat "$W/plain.err")"
fi

build() { # build DIR EPOCH UMASK
  (cd "$1" && umask "$3" && SOURCE_DATE_EPOCH=$2 JOBS=2 \
    bash scripts/build-enclave-static.sh "$1/build-static" >"$1/build.log" 2>&1) ||
    { tail -30 "$1/build.log" >&2; bad "static build in $1 failed"; return 1; }
}
build "$W/a/sealbid" 1 022 || exit 1
sleep 1
build "$W/bb/sealbid" 1700000000 077 || exit 1
A=$W/a/sealbid/build-static B=$W/bb/sealbid/build-static

if cmp -s "$A/SHA256SUMS" "$B/SHA256SUMS"; then
  ok "two builds of $commit: identical SHA256SUMS"
  sed 's/^/  /' "$A/SHA256SUMS"
else
  bad "the two builds differ"
  diff "$A/SHA256SUMS" "$B/SHA256SUMS" >&2 || true
  echo "differing files in rootfs/:" >&2
  diff <(sed -n '/^# files/,/^# directories/p' "$A/rootfs-manifest.txt") \
       <(sed -n '/^# files/,/^# directories/p' "$B/rootfs-manifest.txt") >&2 || true
  cmp -l "$A/sealbid-enclave" "$B/sealbid-enclave" 2>/dev/null | head -5 >&2 || true
fi

# The archive: owner 0/0 and the commit's time on every entry, names sorted.
listing=$(tar --numeric-owner --full-time -tvf "$A/rootfs.tar")
if ! awk '{ print $2 }' <<<"$listing" | grep -qv '^0/0$'; then ok "every entry is 0/0"; else bad "an entry not owned by 0/0"; fi
want=$(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S')
if ! awk '{ print $4" "$5 }' <<<"$listing" | grep -qv "^$want$"; then
  ok "every entry has the commit time ($want)"
else
  bad "an entry's mtime is not the commit time $want"
fi
names=$(tar -tf "$A/rootfs.tar")
if [ "$names" = "$(LC_ALL=C sort <<<"$names")" ]; then ok "entries sorted"; else bad "entries not sorted"; fi
for f in ./sealbid-enclave ./etc/ssl/certs/ca-certificates.crt ./tmp/ ./lib64/ld-linux-x86-64.so.2; do
  grep -qx -- "$f" <<<"$names" || bad "rootfs.tar lacks $f"
done
if grep -q '^drwxrwxrwt .* \./tmp/$' <<<"$listing"; then ok "/tmp is 1777"; else bad "/tmp is not 1777"; fi

# No build path in the binary (the file prefix maps).
if strings "$A/sealbid-enclave" | grep -q -e "$W" -e "$SB_SRC"; then
  bad "the binary names a build path: $(strings "$A/sealbid-enclave" | grep -m3 -e "$W" -e "$SB_SRC")"
else
  ok "no build path in the binary"
fi
grep -q '^source_date_epoch '"$epoch"'$' "$A/rootfs-manifest.txt" && ok "manifest names the commit time" ||
  bad "manifest does not name the commit time"

echo "test_enclave_repro: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
