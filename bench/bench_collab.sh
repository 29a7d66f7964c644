#!/usr/bin/env bash
# The join-aggregate computation (issue 13) end to end: two parties x R rows
# (tests/data/collab/gen_collab.py), a fraction of the keys shared, about
# REGIONS x BANDS groups, each party sealed under its own pinned key, `sealbid
# run` with the enclave already up. Reports each party's `sealbid seal` time,
# the wall time of `sealbid run`, the enclave's and the parent's peak RSS,
# and, on the same plaintext in the same run, sqlite3 (in memory): .import of
# both CSVs plus an index on the provider's normalised key (import), then the
# contract's SQL (JOIN + GROUP BY + HAVING COUNT(DISTINCT key) >= T; query),
# separately and together, with the ratio of `sealbid run` to each. Checks
# that the enclave's output.csv is byte-identical to sqlite's answer.
#
#   BENCH_ROWS=1000000 BENCH_OVERLAP=0.3 BENCH_REGIONS=10 BENCH_BANDS=10 \
#   BENCH_THRESHOLD=50 BENCH_VARIANTS=1 bash bench/bench_collab.sh
# BENCH_VARIANTS=1: about 1 key in 8 upper-case, padded or quoted (the
# contract's normalisation), 1 in 200 blank.
set -euo pipefail
SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${BENCH_ROWS:-1000000}
OVERLAP=${BENCH_OVERLAP:-0.3}
REGIONS=${BENCH_REGIONS:-10}
BANDS=${BENCH_BANDS:-10}
T=${BENCH_THRESHOLD:-50}
SB=$SB_BIN/sealbid
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 is missing" >&2; exit 1; }
# shellcheck source=../scripts/local-stack.bash
. "$ROOT/scripts/local-stack.bash"
ls_begin
now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "$(sqlite3 --version | cut -d' ' -f1 | sed 's/^/sqlite3 /')"

