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

# start NAME MODE [listen.py options...]: prints the port
start() {
    local name=$1 mode=$2
    shift 2
    python3 "$ROOT/tests/fixtures/listen.py" "$mode" \
        --port-file "$TMP/$name.port" --lifetime 120 "$@" &
    PIDS+=($!)
    for _ in $(seq 100); do
        [[ -s $TMP/$name.port ]] && break
        sleep 0.05
    done
    cat "$TMP/$name.port"
}

DB_PORT=$(start db late --delay 1.5)
REDIS_PORT=$(start cache echo --banner '+PONG\r\n')
API_PORT=$(start api accept)
export DB_PORT REDIS_PORT API_PORT

echo "== the probes, as configured (gpcheck list)"
"$GP" list -c "$ROOT/gpcheck.ini"
echo
echo "== gpcheck run -- ./e2e   (the database port opens 1.5 s late)"
"$GP" run -c "$ROOT/gpcheck.ini" -- \
    sh -c 'echo; echo "e2e: golden path tests run now (GPCHECK_VERDICT=$GPCHECK_VERDICT)"'
