#!/usr/bin/env bash
# The join-aggregate computation (issue 13; the contract is docs/FORMATS.md,
# "Join-aggregate jobs") through the whole local stack: a retailer and a data
# provider each seal a CSV under their own KMS key pinned to the enclave, the
# operator runs the job, the receipt verifies, and output.csv is byte for
# byte what sqlite3 computes from the same plaintext with the documented SQL
# (tests/integration/collab_expected.py: exact decimals, the
# suppressed-groups trailer included). Shapes, from
# tests/data/collab/gen_collab.py: no overlap, full overlap, every group under
# the threshold, one party 100x larger (both ways), duplicate keys with key
# variants (case, blanks, quotes, empty keys) partly suppressed, no group-by
# (with and without a join), all eight aggregates at once, the threshold's
# upper bound; by hand: edge amounts (negatives, 6 decimals, 18 digits,
# rounding half away from zero), quoting and bytewise order of group values,
# CRLF, columns in any order, all-digit keys, CRs and tabs in group values.
# Then the refusals, each with a clear error and nothing published: query
# columns a rule does not allow, thresholds 1 and 100001, manifests with
# disclose / shards / 3 parties / kms-csv / no "join", a CSV without its join
# column, a duplicate header column, a non-numeric amount (named by party,
# row and column, never shown in any error or log), 15 malformed amounts,
# empty inputs, a ragged row, a stray quote, the manifest altered after
# sealing, one party's sealed input handed over as the other's. Bad CSVs
# that `seal` refuses are also sealed with AWS's own Encryption SDK for
# JavaScript (a party not using sealbid), when tools/node_modules has it, so
# the enclave's checks are exercised too; without it those steps say "skip".
# About a minute on an idle 2-core machine.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
GEN=$SB_SRC/tests/data/collab/gen_collab.py
EXPECTED=$SB_SRC/tests/integration/collab_expected.py
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin
T0=$(date +%s)

OPERATOR_ARN=arn:aws:iam::$LS_ACCOUNT:role/operator
ls_start_kms user/retailer user/provider role/operator
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
KR=$(ls_create_key retailer retailer)
KP=$(ls_create_key provider provider)
for p in retailer provider; do ls_pin_key "$p" "$OPERATOR_ARN" "$LS_DIR/pcrs.json" --require-job; done
ok "enclave up; the retailer's and the provider's keys pinned to the image and the job"

NODE_PATH=$SB_SRC/tools/node_modules
HAVE_ESDK=0
command -v node >/dev/null && [ -f "$NODE_PATH/@aws-crypto/client-node/package.json" ] && HAVE_ESDK=1

