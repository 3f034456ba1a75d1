#!/bin/bash
# scripts/install.sh - install gpcheck from this source tree on Debian or
# Ubuntu: the build dependencies by package name with apt-get, then a cmake
# build and `cmake --install` into a prefix (default /usr/local). Used by
# the GitHub Action (action.yml), image/Dockerfile's build stage and people
# setting up a CI runner by hand:
#
#   scripts/install.sh                        deps, build, install to /usr/local
#   scripts/install.sh --prefix "$HOME/.local" --no-deps
#   scripts/install.sh --deps-only            only the Debian/Ubuntu packages
#
# Idempotent: packages already installed are not installed again, and a
# rerun with the same --build-dir rebuilds only what changed and installs
# the same files over themselves.
#
# gpcheck compiles its plugin folder (PREFIX/lib/.../gpcheck/plugins) and
# its configuration folder (PREFIX/etc/gpcheck, /etc/gpcheck for /usr) in
# at configure time; installed elsewhere it finds both relative to itself
# (core/paths.h). This script still configures with the prefix it installs
# to, so that the man pages and the /usr layout (/etc) say what it does.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
# Build dependencies by Debian/Ubuntu package name: compiler and build
# tools, the libraries the core and each plugin link (inih and jansson: the
# core; libpq: postgres; hiredis: redis; c-ares: dns; libcurl: http, vpc and
# clickhouse, and in the core -o pushgateway, wait and run --gate; SQLite:
# the run history; libmicrohttpd: serve; OpenSSL: tls and grpc; nghttp2 and
# protobuf-c, with protoc-c at build time: grpc; libmariadb: mysql;
# librabbitmq: amqp), scdoc for the man pages. The image (image/build) lists the
# matching runtime packages.
DEPS=(
    build-essential cmake pkg-config scdoc
    libinih-dev libjansson-dev libpq-dev libhiredis-dev libc-ares-dev
    libcurl4-openssl-dev libssl-dev libnghttp2-dev libprotobuf-c-dev
    protobuf-c-compiler libsqlite3-dev libmicrohttpd-dev libmariadb-dev
    librabbitmq-dev
)
CMAKE_MIN=3.25

usage() {
    cat <<'EOF'
usage: scripts/install.sh [OPTIONS]

Install gpcheck from this source tree: Debian/Ubuntu build dependencies with
apt-get, a cmake build, and cmake --install into PREFIX.

options:
  --prefix DIR       install under DIR (default /usr/local): DIR/bin/gpcheck,
                     DIR/lib/.../gpcheck/plugins, DIR/etc/gpcheck (/etc/gpcheck
                     for /usr)
  --deps-only        only install the build dependencies
  --no-deps          do not run apt-get; fail with the list of what is missing
  --build-dir DIR    build here and keep it for faster reruns (default: a
                     temporary folder, removed afterwards)
  --build-type TYPE  CMake build type (default Release)
  --destdir DIR      stage the install under DIR (for packaging); gpcheck
                     still looks in PREFIX at run time
  -j, --jobs N       parallel compile jobs (default: nproc)
  -h, --help         this text
EOF
}

die() {
    echo "install.sh: error: $*" >&2
    exit 2
}
log() { echo "install.sh: $*" >&2; }

PREFIX=/usr/local
DEPS_MODE=auto # auto | only | none
BUILD_DIR=
BUILD_TYPE=Release
DESTDIR_ARG=
JOBS=$(nproc 2>/dev/null || echo 2)
# The value of option $1, or exit 2 naming the option.
arg() {
    [[ -n ${2-} ]] || die "$1 needs a value"
    printf '%s' "$2"
}
while (($#)); do
    case $1 in
        --prefix) PREFIX=$(arg "$1" "${2-}"); shift ;;
        --prefix=*) PREFIX=${1#*=} ;;
        --deps-only) DEPS_MODE=only ;;
        --no-deps) DEPS_MODE=none ;;
        --build-dir) BUILD_DIR=$(arg "$1" "${2-}"); shift ;;
        --build-dir=*) BUILD_DIR=${1#*=} ;;
        --build-type) BUILD_TYPE=$(arg "$1" "${2-}"); shift ;;
        --destdir) DESTDIR_ARG=$(arg "$1" "${2-}"); shift ;;
        -j | --jobs) JOBS=$(arg "$1" "${2-}"); shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

