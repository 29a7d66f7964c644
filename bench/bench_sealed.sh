#!/usr/bin/env bash
# End-to-end benchmark of sealed datasets (AWS Encryption SDK messages bound
# to the job): N parties x B bids each, `sealbid run` with the enclave
# already up, inputs streamed from files. Reports wall time, bids/s,
# plaintext bytes/s and its ratio to this machine's AES-256-GCM speed
# (`openssl speed -evp aes-256-gcm`, one core, measured in this run), the
# number of KMS Decrypt calls (sealbid-kms's log: one per sealed party), and
# the peak RSS of the enclave and of the parent. Then the AWS sample's
# kms-csv path on a stated fraction of the data, for the ratio of the paths.
#
#   BENCH_PARTIES="2 10" BENCH_BIDS=1000000 BENCH_CSV_BIDS=5000 bash bench/bench_sealed.sh
#   BENCH_PERF=1 ...   also profiles the enclave during each sealed run (perf record)
# Targets (issue 9): 10 x 1,000,000 bids in under 2 s; each peak RSS under 256 MiB.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PARTIES=${BENCH_PARTIES:-2 10}
BIDS=${BENCH_BIDS:-1000000}
CSV_BIDS=${BENCH_CSV_BIDS:-5000}
SB=$SB_BIN/sealbid
# shellcheck source=../scripts/local-stack.bash
. "$ROOT/scripts/local-stack.bash"
ls_begin

aes=$(openssl speed -seconds 2 -bytes 65536 -evp aes-256-gcm 2>/dev/null |
  awk 'tolower($1) == "aes-256-gcm" {v = $NF; sub(/k$/, "", v); print v * 1000}')
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "openssl speed -evp aes-256-gcm (64 KiB blocks, one core): $(python3 -c "print(round($aes / 1e6))") MB/s"

max=0; for n in $PARTIES; do [ "$n" -gt "$max" ] && max=$n; done
principals=(role/operator); for i in $(seq "$max"); do principals+=("user/buyer$i"); done
SEALBID_LOG=info ls_start_kms "${principals[@]}"
ls_start_proxy
ls_build_image "$LS_DIR/enclave.img"
"$SB" image measure "$LS_DIR/enclave.img" >"$LS_DIR/pcrs.json"
"$SB" enclave run --image "$LS_DIR/enclave.img" --cid 16 >/dev/null
# The enclave application: the launcher's child (run from a sealed memfd).
epid=$("$SB" enclave describe | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ProcessID"])')
[ -n "$(pgrep -P "$epid" | head -1)" ] && epid=$(pgrep -P "$epid" | head -1)

t0=$(date +%s.%N)
for i in $(seq "$max"); do
  ls_create_key "buyer$i" "buyer$i" >"$LS_DIR/key$i"
  ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json" --require-job
  # Every party bids on properties 1..B, amounts 1..999,999 with a decimal on some.
  awk -v n="$BIDS" -v seed="$i" 'BEGIN { srand(seed); print "[].contract,[].bid";
    for (p = 1; p <= n; p++) { a = int(rand() * 999999) + 1;
      if (p % 7 == 0) printf "%d,%d.%d\n", p, a, int(rand() * 100); else printf "%d,%d\n", p, a } }' \
    >"$LS_DIR/plain$i.csv"
done

manifest() { # N FORMAT FILE_PREFIX -> $LS_DIR/job-FORMAT-N.json
  local n=$1 fmt=$2 bind=job
  [ "$fmt" = kms-csv ] && bind=none
  { printf '{"version":1,"job_id":"bench-%s-%s","region":"%s","parties":[' "$fmt" "$n" "$LS_REGION"
    for i in $(seq "$n"); do
      [ "$i" = 1 ] || printf ','
      printf '{"name":"Buyer%s","input":"file://%s/%s-%s-%s","key":"%s","format":"%s","binding":"%s"}' \
        "$i" "$LS_DIR" "$3" "$n" "$i" "$(cat "$LS_DIR/key$i")" "$fmt" "$bind"
    done
    printf '],"output":"file://%s/out-%s-%s/output.csv"}\n' "$LS_DIR" "$fmt" "$n"; } >"$LS_DIR/job-$fmt-$n.json"
  mkdir -p "$LS_DIR/out-$fmt-$n"
}
for n in $PARTIES; do
  manifest "$n" sealed sealed
  pids=()
  for i in $(seq "$n"); do
    ls_as "buyer$i" "$SB" seal --key-id "alias/buyer$i" --manifest "$LS_DIR/job-sealed-$n.json" \
      --party "Buyer$i" "$LS_DIR/plain$i.csv" -o "$LS_DIR/sealed-$n-$i" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
done
echo "set-up: keys, ${BIDS} bids per party generated and sealed in" \
  "$(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$(date +%s.%N)" "$t0") s (not measured)"