# ---- helpers -------------------------------------------------------------
# rule GROUP_BY_JSON AGGREGATE_JSON MIN_DISTINCT_KEYS
rule() { printf '{"group_by":%s,"aggregate":%s,"min_distinct_keys":%s}' "$1" "$2" "$3"; }
rule_r() { rule '["region"]' '{"email_sha256":["count","count_distinct"],"region":["count_distinct"]}' "$1"; }
rule_p() {
  rule '["age_band"]' '{"spend":["sum","avg","count","count_distinct"],"email_sha256":["count","count_distinct"]}' "$1"
}
# manifest FILE DIR RETAILER_RULE PROVIDER_RULE QUERY [RETAILER_JOIN] [EXTRA_TOP_LEVEL]:
# RETAILER_JOIN '' leaves the retailer's "join" out.
manifest() {
  local join='"join": "email_sha256",'
  [ $# -lt 6 ] || join=$6
  cat >"$1" <<J
{"version": 1, "job_id": "collab-$(basename "$2")", "region": "$LS_REGION", "computation": "join-aggregate",
 "parties": [
  {"name": "retailer", "input": "file://$2/retailer.sealed", "format": "sealed", "key": "$KR",
   $join "rule": $3},
  {"name": "provider", "input": "file://$2/provider.sealed", "format": "sealed", "key": "$KP",
   "join": "email_sha256", "rule": $4}],
 "query": $5,
 "output": "file://$2/out/output.csv"${7:-}}
J
}
g() { printf '{"party":"%s","column":"%s"}' "$1" "$2"; }
a() { printf '{"function":"%s","party":"%s","column":"%s"}' "$1" "$2" "$3"; }
query() { # GROUPS_CSV_OF_JSON AGGREGATES_CSV_OF_JSON
  printf '{"group_by":[%s],"aggregates":[%s]}' "$1" "$2"
}
GR=$(g retailer region) GP=$(g provider age_band)
Q_MAIN=$(query "$GR,$GP" "$(a count provider email_sha256),$(a avg provider spend)")
Q_ALL=$(query "$GR,$GP" "$(a count retailer email_sha256),$(a count_distinct retailer email_sha256),$(
  a count_distinct provider email_sha256),$(a count_distinct retailer region),$(a count provider spend),$(
  a count_distinct provider spend),$(a sum provider spend),$(a avg provider spend)")
Q_NOGROUP=$(query "" "$(a count provider email_sha256),$(a count_distinct provider email_sha256),$(
  a sum provider spend),$(a avg provider spend)")

# seal_one PARTY DIR MANIFEST: the party seals DIR/PARTY.csv with sealbid seal.
seal_one() {
  ls_as "$1" "$SB" seal --key-id "alias/$1" --manifest "$3" --party "$1" "$2/$1.csv" -o "$2/$1.sealed"
}
# forge PARTY DIR MANIFEST: the party seals DIR/PARTY.csv with AWS's SDK instead
# (no CSV checks: what a party not using sealbid could hand over).
forge() {
  local key=$KR; [ "$1" = provider ] && key=$KP
  NODE_PATH=$NODE_PATH NODE_NO_WARNINGS=1 ls_as "$1" node "$SB_SRC/tests/integration/esdk_interop.js" \
    encrypt "$LS_KMS_URL" "$key" 0x0578 65536 "$("$SB" manifest hash "$3")" "$1" "$2/$1.csv" "$2/$1.sealed"
}
run_job() { ls_as operator "$SB" run --manifest "$1" --enclave-cid 16; }
verify() { "$SB" verify --receipt "$1/out/output.receipt" --output "$1/out/output.csv" --manifest "$2" \
  --pcrs "$LS_DIR/pcrs.json" --root "$LS_DIR/dev-root.pem"; }
gen() { local d=$LS_DIR/$1; shift; mkdir -p "$d/out"; python3 "$GEN" --out "$d" "$@"; }

# check_shape NAME WHAT [EXPECTED_FILE]: DIR=$LS_DIR/NAME holds the two CSVs and
# job.json; both parties seal, the job runs, the receipt verifies, and
# output.csv equals EXPECTED_FILE (default: collab_expected.py's answer).
check_shape() {
  local d=$LS_DIR/$1 what=$2 exp=${3:-$LS_DIR/$1/expected.csv}
  mkdir -p "$d/out"
  if ! { seal_one retailer "$d" "$d/job.json" && seal_one provider "$d" "$d/job.json"; } 2>"$d/seal.err"; then
    bad "$what: seal: $(cat "$d/seal.err")"; return 0
  fi
  if ! run_job "$d/job.json" >"$d/run.out" 2>"$d/run.err"; then
    bad "$what: run: $(cat "$d/run.err")"; return 0
  fi
  if ! verify "$d" "$d/job.json" >/dev/null 2>"$d/verify.err"; then
    bad "$what: verify: $(cat "$d/verify.err")"; return 0
  fi
  if [ -z "${3:-}" ] && ! python3 "$EXPECTED" "$d/job.json" "$d/retailer.csv" "$d/provider.csv" >"$exp"; then
    bad "$what: collab_expected.py failed"; return 0
  fi
  if cmp -s "$exp" "$d/out/output.csv"; then
    local by="sqlite3's answer"; [ -z "${3:-}" ] || by="the hand-made answer"
    ok "$what: receipt verifies, output.csv = $by ($(($(wc -l <"$exp") - 2)) groups, $(tail -n1 "$exp"))"
  else
    bad "$what: output.csv differs from the expected: $(diff "$exp" "$d/out/output.csv" | head -8)"
  fi
}

# ---- shapes --------------------------------------------------------------
gen none --rows-a 500 --rows-b 500 --overlap 0 --seed 11
manifest "$LS_DIR/none/job.json" "$LS_DIR/none" "$(rule_r 2)" "$(rule_p 2)" "$Q_ALL"
check_shape none "no overlap"
grep -qx '# suppressed_groups=0 threshold=2' "$LS_DIR/none/out/output.csv" 2>/dev/null &&
  [ "$(wc -l <"$LS_DIR/none/out/output.csv")" = 2 ] && ok "no overlap: header and trailer only" ||
  bad "no overlap: $(cat "$LS_DIR/none/out/output.csv" 2>&1)"

gen full --rows-a 2000 --rows-b 2000 --overlap 1 --regions 4 --age-bands 5 --seed 12
manifest "$LS_DIR/full/job.json" "$LS_DIR/full" "$(rule_r 2)" "$(rule_p 50)" "$Q_MAIN"
check_shape full "full overlap, the contract's example query (T = provider's 50)"

gen under --rows-a 400 --rows-b 400 --overlap 1 --regions 4 --age-bands 5 --seed 13
manifest "$LS_DIR/under/job.json" "$LS_DIR/under" "$(rule_r 100)" "$(rule_p 2)" "$Q_MAIN"
check_shape under "every group under the threshold (T = retailer's 100)"
grep -qx '# suppressed_groups=20 threshold=100' "$LS_DIR/under/out/output.csv" 2>/dev/null &&
  [ "$(wc -l <"$LS_DIR/under/out/output.csv")" = 2 ] && ok "all 20 groups suppressed" ||
  bad "every group under the threshold: $(cat "$LS_DIR/under/out/output.csv" 2>&1)"

gen small-large --rows-a 200 --rows-b 20000 --overlap 1 --regions 2 --age-bands 3 --seed 14
manifest "$LS_DIR/small-large/job.json" "$LS_DIR/small-large" "$(rule_r 30)" "$(rule_p 2)" "$Q_ALL"
check_shape small-large "200 retailer rows against 20000 provider rows"
gen large-small --rows-a 20000 --rows-b 200 --overlap 1 --regions 3 --age-bands 3 --dup-rate 0.1 --seed 15
manifest "$LS_DIR/large-small/job.json" "$LS_DIR/large-small" "$(rule_r 2)" "$(rule_p 20)" "$Q_ALL"
check_shape large-small "20000 retailer rows against 200 provider rows"

gen dups --rows-a 3000 --rows-b 3000 --overlap 0.6 --regions 6 --age-bands 5 --dup-rate 0.3 --variants --seed 16
manifest "$LS_DIR/dups/job.json" "$LS_DIR/dups" "$(rule_r 2)" "$(rule_p 72)" "$Q_ALL"
check_shape dups "duplicate keys and key variants, T = 72"
n=$(sed -n 's/^# suppressed_groups=\([0-9]*\) .*/\1/p' "$LS_DIR/dups/out/output.csv" 2>/dev/null)
[ -n "$n" ] && [ "$n" -gt 0 ] && [ "$(wc -l <"$LS_DIR/dups/out/output.csv")" -gt 2 ] &&
  ok "dups: some groups kept, $n suppressed" || bad "dups: not a partly suppressed output"
grep -q '^" ' "$LS_DIR/dups/retailer.csv" && grep -q "$(printf '^\t')" "$LS_DIR/dups/provider.csv" &&
  grep -q '^[0-9A-F]\{64\},' "$LS_DIR/dups/provider.csv" && grep -q '^,' "$LS_DIR/dups/retailer.csv" &&
  ok "dups: the inputs do hold quoted, tabbed, upper-case and empty keys" || bad "dups: no key variants generated"

gen nogroup --rows-a 1000 --rows-b 1000 --overlap 0.5 --seed 17
manifest "$LS_DIR/nogroup/job.json" "$LS_DIR/nogroup" "$(rule_r 2)" "$(rule_p 2)" "$Q_NOGROUP"
check_shape nogroup "no group-by (one group)"
gen nogroup-none --rows-a 300 --rows-b 300 --overlap 0 --seed 18
manifest "$LS_DIR/nogroup-none/job.json" "$LS_DIR/nogroup-none" "$(rule_r 2)" "$(rule_p 2)" "$Q_NOGROUP"
check_shape nogroup-none "no group-by, nothing joins (its one group suppressed)"
grep -qx '# suppressed_groups=1 threshold=2' "$LS_DIR/nogroup-none/out/output.csv" 2>/dev/null &&
  ok "no group-by, no overlap: suppressed_groups=1" || bad "nogroup-none: $(cat "$LS_DIR/nogroup-none/out/output.csv" 2>&1)"

# Edge values, written by hand and answered by hand: CRLF and no final line
# end, quoted fields, keys that only match after norm(), empty keys, negative
# and 6-decimal amounts, an 18-digit amount, rounding half away from zero,
# group values that need quoting, bytewise order (' ' < 'Z' < 'a' < 'x').
E=$LS_DIR/edge; mkdir -p "$E/out"
printf 'email_sha256,region\r\nk1,"a,b"\r\nk2,"a,b"\r\n"K3 ",Zed\r\nk4,Zed\r\nk5," lead"\r\n\tk6 ," lead"\r\nk7,"x""y"\r\nk8,"x""y"\r\nk9,solo\r\n,solo' >"$E/retailer.csv"
printf 'email_sha256,age_band,spend\nK1,b,0.125\nk2,b,-0.375\nk3,b,999999999999999999\nk4,b,0.000001\nk5,b,12.5\nk6,b,0\nk7,b,-1\nk8,b,1.000\nk9,b,5\n,b,7\n' >"$E/provider.csv"
manifest "$E/job.json" "$E" "$(rule_r 2)" "$(rule_p 2)" \
  "$(query "$GR" "$(a count provider spend),$(a sum provider spend),$(a avg provider spend)")"
printf '%s\n' 'retailer.region,count(provider.spend),sum(provider.spend),avg(provider.spend)' \
  '" lead",2,12.5,6.25' 'Zed,2,999999999999999999.000001,499999999999999999.50' '"a,b",2,-0.25,-0.13' \
  '"x""y",2,0,0.00' '# suppressed_groups=1 threshold=2' >"$E/expected.csv"
check_shape edge "edge values" "$E/expected.csv"

# Layout: the join column neither first nor last, columns the query does not
# use (quoted text, empty), amounts with leading zeros, "-0", six zero
# decimals, a duplicate key; a group whose average rounds to zero from below.
L=$LS_DIR/layout; mkdir -p "$L/out"
printf 'region,email_sha256,extra\nr1,k1,"x,y"\nr1,k2,\nr1,k3,"say ""hi"""\nr2,k4,z\nr2,k5,z\n' >"$L/retailer.csv"
printf 'age_band,note,email_sha256,spend\nb,"n,1",k1,007.50\nb,,k2,-0\nb,"",k3,0.000000\nb,n,k4,-0.001\nb,n,k5,0\nb,n,k5,0.0005\n' \
  >"$L/provider.csv"
manifest "$L/job.json" "$L" "$(rule '["region"]' '{"email_sha256":["count"]}' 2)" \
  "$(rule '["age_band"]' '{"spend":["sum","avg","count"],"note":["count_distinct"]}' 2)" \
  "$(query "$GR" "$(a count provider spend),$(a sum provider spend),$(a avg provider spend),$(
    a count_distinct provider note)")"
check_shape layout "columns in any order, unused columns, leading zeros and -0"

# All-digit keys compare exactly after trimming: 0042 is not 42, " 42" is.
D=$LS_DIR/digits; mkdir -p "$D/out"
printf 'email_sha256,region\n0042,g\n42,g\n 7,g\n007,h\n0,h\n00,h\n' >"$D/retailer.csv"
printf 'email_sha256,age_band,spend\n42,b,1\n"0042",b,2\n"42\t",b,3\n7 ,b,4\n7,b,5\n007,b,6\n0,b,7\n00,b,8\n000,b,9\n' \
  >"$D/provider.csv"
manifest "$D/job.json" "$D" "$(rule_r 2)" "$(rule_p 2)" \
  "$(query "$GR" "$(a count provider spend),$(a count_distinct provider email_sha256),$(a sum provider spend)")"
check_shape digits "all-digit keys (0042 is not 42, trimmed ones join)"

# Group values with a CR (quoted on output) or a leading tab (not quoted).
C=$LS_DIR/cr; mkdir -p "$C/out"
printf 'email_sha256,region\nk1,a\rb\nk2,a\rb\nk3,\tx\nk4,\tx\nk5,"q\r"\nk6,"q\r"\n' >"$C/retailer.csv"
printf 'email_sha256,age_band,spend\nk1,b,1\nk2,b,2\nk3,b,3\nk4,b,4\nk5,b,5\nk6,b,6\n' >"$C/provider.csv"
manifest "$C/job.json" "$C" "$(rule_r 2)" "$(rule_p 2)" "$(query "$GR" "$(a count provider spend),$(a sum provider spend)")"
check_shape cr "group values holding a CR or starting with a tab"

# ---- refusals ------------------------------------------------------------
# expect_refused WHAT PATTERN DIR: the job of DIR/job.json fails, says PATTERN,
# and publishes nothing in DIR/out.
expect_refused() {
  local what=$1 pat=$2 d=$3
  rm -rf "$d/out"; mkdir -p "$d/out"
  if run_job "$d/job.json" >/dev/null 2>"$d/run.err"; then bad "$what: the job ran"
  elif ! grep -q -- "$pat" "$d/run.err"; then bad "$what: error was: $(cat "$d/run.err")"
  elif [ -n "$(ls -A "$d/out")" ]; then bad "$what: published $(ls "$d/out")"
  else ok "$what refused: $(tr '\n' ' ' <"$d/run.err" | head -c 160)"; fi
}
# expect_seal_refused WHAT PATTERN PARTY DIR: sealbid seal of DIR/PARTY.csv fails,
# says PATTERN, and writes no DIR/PARTY.sealed.
expect_seal_refused() {
  local what=$1 pat=$2 p=$3 d=$4
  rm -f "$d/$p.sealed"
  if seal_one "$p" "$d" "$d/job.json" >/dev/null 2>"$d/seal.err"; then bad "seal, $what: sealed"
  elif ! grep -q -- "$pat" "$d/seal.err"; then bad "seal, $what: error was: $(cat "$d/seal.err")"
  elif [ -e "$d/$p.sealed" ]; then bad "seal, $what: wrote $p.sealed"
  else ok "seal, $what refused: $(tr '\n' ' ' <"$d/seal.err" | head -c 160)"; fi
}
# refusal NAME: a copy of a small good data set in $LS_DIR/NAME.
refusal() { local d=$LS_DIR/$1; mkdir -p "$d/out"; cp "$LS_DIR/base/retailer.csv" "$LS_DIR/base/provider.csv" "$d/"; }
gen base --rows-a 300 --rows-b 300 --overlap 1 --regions 2 --age-bands 2 --seed 19

# Query columns the rules do not allow: `seal` refuses to seal for such a
# query, and with both inputs sealed by AWS's SDK the job is refused at
# BeginJob; each names the party and the column.
# not_allowed NAME WHAT PATTERN PARTY: DIR/job.json is written.
not_allowed() {
  local d=$LS_DIR/$1 what=$2 pat=$3 p=$4
  expect_seal_refused "$what" "$pat" "$p" "$d"
  if [ $HAVE_ESDK = 0 ]; then
    echo "skip: $what in the enclave (no @aws-crypto/client-node in tools/node_modules)"; return 0
  fi
  if forge retailer "$d" "$d/job.json" 2>"$d/forge.err" && forge provider "$d" "$d/job.json" 2>>"$d/forge.err"
  then expect_refused "$what, sealed with AWS's SDK," "$pat" "$d"
  else bad "$what: sealing: $(cat "$d/forge.err")"; fi
}
refusal no-group
manifest "$LS_DIR/no-group/job.json" "$LS_DIR/no-group" "$(rule_r 2)" "$(rule_p 2)" \
  "$(query "$GR,$(g provider spend)" "$(a count provider email_sha256)")"
not_allowed no-group "grouping by a column the rule does not allow" \
  'party provider does not allow grouping by "spend"' provider
refusal no-agg
manifest "$LS_DIR/no-agg/job.json" "$LS_DIR/no-agg" "$(rule_r 2)" \
  "$(rule '["age_band"]' '{"spend":["sum"],"email_sha256":["count"]}' 2)" \
  "$(query "$GR" "$(a sum provider spend),$(a avg provider spend)")"
not_allowed no-agg "an aggregate the rule does not allow" 'party provider does not allow avg of "spend"' provider
refusal no-agg-col
manifest "$LS_DIR/no-agg-col/job.json" "$LS_DIR/no-agg-col" "$(rule_r 2)" "$(rule_p 2)" \
  "$(query "$GP" "$(a count_distinct retailer region),$(a count retailer email_sha256),$(a sum retailer region)")"
not_allowed no-agg-col "a sum of a column the rule does not let be summed" \
  'party retailer does not allow sum of "region"' retailer

# Thresholds outside 2..100000: refused wherever the manifest is read.
for t in 1 100001; do
  refusal "t$t"
  manifest "$LS_DIR/t$t/job.json" "$LS_DIR/t$t" "$(rule_r 2)" "$(rule_p $t)" "$Q_MAIN"
  expect_seal_refused "min_distinct_keys $t" 'min_distinct_keys' provider "$LS_DIR/t$t"
  expect_refused "min_distinct_keys $t" 'min_distinct_keys' "$LS_DIR/t$t"
done

# The thresholds' bounds themselves are accepted.
mkdir -p "$LS_DIR/t100000"; cp "$LS_DIR/base/retailer.csv" "$LS_DIR/base/provider.csv" "$LS_DIR/t100000/"
manifest "$LS_DIR/t100000/job.json" "$LS_DIR/t100000" "$(rule_r 2)" "$(rule_p 100000)" "$Q_MAIN"
check_shape t100000 "min_distinct_keys 100000 (every group suppressed)"

# What the contract refuses in the manifest itself, before any data is read.
for x in disclose shards parties format; do
  refusal "m-$x"
  M=$LS_DIR/m-$x/job.json J='"join": "email_sha256",'
  case $x in
  disclose) pat='"disclose" belongs to auctions, not join-aggregate'
    manifest "$M" "$LS_DIR/m-$x" "$(rule_r 2)" "$(rule_p 2)" "$Q_MAIN" "$J" ', "disclose": "winner"' ;;
  shards) pat='a join-aggregate job runs as one shard'
    manifest "$M" "$LS_DIR/m-$x" "$(rule_r 2)" "$(rule_p 2)" "$Q_MAIN" "$J" ', "shards": 2' ;;
  parties) pat='a join-aggregate job has 2 parties'
    manifest "$M" "$LS_DIR/m-$x" "$(rule_r 2)" "$(rule_p 2)" "$Q_MAIN"
    python3 - "$M" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); third = dict(m["parties"][1], name="third")
