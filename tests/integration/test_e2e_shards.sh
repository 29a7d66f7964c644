#!/usr/bin/env bash
# Sharded jobs (issue 12) through the whole local stack: one job of 4 shards,
# each shard on its own enclave (4 enclaves through the launcher at once, all
# shards running concurrently), merged by `sealbid merge` into exactly the
# bytes of output.csv that the unsharded job gives for the same bids, then
# checked by `sealbid verify --merge-record`. Buyer1's bids are kms-csv (each
# shard reads the whole file, checks its trailer and decrypts only its rows),
# Buyer2's are sealed. Every bad input of the issue is refused with a clear
# error and no merged output: shards 0 and 4097, --shard N, no --shard, a
# receipt from another job, one from another shard count, the same shard
# twice, a shard missing, a shard output edited after its receipt.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin

OPERATOR_ARN=arn:aws:iam::$LS_ACCOUNT:role/operator
mkdir -p "$LS_DIR/out"
ls_start_kms user/buyer1 user/buyer2 role/operator
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
for cid in 16 17 18 19; do
  "$SB" enclave run --image "$LS_DIR/enclave.img" --cid $cid >/dev/null
done
K1=$(ls_create_key buyer1 buyer1)
K2=$(ls_create_key buyer2 buyer2)
for b in 1 2; do ls_pin_key "buyer$b" "$OPERATOR_ARN" "$LS_DIR/pcrs.json" --require-job; done
ok "4 enclaves up; keys pinned to the image and the job"

# manifest FILE TAG OUTPUT SHARDS_JSON [B2_PART]: B2_PART ".shard-{shard}" = Buyer2 sealed per shard.
manifest() {
  printf '{"version":1,"job_id":"%s","region":"%s","parties":[%s,%s],"output":"file://%s"%s}\n' \
    "${2%%-*}" "$LS_REGION" \
    "{\"name\":\"Buyer1\",\"input\":\"file://$LS_DIR/b1-$2.csv\",\"key\":\"$K1\"}" \
    "{\"name\":\"Buyer2\",\"input\":\"file://$LS_DIR/b2-$2${5:-}.sealed\",\"key\":\"$K2\",\"format\":\"sealed\"}" \
    "$3" "$4" >"$1"
}
# The same bids for every job: 40 properties, ties included, ids not all numeric.
{ for i in $(seq 1 40); do echo "$i,$((1000 + (i * 37) % 101))"; done; echo "Lot-A,5"; } >"$LS_DIR/p1.csv"
{ echo "[].contract,[].bid"; for i in $(seq 1 40); do echo "$i,$((1030 + (i * 53) % 67))"; done
  echo "Lot-B,7"; } >"$LS_DIR/p2.csv"
