#!/bin/bash
# tests/bootstrap.sh - set up a Debian 12 machine for gpcheck, build it, and
# run either the demo or the whole test suite. The README's two commands:
#
#   tests/bootstrap.sh demo   install, build, and gate a command on the golden
#                             path (dns, VPC connector, PostgreSQL, Redis,
#                             ClickHouse) of throwaway loopback servers it
#                             starts and stops
#   tests/bootstrap.sh test   install, build with gcc, clang and ASan/UBSan
#                             (warnings are errors), check formatting, run
#                             every test in each build, then every libFuzzer
#                             harness for a fixed budget
#
# Run as root (or with sudo) on a fresh machine; later runs skip what is
# already installed. Build trees go to build/, build-clang/, build-asan/,
# build-fuzz/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)

PACKAGES=(
    # build
    build-essential cmake pkg-config clang clang-format
    libclang-rt-14-dev  # libFuzzer (clang only recommends it)
    libinih-dev libjansson-dev check libsubunit-dev
    libpq-dev libhiredis-dev libc-ares-dev libcurl4-openssl-dev
    libsqlite3-dev sqlite3  # the run history (core/history.c); sqlite3: tests read it
    debian-archive-keyring  # checks Debian 13's hiredis 1.x source (tests/compat/hiredis1)
    libssl-dev  # tls, grpc; its headers for loader_warm()
    libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler  # grpc
    libmicrohttpd-dev   # gpcheck serve's HTTP server
    # real servers and tools the tests drive
    python3 binutils procps openssl tmux perl
    strace  # test_libs: OpenSSL set up once per run, not per attempt
    postgresql pgbouncer redis-server dnsmasq-base clickhouse-server
    curl wait-for-it  # the conformance suite's client and anchor
    amqp-tools  # amqp-publish / amqp-get: the conformance amqp target's client
    monitoring-plugins-basic monitoring-plugins-standard bind9-dnsutils
    python3-aiosmtpd  # an SMTP server offering STARTTLS (tls)
    python3-grpcio nghttp2-server  # a gRPC server, an HTTP/2 one (grpc)
    # the consumers that validate each report format, documentation, package
    libxml2-utils prometheus prometheus-pushgateway chromium scdoc groff-base man-db python3-yaml dpkg-dev
    # the container image (image/build; file for cpack) and a runtime to run it
    mmdebstrap umoci podman runc file
    # the mysql and amqp probes (issue 16): their libraries, the real servers
    libmariadb-dev librabbitmq-dev mariadb-server mariadb-client rabbitmq-server
)

log() { printf '\n== %s\n' "$*" >&2; }

install_deps() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        return
    fi
    log "installing ${missing[*]}"
    local sudo=()
    if [[ $(id -u) != 0 ]]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"
}

# build DIR CC [cmake args...]
build() {
    local dir=$1 cc=$2
    shift 2
    log "building $dir with $cc"
    CC=$cc cmake -S "$ROOT" -B "$ROOT/$dir" -DGPCHECK_WERROR=ON "$@" >/dev/null
    cmake --build "$ROOT/$dir" -j "$JOBS"
}

# run_tests DIR [ctest args...]
run_tests() {
    local dir=$1
    shift
    log "testing $dir"
    ctest --test-dir "$ROOT/$dir" --output-on-failure -j "$JOBS" "$@"
}

check_format() {
    log "checking formatting (.clang-format)"
    local files
    mapfile -t files < <(git -C "$ROOT" ls-files '*.c' '*.h' 2>/dev/null ||
        find core plugins sdk include tests -name '*.[ch]')
    clang-format --dry-run -Werror "${files[@]}"
}

# The libFuzzer harnesses (tests/fuzz): only they are built in this tree,
# and each runs GPCHECK_FUZZ_SECONDS (15) on a copy of its seed corpus.
fuzz() {
    log "building build-fuzz with clang (libFuzzer harnesses)"
    CC=clang cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DGPCHECK_WERROR=ON \
        -DGPCHECK_FUZZ=ON >/dev/null
    cmake --build "$ROOT/build-fuzz" -j "$JOBS" --target fuzzers
    run_tests build-fuzz -L fuzz
}

demo() {
    build build gcc
    exec python3 "$ROOT/tests/demo.py" "$ROOT/build/gpcheck"
}

test_all() {
    check_format
    build build gcc
    run_tests build
    # The package test builds and installs its own tree: once is enough.
    build build-clang clang
    run_tests build-clang -LE package
    build build-asan gcc -DGPCHECK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    # intercept_tls_get_addr=0: GCC 12's LeakSanitizer misreads the size of
    # a dlopen'd library's dynamic TLS block under glibc 2.36 (here gnutls,
    # pulled in by libpq) and crashes in its exit scan ("Tracer caught
    # signal 11", "DTLS 6 at 0x9a-...") depending on heap layout alone.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_tests build-asan -LE package
    fuzz
    log "all builds passed"
}

case "${1:-}" in
    demo) install_deps; demo ;;
    test) install_deps; test_all ;;
    *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