third["input"] = third["input"].replace("provider", "third"); m["parties"].append(third)
json.dump(m, open(sys.argv[1], "w"))
PY
    ;;
  *) pat='parties\[0\]: a join-aggregate input is sealed'
    manifest "$M" "$LS_DIR/m-$x" "$(rule_r 2)" "$(rule_p 2)" "$Q_MAIN"
    sed -i '0,/"format": "sealed"/s//"format": "kms-csv"/' "$M" ;;
  esac
  expect_refused "a join-aggregate manifest with $x" "$pat" "$LS_DIR/m-$x"
done

# A manifest party without a join column.
refusal nojoin
manifest "$LS_DIR/nojoin/job.json" "$LS_DIR/nojoin" "$(rule_r 2)" "$(rule_p 2)" "$Q_MAIN" ""
expect_seal_refused "a party without \"join\"" '"join"' retailer "$LS_DIR/nojoin"
expect_refused "a party without \"join\"" '"join"' "$LS_DIR/nojoin"

# bad_csv NAME WHAT SEAL_PATTERN RUN_PATTERN PARTY: DIR/PARTY.csv has been made
# bad; seal refuses it; sealed by the SDK instead, the enclave refuses it.
bad_csv() {
  local d=$LS_DIR/$1 what=$2 sp=$3 rp=$4 p=$5
  [ -e "$d/job.json" ] || manifest "$d/job.json" "$d" "$(rule_r 2)" "$(rule_p 2)" "$Q_ALL"
  expect_seal_refused "$what" "$sp" "$p" "$d"
  if [ $HAVE_ESDK = 0 ]; then
    echo "skip: $what in the enclave (no @aws-crypto/client-node in tools/node_modules)"; return 0
  fi
  local other=retailer; [ "$p" = retailer ] && other=provider
  if ! seal_one "$other" "$d" "$d/job.json" 2>"$d/forge.err" || ! forge "$p" "$d" "$d/job.json" 2>>"$d/forge.err"; then
    bad "$what: sealing: $(cat "$d/forge.err")"; return 0
  fi
  expect_refused "$what, sealed with AWS's SDK," "$rp" "$d"
}
refusal joincol
sed -i '1s/.*/email,region/' "$LS_DIR/joincol/retailer.csv"
bad_csv joincol "a CSV without its join column" 'party retailer: the header has no column "email_sha256"' \
  'party retailer: the header has no column "email_sha256"' retailer
