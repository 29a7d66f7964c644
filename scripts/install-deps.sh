#!/usr/bin/env bash
# Install what sealbid needs to build and test, on Debian 12 (apt-get) or
# Amazon Linux 2023 (dnf).
#
#   scripts/install-deps.sh               install what is missing
#   scripts/install-deps.sh --print-plan  print the plan, install nothing
#   scripts/install-deps.sh --parent      also the Nitro Enclaves parent tools
#                                         (nitro-cli, its -devel blobs, docker)
#
# Idempotent: packages already present are not touched, and the package
# manager runs only when something is missing. The distribution comes from
# /etc/os-release (SB_OS_RELEASE=path overrides it, for tests).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OS_RELEASE="${SB_OS_RELEASE:-/etc/os-release}"

# libcbor is not packaged for Amazon Linux 2023 (not in its core
# repository); it is built from this upstream tag, the version
# Debian 12 ships (libcbor-dev 0.8.0), so both platforms build against the
# same API. Static only: sealbid links it into the enclave as well.
LIBCBOR_REPO="https://github.com/PJK/libcbor.git"
LIBCBOR_TAG="v0.8.0"
LIBCBOR_PREFIX="/usr/local"
# cmocka is in Fedora as libcmocka-devel; should an AL2023 release lack it,
# the same source fallback builds the version Debian 12 ships.
CMOCKA_REPO="https://git.cryptomilk.org/projects/cmocka.git"
CMOCKA_TAG="cmocka-1.1.7"

DEBIAN_PACKAGES=(
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
  python3-boto3 python3-cryptography
  zlib1g-dev
  # static archives for `make enclave-static` (libcurl.a's dependencies)
  libnghttp2-dev librtmp-dev libssh2-1-dev libpsl-dev libldap-dev libzstd-dev
  libunistring-dev libkrb5-dev libsasl2-dev libidn2-dev libbrotli-dev
)

# Amazon Linux 2023 names for the same things. curl itself is not listed:
# AL2023 ships curl-minimal (it provides /usr/bin/curl and conflicts with the
# full curl package). compiler-rt carries clang's sanitizer and libFuzzer
# runtimes (Debian's libclang-rt-14-dev).
AL2023_PACKAGES=(
  gcc make cmake pkgconf-pkg-config git tar
  openssl-devel openssl
  libcurl-devel
  jansson-devel
  zlib-devel
  libmicrohttpd-devel
  sqlite-devel sqlite
  awscli-2
  clang llvm
  python3 jq procps-ng ncurses
)
# Test-only tools: installed when the repositories have them
# (--setopt=strict=0); cmocka then comes from source if still missing.
AL2023_TEST_PACKAGES=(libcmocka-devel compiler-rt valgrind python3-boto3 python3-cryptography)

# Parent-instance tools (AL2023 only: AWS packages nitro-cli for Amazon
# Linux; -devel carries the kernel and init blobs build-enclave needs).
AL2023_PARENT_PACKAGES=(aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel docker)

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() { echo "install-deps: $*" >&2; exit 1; }

PRINT_PLAN=0
PARENT=0
for arg in "$@"; do
  case "$arg" in
    --print-plan) PRINT_PLAN=1 ;;
    --parent) PARENT=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$arg' (see --help)" ;;
  esac
done

# Reads one field of os-release without sourcing the file (it is data, not
# a script): KEY=value, KEY="value" or KEY='value'.
os_field() {
  local key="$1" line
  line="$(grep -E "^${key}=" "$OS_RELEASE" | tail -n 1 || true)"
  line="${line#*=}"
  line="${line%\"}"; line="${line#\"}"
  line="${line%\'}"; line="${line#\'}"
  printf '%s' "$line"
}

[ -r "$OS_RELEASE" ] || die "cannot read $OS_RELEASE (set SB_OS_RELEASE to an os-release file)"
OS_ID="$(os_field ID)"
OS_VERSION="$(os_field VERSION_ID)"
OS_LIKE="$(os_field ID_LIKE)"

PLATFORM=""
if [ "$OS_ID" = "debian" ] && [ "$OS_VERSION" = "12" ]; then
  PLATFORM=debian
elif [ "$OS_ID" = "amzn" ] && [ "$OS_VERSION" = "2023" ]; then
  PLATFORM=al2023
