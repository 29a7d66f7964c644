#!/usr/bin/env bash
# sealbid demo --collab: the join-aggregate computation (issue 13), on this
# machine with no AWS at all. A retailer's customer list (hashed e-mail,
# region) and a data provider's records (hashed e-mail, age band, yearly
# spend), each sealed under its own KMS key pinned to the enclave's PCRs and
# to job binding; each party's analysis rule in the manifest; the enclave
# joins them, counts and averages by region x age band over the overlap and
# leaves out groups smaller than the largest threshold. Then a query outside
# the provider's rule and the operator's own manifest are refused, with
# nothing published. Everything it starts, it stops.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SB_BIN=${SB_BIN:-$ROOT/build/bin}
SB=$SB_BIN/sealbid
GEN=$ROOT/tests/data/collab/gen_collab.py
[ -f "$GEN" ] || { echo "demo: $GEN is missing" >&2; exit 1; }
DEMO_NAME=demo-collab
# shellcheck source=demo-prelude.bash
. "$ROOT/scripts/demo-prelude.bash"
OPERATOR=arn:aws:iam::$LS_ACCOUNT:role/collab-service
V=(--pcrs "$LS_DIR/measurements.json" --root "$LS_DIR/dev-root.pem")

step "1. The agreed code, the local stand-ins for AWS, each party's pinned key"
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/measurements.json"
# SEALBID_LOG=info: sealbid-kms logs one line per call (op=..., outcome=...).
SEALBID_LOG=info ls_start_kms user/retailer user/provider role/collab-service
ls_start_proxy
KR=$(ls_create_key retailer retailer); KP=$(ls_create_key provider provider)
for p in retailer provider; do ls_pin_key "$p" "$OPERATOR" "$LS_DIR/measurements.json" --require-job; done
say "image measured; sealbid-kms on $LS_KMS_URL"
say "retailer: $KR"; say "provider: $KP"
say "each key: Decrypt only for $OPERATOR, only from an enclave with those PCRs,"
say "          only with the job-binding encryption context (sealbid policy --require-job)"

step "2. The parties agree on the job: the query and each party's analysis rule"
# job_manifest OUT JOB_ID PROVIDER_MIN QUERY_GROUP_BY OUTPUT
job_manifest() {
  cat >"$1" <<J
{"version": 1, "job_id": "$2", "region": "$LS_REGION", "computation": "join-aggregate",
 "parties": [
  {"name": "retailer", "input": "file://$LS_DIR/retailer.sealed", "format": "sealed", "key": "$KR",
   "join": "email_sha256",
   "rule": {"group_by": ["region"], "aggregate": {"email_sha256": ["count", "count_distinct"]},
            "min_distinct_keys": 20}},
  {"name": "provider", "input": "file://$LS_DIR/provider.sealed", "format": "sealed", "key": "$KP",
   "join": "email_sha256",
   "rule": {"group_by": ["age_band"], "aggregate": {"spend": ["sum", "avg", "count"], "email_sha256": ["count"]},
            "min_distinct_keys": $3}}],
 "query": {"group_by": [$4],
           "aggregates": [{"function": "count", "party": "provider", "column": "email_sha256"},
                          {"function": "avg", "party": "provider", "column": "spend"}]},
 "output": "file://$5"}
J
}
BY_REGION_AGE='{"party": "retailer", "column": "region"}, {"party": "provider", "column": "age_band"}'
job_manifest "$LS_DIR/job.json" demo-collab 50 "$BY_REGION_AGE" "$LS_DIR/out/output.csv"
say "retailer's rule: group by region; count / count distinct of the hashed e-mail; groups of >= 20 people"
say "provider's rule: group by age band; sum / avg / count of spend, count of e-mail; groups of >= 50 people"
say "query: count and average spend by retailer.region x provider.age_band, joined on email_sha256"
say "sealbid manifest show: $("$SB" manifest show "$LS_DIR/job.json" | sed -n 's/^join-aggregate: //p')"
say "sealbid manifest hash job.json: $("$SB" manifest hash "$LS_DIR/job.json" | cut -c1-48)..."

step "3. Each party seals its own data for this job"
( umask 077; python3 "$GEN" --rows-a 3000 --rows-b 4000 --overlap 0.4 --regions 4 --age-bands 5 \
  --seed 21 --out "$LS_DIR/plain" >/dev/null )
say "retailer.csv: $(($(wc -l <"$LS_DIR/plain/retailer.csv") - 1)) rows, header $(head -1 "$LS_DIR/plain/retailer.csv")"
say "provider.csv: $(($(wc -l <"$LS_DIR/plain/provider.csv") - 1)) rows, header $(head -1 "$LS_DIR/plain/provider.csv")"
for p in retailer provider; do
  ls_as "$p" "$SB" seal --key-id "alias/$p" --manifest "$LS_DIR/job.json" --party "$p" \
    "$LS_DIR/plain/$p.csv" -o "$LS_DIR/$p.sealed"
