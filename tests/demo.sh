#!/bin/bash
# tests/demo.sh GPCHECK - the README demo: starts throwaway services on
# loopback (a database port that opens 1.5 s late, a Redis-like PING/+PONG
# listener, an API port), gates a command on the shipped conf.d with the
# built gpcheck, and stops everything again, whatever happens.
set -euo pipefail
GP=${1:?usage: demo.sh PATH-TO-GPCHECK}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/gpcheck-demo.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# start NAME MODE [listen.py options...]: a fixture in the background
start() {
    local name=$1 mode=$2
    shift 2
    python3 "$ROOT/tests/fixtures/listen.py" "$mode" \
        --port-file "$TMP/$name.port" --lifetime 120 "$@" 2>/dev/null &
    PIDS+=($!)
}

# port NAME: waits (at most 5 s) for the fixture's port file
port() {
    for _ in $(seq 100); do
        [[ -s $TMP/$1.port ]] && break
        sleep 0.05
    done
    cat "$TMP/$1.port"
}

start db late --delay 1.5
start cache echo --banner '+PONG\r\n'
start api accept
DB_PORT=$(port db)
REDIS_PORT=$(port cache)
API_PORT=$(port api)
export DB_PORT REDIS_PORT API_PORT

echo "== the probes, as configured (gpcheck list)"
"$GP" list -c "$ROOT/gpcheck.ini"
echo
echo "== gpcheck run -- ./e2e   (the database port opens 1.5 s late)"
"$GP" run -c "$ROOT/gpcheck.ini" -- \
    sh -c 'echo; echo "e2e: golden path tests run now (GPCHECK_VERDICT=$GPCHECK_VERDICT)"'

echo
echo "== the same gate with the cache down: the tests do not run"
start down closed
REDIS_PORT=$(port down)
set +e
"$GP" run -c "$ROOT/gpcheck.ini" --deadline 4s -q -- \
    sh -c 'echo "e2e: this line is never printed"'
rc=$?
set -e
echo "gpcheck exited with status $rc (124: the deadline passed before the cache was ready)"
[[ $rc == 124 ]]