elif [ "$OS_ID" = "debian" ] || [[ " $OS_LIKE " == *" debian "* ]]; then
  # Other apt-based systems keep the Debian path they always had; only
  # Debian 12 is tested.
  echo "install-deps: warning: $OS_ID $OS_VERSION is not Debian 12; trying the Debian package names" >&2
  PLATFORM=debian
else
  die "unsupported distribution ID=${OS_ID:-?} VERSION_ID=${OS_VERSION:-?} in $OS_RELEASE; supported: Debian 12 (apt-get) and Amazon Linux 2023 (dnf); elsewhere install the equivalents of the Debian 12 list in scripts/install-deps.sh by hand"
fi

if [ "$PARENT" -eq 1 ] && [ "$PLATFORM" != "al2023" ]; then
  die "--parent: aws-nitro-enclaves-cli is packaged for Amazon Linux only; use an Amazon Linux 2023 parent instance (docs/DEPLOY.md, '0. Instance set-up')"
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

NPM_PACKAGES=(s3rver "@aws-crypto/client-node@5" "@aws-sdk/client-kms@3" dockerfilelint@1.8.0)

if [ "$PRINT_PLAN" -eq 1 ]; then
  case "$PLATFORM" in
    debian)
      echo "platform: debian $OS_VERSION"
      echo "manager: apt-get"
      for p in "${DEBIAN_PACKAGES[@]}"; do echo "package: $p"; done
      ;;
    al2023)
      echo "platform: amzn 2023"
      echo "manager: dnf"
      for p in "${AL2023_PACKAGES[@]}"; do echo "package: $p"; done
      for p in "${AL2023_TEST_PACKAGES[@]}"; do echo "package: $p (if available)"; done
      echo "build: cmocka $CMOCKA_TAG from $CMOCKA_REPO into $LIBCBOR_PREFIX (only if libcmocka-devel is unavailable)"
      echo "build: libcbor $LIBCBOR_TAG from $LIBCBOR_REPO into $LIBCBOR_PREFIX (not packaged for AL2023)"
      if [ "$PARENT" -eq 1 ]; then
        for p in "${AL2023_PARENT_PACKAGES[@]}"; do echo "package: $p"; done
        echo "service: enable --now nitro-enclaves-allocator.service docker.service"
        echo "group: add \${SUDO_USER:-\$USER} to ne docker"
      fi
      ;;
    *) die "internal: no platform" ;;
  esac
  for p in "${NPM_PACKAGES[@]}"; do echo "npm: $p (tools/node_modules, when absent)"; done
  exit 0
fi

# --- Debian 12 -------------------------------------------------------------
debian_install() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# --- Amazon Linux 2023 -----------------------------------------------------
al2023_install() { # [--if-available] PACKAGE...
  local missing=() p strict=()
  if [ "${1:-}" = --if-available ]; then strict=(--setopt=strict=0); shift; fi
  for p in "$@"; do
    # rpm -q by name, then by what the name provides (npm is provided by
    # nodejs-npm, for instance).
    if ! rpm -q "$p" >/dev/null 2>&1 && ! rpm -q --whatprovides "$p" >/dev/null 2>&1; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    $SUDO dnf install -y -q "${strict[@]}" "${missing[@]}" >/dev/null
  fi
}

# source_build PKGCONFIG_NAME REPO TAG CMAKE_OPTION...: unless pkg-config
# already finds it (also under /usr/local), clone the tag, build and install
# it into $LIBCBOR_PREFIX.
source_build() {
  local name=$1 repo=$2 tag=$3 src
  shift 3
  if PKG_CONFIG_PATH="$LIBCBOR_PREFIX/lib64/pkgconfig:$LIBCBOR_PREFIX/lib/pkgconfig:${PKG_CONFIG_PATH:-}" \
     pkg-config --exists "$name" 2>/dev/null; then
    return 0
  fi
  echo "install-deps: building $name $tag from source (not packaged for AL2023)" >&2
  src="$(mktemp -d)"
  git clone -q --depth 1 --branch "$tag" "$repo" "$src/src"
  cmake -S "$src/src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$LIBCBOR_PREFIX" "$@" >/dev/null
  cmake --build "$src/build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
  $SUDO cmake --install "$src/build" >/dev/null
  rm -rf "$src"
  echo "install-deps: $name installed under $LIBCBOR_PREFIX; export PKG_CONFIG_PATH=$LIBCBOR_PREFIX/lib64/pkgconfig:$LIBCBOR_PREFIX/lib/pkgconfig before make" >&2
}

