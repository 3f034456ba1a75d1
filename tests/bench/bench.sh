#!/usr/bin/env bash
# tests/bench/bench.sh - performance of the gpcheck supervisor.
#
#     tests/bench/bench.sh PATH/TO/gpcheck
#
# Measures, on loopback only:
#   1. wall time (hyperfine) of `gpcheck run -q` with N tcp probes against a
#      local listener, attempts = 1, N = 1, 100, 500 (+ N = 500 with -j 128);
#   2. isolation cost: the same with N `misbehave mode = ok` probes, as
#      wall/N and as the marginal (T500 - T1) / 499; parent vs children CPU;
#   3. peak memory: /usr/bin/time -v "Maximum resident set size" (max over
#      the parent AND its reaped children) and the parent's own VmHWM (via
#      the LD_PRELOAD shim hwm.c);
#   4. instructions of the parent alone: callgrind --trace-children=no
#      (forked attempts still run under valgrind, in their own profiles,
#      which are discarded), total Ir for N = 1, 100, 500 and a top-10.
#
# Plugins are looked up beside the binary (DIR/plugins, DIR/tests/plugins);
# override with GPCHECK_PLUGIN_DIR / GPCHECK_TEST_PLUGIN_DIR. Knobs:
# BENCH_RUNS (10), BENCH_WARMUP (2), BENCH_CALLGRIND (1; 0 skips step 4),
# BENCH_MAX_S (900: the whole script is cut after this many seconds).
# Needs hyperfine, /usr/bin/time, cc, python3; valgrind for step 4
# (installed with apt-get when missing and running as root).
set -euo pipefail

MAX_S=${BENCH_MAX_S:-900}
# Bounded in time: timeout(1) puts us in our own process group and signals
# all of it (gpcheck, hyperfine, valgrind, the listener) when time is up.
if [ -z "${BENCH_INNER:-}" ]; then
    BENCH_INNER=1 exec timeout -k 10 "$MAX_S" bash "$0" "$@"
fi

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 PATH/TO/gpcheck" >&2
    exit 2
fi
BIN=$(readlink -f "$1")
BDIR=$(dirname "$BIN")
PLUGINS=${GPCHECK_PLUGIN_DIR:-$BDIR/plugins}
TPLUGINS=${GPCHECK_TEST_PLUGIN_DIR:-$BDIR/tests/plugins}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${BENCH_RUNS:-10}
WARMUP=${BENCH_WARMUP:-2}
NS=(1 100 500)

for f in "$PLUGINS/tcp.so" "$TPLUGINS/misbehave.so"; do
    [ -f "$f" ] || { echo "bench: $f not found" >&2; exit 2; }
done

need() { # need CMD PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench: installing $2" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    fi
    command -v "$1" >/dev/null 2>&1 || { echo "bench: need $1 ($2)" >&2; return 1; }
}
need hyperfine hyperfine
[ -x /usr/bin/time ] || need /usr/bin/time time
need cc gcc
need python3 python3
HAVE_VG=0
if [ "${BENCH_CALLGRIND:-1}" = 1 ] && need valgrind valgrind; then
    HAVE_VG=1
fi

