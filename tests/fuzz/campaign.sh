#!/usr/bin/env bash
# Long libFuzzer campaigns (issue 10): runs each target for SECS seconds,
# one worker per target, at most PAR targets at a time, under nice, and
# prints per target: executions, exec/s, final cov/ft, corpus size, crashes.
#
#   tests/fuzz/campaign.sh [-t SECS] [-p PAR] [target ...]
#   tests/fuzz/campaign.sh -m     results.tsv as a Markdown table
#
# SECS defaults to 600, PAR to 1; no target names: every build-fuzz/bin/fuzz_*.
# Needs `make fuzz` first. Logs, artifacts and the grown corpora go under
# build-fuzz/campaign/; build-fuzz/campaign/results.tsv gets one line per
# finished target (tab-separated, the header names the columns).
set -euo pipefail

secs=600
par=1
markdown=0
while getopts "t:p:mh" o; do
	case $o in
	t) secs=$OPTARG ;;
	p) par=$OPTARG ;;
	m) markdown=1 ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/build-fuzz/bin
out=$root/build-fuzz/campaign
mkdir -p "$out"

if [ $markdown = 1 ]; then
	echo "| target | seconds | executions | exec/s | cov | ft | corpus (units/bytes) | crashes |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	tail -n +2 "$out/results.tsv" | while IFS=$'\t' read -r t el ex eps cov ft corp cr _ _; do
		echo "| $t | $el | $ex | $eps | $cov | $ft | $corp | $cr |"
	done
	exit 0
fi

# -max_len per target: large enough for the biggest valid input it takes.
max_len_for() {
	case $1 in
	fuzz_attest_doc | fuzz_attest_nsm | fuzz_cli_sealed) echo 16384 ;;
	fuzz_kmsd_sigv4 | fuzz_wire_frame) echo 4096 ;;
	fuzz_kmsd_kblob) echo 2048 ;;
	*) echo 8192 ;;
	esac
}

run_one() {
	local t=$1 exe=$bin/$1 d=$out/$1 seeds=$root/tests/fuzz/corpus/$1 ml
	[ -x "$exe" ] || { echo "campaign: $t not built (make fuzz)" >&2; return 1; }
	rm -rf "$d/artifacts"
	mkdir -p "$d/corpus" "$d/artifacts"
	# Run a copy: a rebuild of build-fuzz/ during the campaign leaves it alone.
	cp "$exe" "$d/exe"
	exe=$d/exe
	[ -d "$seeds" ] || seeds=
	ml=$(max_len_for "$t")
	if [ -n "$seeds" ]; then
		local big
		big=$(find "$seeds" -type f -printf '%s\n' | sort -n | tail -1)
		[ "${big:-0}" -le "$ml" ] || ml=$big
	fi
	local start end rc=0
	start=$(date +%s)
	# One worker; a crash stops the run (its input is in artifacts/).
	nice -n 10 "$exe" -max_total_time="$secs" -max_len="$ml" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$d/artifacts/" \
		"$d/corpus" $seeds >"$d/log" 2>&1 || rc=$?
	end=$(date +%s)
	summarize "$t" $((end - start)) "$rc"
}

# Executions and exec/s from -print_final_stats, cov/ft/corpus from the last
# status line, crashes from the artifacts directory.
summarize() {
	local t=$1 el=$2 rc=$3 d=$out/$1 execs eps cov ft corp crashes line
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -1)
	line=$(grep -E '^#[0-9]+.*cov: ' "$d/log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$line")
	crashes=$(find "$d/artifacts" -type f | wc -l)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$line")
	[ -n "$eps" ] || eps=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$line")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$el" "${execs:-?}" "${eps:-?}" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" "$rc" "$(date -u +%FT%TZ)" |
		tee -a "$out/results.tsv"
}

[ -f "$out/results.tsv" ] ||
	printf 'target\tseconds\texecutions\texec_per_s\tcov\tft\tcorpus(units/bytes)\tcrashes\texit\tended\n' \
		>"$out/results.tsv"

if [ $# -eq 0 ]; then
	for f in "$bin"/fuzz_*; do
		n=$(basename "$f")
		case $n in *_replay) continue ;; esac
		set -- "$@" "$n"
	done
fi

export -f run_one summarize max_len_for
export bin out root secs
printf '%s\n' "$@" | xargs -P "$par" -I{} bash -c 'run_one "$1"' _ {}