al2023_libcbor() {
  # libcbor 0.8.0 declares cmake_minimum_required(2.8); CMake >= 4 needs
  # the policy floor raised to configure it.
  source_build libcbor "$LIBCBOR_REPO" "$LIBCBOR_TAG" -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DWITH_TESTS=OFF -DWITH_EXAMPLES=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5
}

al2023_cmocka() {
  source_build cmocka "$CMOCKA_REPO" "$CMOCKA_TAG" -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF
}

al2023_parent() {
  al2023_install "${AL2023_PARENT_PACKAGES[@]}"
  $SUDO systemctl enable --now nitro-enclaves-allocator.service docker.service
  local user="${SUDO_USER:-${USER:-}}"
  if [ -n "$user" ] && [ "$user" != "root" ]; then
    local g
    for g in ne docker; do
      if ! id -nG "$user" | tr ' ' '\n' | grep -qx "$g"; then
        $SUDO usermod -aG "$g" "$user"
        echo "install-deps: added $user to group $g (log in again for it to apply)" >&2
      fi
    done
  fi
}

ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  echo "install-deps: installing nodejs npm ($1)" >&2
  case "$PLATFORM" in
    debian) debian_install nodejs npm ;;
    al2023) al2023_install nodejs npm ;;
    *) die "internal: no platform" ;;
  esac
}

case "$PLATFORM" in
  debian) debian_install "${DEBIAN_PACKAGES[@]}" ;;
  al2023)
    al2023_install "${AL2023_PACKAGES[@]}"
    al2023_install --if-available "${AL2023_TEST_PACKAGES[@]}"
    al2023_libcbor
    al2023_cmocka
    if [ "$PARENT" -eq 1 ]; then al2023_parent; fi
    ;;
  *) die "internal: no platform" ;;
esac

# S3 stand-in for the tests when moto_server is absent: s3rver (npm) in a
# project-local, git-ignored tools/node_modules (tests/unit/test_aws_s3.c
# uses whichever of the two exists).
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x /root/.pyenv/shims/moto_server ] &&
   [ ! -x "$ROOT/tools/node_modules/.bin/s3rver" ]; then
  ensure_npm "for s3rver"
  echo "install-deps: installing s3rver into tools/node_modules" >&2
  mkdir -p "$ROOT/tools"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/tools" s3rver >/dev/null
fi

# The AWS Encryption SDK for JavaScript and the AWS SDK's KMS client, for
# tests/integration/test_esdk_interop.sh (sealed datasets written and read
# by AWS's own code), in the same git-ignored tools/node_modules.
if [ ! -f "$ROOT/tools/node_modules/@aws-crypto/client-node/package.json" ] ||
   [ ! -f "$ROOT/tools/node_modules/@aws-sdk/client-kms/package.json" ]; then
  ensure_npm "for the AWS Encryption SDK"
  echo "install-deps: installing @aws-crypto/client-node@5 into tools/node_modules" >&2
  mkdir -p "$ROOT/tools"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/tools" \
    @aws-crypto/client-node@5 @aws-sdk/client-kms@3 >/dev/null
fi

# dockerfilelint for tests/integration/test_dockerfile_lint.sh (hadolint is
# not packaged for Debian 12 and PyPI is out of reach here).
if [ ! -x "$ROOT/tools/node_modules/.bin/dockerfilelint" ]; then
  ensure_npm "for dockerfilelint"
  echo "install-deps: installing dockerfilelint@1.8.0 into tools/node_modules" >&2
  mkdir -p "$ROOT/tools"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/tools" dockerfilelint@1.8.0 >/dev/null
fi

# kubernetes-models + yaml for tests/integration/test_k8s_manifests.sh (the
# schema check of deploy/k8s; kubeconform and kubectl are not in Debian 12),
# pinned by deploy/k8s/check/package-lock.json.
if [ ! -d "$ROOT/deploy/k8s/check/node_modules/kubernetes-models" ]; then
  ensure_npm "for the Kubernetes schema check"
  echo "install-deps: installing deploy/k8s/check's packages (npm ci)" >&2
  npm ci --silent --no-audit --no-fund --prefix "$ROOT/deploy/k8s/check" >/dev/null
fi