done
rm -rf "$LS_DIR/plain"
say "1,200 of the retailer's customers are in the provider's records; neither party knows which"
say "each sealed under its own key, bound to this manifest and party; the plaintexts are gone"

step "4. The operator launches the enclave and runs the job"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
ls_as collab-service "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null
say "output.csv:"
sed 's/^/      /' "$LS_DIR/out/output.csv"
sup=$(tail -1 "$LS_DIR/out/output.csv" | sed -n 's/^# suppressed_groups=\([0-9]*\) .*/\1/p')
say "$(($(wc -l <"$LS_DIR/out/output.csv") - 2)) groups released; $sup groups had fewer than 50 people in the overlap and were left out"

step "5. Either party verifies the receipt against the agreed PCRs"
"$SB" verify --receipt "$LS_DIR/out/output.receipt" --output "$LS_DIR/out/output.csv" \
  --manifest "$LS_DIR/job.json" "${V[@]}" | sed 's/^/   /'
cp "$LS_DIR/out/output.csv" "$LS_DIR/output-agreed.csv"

# refused WHAT MANIFEST OUTPUT: the run must fail and publish nothing.
decrypts() { grep -c 'op=Decrypt' "$LS_DIR/kms.log" || true; }
refused() {
  before=$(decrypts)
  if ls_as collab-service "$SB" run --manifest "$2" --enclave-cid 16 >/dev/null 2>"$LS_DIR/$1.err"; then
    echo "demo: $1 ran" >&2; exit 1
  fi
  [ ! -e "$3" ] || { echo "demo: $1 published $3" >&2; exit 1; }
  cmp -s "$LS_DIR/out/output.csv" "$LS_DIR/output-agreed.csv" || { echo "demo: output.csv changed" >&2; exit 1; }
  kms_calls=$(($(decrypts) - before))
}

step "6. The operator cannot read either dataset itself"
if ls_as collab-service "$SB" unseal --manifest "$LS_DIR/job.json" --party provider "$LS_DIR/provider.sealed" \
  -o "$LS_DIR/stolen.csv" >/dev/null 2>"$LS_DIR/denied.err"; then
  echo "demo: the operator unsealed the provider's data" >&2; exit 1
fi
[ ! -e "$LS_DIR/stolen.csv" ] || { echo "demo: unseal wrote plaintext" >&2; exit 1; }
say "sealbid unseal with its own credentials: $( (grep -o 'AccessDenied.*' "$LS_DIR/denied.err" || tail -1 "$LS_DIR/denied.err") | cut -c1-100)..."

step "7. A query outside the provider's rule is refused"
job_manifest "$LS_DIR/by-spend.json" demo-collab-spend 50 \
  "$BY_REGION_AGE, {\"party\": \"provider\", \"column\": \"spend\"}" "$LS_DIR/out/by-spend.csv"
say "the same job, but also grouped by provider.spend (each person's spend would show)"
refused by-spend "$LS_DIR/by-spend.json" "$LS_DIR/out/by-spend.csv"
say "refused: $(tail -1 "$LS_DIR/by-spend.err" | sed 's/^sealbid run: //')"
[ "$kms_calls" -eq 0 ] || { echo "demo: the refused query asked KMS for a key" >&2; exit 1; }
say "(sealbid run checks the query against the rules with the enclave's own manifest parser; a"
say " parent that skipped it would meet the same refusal at BeginJob, inside the enclave."
say " No KMS Decrypt was made for it, and nothing was published)"

step "8. The operator's own manifest is refused: the data is bound to the agreed one"
job_manifest "$LS_DIR/altered.json" demo-collab 5 "$BY_REGION_AGE" "$LS_DIR/out/altered.csv"
say "the agreed job with the provider's threshold lowered from 50 to 5 (small groups would show)"
refused altered "$LS_DIR/altered.json" "$LS_DIR/out/altered.csv"
say "refused: $(tail -1 "$LS_DIR/altered.err" | sed -e 's/^sealbid run: peer reported an error: //' -e 's/^SB_ERR_[A-Z_]*: //')"
say "(each sealed dataset's encryption context carries the agreed manifest's hash: the enclave"
say " refuses the mismatch before asking KMS ($kms_calls Decrypt calls), and KMS, which authenticates the context"
say " with the data key, would not release it for the altered hash; nothing was published)"

step "What this showed"
say "- two parties' tables were joined and aggregated without either seeing the other's rows,"
say "  and without the operator seeing either"
say "- each party's rule bounds what can be asked of its data; small groups are left out and counted"
say "- KMS released each key only to the measured enclave, and the data only serves the agreed manifest"
say "- the result carries an attestation that binds it to the manifest and the code"
say "Files: $LS_DIR (output.csv, output.receipt, job.json, policies, measurements)"