encrypt() { # MANIFEST TAG [SEAL_ARGS...]
  local m=$1 tag=$2 out; shift 2
  out=$LS_DIR/b2-$tag.sealed; [ $# -gt 0 ] && out=$LS_DIR/b2-$tag.shard-{shard}.sealed
  ls_as buyer1 "$SB" encrypt-bids --key-id alias/buyer1 --manifest "$m" --party Buyer1 \
    "$LS_DIR/p1.csv" >"$LS_DIR/b1-$tag.csv"
  ls_as buyer2 "$SB" seal --key-id alias/buyer2 --manifest "$m" --party Buyer2 "$@" \
    "$LS_DIR/p2.csv" -o "$out"
}

# ---- the unsharded job -----------------------------------------------------
manifest "$LS_DIR/whole.json" whole "$LS_DIR/out/whole.csv" ""
encrypt "$LS_DIR/whole.json" whole
if ls_as operator "$SB" run --manifest "$LS_DIR/whole.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/run.err"
then ok "the unsharded job runs ($(($(wc -l <"$LS_DIR/out/whole.csv") - 1)) properties)"
else bad "unsharded job: $(cat "$LS_DIR/run.err")"; fi

# ---- 4 shards on 4 enclaves at once ----------------------------------------
J=$LS_DIR/job4.json OUT=$LS_DIR/out/output.csv
manifest "$J" sharded "$OUT" ',"shards":4' '.shard-{shard}'
encrypt "$J" sharded --shards 4
[ "$(ls "$LS_DIR"/b2-sharded.shard-*.sealed | wc -l)" = 4 ] && ok "seal --shards 4 wrote 4 parts" \
  || bad "sealed parts: $(ls "$LS_DIR")"
pids=()
for k in 0 1 2 3; do
  ls_as operator "$SB" run --manifest "$J" --shard $k --enclave-cid $((16 + k)) \
    >"$LS_DIR/run$k.out" 2>"$LS_DIR/run$k.err" &
  pids+=($!)
done
for k in 0 1 2 3; do
  if wait "${pids[$k]}"; then ok "shard $k ran on enclave $((16 + k))"
  else bad "shard $k: $(cat "$LS_DIR/run$k.err")"; fi
done
grep -q '"version":2,' "$LS_DIR/out/output.shard-2.receipt" &&
  grep -q '"shard":2,"shards":4,' "$LS_DIR/out/output.shard-2.receipt" &&
  ok "shard receipts are version 2 and name their shard" || bad "shard receipt: $(head -c 200 "$LS_DIR/out/output.shard-2.receipt")"
rows=0; for k in 0 1 2 3; do rows=$((rows + $(wc -l <"$LS_DIR/out/output.shard-$k.csv") - 1)); done
[ "$rows" = 42 ] && ok "the shards hold 42 rows between them" || bad "shard rows: $rows"

VOPTS=(--pcrs "$LS_DIR/pcrs.json" --root "$LS_DIR/dev-root.pem")
shard_files() { for k in "$@"; do echo "$LS_DIR/out/output.shard-$k.csv"; done; }
merge() { "$SB" merge --manifest "$J" "${VOPTS[@]}" "$@"; }
if merge $(shard_files 3 1 0 2) >"$LS_DIR/merge.out" 2>"$LS_DIR/merge.err"; then
  ok "merge: $(cat "$LS_DIR/merge.out")"
else bad "merge: $(cat "$LS_DIR/merge.err")"; fi
if cmp -s "$OUT" "$LS_DIR/out/whole.csv"; then ok "merged output.csv is byte-identical to the unsharded run"
else bad "merged output differs: $(diff "$OUT" "$LS_DIR/out/whole.csv" | head -5)"; fi
grep -q '"shard_receipts":\[{"shard":0,' "$LS_DIR/out/output.merge.json" && ok "merge record lists the shard receipts" \
  || bad "merge record: $(cat "$LS_DIR/out/output.merge.json")"
R=(); for k in 0 1 2 3; do R+=("$LS_DIR/out/output.shard-$k.receipt"); done
if "$SB" verify --merge-record "$LS_DIR/out/output.merge.json" --output "$OUT" --manifest "$J" \
  "${VOPTS[@]}" "${R[@]}" >/dev/null 2>"$LS_DIR/v.err"; then ok "verify --merge-record accepts the merged output"
else bad "verify --merge-record: $(cat "$LS_DIR/v.err")"; fi
cp "$OUT" "$LS_DIR/edited.csv"; sed -i '2s/Wins/Loses/' "$LS_DIR/edited.csv"
if "$SB" verify --merge-record "$LS_DIR/out/output.merge.json" --output "$LS_DIR/edited.csv" \
  --manifest "$J" "${VOPTS[@]}" "${R[@]}" >/dev/null 2>"$LS_DIR/v.err"; then bad "verify accepted an edited merged output"
else ok "verify --merge-record refuses an edited merged output: $(head -c 120 "$LS_DIR/v.err")"; fi
if "$SB" verify --merge-record "$LS_DIR/out/output.merge.json" --output "$OUT" --manifest "$J" \
  "${VOPTS[@]}" "${R[@]:0:3}" >/dev/null 2>"$LS_DIR/v.err"; then bad "verify accepted 3 of 4 receipts"
else ok "verify --merge-record refuses a missing receipt: $(head -c 120 "$LS_DIR/v.err")"; fi

# ---- bad input --------------------------------------------------------------
# expect_fail WHAT PATTERN CMD...: fails, says PATTERN, writes no merged output.
BAD=$LS_DIR/bad
expect_fail() {
  local what=$1 pat=$2; shift 2
  rm -rf "$BAD"; mkdir -p "$BAD"
  if "$@" >/dev/null 2>"$LS_DIR/bad.err"; then bad "$what: accepted"
  elif ! grep -q -- "$pat" "$LS_DIR/bad.err"; then bad "$what: error was: $(cat "$LS_DIR/bad.err")"
  elif [ -n "$(ls -A "$BAD")" ]; then bad "$what: wrote $(ls "$BAD")"
  else ok "$what refused: $(tr '\n' ' ' <"$LS_DIR/bad.err" | head -c 150)"; fi
}
for n in 0 4097; do
  manifest "$LS_DIR/n$n.json" sharded "$BAD/output.csv" ",\"shards\":$n"
  expect_fail "shards $n" '"shards" must be an integer 1..4096' \
    ls_as operator "$SB" run --manifest "$LS_DIR/n$n.json" --shard 0 --enclave-cid 16
done
manifest "$LS_DIR/tobad.json" sharded "$BAD/output.csv" ',"shards":4'
expect_fail "--shard 4 of 4" 'shard 4 is not one of 0..3' \
  ls_as operator "$SB" run --manifest "$LS_DIR/tobad.json" --shard 4 --enclave-cid 16
expect_fail "a sharded job without --shard" 'run each one with --shard K' \
  ls_as operator "$SB" run --manifest "$LS_DIR/tobad.json" --enclave-cid 16
expect_fail "--shard -1" 'bad value' \
  ls_as operator "$SB" run --manifest "$LS_DIR/tobad.json" --shard -1 --enclave-cid 16

mout() { merge --output "$BAD/output.csv" "$@"; }
expect_fail "a missing shard" 'shard 2 of 4 is missing' mout $(shard_files 0 1 3)
expect_fail "the same shard twice" 'are both shard 1' mout $(shard_files 0 1 2 3 1)
# The unsharded job's output and receipt, passed off as shard 2.
mkdir -p "$LS_DIR/foreign"
cp "$LS_DIR/out/whole.csv" "$LS_DIR/foreign/output.shard-2.csv"
cp "$LS_DIR/out/whole.receipt" "$LS_DIR/foreign/output.shard-2.receipt"
expect_fail "a receipt from another job" 'foreign/output.shard-2.csv: the receipt is of job "whole"' \
  mout $(shard_files 0 1 3) "$LS_DIR/foreign/output.shard-2.csv"
# The same job id and bids with 2 shards: shard 0 of that run passed off as shard 0 of 4.
J2=$LS_DIR/job2.json
manifest "$J2" sharded-2 "$LS_DIR/two/output.csv" ',"shards":2'
mkdir -p "$LS_DIR/two"
encrypt "$J2" sharded-2
ls_as operator "$SB" run --manifest "$J2" --shard 0 --enclave-cid 17 >/dev/null 2>"$LS_DIR/run.err" ||
  bad "2-shard run: $(cat "$LS_DIR/run.err")"
expect_fail "a receipt from another shard count" "two/output.shard-0.csv: the receipt is for a job of 2 shard(s), the manifest declares 4" \
  mout "$LS_DIR/two/output.shard-0.csv" $(shard_files 1 2 3)
mkdir -p "$LS_DIR/edit"
cp "$LS_DIR/out/output.shard-1.csv" "$LS_DIR/out/output.shard-1.receipt" "$LS_DIR/edit/"
sed -i '2s/Wins/Loses/' "$LS_DIR/edit/output.shard-1.csv"
expect_fail "a shard output edited after its receipt" "edit/output.shard-1.csv.*output is not the one" \
  mout $(shard_files 0 2 3) "$LS_DIR/edit/output.shard-1.csv"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); m=d["Measurements"]
