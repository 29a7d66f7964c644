#!/usr/bin/env bash
# Sharded jobs (issue 12): the same P parties x B bids sealed job run
# unsharded and as 2 and 4 shards, each shard on its own local enclave (4
# enclaves up before the runs), all shards of a run at once. Each party
# seals once per shard count (`seal --shards N`: one part per shard, so a
# shard decrypts only its rows). Reports the wall time of each run (first
# shard started -> last shard done), the sum of the shards' own times (the
# work), its ratio to the unsharded run (the overhead of sharding), and the
# time of `sealbid merge`; checks that the merged output is byte-identical
# to the unsharded one.
#
#   BENCH_PARTIES=10 BENCH_BIDS=1000000 BENCH_SHARDS="1 2 4" bash bench/bench_shards.sh
set -euo pipefail
SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
P=${BENCH_PARTIES:-10}
BIDS=${BENCH_BIDS:-1000000}
SHARDS=${BENCH_SHARDS:-1 2 4}
SB=$SB_BIN/sealbid
# shellcheck source=../scripts/local-stack.bash
. "$ROOT/scripts/local-stack.bash"
ls_begin
now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
principals=(role/operator); for i in $(seq "$P"); do principals+=("user/buyer$i"); done
ls_start_kms "${principals[@]}"
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
for cid in 16 17 18 19; do "$SB" enclave run --image "$LS_DIR/enclave.img" --cid $cid >/dev/null; done
for i in $(seq "$P"); do
  ls_create_key "buyer$i" "buyer$i" >"$LS_DIR/key$i"
  ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json" --require-job
  awk -v n="$BIDS" -v seed="$i" 'BEGIN { srand(seed); print "[].contract,[].bid";
    for (p = 1; p <= n; p++) printf "%d,%d\n", p, int(rand() * 999999) + 1 }' >"$LS_DIR/plain$i.csv"
done
manifest() { # N -> job-N.json; N > 1: parts per shard
  local n=$1 part="" extra=""
  [ "$n" -gt 1 ] && { part=".shard-{shard}"; extra=",\"shards\":$n"; }
  { printf '{"version":1,"job_id":"bench-shards","region":"%s","parties":[' "$LS_REGION"
    for i in $(seq "$P"); do
      [ "$i" = 1 ] || printf ','
      printf '{"name":"Buyer%s","input":"file://%s/sealed-%s-%s%s","key":"%s","format":"sealed"}' \
        "$i" "$LS_DIR" "$n" "$i" "$part" "$(cat "$LS_DIR/key$i")"
    done
    printf '],"output":"file://%s/out-%s/output.csv"%s}\n' "$LS_DIR" "$n" "$extra"; } >"$LS_DIR/job-$n.json"
  mkdir -p "$LS_DIR/out-$n"
}
t0=$(now)
for n in $SHARDS; do
  manifest "$n"
  pids=()
  for i in $(seq "$P"); do
    if [ "$n" -gt 1 ]; then o="$LS_DIR/sealed-$n-$i.shard-{shard}"; a=(--shards "$n"); else o="$LS_DIR/sealed-$n-$i"; a=(); fi
    ls_as "buyer$i" "$SB" seal --key-id "alias/buyer$i" --manifest "$LS_DIR/job-$n.json" \
      --party "Buyer$i" "${a[@]}" "$LS_DIR/plain$i.csv" -o "$o" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
done
echo "set-up: $P x $BIDS bids generated and sealed for shard counts $SHARDS in $(secs "$(now)" "$t0") s (not measured)"
base_work=""
printf '%-7s %9s %14s %9s %9s\n' shards wall_s sum_shards_s overhead merge_s
for n in $SHARDS; do
  s=$(now); pids=()
  for ((k = 0; k < n; k++)); do
    a=(); [ "$n" -gt 1 ] && a=(--shard "$k")
    ( ls_as operator "$SB" run --manifest "$LS_DIR/job-$n.json" "${a[@]}" --enclave-cid $((16 + k)) \
        >/dev/null 2>"$LS_DIR/run-$n-$k.err"; echo "$(now)" >"$LS_DIR/end-$n-$k" ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$LS_DIR"/run-"$n"-*.err >&2; exit 1; }; done
  e=$(now); work=0
  for ((k = 0; k < n; k++)); do work=$(python3 -c "print($work + $(cat "$LS_DIR/end-$n-$k") - $s)"); done
  merge_s=-
  if [ "$n" -gt 1 ]; then
    m0=$(now)
    files=(); for ((k = 0; k < n; k++)); do files+=("$LS_DIR/out-$n/output.shard-$k.csv"); done
    "$SB" merge --manifest "$LS_DIR/job-$n.json" --pcrs "$LS_DIR/pcrs.json" --root "$LS_DIR/dev-root.pem" \
      "${files[@]}" >/dev/null
    merge_s=$(secs "$(now)" "$m0")
    cmp -s "$LS_DIR/out-$n/output.csv" "$LS_DIR/out-1/output.csv" ||
      { echo "bench: merged output of $n shards differs from the unsharded one" >&2; exit 1; }
  fi
  [ -z "$base_work" ] && base_work=$work
  printf '%-7s %9s %14.2f %9.2f %9s\n' "$n" "$(secs "$e" "$s")" "$work" \
    "$(python3 -c "print($work / $base_work)")" "$merge_s"
done
echo "(sum_shards_s: each shard's own wall time, summed; overhead: that sum over the unsharded run's;"
echo " merged outputs byte-identical to the unsharded output.csv)"