# run_one FORMAT N BIDS_PER_PARTY: one measured `sealbid run`, one line of figures.
run_one() {
  local fmt=$1 n=$2 per=$3 before after s e
  # Resets the enclave's peak RSS (VmHWM) to its current RSS, so each run's peak is its own.
  echo 5 >"/proc/$epid/clear_refs" || { echo "bench: cannot reset the enclave's VmHWM" >&2; exit 1; }
  echo "($fmt x $n: enclave RSS before the run $(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$epid/status"))" >&2
  before=$(grep -c 'op=Decrypt' "$LS_DIR/kms.log" || true)
  local perf_pid=
  if [ -n "${BENCH_PERF:-}" ] && [ "$fmt" = sealed ]; then
    perf record -q -F 1999 -g -p "$epid" -o "$LS_DIR/perf-$n.data" 2>/dev/null &
    perf_pid=$!; sleep 0.5
  fi
  s=$(date +%s.%N)
  ls_as operator /usr/bin/time -f '%M' -o "$LS_DIR/parent.rss" \
    "$SB" run --manifest "$LS_DIR/job-$fmt-$n.json" --enclave-cid 16 >/dev/null 2>"$LS_DIR/run.err" ||
    { cat "$LS_DIR/run.err" >&2; exit 1; }
  e=$(date +%s.%N)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    # The enclave runs from a sealed memfd, so perf cannot name its own
    # functions: addresses in it are resolved against the binary.
    echo "-- enclave profile, $n parties (self time by function, all threads):" >&2
    perf report -i "$LS_DIR/perf-$n.data" --no-children --stdio --sort symbol 2>/dev/null |
      python3 -c '
import re, subprocess, sys, collections
tot = collections.Counter()
for line in sys.stdin:
    m = re.match(r"\s+([0-9.]+)%\s+\[(.)\]\s+(\S+)", line)
    if not m:
        continue
    pct, sym = float(m.group(1)), m.group(3)
    if sym.startswith("0x"):
        out = subprocess.run(["addr2line", "-f", "-e", sys.argv[1], sym], capture_output=True, text=True)
        sym = out.stdout.split("\n")[0] or sym
    tot[sym] += pct
for sym, pct in tot.most_common(25):
    print("   %6.2f%%  %s" % (pct, sym))
' "$SB_BIN/sealbid-enclave" >&2 || true
  fi
  after=$(grep -c 'op=Decrypt' "$LS_DIR/kms.log" || true)
  rows=$(($(wc -l <"$LS_DIR/out-$fmt-$n/output.csv") - 1))
  [ "$rows" -eq "$per" ] || { echo "bench: $rows rows, expected $per" >&2; exit 1; }
  local plain=0 i
  for i in $(seq "$n"); do plain=$((plain + $(head -n $((per + 1)) "$LS_DIR/plain$i.csv" | wc -c))); done
  python3 - "$fmt" "$n" "$per" "$s" "$e" "$plain" "$aes" "$((after - before))" \
    "$(awk '/VmHWM/ {print $2}' "/proc/$epid/status")" "$(cat "$LS_DIR/parent.rss")" <<'PY'
import sys
fmt, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s, e, plain, aes = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
calls, erss, prss = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10])
secs, bids = e - s, n * per
print("%-8s %-7d %-9d %-8.2f %-11.0f %-9.1f %-9.3f %-9d %-12.0f %.0f" % (
    fmt, n, bids, secs, bids / secs, plain / secs / 1e6, plain / secs / aes, calls,
    erss / 1024, prss / 1024))
PY
}

printf '%-8s %-7s %-9s %-8s %-11s %-9s %-9s %-9s %-12s %s\n' format parties bids seconds bids/s MB/s \
  "vs AES" "KMS calls" "enclave MiB" "parent MiB"
for n in $PARTIES; do run_one sealed "$n" "$BIDS"; done

# The AWS sample's kms-csv format on the first CSV_BIDS bids of each party:
# one KMS Decrypt (and one RSA-2048 operation) per bid.
for i in $(seq 2); do
  head -n $((CSV_BIDS + 1)) "$LS_DIR/plain$i.csv" | tail -n +2 >"$LS_DIR/csvplain$i.csv"
  ls_as "buyer$i" "$SB" encrypt-bids --key-id "alias/buyer$i" --unbound "$LS_DIR/csvplain$i.csv" \
    >"$LS_DIR/csv-2-$i"
done
# --require-job keys refuse unbound ciphertexts: these keys get the plain pinned policy.
for i in $(seq 2); do ls_pin_key "buyer$i" "arn:aws:iam::$LS_ACCOUNT:role/operator" "$LS_DIR/pcrs.json"; done
manifest 2 kms-csv csv
run_one kms-csv 2 "$CSV_BIDS"
echo "vs AES = plaintext bytes/s end to end / openssl aes-256-gcm bytes/s on one core"
echo "targets: sealed 10 x 1,000,000 bids under 2 s (>= 5,000,000 bids/s); enclave and parent peak RSS under 256 MiB"
