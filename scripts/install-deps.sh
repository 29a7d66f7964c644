#!/usr/bin/env bash
# Install what sealbid needs to build and test on Debian 12.
# Idempotent: packages already present are not touched, and apt-get runs
# only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libssl-dev openssl
  libcurl4-openssl-dev
  libjansson-dev
  libcbor-dev
  libmicrohttpd-dev
  libsqlite3-dev sqlite3
  libcmocka-dev
  awscli
  clang llvm libclang-rt-14-dev
  valgrind
  python3 jq procps ncurses-bin
  curl
  python3-boto3
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# S3 stand-in for the tests when moto_server is absent: s3rver (npm) in a
# project-local, git-ignored tools/node_modules (tests/unit/test_aws_s3.c
# uses whichever of the two exists).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x /root/.pyenv/shims/moto_server ] &&
   [ ! -x "$ROOT/tools/node_modules/.bin/s3rver" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: installing nodejs npm (for s3rver)" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "install-deps: installing s3rver into tools/node_modules" >&2
  mkdir -p "$ROOT/tools"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/tools" s3rver >/dev/null
fi

# The AWS Encryption SDK for JavaScript and the AWS SDK's KMS client, for
# tests/integration/test_esdk_interop.sh (sealed datasets written and read
# by AWS's own code), in the same git-ignored tools/node_modules.
if [ ! -f "$ROOT/tools/node_modules/@aws-crypto/client-node/package.json" ] ||
   [ ! -f "$ROOT/tools/node_modules/@aws-sdk/client-kms/package.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: installing nodejs npm (for the AWS Encryption SDK)" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "install-deps: installing @aws-crypto/client-node@5 into tools/node_modules" >&2
  mkdir -p "$ROOT/tools"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/tools" \
    @aws-crypto/client-node@5 @aws-sdk/client-kms@3 >/dev/null
fi