ls_start_kms user/retailer user/provider role/operator
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
# SEALBID_LOG=info: the enclave logs where a job's time went (state/enclaves/*.log).
SEALBID_LOG=info "$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
# The enclave application: the launcher's child (run from a sealed memfd).
epid=$("$SB" enclave describe | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ProcessID"])')
[ -n "$(pgrep -P "$epid" | head -1)" ] && epid=$(pgrep -P "$epid" | head -1)
for p in retailer provider; do
  ls_create_key "$p" "$p" >"$LS_DIR/key-$p"
  ls_pin_key "$p" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json" --require-job
done
var=(); [ -n "${BENCH_VARIANTS:-}" ] && var=(--variants)
t0=$(now)
python3 "$ROOT/tests/data/collab/gen_collab.py" --rows-a "$ROWS" --rows-b "$ROWS" --overlap "$OVERLAP" \
  --regions "$REGIONS" --age-bands "$BANDS" --seed 1 "${var[@]}" --out "$LS_DIR/plain"
echo "set-up: 2 x $ROWS rows generated in $(secs "$(now)" "$t0") s (not measured);" \
  "overlap $OVERLAP, $REGIONS regions x $BANDS age bands, threshold $T${BENCH_VARIANTS:+, key variants}"

cat >"$LS_DIR/job.json" <<J
{"version": 1, "job_id": "bench-collab", "region": "$LS_REGION", "computation": "join-aggregate",
 "parties": [
  {"name": "retailer", "input": "file://$LS_DIR/retailer.sealed", "format": "sealed",
   "key": "$(cat "$LS_DIR/key-retailer")", "join": "email_sha256",
   "rule": {"group_by": ["region"], "aggregate": {"email_sha256": ["count", "count_distinct"]},
            "min_distinct_keys": 2}},
  {"name": "provider", "input": "file://$LS_DIR/provider.sealed", "format": "sealed",
   "key": "$(cat "$LS_DIR/key-provider")", "join": "email_sha256",
   "rule": {"group_by": ["age_band"], "aggregate": {"spend": ["sum", "avg", "count"], "email_sha256": ["count"]},
            "min_distinct_keys": $T}}],
 "query": {"group_by": [{"party": "retailer", "column": "region"}, {"party": "provider", "column": "age_band"}],
           "aggregates": [{"function": "count", "party": "provider", "column": "email_sha256"},
                          {"function": "avg", "party": "provider", "column": "spend"}]},
 "output": "file://$LS_DIR/out/output.csv"}
J
mkdir -p "$LS_DIR/out"

# One party at a time, so each time is that party's alone.
declare -A seal_s
for p in retailer provider; do
  s=$(now)
  ls_as "$p" "$SB" seal --key-id "alias/$p" --manifest "$LS_DIR/job.json" --party "$p" \
    "$LS_DIR/plain/$p.csv" -o "$LS_DIR/$p.sealed"
  seal_s[$p]=$(secs "$(now)" "$s")
done

# The measured run. Resets the enclave's peak RSS (VmHWM) to its current RSS first.
echo 5 >"/proc/$epid/clear_refs" || { echo "bench: cannot reset the enclave's VmHWM" >&2; exit 1; }
erss0=$(awk '/VmRSS/ {print $2}' "/proc/$epid/status")
s=$(now)
ls_as operator /usr/bin/time -f '%M' -o "$LS_DIR/parent.rss" \
  "$SB" run --manifest "$LS_DIR/job.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/run.err" ||
  { cat "$LS_DIR/run.err" >&2; exit 1; }
run_s=$(secs "$(now)" "$s")
erss=$(awk '/VmHWM/ {print $2}' "/proc/$epid/status")

# sqlite3 on the same plaintext, in memory; the contract's SQL (norm(x) =
# lower(trim(x, ' ' || char(9)))), avg rounded half away from zero from the
# exact sum (spend in millionths: exact for these values), formatted as output.csv.
norm() { echo "lower(trim($1, ' ' || char(9)))"; }
cat >"$LS_DIR/collab.sql" <<S
.system date +%s.%N >$LS_DIR/sq.t0
.mode csv
.import $LS_DIR/plain/retailer.csv retailer
.import $LS_DIR/plain/provider.csv provider
CREATE INDEX provider_key ON provider($(norm email_sha256));
.system date +%s.%N >$LS_DIR/sq.t1
.mode list
.output $LS_DIR/sqlite.csv
CREATE TEMP TABLE g AS
  SELECT r.region AS g1, p.age_band AS g2, COUNT(p.email_sha256) AS n,
         SUM(CAST(round(CAST(p.spend AS REAL) * 1000000) AS INTEGER)) AS s,
         COUNT(DISTINCT $(norm r.email_sha256)) AS d
  FROM retailer r JOIN provider p ON $(norm r.email_sha256) = $(norm p.email_sha256)
  WHERE $(norm r.email_sha256) <> ''
  GROUP BY r.region, p.age_band;
SELECT 'retailer.region,provider.age_band,count(provider.email_sha256),avg(provider.spend)';
SELECT printf('%s,%s,%d,%s%d.%02d', g1, g2, n, CASE WHEN s < 0 AND q > 0 THEN '-' ELSE '' END, q / 100, q % 100)
  FROM (SELECT g1, g2, n, s, (2 * abs(s) + n * 10000) / (2 * n * 10000) AS q FROM g WHERE d >= $T)
  ORDER BY g1, g2;
SELECT printf('# suppressed_groups=%d threshold=%d', (SELECT count(*) FROM g WHERE d < $T), $T);
.output stdout
.system date +%s.%N >$LS_DIR/sq.t2
S
/usr/bin/time -f '%M' -o "$LS_DIR/sqlite.rss" sqlite3 :memory: <"$LS_DIR/collab.sql"
sq_import=$(secs "$(cat "$LS_DIR/sq.t1")" "$(cat "$LS_DIR/sq.t0")")
sq_query=$(secs "$(cat "$LS_DIR/sq.t2")" "$(cat "$LS_DIR/sq.t1")")

if cmp -s "$LS_DIR/out/output.csv" "$LS_DIR/sqlite.csv"; then
  same="byte-identical to sqlite3's answer"
else
  diff "$LS_DIR/sqlite.csv" "$LS_DIR/out/output.csv" | head -10 >&2
  echo "bench: the enclave's output.csv differs from sqlite3's (< sqlite, > enclave)" >&2; exit 1
fi
python3 - "$ROWS" "${seal_s[retailer]}" "${seal_s[provider]}" "$run_s" "$sq_import" "$sq_query" \
  "$erss0" "$erss" "$(cat "$LS_DIR/parent.rss")" "$(cat "$LS_DIR/sqlite.rss")" \
  "$(stat -c %s "$LS_DIR/plain/retailer.csv")" "$(stat -c %s "$LS_DIR/plain/provider.csv")" <<'PY'
import sys
rows = int(sys.argv[1])
seal_r, seal_p, run, imp, qry = map(float, sys.argv[2:7])
erss0, erss, prss, srss, br, bp = map(int, sys.argv[7:13])
sq = imp + qry
print("%-26s %8s %12s %10s" % ("step", "seconds", "rows/s", "MB/s"))
for name, t, n, b in (("seal retailer", seal_r, rows, br), ("seal provider", seal_p, rows, bp),
                      ("sealbid run (enclave job)", run, 2 * rows, br + bp),
                      ("sqlite3 import + index", imp, 2 * rows, br + bp),
                      ("sqlite3 query", qry, 2 * rows, br + bp),
                      ("sqlite3 import + query", sq, 2 * rows, br + bp)):
    print("%-26s %8.2f %12.0f %10.1f" % (name, t, n / t, b / t / 1e6))
print("sealbid run / sqlite3 import + query: %.2f; / sqlite3 query alone: %.2f" % (run / sq, run / qry))
print("peak RSS: enclave %.0f MiB (%.0f MiB before the run), parent %.0f MiB, sqlite3 %.0f MiB"
      % (erss / 1024, erss0 / 1024, prss / 1024, srss / 1024))
PY
grep -ho 'job bench-collab: done in.*' "$SEALBID_STATE"/enclaves/*.log | sed 's/^/enclave: /' || true
echo "output.csv: $(($(wc -l <"$LS_DIR/out/output.csv") - 2)) groups, $(tail -1 "$LS_DIR/out/output.csv"); $same"