TMP=$(mktemp -d /tmp/gpcheck-bench.XXXXXX)
LPID=
cleanup() {
    if [ -n "$LPID" ]; then
        kill "$LPID" 2>/dev/null || true
        wait "$LPID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "bench: interrupted (or over ${MAX_S}s)" >&2; exit 130' INT TERM

# --- fixtures --------------------------------------------------------------
cc -O2 -o "$TMP/listener" "$HERE/listener.c"
cc -O2 -shared -fPIC -o "$TMP/hwm.so" "$HERE/hwm.c"
"$TMP/listener" "$TMP/port" "$MAX_S" &
LPID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$TMP/port")

printf '[gpcheck]\n' >"$TMP/main.ini"
for n in "${NS[@]}"; do
    mkdir -p "$TMP/tcp$n" "$TMP/ok$n"
    for i in $(seq 1 "$n"); do
        printf '[t%d]\nplugin = tcp\nhost = 127.0.0.1\nport = %d\nattempts = 1\ntimeout = 2s\n\n' "$i" "$PORT"
    done >"$TMP/tcp$n/probes.ini"
    for i in $(seq 1 "$n"); do
        printf '[m%d]\nplugin = misbehave\nmode = ok\nattempts = 1\ntimeout = 2s\n\n' "$i"
    done >"$TMP/ok$n/probes.ini"
done

# gpcheck command line for a conf dir; --deadline bounds a runaway run.
cmd() { # cmd CONFDIR [EXTRA...]
    local d=$1
    shift
    echo "$BIN run -q -c $TMP/main.ini --conf-dir $TMP/$d --plugin-dir $PLUGINS --plugin-dir $TPLUGINS --deadline 30s $*"
}

# Sanity: every probe of every set must end ok, else the timing is a lie.
check() { # check CONFDIR N [EXTRA...]
    local d=$1 n=$2
    shift 2
    # shellcheck disable=SC2046
    $(cmd "$d" "$@") -o "json:$TMP/check.json" 2>/dev/null ||
        { echo "bench: $d $*: gpcheck failed" >&2; exit 1; }
    python3 - "$TMP/check.json" "$n" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ok = sum(p["status"] == "ok" for p in r["probes"])
if ok != int(sys.argv[2]):
    sys.exit(f"bench: {ok}/{sys.argv[2]} probes ok")
EOF
}

# --- 1+2: wall time ----------------------------------------------------------
# label  confdir  N  extra-args
CASES=()
for n in "${NS[@]}"; do CASES+=("tcp|tcp$n|$n|"); done
CASES+=("tcp|tcp500|500|-j 128")
for n in "${NS[@]}"; do CASES+=("ok|ok$n|$n|"); done
CASES+=("ok|ok500|500|-j 128")

echo "gpcheck: $BIN"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "host: $(nproc) cpus, $(uname -r), somaxconn $(sysctl -n net.core.somaxconn), listener 127.0.0.1:$PORT (backlog 4096)"
echo

: >"$TMP/wall.tsv"
for c in "${CASES[@]}"; do
    IFS='|' read -r kind d n extra <<<"$c"
    # Loopback TIME_WAIT sockets pile up across tcp cases (~500 per run,
    # 60 s each) and slow connects down measurably; shown as "TW".
    tw=$( (ss -tan state time-wait 2>/dev/null || true) | awk 'NR>1' | wc -l)
    # shellcheck disable=SC2086
    check "$d" "$n" $extra
    # shellcheck disable=SC2086
    hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" \
        --export-json "$TMP/h.json" "$(cmd "$d" $extra)" >/dev/null 2>&1 ||
        { echo "bench: hyperfine failed for $d $extra" >&2; exit 1; }
    # Per-attempt latency (spawn to reap) from one JSON report.
    # shellcheck disable=SC2086
    $(cmd "$d" $extra) -o "json:$TMP/lat.json" 2>/dev/null
    # Parent-only peak RSS and CPU split, 3 runs.
    : >"$TMP/hwm.txt"
    for _ in 1 2 3; do
        # shellcheck disable=SC2046,SC2086,SC2091
        BENCH_HWM_FILE=$TMP/hwm.txt LD_PRELOAD=$TMP/hwm.so $(cmd "$d" $extra) 2>/dev/null
    done
    # /usr/bin/time max RSS (parent and children), 3 runs.
    : >"$TMP/rss.txt"
    for _ in 1 2 3; do
        # shellcheck disable=SC2046,SC2086
        /usr/bin/time -v $(cmd "$d" $extra) 2>&1 >/dev/null |
            sed -n 's/.*Maximum resident set size (kbytes): //p' >>"$TMP/rss.txt"
    done
    python3 - "$kind" "$n" "${extra:--j 32}" "$TMP/h.json" "$TMP/lat.json" \
        "$TMP/hwm.txt" "$TMP/rss.txt" "$tw" >>"$TMP/wall.tsv" <<'EOF'
import json, statistics as st, sys
kind, n, j, hj, lj, hwm, rss, tw = sys.argv[1:]
h = json.load(open(hj))["results"][0]
lat = sorted(p["duration_ms"] for p in json.load(open(lj))["probes"])
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
hw = [l.split() for l in open(hwm) if l.strip()]
rs = [int(l) for l in open(rss) if l.strip()]
print("\t".join(map(str, [
    kind, n, j, h["mean"] * 1e3, h["stddev"] * 1e3, h["min"] * 1e3,
    q(0.5), q(0.99),
    max(int(x[0]) for x in hw), st.median(float(x[1]) for x in hw),
    st.median(float(x[2]) for x in hw), max(rs), tw])))
EOF
done

python3 - "$TMP/wall.tsv" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
mean = {(r[0], int(r[1]), r[2]): float(r[3]) for r in rows}
print("1-3. wall time (hyperfine), per-attempt cost, CPU split, peak memory")
print(f"{'probes':<7}{'N':>4} {'jobs':<6}{'mean ms':>9}{'± sd':>7}{'min':>8}"
      f"{'wall/N':>8}{'marg/N':>8}{'att p50':>8}{'att p99':>8}"
      f"{'par CPU':>9}{'kid CPU':>9}{'par HWM':>9}{'maxRSS':>8}{'TW':>6}")
for r in rows:
    kind, n, j = r[0], int(r[1]), r[2]
    m, sd, mn, p50, p99 = map(float, r[3:8])
    hwm, pcpu, kcpu, rss = int(r[8]), float(r[9]), float(r[10]), int(r[11])
    tw = r[12]
    base = mean.get((kind, 1, "-j 32"))
    marg = f"{(m - base) / (n - 1):8.3f}" if n > 1 and base else f"{'-':>8}"
    print(f"{kind:<7}{n:>4} {j:<6}{m:9.1f}{sd:7.1f}{mn:8.1f}{m / n:8.3f}{marg}"
          f"{p50:8.2f}{p99:8.2f}{pcpu:9.1f}{kcpu:9.1f}{hwm:>7}kB{rss:>6}kB{tw:>6}")
print("""
  mean/sd/min: hyperfine, ms. wall/N: mean / N. marg/N: (mean - mean at N=1)
  / (N-1), the cost one more attempt adds. att p50/p99: per-probe
  duration_ms from the JSON report (spawn to reap, includes queueing behind
  -j). par CPU / kid CPU: user+sys ms of the parent alone / of all reaped
  attempts (getrusage via hwm.so, median of 3). par HWM: the parent's own
  VmHWM (max of 3). maxRSS: /usr/bin/time -v, max over parent and children
  (max of 3). TW: loopback TIME_WAIT sockets when the case started.""")
EOF

# --- 4: instructions of the parent (callgrind) --------------------------------
echo
if [ "$HAVE_VG" = 1 ]; then
    echo "4. callgrind, parent only (--trace-children=no), misbehave ok probes"
    printf '%-6s %14s %12s %10s\n' N "Ir (parent)" "Ir/probe" "wall s"
    base=
    for n in "${NS[@]}"; do
        t0=$EPOCHREALTIME
        # Each forked attempt writes its own profile cg.PID.out; the
        # parent's is the one named by the first ==PID== line of the log.
        rc=0
        # shellcheck disable=SC2046
        timeout 300 valgrind --tool=callgrind --trace-children=no \
            --callgrind-out-file="$TMP/cg.%p.out" \
            $(cmd "ok$n") >"$TMP/vg.log" 2>&1 || rc=$?
        t1=$EPOCHREALTIME
        vpid=$(sed -n '1s/^==\([0-9]*\)==.*/\1/p' "$TMP/vg.log")
        out=$TMP/cg.$vpid.out
        if [ "$rc" != 0 ] || [ ! -s "$out" ]; then
            echo "callgrind N=$n failed (rc $rc); see valgrind log:" >&2
            tail -5 "$TMP/vg.log" >&2
            continue
        fi
        ir=$(sed -n 's/^totals: *//p;s/^summary: *//p' "$out" | head -1)
        [ -z "$base" ] && base=$ir
        per=$([ "$n" -gt 1 ] && echo $(((ir - base) / (n - 1))) || echo -)
        printf '%-6s %14s %12s %10.1f\n' "$n" "$ir" "$per" "$(awk "BEGIN{print $t1 - $t0}")"
        [ "$n" = 100 ] && cp "$out" "$TMP/cg100.out"
        find "$TMP" -maxdepth 1 -name 'cg.*.out' -delete
    done
    echo "  Ir/probe: (Ir(N) - Ir(1)) / (N-1), the parent's marginal instructions per attempt"
    if [ -s "$TMP/cg100.out" ]; then
        echo
        echo "   top 10 functions by self Ir, N=100:"
        callgrind_annotate --threshold=100 "$TMP/cg100.out" 2>/dev/null |
            awk '/file:function/{f=1;getline;next} f&&NF&&k<10{print "   " $0; k++}'
        echo
        echo "   top 12 by inclusive Ir, N=100:"
        callgrind_annotate --inclusive=yes --threshold=100 "$TMP/cg100.out" 2>/dev/null |
            awk '/file:function/{f=1;getline;next} f&&NF&&k<12{print "   " $0; k++}'
    fi
else
    echo "4. callgrind skipped (valgrind unavailable or BENCH_CALLGRIND=0)"
fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
