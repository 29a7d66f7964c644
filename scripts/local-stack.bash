# shellcheck shell=bash
# The local stack, as functions shared by scripts/demo.sh and the end-to-end
# tests: sealbid-kms, the enclave image and launcher, the KMS proxy, and the
# AWS CLI v2 pointed at sealbid-kms. Source it after setting SB_BIN (the
# build's bin directory) and LS_DIR (a scratch directory this stack owns).
# Everything started is recorded and stopped by ls_stop (call it from a trap).

AWS_CLI=${AWS_CLI:-/usr/bin/aws}
LS_ACCOUNT=111122223333
LS_REGION=us-east-1
LS_PIDS=()

ls_die() { echo "local-stack: $*" >&2; exit 1; }

# Checks of an integration test: ok WHAT / bad WHAT count, ls_checks_done
# prints the tally and fails when any check failed.
passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1" >&2; failed=$((failed + 1)); }
ls_checks_done() { echo "${1:+$1: }$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }

# ls_begin: a scratch stack of its own (LS_DIR, state, vsock mapping), all
# of it stopped and removed when the calling script exits.
ls_begin() {
  LS_DIR=$(mktemp -d)
  export SEALBID_STATE=$LS_DIR/state SEALBID_VSOCK_DIR=$LS_DIR/vsock
  mkdir -p "$SEALBID_VSOCK_DIR"
  trap 'ls_stop; rm -rf "$LS_DIR"' EXIT
}

# Credentials of each principal (development values, public, local only).
# Access key ids are always AKIA + 16 characters (AWS: 16..128; sealbid's
# clients refuse shorter ones): up to 8 of the name, readable in logs, then
# hex of its SHA-256, so "A" is valid and "BuyerAlpha1"/"BuyerAlpha2" differ.
ls_principal_key() {
  local n h
  n=$(printf '%s' "$1" | tr 'a-z' 'A-Z' | tr -cd 'A-Z0-9' | cut -c1-8)
  h=$(printf '%s' "$1" | sha256sum | tr 'a-f' 'A-F' | cut -c1-$((16 - ${#n})))
  echo "AKIA$n$h"
}
ls_principal_secret() { echo "local-only-secret-for-$1"; }

# ls_as PRINCIPAL CMD...: run CMD with that principal's AWS credentials.
ls_as() {
  local who=$1; shift
  AWS_ACCESS_KEY_ID=$(ls_principal_key "$who") AWS_SECRET_ACCESS_KEY=$(ls_principal_secret "$who") \
    AWS_SESSION_TOKEN= AWS_REGION=$LS_REGION AWS_DEFAULT_REGION=$LS_REGION \
    AWS_ENDPOINT_URL_KMS=$LS_KMS_URL AWS_CONFIG_FILE=$LS_DIR/aws-config \
    AWS_SHARED_CREDENTIALS_FILE=$LS_DIR/aws-credentials AWS_PAGER= "$@"
}

# ls_aws PRINCIPAL ARGS...: the AWS CLI v2 against sealbid-kms as that principal.
ls_aws() { local who=$1; shift; ls_as "$who" "$AWS_CLI" --endpoint-url "$LS_KMS_URL" --region "$LS_REGION" --output json "$@"; }

ls_stop() {
  local pid
  if [ -n "${SEALBID_STATE:-}" ] && [ -x "$SB_BIN/sealbid" ]; then
    "$SB_BIN/sealbid" enclave terminate --all >/dev/null 2>&1 || true
  fi
  for pid in "${LS_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${LS_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  LS_PIDS=()
}

# ls_start_kms PRINCIPAL...: sealbid-kms on a free 127.0.0.1 port, trusting the dev root.
ls_start_kms() {
  mkdir -p "$LS_DIR" "$SEALBID_STATE"
  : >"$LS_DIR/aws-config"; : >"$LS_DIR/aws-credentials"
  "$SB_BIN/sealbid" enclave dev-root >"$LS_DIR/dev-root.pem" || ls_die "no dev root"
  local p first=1
  # It holds every principal's secret key: 0600 from the start.
  ( umask 077; : >"$LS_DIR/kms-config.json" )
  chmod 600 "$LS_DIR/kms-config.json"
  {
    printf '{"region":"%s","account_id":"%s","principals":[' "$LS_REGION" "$LS_ACCOUNT"
    for p in "$@"; do
      [ $first = 1 ] || printf ','; first=0
      printf '{"arn":"arn:aws:iam::%s:%s","access_key_id":"%s","secret_access_key":"%s","session_token":null}' \
        "$LS_ACCOUNT" "$p" "$(ls_principal_key "${p##*/}")" "$(ls_principal_secret "${p##*/}")"
    done
    # LS_KMS_EXTRA_PRINCIPALS: more principal objects, e.g. expiring session credentials.
    [ -z "${LS_KMS_EXTRA_PRINCIPALS:-}" ] || printf ',%s' "$LS_KMS_EXTRA_PRINCIPALS"
    printf '],"attestation_roots":["%s"]}\n' "$LS_DIR/dev-root.pem"
  } >"$LS_DIR/kms-config.json"
  rm -f "$LS_DIR/kms.port"
  "$SB_BIN/sealbid-kms" --listen 127.0.0.1:0 --data "$LS_DIR/kms-data" \
    --config "$LS_DIR/kms-config.json" --port-file "$LS_DIR/kms.port" 2>>"$LS_DIR/kms.log" &
  LS_PIDS+=($!)
  local i; for i in $(seq 100); do [ -s "$LS_DIR/kms.port" ] && break; sleep 0.1; done
  [ -s "$LS_DIR/kms.port" ] || ls_die "sealbid-kms did not start (see $LS_DIR/kms.log)"
  LS_KMS_PORT=$(cat "$LS_DIR/kms.port")
  LS_KMS_URL=http://127.0.0.1:$LS_KMS_PORT
}

# ls_start_proxy: the parent's vsock-proxy (vsock 3:8000 -> sealbid-kms).
ls_start_proxy() {
  "$SB_BIN/sealbid" proxy --port 8000 --to "127.0.0.1:$LS_KMS_PORT" 2>>"$LS_DIR/proxy.log" &
  LS_PIDS+=($!)
  local i; for i in $(seq 100); do [ -S "$SEALBID_VSOCK_DIR/3.8000" ] && break; sleep 0.05; done
  [ -S "$SEALBID_VSOCK_DIR/3.8000" ] || ls_die "proxy did not start"
}

# ls_build_image OUT [ENCLAVE_BINARY]: the enclave image; KMS through the proxy.
# SB_ENCLAVE_BIN overrides the default binary (the static build, make enclave-static).
ls_build_image() {
  local bin=${2:-${SB_ENCLAVE_BIN:-$SB_BIN/sealbid-enclave}}
  printf -- '--port\n5005\n--kms-endpoint\nhttp://kms.%s.sealbid.local\n' "$LS_REGION" >"$LS_DIR/enclave.conf"
  "$SB_BIN/sealbid" image build --enclave "$bin" --config "$LS_DIR/enclave.conf" -o "$1" >/dev/null
}

# ls_kms PRINCIPAL ACTION JSON: one KMS JSON 1.1 call signed by curl's SigV4
# (used where the AWS CLI is not installed).
ls_kms() {
  local out
  out=$(curl -sS --fail-with-body --aws-sigv4 "aws:amz:$LS_REGION:kms" \
    --user "$(ls_principal_key "$1"):$(ls_principal_secret "$1")" \
    -H "X-Amz-Target: TrentService.$2" -H 'Content-Type: application/x-amz-json-1.1' \
    --data-binary "$3" "$LS_KMS_URL/") || { echo "$out" >&2; return 1; }
  echo "$out"
}

ls_have_aws() { [ -f "$AWS_CLI" ] && [ -x "$AWS_CLI" ]; }

# ls_create_key PRINCIPAL ALIAS: a key owned by PRINCIPAL; prints its ARN.
ls_create_key() {
  local arn
  if ls_have_aws; then
    arn=$(ls_aws "$1" kms create-key --description "$2" --query KeyMetadata.Arn --output text) || return 1
    ls_aws "$1" kms create-alias --alias-name "alias/$2" --target-key-id "$arn" >/dev/null || return 1
  else
    arn=$(ls_kms "$1" CreateKey "{\"Description\":\"$2\"}" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["Arn"])') || return 1
    ls_kms "$1" CreateAlias "{\"AliasName\":\"alias/$2\",\"TargetKeyId\":\"$arn\"}" >/dev/null || return 1
  fi
  echo "$arn"
}

# ls_put_policy PRINCIPAL KEY POLICY_FILE
ls_put_policy() {
  if ls_have_aws; then
    ls_aws "$1" kms put-key-policy --key-id "$2" --policy-name default --policy "file://$3"
  else
    ls_kms "$1" PutKeyPolicy "$(python3 -c 'import json,sys; print(json.dumps({"KeyId": sys.argv[1], "PolicyName": "default", "Policy": open(sys.argv[2]).read()}))' "$2" "$3")" >/dev/null
  fi
}

# ls_pin_key USER ROLE_ARN MEASUREMENTS.json [POLICY_FLAGS...]: USER's key
# alias/USER gets the policy of `sealbid policy` (Decrypt only for ROLE_ARN
# from an enclave with those PCRs; USER keeps administering it; flags such as
# --require-job added), put as USER with put-key-policy.
ls_pin_key() {
  "$SB_BIN/sealbid" policy --role-arn "$2" --owner "arn:aws:iam::$LS_ACCOUNT:user/$1" \
    --pcrs "$3" "${@:4}" >"$LS_DIR/policy-$1.json" || return 1
  ls_put_policy "$1" "alias/$1" "$LS_DIR/policy-$1.json" >/dev/null
}

# ls_encrypt PRINCIPAL KEY OUT.csv PROPERTY=AMOUNT...: the AWS sample's way, one
# aws kms encrypt per bid (sealbid encrypt-bids where the AWS CLI is missing).
# Plaintexts go through 0600 files (fileb://), never argv.
ls_encrypt() {
  local who=$1 key=$2 out=$3 kv tmp; shift 3
  if ! ls_have_aws; then
    tmp=$(umask 077; mktemp "$LS_DIR/plain.XXXXXX")
    for kv in "$@"; do echo "${kv%%=*},${kv#*=}"; done >"$tmp"
    ls_as "$who" "$SB_BIN/sealbid" encrypt-bids --key-id "$key" --unbound "$tmp" >"$out"
    local rc=$?; rm -f "$tmp"; return $rc
  fi
  tmp=$(umask 077; mktemp "$LS_DIR/plain.XXXXXX")
  echo "[].contract,[].bid" >"$out"
  for kv in "$@"; do
    printf '%s,' "${kv%%=*}" >>"$out"
    printf '%s' "${kv#*=}" >"$tmp"
    ls_aws "$who" kms encrypt --key-id "$key" --plaintext "fileb://$tmp" \
      --query CiphertextBlob --output text >>"$out" || { rm -f "$tmp"; return 1; }
  done
  rm -f "$tmp"
}

# ls_encrypt_bound PRINCIPAL KEY OUT.csv MANIFEST.json PARTY PROPERTY=AMOUNT...:
# bids bound to one job (docs/FORMATS.md, "Job binding"), with AWS's own CLI:
# each `aws kms encrypt` carries the encryption context sealbid:manifest /
# sealbid:party / sealbid:property, and a last sealbid:trailer row holds the
# row count and SHA-384 of the rows. Plaintexts go through 0600 files
# (fileb://), never argv. sealbid encrypt-bids where the AWS CLI is missing.
ls_encrypt_bound() {
  local who=$1 key=$2 out=$3 manifest=$4 party=$5 kv hash rows=0 tmp; shift 5
  if ! ls_have_aws; then
    tmp=$(umask 077; mktemp "$LS_DIR/plain.XXXXXX")
    for kv in "$@"; do echo "${kv%%=*},${kv#*=}"; done >"$tmp"
    ls_as "$who" "$SB_BIN/sealbid" encrypt-bids --key-id "$key" --manifest "$manifest" \
      --party "$party" "$tmp" >"$out"
    local rc=$?; rm -f "$tmp"; return $rc
  fi
  hash=$("$SB_BIN/sealbid" manifest hash "$manifest") || return 1
  tmp=$(umask 077; mktemp "$LS_DIR/plain.XXXXXX")
  _ls_bound_one() { # PROPERTY: encrypts $tmp, prints the base64 ciphertext
    ls_aws "$who" kms encrypt --key-id "$key" --plaintext "fileb://$tmp" --encryption-context \
      "{\"sealbid:manifest\":\"$hash\",\"sealbid:party\":\"$party\",\"sealbid:property\":\"$1\"}" \
      --query CiphertextBlob --output text
  }
  : >"$out.rows"
  for kv in "$@"; do
    printf '%s' "${kv#*=}" >"$tmp"
    printf '%s,%s\n' "${kv%%=*}" "$(_ls_bound_one "${kv%%=*}")" >>"$out.rows" || return 1
    rows=$((rows + 1))
  done
  printf 'sealbid-trailer-v1 rows=%s sha384=%s' "$rows" \
    "$(sha384sum "$out.rows" | cut -d' ' -f1)" >"$tmp"
  { echo "[].contract,[].bid"; cat "$out.rows"
    printf 'sealbid:trailer,%s\n' "$(_ls_bound_one sealbid:trailer)"; } >"$out" || return 1
  rm -f "$tmp" "$out.rows"
}

ls_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ls_start_s3: an S3-compatible server on 127.0.0.1 (moto_server, or s3rver
# from tools/ when moto is absent); sets LS_S3_URL.
ls_start_s3() {
  local port moto root
  port=$(ls_free_port)
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  moto=$(command -v moto_server || true)
  [ -n "$moto" ] || [ ! -x /root/.pyenv/shims/moto_server ] || moto=/root/.pyenv/shims/moto_server
  if [ -n "$moto" ]; then
    "$moto" -H 127.0.0.1 -p "$port" >>"$LS_DIR/s3.log" 2>&1 &
  elif [ -x "$root/tools/node_modules/.bin/s3rver" ]; then
    "$root/tools/node_modules/.bin/s3rver" --address 127.0.0.1 --port "$port" \
      --directory "$LS_DIR/s3rver" --silent >>"$LS_DIR/s3.log" 2>&1 &
  else
    ls_die "no S3-compatible server (moto_server or s3rver); run scripts/install-deps.sh"
  fi
  LS_PIDS+=($!)
  LS_S3_URL=http://127.0.0.1:$port
  local i; for i in $(seq 200); do curl -s -o /dev/null "$LS_S3_URL/" && return 0; sleep 0.1; done
  ls_die "S3 server did not start (see $LS_DIR/s3.log)"
}

# ls_s3 ARGS...: the AWS CLI's s3api against the local S3 server.
ls_s3() {
  AWS_ACCESS_KEY_ID=S3LOCALACCESSKEY1 AWS_SECRET_ACCESS_KEY=local-s3-secret AWS_SESSION_TOKEN= \
    AWS_CONFIG_FILE=$LS_DIR/aws-config AWS_SHARED_CREDENTIALS_FILE=$LS_DIR/aws-credentials AWS_PAGER= \
    "$AWS_CLI" --endpoint-url "$LS_S3_URL" --region "$LS_REGION" s3api "$@"
}