m["PCR2"]=("0" if m["PCR2"][0]!="0" else "1")+m["PCR2"][1:]; json.dump(d,open(sys.argv[2],"w"))' \
  "$LS_DIR/pcrs.json" "$LS_DIR/pcrs-other.json"
expect_fail "other PCRs" 'PCR' "$SB" merge --manifest "$J" --pcrs "$LS_DIR/pcrs-other.json" \
  --root "$LS_DIR/dev-root.pem" --output "$BAD/output.csv" $(shard_files 0 1 2 3)
# A sealed part of shard 0 handed to shard 1: its context names shard 0.
cp "$LS_DIR/b2-sharded.shard-1.sealed" "$LS_DIR/part1.keep"
cp "$LS_DIR/b2-sharded.shard-0.sealed" "$LS_DIR/b2-sharded.shard-1.sealed"
before=$(sha256sum "$LS_DIR"/out/output.shard-1.*)
expect_fail "shard 0's sealed part given to shard 1" '"sealbid:shard"' \
  ls_as operator "$SB" run --manifest "$J" --shard 1 --enclave-cid 17
[ "$before" = "$(sha256sum "$LS_DIR"/out/output.shard-1.*)" ] && ok "shard 1's published result is untouched" \
  || bad "shard 1's result changed"
cp "$LS_DIR/part1.keep" "$LS_DIR/b2-sharded.shard-1.sealed"
expect_fail "seal --shards 3 for a 4-shard manifest" 'manifest of 3 shards' \
  ls_as buyer2 "$SB" seal --key-id alias/buyer2 --manifest "$J" --party Buyer2 --shards 3 \
  "$LS_DIR/p2.csv" -o "$BAD/p.shard-{shard}.sealed"
expect_fail "seal of a per-shard party without --shards" 'give --shards 4' \
  ls_as buyer2 "$SB" seal --key-id alias/buyer2 --manifest "$J" --party Buyer2 \
  "$LS_DIR/p2.csv" -o "$BAD/p.sealed"
for n in 1 17 x; do
  rc=0; "$SB" demo --shards $n >/dev/null 2>"$LS_DIR/demo.err" || rc=$?
  [ $rc = 2 ] && grep -q -- '--shards is 2..16' "$LS_DIR/demo.err" && ok "demo --shards $n is a usage error" \
    || bad "demo --shards $n: exit $rc, $(cat "$LS_DIR/demo.err")"
done
cmp -s "$OUT" "$LS_DIR/out/whole.csv" && ok "the good merged output is untouched" || bad "merged output changed"

ls_checks_done test_e2e_shards
