#!/usr/bin/env bash
# `sealbid run` and the files it is pointed at, without an enclave (the
# vsock mapping points at an empty directory, so a job that gets as far as
# connecting fails there; no AF_VSOCK socket is ever created):
#   - a FIFO as an input fails at once instead of blocking forever; so do a
#     symlink and a directory;
#   - a FIFO, a symlink or a directory as the output (or as its receipt) is
#     refused before the job starts, and is left as it was: no ".receipt"
#     appears beside it (issue 10: `file:///dev/null` replaced the device);
#   - a party with "binding": "none" gets a warning on stderr, a bound one not.
set -euo pipefail
: "${SB_BIN:?SB_BIN must point at the bin directory of a build}"
SB=$SB_BIN/sealbid

WORK=$(mktemp -d /tmp/sb-run-paths-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export SEALBID_VSOCK_DIR="$WORK/vsock"
mkdir "$WORK/vsock" "$WORK/out"
# Dummy credentials: nothing here may reach AWS or IMDS.
export AWS_ACCESS_KEY_ID=AKIARUNPATHSTEST0001 AWS_SECRET_ACCESS_KEY=not-a-secret
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1" >&2; }

printf 'Property,Bid\n' >"$WORK/b1.csv"
printf 'Property,Bid\n' >"$WORK/b2.csv"

manifest() { # manifest BUYER1_INPUT OUTPUT_PATH
  cat >"$WORK/m.json" <<J
{"version": 1, "job_id": "run-paths", "region": "us-east-1",
 "computation": "highest-bid", "disclose": "winner",
 "parties": [
  {"name": "Buyer1", "input": "file://$1", "format": "kms-csv", "key": "alias/buyer1", "binding": "none"},
  {"name": "Buyer2", "input": "file://$WORK/b2.csv", "format": "kms-csv", "key": "alias/buyer2"}],
 "output": "file://$2"}
J
}

# run_sb: runs `sealbid run` with a 20 s guard; sets rc and err.
run_sb() {
  rc=0
  timeout 20 "$SB" run --manifest "$WORK/m.json" --enclave-cid 16 --connect-ms 0 \
    >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
  err=$(cat "$WORK/run.err")
}

# 1. Inputs: regular files only, never a blocking open or read.
mkfifo "$WORK/in.fifo"
ln -s "$WORK/b1.csv" "$WORK/in.link"
mkdir "$WORK/in.dir"
for input in in.fifo in.link in.dir; do
  manifest "$WORK/$input" "$WORK/out/output.csv"
  run_sb
  if [ "$rc" -eq 124 ]; then bad "input $input: sealbid run blocked"
  elif [ "$rc" -ne 0 ] && [[ $err == *"not a regular file"* ]] && [[ $err == *"input of Buyer1"* ]]; then
    ok "input $input refused at once"
  else bad "input $input: rc=$rc: $err"; fi
done
[ -p "$WORK/in.fifo" ] && ok "the input FIFO is still a FIFO" || bad "input FIFO replaced"

# 2. Outputs: only a regular file or nothing is replaced; checked before the job.
mkfifo "$WORK/out/fifo.csv"
printf 'keep\n' >"$WORK/out/target"
ln -s "$WORK/out/target" "$WORK/out/link.csv"
mkdir "$WORK/out/dir.csv"
for output in fifo.csv link.csv dir.csv; do
  manifest "$WORK/b1.csv" "$WORK/out/$output"
  run_sb
  if [ "$rc" -ne 0 ] && [[ $err == *"only a regular file is replaced"* ]] && [[ $err != *"socket"* ]]; then
    ok "output $output refused before the job"
  else bad "output $output: rc=$rc: $err"; fi
  [ ! -e "$WORK/out/${output%.csv}.receipt" ] && ok "no receipt beside $output" \
    || bad "a receipt was created beside $output"
done
[ -p "$WORK/out/fifo.csv" ] && [ -L "$WORK/out/link.csv" ] && [ -d "$WORK/out/dir.csv" ] \
  && [ "$(cat "$WORK/out/target")" = keep ] && ok "FIFO, symlink, its target and directory unchanged" \
  || bad "an output target was changed"
# The receipt's name is checked too.
mkfifo "$WORK/out/rec.receipt"
manifest "$WORK/b1.csv" "$WORK/out/rec.csv"
run_sb
if [ "$rc" -ne 0 ] && [[ $err == *"rec.receipt: only a regular file is replaced"* ]]; then
  ok "a FIFO at the receipt's name is refused"
else bad "receipt FIFO: rc=$rc: $err"; fi
[ ! -e "$WORK/out/rec.csv" ] && ok "no output written beside the refused receipt" || bad "output written"

# 3. A good job shape gets as far as connecting (no enclave here), with the
#    unbound warning for Buyer1 only.
manifest "$WORK/b1.csv" "$WORK/out/output.csv"
run_sb
if [ "$rc" -ne 0 ] && [[ $err == *"connect to cid 16"* ]]; then ok "a good job reaches the connect"
else bad "good job: rc=$rc: $err"; fi
if [[ $err == *"party Buyer1's input is unbound"*"re-run it under other manifests"* ]] \
   && [[ $err != *"party Buyer2's input is unbound"* ]]; then
  ok "unbound party warned about, bound one not"
else bad "unbound warning: $err"; fi
[ ! -e "$WORK/out/output.csv" ] && [ ! -e "$WORK/out/output.receipt" ] \
  && ok "a failed job publishes nothing" || bad "a failed job published"

echo "test_run_paths: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