refusal dupcol
sed -i '1s/.*/email_sha256,age_band,spend,age_band/; 2,$s/$/,x/' "$LS_DIR/dupcol/provider.csv"
bad_csv dupcol "a duplicate header column" 'party provider: the header names "age_band" twice' \
  'party provider: the header names "age_band" twice' provider

SECRET=77123456789SECRETVALUE
refusal nonnum
sed -i "5s/,[^,]*\$/,$SECRET/" "$LS_DIR/nonnum/provider.csv"
bad_csv nonnum "a non-numeric spend" 'party provider, row 4, column "spend"' \
  'party provider, row 4, column "spend"' provider
leaks=$(grep -l "$SECRET" "$LS_DIR"/*/*.err "$LS_DIR"/*.log "$SEALBID_STATE"/enclaves/*.log 2>/dev/null || true)
[ -z "$leaks" ] && grep -q 'row 4' "$LS_DIR/nonnum/seal.err" && ok "the non-numeric value is in no error and no log" ||
  bad "the bad value leaked into: $leaks"

# Amounts outside [-]DIGITS[.DIGITS] (18 + 6 digits at most): seal refuses each.
refusal numbers
manifest "$LS_DIR/numbers/job.json" "$LS_DIR/numbers" "$(rule_r 2)" "$(rule_p 2)" "$Q_ALL"
for v in 1e5 +5 ' 5' '5 ' 5. .5 1234567890123456789 0.1234567 - '' '"1,5"' 0x10 1_000 '--5' NaN; do
  { head -n1 "$LS_DIR/base/provider.csv"; sed -n '2,3p' "$LS_DIR/base/provider.csv"
    printf '%s,band-00,%s\n' "$(sed -n '4p' "$LS_DIR/base/provider.csv" | cut -d, -f1)" "$v"; } >"$LS_DIR/numbers/provider.csv"
  rm -f "$LS_DIR/numbers/provider.sealed"
  if seal_one provider "$LS_DIR/numbers" "$LS_DIR/numbers/job.json" >/dev/null 2>"$LS_DIR/numbers/seal.err"; then
    bad "seal accepted the amount '$v'"
  elif ! grep -q 'party provider, row 3, column "spend"' "$LS_DIR/numbers/seal.err" ||
    [ -e "$LS_DIR/numbers/provider.sealed" ]; then bad "amount '$v': $(cat "$LS_DIR/numbers/seal.err")"
  else numbers_ok=$((${numbers_ok:-0} + 1)); fi
done
[ "${numbers_ok:-0}" = 15 ] && ok "seal refuses 15 malformed amounts (exponent, sign, blanks, 19 digits, 7 decimals, ...)" ||
  bad "malformed amounts: ${numbers_ok:-0} of 15 refused"
# The biggest accepted amounts are accepted.
{ head -n3 "$LS_DIR/base/provider.csv"
  printf '%s,band-00,999999999999999999.999999\n' "$(sed -n '4p' "$LS_DIR/base/provider.csv" | cut -d, -f1)"
  printf '%s,band-00,-999999999999999999.999999\n' "$(sed -n '5p' "$LS_DIR/base/provider.csv" | cut -d, -f1)"; } \
  >"$LS_DIR/numbers/provider.csv"
seal_one provider "$LS_DIR/numbers" "$LS_DIR/numbers/job.json" >/dev/null 2>"$LS_DIR/numbers/seal.err" &&
  ok "seal takes 18 integer digits and 6 decimals, either sign" || bad "largest amounts: $(cat "$LS_DIR/numbers/seal.err")"

refusal header-only
head -n1 "$LS_DIR/base/provider.csv" >"$LS_DIR/header-only/provider.csv"
bad_csv header-only "a header without rows" 'party provider: the input has no rows' \
  'party provider: the input has no rows' provider
refusal zero
: >"$LS_DIR/zero/retailer.csv"
bad_csv zero "a zero-byte CSV" 'party retailer: the input is empty' 'party retailer: the input is empty' retailer
refusal ragged
sed -i '7s/$/,extra/' "$LS_DIR/ragged/retailer.csv"
bad_csv ragged "a ragged row" 'party retailer, row 6: 3 fields where the header has 2' \
  'party retailer, row 6: 3 fields where the header has 2' retailer
refusal quote
sed -i '3s/^\(....\)/\1"/' "$LS_DIR/quote/retailer.csv"
bad_csv quote "a quote inside an unquoted field" 'retailer.csv: party retailer, row 2: a quote inside an unquoted field' \
  'party retailer, row 2: a quote inside an unquoted field' retailer

# The operator alters the manifest after both parties sealed it (lower
# threshold, another grouping): the data is bound to the agreed manifest's hash.
refusal altered
manifest "$LS_DIR/altered/job.json" "$LS_DIR/altered" "$(rule_r 2)" "$(rule_p 100)" "$Q_MAIN"
seal_one retailer "$LS_DIR/altered" "$LS_DIR/altered/job.json" &&
  seal_one provider "$LS_DIR/altered" "$LS_DIR/altered/job.json" || bad "altered: seal failed"
cp "$LS_DIR/altered/job.json" "$LS_DIR/altered/agreed.json"
sed -i 's/"min_distinct_keys":100/"min_distinct_keys":2/' "$LS_DIR/altered/job.json"
expect_refused "the threshold lowered after sealing" 'encryption context does not match' "$LS_DIR/altered"
manifest "$LS_DIR/altered/job.json" "$LS_DIR/altered" "$(rule_r 2)" "$(rule_p 100)" \
  "$(query "$GR,$GP" "$(a count_distinct provider spend)")"
expect_refused "the query changed after sealing" 'encryption context does not match' "$LS_DIR/altered"
cp "$LS_DIR/altered/agreed.json" "$LS_DIR/altered/job.json"
cp "$LS_DIR/altered/retailer.sealed" "$LS_DIR/altered/retailer.keep"
cp "$LS_DIR/altered/provider.sealed" "$LS_DIR/altered/retailer.sealed"
expect_refused "the provider's sealed input given as the retailer's" '"sealbid:party" differs' "$LS_DIR/altered"
cp "$LS_DIR/altered/retailer.keep" "$LS_DIR/altered/retailer.sealed"
if run_job "$LS_DIR/altered/job.json" >/dev/null 2>"$LS_DIR/altered/run.err" &&
  verify "$LS_DIR/altered" "$LS_DIR/altered/job.json" >/dev/null 2>&1; then
  ok "the agreed manifest still runs"
else bad "the agreed manifest: $(cat "$LS_DIR/altered/run.err")"; fi

echo "test_e2e_collab: $(($(date +%s) - T0)) s"
ls_checks_done test_e2e_collab