[[ $PREFIX == /* ]] || die "--prefix '$PREFIX' must be an absolute path"
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "--jobs '$JOBS' is not a positive number"
if [[ -n $DESTDIR_ARG && $DESTDIR_ARG != /* ]]; then
    die "--destdir '$DESTDIR_ARG' must be an absolute path"
fi
PREFIX=${PREFIX%/}
PREFIX=${PREFIX:-/}

# -- dependencies -------------------------------------------------------------
missing_deps() {
    local p
    for p in "${DEPS[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
            echo "$p"
    done
}

install_deps() {
    if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
        die "no apt-get/dpkg here: install the equivalents of ${DEPS[*]} by hand and rerun with --no-deps"
    fi
    local missing
    mapfile -t missing < <(missing_deps)
    if ((${#missing[@]} == 0)); then
        log "build dependencies already installed"
        return
    fi
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null ||
            die "not root and no sudo: as root, run apt-get install --no-install-recommends ${missing[*]}"
        sudo=(sudo)
    fi
    log "installing ${missing[*]}"
    # -o DPkg::Lock::Timeout: wait for another apt (unattended upgrades on a
    # fresh runner) rather than fail.
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq ||
        die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
        install -y -qq --no-install-recommends "${missing[@]}" ||
        die "apt-get install ${missing[*]} failed"
}

check_tools() {
    local t
    for t in cmake cc pkg-config scdoc; do
        command -v "$t" >/dev/null ||
            die "'$t' not found: install the build dependencies (without --no-deps: ${DEPS[*]})"
    done
    local have
    have=$(cmake --version | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')
    if [[ $(printf '%s\n' "$CMAKE_MIN" "$have" | sort -V | head -n1) != "$CMAKE_MIN" ]]; then
        die "cmake $have is older than $CMAKE_MIN, which gpcheck needs (Debian 12 and Ubuntu 24.04 have it)"
    fi
}

case $DEPS_MODE in
    only) install_deps; exit 0 ;;
    auto) install_deps ;;
    none)
        if command -v dpkg-query >/dev/null; then
            mapfile -t missing < <(missing_deps)
            ((${#missing[@]} == 0)) ||
                die "--no-deps, but these build dependencies are missing: ${missing[*]} (apt-get install --no-install-recommends ${missing[*]})"
        fi
        ;;
esac
check_tools

# -- build and install ------------------------------------------------------
if [[ -z $BUILD_DIR ]]; then
    BUILD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gpcheck-build.XXXXXX")
    trap 'rm -rf "$BUILD_DIR"' EXIT
fi
mkdir -p "$BUILD_DIR"
# A kept build folder configured for another prefix is reconfigured for
# this one: its old binary would look for plugins in the old prefix.
cache=$BUILD_DIR/CMakeCache.txt
if [[ -f $cache ]] && ! grep -qxF "CMAKE_INSTALL_PREFIX:PATH=$PREFIX" "$cache"; then
    log "$BUILD_DIR was configured for another prefix: reconfiguring for $PREFIX"
fi

# The configuration goes to PREFIX/etc/gpcheck, and to /etc/gpcheck for
# /usr (the FHS place, where a /usr gpcheck looks). Always given, so a kept
# build folder never keeps another prefix's choice.
sysconfdir=etc
[[ $PREFIX != /usr ]] || sysconfdir=/etc
log "configuring for $PREFIX in $BUILD_DIR"
cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_INSTALL_SYSCONFDIR="$sysconfdir" \
    -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DGPCHECK_TESTS=OFF >"$BUILD_DIR/configure.log" 2>&1 || {
    tail -n 30 "$BUILD_DIR/configure.log" >&2
    die "cmake configure failed (log: $BUILD_DIR/configure.log)"
}
log "building with $JOBS jobs"
cmake --build "$BUILD_DIR" -j "$JOBS" >"$BUILD_DIR/build.log" 2>&1 || {
    tail -n 40 "$BUILD_DIR/build.log" >&2
    die "build failed (log: $BUILD_DIR/build.log)"
}
# Installed with the prefix the tree was configured with: no --prefix here.
if [[ -n $DESTDIR_ARG ]]; then
    DESTDIR=$DESTDIR_ARG cmake --install "$BUILD_DIR" >"$BUILD_DIR/install.log" 2>&1
else
    cmake --install "$BUILD_DIR" >"$BUILD_DIR/install.log" 2>&1
fi || {
    tail -n 20 "$BUILD_DIR/install.log" >&2
    die "cmake --install failed (log: $BUILD_DIR/install.log)"
}
bin=${DESTDIR_ARG}$PREFIX/bin/gpcheck
[[ -x $bin ]] || die "no $bin after the install"
if [[ -z $DESTDIR_ARG ]]; then
    log "installed $("$bin" version) as $bin"
else
    log "staged $bin (runs from $PREFIX/bin/gpcheck)"
fi
