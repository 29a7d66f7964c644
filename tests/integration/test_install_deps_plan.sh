#!/usr/bin/env bash
# Integration test for scripts/install-deps.sh --print-plan: the
# distribution is read from an os-release file (SB_OS_RELEASE), Debian 12
# keeps its apt package list, Amazon Linux 2023 gets the dnf names plus the
# libcbor source build, --parent adds the Nitro Enclaves tools (AL2023
# only), and anything else is one clear error. Nothing is installed: the
# AL2023 install path itself runs against stub rpm, dnf, pkg-config, git,
# cmake, systemctl, usermod and npm, once bare and once with all present.
set -euo pipefail

SB_SRC=${SB_SRC:?set SB_SRC to the source tree}
SCRIPT="$SB_SRC/scripts/install-deps.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# plan NAME STATUS OSRELEASE [ARGS...]: runs the script, checks exit status.
plan() {
	local name=$1 want=$2 osr=$3
	shift 3
	local got=0
	SB_OS_RELEASE="$osr" bash "$SCRIPT" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$name: exit $got, want $want"
		sed 's/^/  stdout: /' "$TMP/$name.out" >&2
		sed 's/^/  stderr: /' "$TMP/$name.err" >&2
	fi
}
has() { grep -qxF -- "$2" "$TMP/$1.out" || fail "$1: no line '$2'"; }
hasnt() { ! grep -qF -- "$2" "$TMP/$1.out" || fail "$1: unexpected '$2'"; }

cat >"$TMP/debian" <<'OSR'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
OSR
cat >"$TMP/amzn" <<'OSR'
NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023.6.20241212"
OSR
cat >"$TMP/amzn2" <<'OSR'
NAME="Amazon Linux"
VERSION="2"
ID="amzn"
ID_LIKE="centos rhel fedora"
VERSION_ID="2"
OSR
cat >"$TMP/arch" <<'OSR'
NAME="Arch Linux"
ID=arch
OSR

# Debian 12: the apt list CI has always installed, unchanged.
plan debian 0 "$TMP/debian" --print-plan
has debian "platform: debian 12"
has debian "manager: apt-get"
for p in build-essential cmake pkg-config git libssl-dev openssl libcurl4-openssl-dev \
	libjansson-dev libcbor-dev libmicrohttpd-dev libsqlite3-dev sqlite3 libcmocka-dev \
	awscli clang llvm libclang-rt-14-dev valgrind python3 jq procps ncurses-bin curl python3-boto3; do
	has debian "package: $p"
done
[ "$(grep -c '^package: ' "$TMP/debian.out")" -eq 37 ] || fail "debian: want exactly 37 packages"
hasnt debian "build: libcbor"
hasnt debian "aws-nitro-enclaves-cli"
has debian "npm: s3rver (tools/node_modules, when absent)"

# Amazon Linux 2023: dnf names; libcbor from its pinned tag.
plan amzn 0 "$TMP/amzn" --print-plan
has amzn "platform: amzn 2023"
has amzn "manager: dnf"
for p in gcc make cmake pkgconf-pkg-config git openssl-devel libcurl-devel jansson-devel \
	libmicrohttpd-devel sqlite-devel awscli-2 clang python3 jq procps-ng; do
	has amzn "package: $p"
done
for p in libcmocka-devel compiler-rt valgrind python3-boto3 python3-cryptography; do
	has amzn "package: $p (if available)"
done
has amzn "build: cmocka cmocka-1.1.7 from https://git.cryptomilk.org/projects/cmocka.git into /usr/local (only if libcmocka-devel is unavailable)"
hasnt amzn "package: libcbor"
grep -q -- '-dev$' "$TMP/amzn.out" && fail "amzn: a Debian -dev name in the dnf plan"
has amzn "build: libcbor v0.8.0 from https://github.com/PJK/libcbor.git into /usr/local (not packaged for AL2023)"
hasnt amzn "aws-nitro-enclaves-cli"

# --parent on AL2023: nitro-cli, its blobs, docker, the allocator service, groups.
plan amznparent 0 "$TMP/amzn" --print-plan --parent
has amznparent "package: aws-nitro-enclaves-cli"
has amznparent "package: aws-nitro-enclaves-cli-devel"
has amznparent "package: docker"
has amznparent "service: enable --now nitro-enclaves-allocator.service docker.service"
grep -q '^group: .* ne docker$' "$TMP/amznparent.out" || fail "amznparent: no group line"

# --parent on Debian: nitro-cli is not packaged there: clear error.
plan debparent 1 "$TMP/debian" --print-plan --parent
grep -q 'packaged for Amazon Linux only' "$TMP/debparent.err" || fail "debparent: unclear error"

# Unknown distributions and Amazon Linux 2: one clear line, nothing printed.
for d in arch amzn2; do
	plan "$d" 1 "$TMP/$d" --print-plan
	[ "$(wc -l <"$TMP/$d.err")" -eq 1 ] || fail "$d: stderr is not one line"
	grep -q 'unsupported distribution' "$TMP/$d.err" || fail "$d: no 'unsupported distribution'"
	grep -q 'Amazon Linux 2023' "$TMP/$d.err" || fail "$d: error does not name what is supported"
	[ ! -s "$TMP/$d.out" ] || fail "$d: printed a plan"
done
grep -q 'ID=arch' "$TMP/arch.err" || fail "arch: error does not name the ID"

