#!/usr/bin/env bash
# sealbid demo --shards N: one job fanned out over N enclaves (issue 12), on
# this machine with no AWS at all. N shards run at once, each on its own
# enclave launched through the local launcher with its own receipt; `sealbid
# merge` verifies every receipt and merges; `sealbid verify --merge-record`
# checks the merged output. Everything it starts, it stops.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SB_BIN=${SB_BIN:-$ROOT/build/bin}
SB=$SB_BIN/sealbid
N=${SB_DEMO_SHARDS:?set SB_DEMO_SHARDS (sealbid demo --shards N)}
DEMO_NAME=demo-shards
# shellcheck source=demo-prelude.bash
. "$ROOT/scripts/demo-prelude.bash"
OPERATOR=arn:aws:iam::$LS_ACCOUNT:role/bidding-service

step "1. The agreed code, the local stand-ins for AWS, the buyers' pinned keys"
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/measurements.json"
ls_start_kms user/buyer1 user/buyer2 role/bidding-service
ls_start_proxy
K1=$(ls_create_key buyer1 buyer1); K2=$(ls_create_key buyer2 buyer2)
for b in 1 2; do ls_pin_key "buyer$b" "$OPERATOR" "$LS_DIR/measurements.json" --require-job; done
say "image measured; sealbid-kms on $LS_KMS_URL; keys pinned to the PCRs and to job binding"

step "2. The manifest declares $N shards"
cat >"$LS_DIR/job.json" <<J
{"version": 1, "job_id": "demo-sharded", "region": "$LS_REGION", "shards": $N,
 "parties": [
  {"name": "Buyer1", "input": "file://$LS_DIR/buyer1-encrypted.csv", "format": "kms-csv", "key": "$K1"},
  {"name": "Buyer2", "input": "file://$LS_DIR/buyer2.shard-{shard}.sealed", "format": "sealed", "key": "$K2"}],
 "output": "file://$LS_DIR/out/output.csv"}
J
say "sealbid manifest hash: $("$SB" manifest hash "$LS_DIR/job.json" | cut -c1-48)..."
say "a property belongs to shard SHA-256(id) mod $N"

step "3. The buyers encrypt: Buyer1 one KMS ciphertext per bid, Buyer2 one sealed part per shard"
for i in $(seq 1 24); do echo "$i,$((100000 + (i * 7919) % 50000))"; done >"$LS_DIR/buyer1-plain.csv"
{ echo "[].contract,[].bid"; for i in $(seq 1 24); do echo "$i,$((100000 + (i * 104729) % 50000))"; done; } \
  >"$LS_DIR/buyer2-plain.csv"
chmod 600 "$LS_DIR"/buyer*-plain.csv
ls_as buyer1 "$SB" encrypt-bids --key-id alias/buyer1 --manifest "$LS_DIR/job.json" --party Buyer1 \
  "$LS_DIR/buyer1-plain.csv" >"$LS_DIR/buyer1-encrypted.csv"
ls_as buyer2 "$SB" seal --key-id alias/buyer2 --manifest "$LS_DIR/job.json" --party Buyer2 \
  --shards "$N" "$LS_DIR/buyer2-plain.csv" -o "$LS_DIR/buyer2.shard-{shard}.sealed"
rm -f "$LS_DIR"/buyer*-plain.csv
say "Buyer2's parts: $(cd "$LS_DIR" && ls buyer2.shard-*.sealed | tr '\n' ' ')"

step "4. $N enclaves, $N shards at once"
pids=()
for ((k = 0; k < N; k++)); do
  "$SB" enclave run --image "$LS_DIR/enclave.img" --cid $((16 + k)) >/dev/null
done
for ((k = 0; k < N; k++)); do
  ls_as bidding-service "$SB" run --manifest "$LS_DIR/job.json" --shard $k \
    --enclave-cid $((16 + k)) >/dev/null 2>"$LS_DIR/shard-$k.err" &
  pids+=($!)
done
for ((k = 0; k < N; k++)); do
  wait "${pids[$k]}" || { echo "demo: shard $k failed: $(cat "$LS_DIR/shard-$k.err")" >&2; exit 1; }
  say "shard $k on enclave $((16 + k)): $(($(wc -l <"$LS_DIR/out/output.shard-$k.csv") - 1)) properties, receipt v2"
done

step "5. Merge: every shard's receipt verified, then one output.csv"
shards=(); for ((k = 0; k < N; k++)); do shards+=("$LS_DIR/out/output.shard-$k.csv"); done
"$SB" merge --manifest "$LS_DIR/job.json" --pcrs "$LS_DIR/measurements.json" \
  --root "$LS_DIR/dev-root.pem" "${shards[@]}" | sed 's/^/   /'
say "output.csv (first rows):"
head -6 "$LS_DIR/out/output.csv" | sed 's/^/      /'

step "6. Any party checks the merged output against the shard receipts"
"$SB" verify --merge-record "$LS_DIR/out/output.merge.json" --output "$LS_DIR/out/output.csv" \
  --manifest "$LS_DIR/job.json" --pcrs "$LS_DIR/measurements.json" --root "$LS_DIR/dev-root.pem" \
  "$LS_DIR"/out/output.shard-*.receipt | sed 's/^/   /'
if "$SB" merge --manifest "$LS_DIR/job.json" --pcrs "$LS_DIR/measurements.json" \
  --root "$LS_DIR/dev-root.pem" --output "$LS_DIR/out/partial.csv" "${shards[@]:1}" 2>"$LS_DIR/missing.err"; then
  echo "demo: a merge with a shard missing succeeded" >&2; exit 1
fi
say "a merge without shard 0 is refused: $(cut -c1-110 "$LS_DIR/missing.err")"
say "Files: $LS_DIR"
