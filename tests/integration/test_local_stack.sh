#!/usr/bin/env bash
# scripts/local-stack.bash and the CLI's messages (issue 10 item 13): every
# principal's access key is a valid length (AKIA + 16) whatever its name, so
# sealbid's own clients accept it; kms-config.json (every principal's secret)
# is 0600; ls_encrypt keeps plaintext bids out of argv; an over-long amount
# says so once. Starts sealbid-kms on a free 127.0.0.1 port; stops it on exit.
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
# shellcheck source=../../scripts/local-stack.bash
. "$SB_SRC/scripts/local-stack.bash"
ls_begin

passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1" >&2; failed=$((failed + 1)); }

# 1. Access keys: AKIA + 16 of [A-Z0-9] for short, long, odd and similar names; all distinct.
names=(A b B1 buyer1 buyer2 BuyerAlpha1 BuyerAlpha2 operator "dots.and-dashes" "___"
  averyveryverylongprincipalnamethatgoesonandon)
seen=""
for n in "${names[@]}"; do
  k=$(ls_principal_key "$n")
  if [[ ! $k =~ ^AKIA[A-Z0-9]{16}$ ]]; then bad "key for '$n' is '$k'"; continue; fi
  case " $seen " in *" $k "*) bad "key for '$n' collides: $k" ;; esac
  seen="$seen $k"
done
[ "$(ls_principal_key buyer1)" = "$(ls_principal_key buyer1)" ] || bad "keys are not stable"
ok "access keys: AKIA + 16, distinct, for ${#names[@]} names"

# 2. kms-config.json holds the secrets: 0600, even under a permissive umask.
umask 022
ls_start_kms user/A user/b role/operator
mode=$(stat -c %a "$LS_DIR/kms-config.json")
[ "$mode" = 600 ] && ok "kms-config.json is 0600" || bad "kms-config.json is $mode"
grep -q "$(ls_principal_secret A)" "$LS_DIR/kms-config.json" || bad "config lacks A's secret"

# 3. A one-letter principal's key works with sealbid's own client (it refused 13 characters).
K=$(ls_create_key A a) || bad "create-key as A"
printf 'property,bid\n1,987654321\n2,123456789\n' >"$LS_DIR/bids.csv"
if ls_as A "$SB" encrypt-bids --key-id "$K" --unbound "$LS_DIR/bids.csv" >"$LS_DIR/enc.csv" \
  2>"$LS_DIR/enc.err"; then
  [ "$(wc -l <"$LS_DIR/enc.csv")" -eq 3 ] && ok "encrypt-bids as principal 'A'" \
    || bad "encrypt-bids output: $(cat "$LS_DIR/enc.csv")"
else bad "encrypt-bids as A: $(cat "$LS_DIR/enc.err")"; fi

# 3b. The SDKs' retry settings: adaptive works, a bad mode is named.
if AWS_RETRY_MODE=adaptive AWS_MAX_ATTEMPTS=5 ls_as A "$SB" encrypt-bids --key-id "$K" --unbound \
  "$LS_DIR/bids.csv" >/dev/null 2>"$LS_DIR/enc.err"; then ok "encrypt-bids with AWS_RETRY_MODE=adaptive"
else bad "adaptive: $(cat "$LS_DIR/enc.err")"; fi
if AWS_RETRY_MODE=fast ls_as A "$SB" encrypt-bids --key-id "$K" --unbound "$LS_DIR/bids.csv" \
  >/dev/null 2>"$LS_DIR/enc.err"; then bad "AWS_RETRY_MODE=fast accepted"
elif grep -q "AWS_RETRY_MODE must be" "$LS_DIR/enc.err"; then ok "bad AWS_RETRY_MODE named"
else bad "bad AWS_RETRY_MODE: $(cat "$LS_DIR/enc.err")"; fi

# 4. ls_encrypt: no plaintext amount in any command line (a recording AWS CLI shim).
if ls_have_aws; then
  real_aws=$AWS_CLI
  cat >"$LS_DIR/aws-shim" <<EOF
#!/usr/bin/env bash
printf '%s\n' "\$*" >>"$LS_DIR/argv.log"
exec "$real_aws" "\$@"
EOF
  chmod +x "$LS_DIR/aws-shim"
  AWS_CLI=$LS_DIR/aws-shim
fi
: >"$LS_DIR/argv.log"
if ls_encrypt A "$K" "$LS_DIR/sample.csv" 1=987654321 2=123456789; then
  [ "$(wc -l <"$LS_DIR/sample.csv")" -eq 3 ] && ok "ls_encrypt as 'A'" \
    || bad "ls_encrypt output: $(cat "$LS_DIR/sample.csv")"
else bad "ls_encrypt failed"; fi
if grep -q -e 987654321 -e 123456789 "$LS_DIR/argv.log"; then
  bad "a plaintext amount was on a command line"
else ok "no plaintext amount in argv"; fi
[ -z "$(find "$LS_DIR" -maxdepth 1 -name 'plain.*')" ] && ok "plaintext temp files removed" \
  || bad "plaintext temp files left"

# 5. A 65-digit amount: "longer than 64 digits", the table's message once, no value echoed.
printf 'property,bid\n1,12345678901234567890123456789012345678901234567890123456789012345\n' \
  >"$LS_DIR/long.csv"
if ls_as A "$SB" encrypt-bids --key-id "$K" --unbound "$LS_DIR/long.csv" >/dev/null \
  2>"$LS_DIR/long.err"; then
  bad "a 65-digit amount was encrypted"
else
  msg=$(cat "$LS_DIR/long.err")
  n=$(grep -o "not a non-negative decimal amount" <<<"$msg" | wc -l)
  if [ "$n" -eq 1 ] && grep -q "line 2: amount is longer than 64 digits" <<<"$msg" \
    && ! grep -q 1234567890 <<<"$msg"; then
    ok "65-digit amount: $msg"
  else bad "65-digit amount message: $msg"; fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