# A missing os-release file and an unknown option.
plan missing 1 "$TMP/nonexistent" --print-plan
grep -q 'cannot read' "$TMP/missing.err" || fail "missing: unclear error"
plan badopt 1 "$TMP/debian" --frobnicate
grep -q "unknown option '--frobnicate'" "$TMP/badopt.err" || fail "badopt: unclear error"

# The file is data: a command substitution in it must not run.
cat >"$TMP/evil" <<OSR
ID=amzn
VERSION_ID="2023\$(touch $TMP/pwned)"
OSR
plan evil 1 "$TMP/evil" --print-plan
[ ! -e "$TMP/pwned" ] || fail "evil: os-release was executed"

# --- The AL2023 install path, run against stub rpm/dnf/pkg-config/git/cmake/
# systemctl/usermod/npm (this machine is Debian): what it would run, and
# that a second run with everything present runs nothing.
STUB="$TMP/stub"
mkdir -p "$STUB"
for c in dnf git cmake systemctl usermod npm; do
	printf '#!/bin/sh\necho "%s $*" >>"$FAKE_LOG"\n' "$c" >"$STUB/$c"
done
cat >"$STUB/rpm" <<'SH'
#!/bin/sh
for last in "$@"; do :; done
[ "$FAKE_RPM" = ALL ] && exit 0
case " $FAKE_RPM " in *" $last "*) exit 0 ;; esac
exit 1
SH
cat >"$STUB/pkg-config" <<'SH'
#!/bin/sh
for last in "$@"; do :; done
case " $FAKE_PC " in *" $last "*) exit 0 ;; esac
exit 1
SH
cat >"$STUB/id" <<'SH'
#!/bin/sh
case "$1" in -u) echo 0 ;; -nG) echo "$FAKE_GROUPS" ;; *) exit 1 ;; esac
SH
chmod +x "$STUB"/*
al2023_run() { # NAME FAKE_RPM FAKE_PC FAKE_GROUPS ARGS...
	local name=$1 rpm=$2 pc=$3 groups=$4 got=0
	shift 4
	: >"$TMP/$name.log"
	PATH="$STUB:$PATH" FAKE_LOG="$TMP/$name.log" FAKE_RPM="$rpm" FAKE_PC="$pc" FAKE_GROUPS="$groups" \
		SUDO_USER=ec2-user SB_OS_RELEASE="$TMP/amzn" bash "$SCRIPT" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || got=$?
	[ "$got" -eq 0 ] || { fail "$name: exit $got"; sed 's/^/  /' "$TMP/$name.err" >&2; }
}
logged() { grep -qxF -- "$2" "$TMP/$1.log" || { fail "$1: did not run '$2'"; sed 's/^/  ran: /' "$TMP/$1.log" >&2; }; }
notlogged() { ! grep -q -- "$2" "$TMP/$1.log" || fail "$1: ran '$2'"; }

# A bare instance: every package, the test tools non-strictly, both source builds.
al2023_run bare "" "" "ec2-user"
logged bare "dnf install -y -q gcc make cmake pkgconf-pkg-config git tar openssl-devel openssl libcurl-devel jansson-devel zlib-devel libmicrohttpd-devel sqlite-devel sqlite awscli-2 clang llvm python3 jq procps-ng ncurses"
logged bare "dnf install -y -q --setopt=strict=0 libcmocka-devel compiler-rt valgrind python3-boto3 python3-cryptography"
grep -q '^git clone -q --depth 1 --branch v0.8.0 https://github.com/PJK/libcbor.git ' "$TMP/bare.log" ||
	fail "bare: libcbor not cloned at its tag"
grep -q '^git clone -q --depth 1 --branch cmocka-1.1.7 https://git.cryptomilk.org/projects/cmocka.git ' "$TMP/bare.log" ||
	fail "bare: cmocka not cloned at its tag"
[ "$(grep -c '^cmake --install ' "$TMP/bare.log")" -eq 2 ] || fail "bare: want two source installs"
notlogged bare systemctl

# Everything present: nothing runs (idempotent).
al2023_run present ALL "libcbor cmocka" "ec2-user ne docker"
notlogged present dnf
notlogged present git
notlogged present cmake

# libcmocka-devel came from dnf: only libcbor is built.
al2023_run nocbor ALL "cmocka" "ec2-user"
grep -q 'branch v0.8.0' "$TMP/nocbor.log" || fail "nocbor: libcbor not built"
notlogged nocbor cmocka-1.1.7

# --parent on a built machine: the Nitro tools, services, groups.
al2023_run parent "gcc make cmake pkgconf-pkg-config git tar openssl-devel openssl libcurl-devel jansson-devel zlib-devel libmicrohttpd-devel sqlite-devel sqlite awscli-2 clang llvm python3 jq procps-ng ncurses libcmocka-devel compiler-rt valgrind python3-boto3 python3-cryptography" \
	"libcbor cmocka" "ec2-user wheel" --parent
logged parent "dnf install -y -q aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel docker"
logged parent "systemctl enable --now nitro-enclaves-allocator.service docker.service"
logged parent "usermod -aG ne ec2-user"
logged parent "usermod -aG docker ec2-user"
[ "$(grep -c '^dnf ' "$TMP/parent.log")" -eq 1 ] || fail "parent: reinstalled present packages"
al2023_run parent2 ALL "libcbor cmocka" "ec2-user ne docker" --parent
notlogged parent2 usermod
notlogged parent2 dnf

if [ "$fails" -ne 0 ]; then
	echo "test_install_deps_plan: $fails failure(s)" >&2
	exit 1
fi
echo "test_install_deps_plan: ok"
