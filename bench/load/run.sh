#!/usr/bin/env bash
# End-to-end load benchmark (issue 11, item 5): req/s, p50 and p99 of
# `GET /get` with a valid session cookie, for each adapter's reference app
# (session-jwt, HS256 and ES256) and, on the same route, each framework bare
# (no session layer), Poem's own `ServerSession` (memory) and axum +
# tower-sessions (memory). Then the ratios the issue sets targets for.
#
#     bench/load/run.sh                        # 5 rounds of 10 s per server
#     ROUNDS=1 DURATION=3s bench/load/run.sh   # a quick check that it works
#     SERVER_CPU_LIMIT=50 bench/load/run.sh    # the server, not wrk, the bottleneck
#
# Settings (environment):
#   ROUNDS=5          interleaved rounds; each round runs every server once
#   DURATION=10s      wrk measurement per server and round
#   WARMUP=2s         wrk run before each measurement, not recorded
#   CONNECTIONS=32    wrk connections (wrk always runs one thread: -t1)
#   SERVER_CPU=0      the core the server is pinned to (taskset)
#   CLIENT_CPU=1      the core wrk is pinned to
#   SERVERS="..."     a subset of the servers below, by name
#   SKIP_BUILD=1      reuse the binaries of the previous run's build
#   OUT=DIR           where results go (default bench/load/out/DATE-TIME)
#   JWT_COOKIE_LEN=275  the length of the reference app's cookie (name=value),
#                     which poem-server-session-padded's Cookie header is
#                     padded to and the *-bare-cookie servers are sent (a
#                     run notes it when the app's differs)
#   SERVER_CPU_LIMIT=   a share of its core the server may use, in percent
#                     (1..99; a CPU cgroup, as `docker run --cpus` sets): the
#                     server, not wrk, is then the bottleneck, so req/s
#                     measures what each server's requests cost. Unset: no
#                     limit (the issue's method), where a fast machine can
#                     saturate wrk's core first (the summary says so)
#   SERVER_RUST_LOG=warn  RUST_LOG of the reference apps; empty: unset, i.e.
#                     the apps' default (info), under which the Rocket app
#                     logs four lines per request (Rocket's `log` records
#                     reach the app's tracing subscriber) and measures that
#
# How it measures:
# - Every server runs one worker thread (Tokio: TOKIO_WORKER_THREADS=1;
#   Rocket: ROCKET_WORKERS=1), pinned to SERVER_CPU; wrk runs pinned to
#   CLIENT_CPU. Only 127.0.0.1 is ever a target.
# - Each server is started fresh for each measurement, on a port the system
#   chooses (PORT=0), and stopped right after it: no state, cache or heap
#   carries over from one measurement to the next, and every measurement
#   includes getting its own cookie, which must be the one that server issued.
# - The cookie: for session-jwt, POST /login (john/password) then POST /set
#   a=1, as a browser would; for the other session servers, POST /set with
#   the same two items (a=1, test=...). sj-poem-hs256-anon is the Poem
#   reference app sent a session made that way too, with no login: the same
#   items as ServerSession's, and no user to load and check on each request
#   (the other sj-* servers' sessions have one). Before and after wrk,
#   GET /get with that cookie must answer the session's items (a bare
#   server: its fixed body), so wrk never measures a visitor without a
#   session by mistake. All wrk connections send that one cookie: a
#   returning visitor.
# - Every server answers GET /get with the same JSON object, the session's
#   two items (the reference apps list them in the order they were set, the
#   others in the order of BARE_BODY): the same route, the same items read
#   and the same body. Before 368e744 (2026-12-03) the ServerSession and
#   tower-sessions servers read the item a alone and answered {"a":"1"},
#   38 bytes shorter than everyone else's answer.
# - poem-server-session-padded is Poem's ServerSession (plain cookie) sent
#   its cookie plus a padding cookie, so that its Cookie header is as long as
#   the reference app's (a JWT is some 200 bytes longer than a session id):
#   the ratio against it compares the session layers' work on requests of
#   the same size.
# - poem-bare-cookie, rocket-bare-cookie and warp-bare-cookie are the bare
#   servers sent a Cookie header as long as the reference app's (its name
#   and a value of base64url characters, JWT_COOKIE_LEN bytes in all): the
#   request the session-jwt apps get, byte for byte in length. A browser
#   sends its cookie whatever the server does with it, and some frameworks
#   work on every cookie they receive (Rocket percent-decodes each one into
#   its `CookieJar`): against these, the ratio measures what the session
#   layer adds to the same request. The plain *-bare servers are sent no
#   cookie; both ratios are printed.
# - Rounds are interleaved: round r runs the servers in the list's order
#   rotated by r, so a slow moment of the machine spreads over all servers
#   rather than hitting one, and the servers a ratio compares are neighbours
#   in the list, measured seconds apart. The table shows medians over
#   rounds. Each ratio is printed two ways: the median of the per-round
#   ratios (each taken between neighbours, so the machine's drift over the
#   run cancels out; the target is judged on it), then the ratio of the
#   medians, the range of the per-round ratios in brackets, and a 95 %
#   interval for their median (order statistics). A verdict whose interval
#   holds the target is marked "not resolved": the run cannot tell.
# - CPU/req is the server's user + system time over the measurement (all its
#   threads, from /proc/PID/stat) divided by the requests wrk completed;
#   busy is that time as a share of the measurement, and "wrk busy" the
#   same for wrk. When wrk's core is as busy as the server's, the client
#   limits req/s too, and the ratios understate what a session layer costs.
# - A measurement with any non-2xx/3xx answer or socket error stops the run.
# The servers are stopped on exit, however the script ends (trap).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVER_RUST_LOG=${SERVER_RUST_LOG-warn}
SERVER_CPU_LIMIT=${SERVER_CPU_LIMIT:-}
JWT_COOKIE_LEN=${JWT_COOKIE_LEN:-275}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROOT_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOAD_TARGET=$HERE/target
BIN=$LOAD_TARGET/load-bin
OUT=${OUT:-$HERE/out/$(date +%Y%m%d-%H%M%S)}

# shellcheck source=servers.sh
source "$HERE/servers.sh"

# In this order, each round: the servers a ratio compares run next to each
# other (a few seconds apart), so that the machine's drift over a run
# cancels out of the per-round ratios.
ALL_SERVERS=(
    poem-bare poem-bare-cookie sj-poem-hs256 poem-server-session sj-poem-hs256-anon sj-poem-es256
    poem-server-session-padded poem-server-session-signed
    rocket-bare rocket-bare-cookie sj-rocket-hs256 sj-rocket-es256
    warp-bare warp-bare-cookie sj-warp-hs256 sj-warp-es256
    axum-bare axum-tower-sessions
)
read -r -a SERVERS <<<"${SERVERS:-${ALL_SERVERS[*]}}"

die() {
    echo "run.sh: $*" >&2
    exit 1
}
log() { echo "== $*" >&2; }

for s in "${SERVERS[@]}"; do
    [[ " ${ALL_SERVERS[*]} " == *" $s "* ]] || die "unknown server '$s' (known: ${ALL_SERVERS[*]})"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive number"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ && $WARMUP =~ ^[0-9]+[smh]?$ ]] ||
    die "DURATION and WARMUP are wrk durations such as 10s"
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || die "SERVER_CPU and CLIENT_CPU must differ"
[[ -z $SERVER_CPU_LIMIT || $SERVER_CPU_LIMIT =~ ^[1-9][0-9]?$ ]] ||
    die "SERVER_CPU_LIMIT must be a percentage from 1 to 99 (got '$SERVER_CPU_LIMIT')"
ncpu=$(nproc --all)
((SERVER_CPU < ncpu && CLIENT_CPU < ncpu)) || die "this machine has $ncpu cores: cores 0..$((ncpu - 1))"

# --- tools -----------------------------------------------------------------
as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v taskset >/dev/null || need+=(util-linux)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
    log "installing ${need[*]} (Debian packages)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- servers: stopped on exit, however the script ends -------------------------
SERVER_PID=
stop_server() {
    local pid=$SERVER_PID
    [[ -n $pid ]] || return 0
    SERVER_PID=
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
TMP=$(mktemp -d)
cleanup() {
    stop_server
    rm -rf "$TMP"
    if [[ -n ${CG:-} ]]; then as_root rmdir "$CG" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the server's CPU limit: a cgroup (v2 cpu.max, or v1 cfs quota) ---------
# A 10 ms period: the server is throttled in short slices, not for tens of
# milliseconds at a time.
CGROUP_PROCS=
# cg_write FILE VALUE: one setting of the cgroup; any failure stops the run.
cg_write() { echo "$2" | as_root tee "$1" >/dev/null || die "SERVER_CPU_LIMIT: cannot write $1 (root needed)"; }
if [[ -n $SERVER_CPU_LIMIT ]]; then
    quota=$((SERVER_CPU_LIMIT * 100))
    if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        CG=/sys/fs/cgroup/session-jwt-load
    elif [[ -d /sys/fs/cgroup/cpu ]]; then
        CG=/sys/fs/cgroup/cpu/session-jwt-load
    else
        die "SERVER_CPU_LIMIT: this machine has no CPU cgroup controller to limit the server with"
    fi
    as_root mkdir -p "$CG" || die "SERVER_CPU_LIMIT: cannot make the cgroup $CG (root needed)"
    if [[ $CG == /sys/fs/cgroup/session-jwt-load ]]; then
        cg_write "$CG/cpu.max" "$quota 10000"
    else
        cg_write "$CG/cpu.cfs_period_us" 10000
        cg_write "$CG/cpu.cfs_quota_us" "$quota"
    fi
    CGROUP_PROCS=$CG/cgroup.procs
    [[ -w $CGROUP_PROCS ]] || die "SERVER_CPU_LIMIT: cannot write $CGROUP_PROCS (run as root)"
fi

# --- build -----------------------------------------------------------------
if [[ $SKIP_BUILD != 1 ]]; then
    mkdir -p "$BIN"
    for a in poem rocket warp; do
        log "building the $a reference app (release)"
        (cd "$ROOT" && cargo build --quiet --release -p "session-jwt-$a" --example demo)
        # The three share one output name: copy each one at once.
        cp "$ROOT_TARGET/release/examples/demo" "$BIN/sj-$a.tmp"
        # Built by someone else in between? The binary names its own source.
        grep -qa "session-jwt-$a/" "$BIN/sj-$a.tmp" ||
            die "target/release/examples/demo is not the $a reference app (a concurrent build?): run again"
        mv "$BIN/sj-$a.tmp" "$BIN/sj-$a"
    done
    log "building the baseline servers (release, own workspace in bench/load)"
    (cd "$HERE" && cargo build --quiet --release --target-dir "$LOAD_TARGET")
    for b in poem-bare rocket-bare warp-bare axum-bare poem-server-session axum-tower-sessions; do
        cp "$LOAD_TARGET/release/$b" "$BIN/$b"
    done
fi
for b in sj-poem sj-rocket sj-warp poem-bare rocket-bare warp-bare axum-bare \
    poem-server-session axum-tower-sessions; do
    [[ -x $BIN/$b ]] || die "$BIN/$b is missing: run without SKIP_BUILD=1"
done

# The baselines must run the framework versions the reference apps run.
lock_version() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/"/, "", $3); print $3 }' "$2" | sort -u | tr '\n' ' '; }
for p in poem rocket warp tokio hyper; do
    a=$(lock_version "$p" "$ROOT/Cargo.lock")
    b=$(lock_version "$p" "$HERE/Cargo.lock")
    [[ $a == "$b" ]] || log "WARNING: $p is $a in the workspace but $b in bench/load: copy the workspace's Cargo.lock over bench/load/Cargo.lock and rebuild"
done

# --- keys ------------------------------------------------------------------
es256_key

# --- one measurement ---------------------------------------------------------
# cpu_ticks PID: the CPU time a process has used so far (user + system, all
# its threads), in clock ticks: fields 14 and 15 of /proc/PID/stat, counted
# after the command name, which is in parentheses and may hold spaces.
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat") || die "cannot read /proc/$1/stat"
    awk '{ print $12 + $13 }' <<<"${stat##*) }"
}

# to_us VALUE: a wrk latency (850.00us, 1.20ms, 1.01s) in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000
        else if (u == "m") f = 60000000; else { print "NA"; exit }
        printf "%.1f\n", n * f }'
}

# check_get NAME PORT COOKIE: GET /get must answer the session's two items.
check_get() {
    local name=$1 port=$2 cookie=$3 body
    body=$(curl -sS --max-time 5 -D "$TMP/headers" ${cookie:+-H "Cookie: $cookie"} "http://127.0.0.1:$port/get") ||
        die "$name: GET /get failed"
    case $name in
    # A reference app: its items in the order they were set (servers.sh).
    sj-*) [[ $body == "$SJ_LOGIN_BODY" || $body == "$BARE_BODY" ]] ||
        die "$name: GET /get with the cookie answered '$body', not the session's items" ;;
    *) [[ $body == "$BARE_BODY" ]] || die "$name: GET /get answered '$body', not $BARE_BODY" ;;
    esac
    if grep -qi '^set-cookie:' "$TMP/headers"; then
        echo "$name: note: GET /get re-issues the cookie" >>"$OUT/notes.txt"
    fi
}

# measure ROUND NAME: starts NAME, gets its cookie, runs wrk, stops it, and
# appends "round name req/s p50_us p99_us" to results.tsv.
measure() {
    local round=$1 name=$2 port cookie="" logs="$OUT/logs/r$1-$2"
    server_cmd "$name"
    : >"$logs.out"
    if [[ -n $CGROUP_PROCS ]]; then
        # The server joins the cgroup before it starts a thread.
        taskset -c "$SERVER_CPU" sh -c 'echo $$ >"$0" && exec "$@"' "$CGROUP_PROCS" "${CMD[@]}" \
            >"$logs.out" 2>"$logs.err" &
    else
        taskset -c "$SERVER_CPU" "${CMD[@]}" >"$logs.out" 2>"$logs.err" &
    fi
    SERVER_PID=$!
    port=$(server_port "$name" "$SERVER_PID" "$logs.out" "$logs.err" 30)
    cookie=$(server_cookie "$name" "$port")
    case $name in
    sj-*-hs256)
        ((${#cookie} == JWT_COOKIE_LEN)) ||
            echo "$name: note: its cookie is ${#cookie} bytes; poem-server-session-padded pads to JWT_COOKIE_LEN=$JWT_COOKIE_LEN" >>"$OUT/notes.txt"
        ;;
    *-padded)
        local pad=$((JWT_COOKIE_LEN - ${#cookie} - 6))
        ((pad > 0)) || die "$name: its cookie is already ${#cookie} bytes, JWT_COOKIE_LEN=$JWT_COOKIE_LEN"
        cookie="$cookie; pad=$(head -c "$pad" /dev/zero | tr '\0' x)"
        ;;
    esac
    check_get "$name" "$port" "$cookie"

    local url="http://127.0.0.1:$port/get" hdr=()
    [[ -n $cookie ]] && hdr=(-H "Cookie: $cookie")
    if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "${hdr[@]}" "$url" >/dev/null
    fi
    local w="$OUT/wrk/r$round-$name.txt" cpu0 cpu1 t0 t1
    cpu0=$(cpu_ticks "$SERVER_PID")
    t0=$(date +%s%N)
    local TIMEFORMAT='%R %U %S'
    { time taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "${hdr[@]}" "$url" >"$w"; } 2>"$w.time"
    t1=$(date +%s%N)
    cpu1=$(cpu_ticks "$SERVER_PID")
    check_get "$name" "$port" "$cookie"
    stop_server

    grep -q 'Non-2xx or 3xx responses' "$w" && die "$name: wrk got error answers: $w"
    grep -q 'Socket errors' "$w" && die "$name: wrk had socket errors: $w"
    local rps p50 p99 requests cpu_us busy wrk_busy
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$w")
    requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$w")
    [[ $requests =~ ^[1-9][0-9]*$ ]] || die "$name: cannot read wrk's request count: $w"
    # The server's CPU time (user + system, all its threads) over the
    # measurement, per request answered, and as a share of its core.
    cpu_us=$(awk -v c="$((cpu1 - cpu0))" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.2f", c / hz * 1e6 / n }')
    busy=$(awk -v c="$((cpu1 - cpu0))" -v hz="$CLK_TCK" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) }')
    wrk_busy=$(awk 'NF == 3 && $1 > 0 { printf "%.0f", 100 * ($2 + $3) / $1 }' "$w.time")
    [[ -n $wrk_busy ]] || die "$name: cannot read wrk's CPU time: $w.time"
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$w")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$w")")
    [[ -n $rps && $p50 != NA && $p99 != NA ]] || die "$name: cannot read wrk's output: $w"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu_us" "$busy" "$wrk_busy" >>"$OUT/results.tsv"
    printf '   %-28s %10.0f req/s  p50 %8.1f us  p99 %8.1f us  server %6.2f us CPU/req, %3d%% busy; wrk %3d%% busy\n' \
        "$name" "$rps" "$p50" "$p99" "$cpu_us" "$busy" "$wrk_busy" >&2
}

# --- rounds ------------------------------------------------------------------
mkdir -p "$OUT/logs" "$OUT/wrk"
printf 'round\tserver\treq_s\tp50_us\tp99_us\tcpu_us_per_req\tbusy_pct\twrk_busy_pct\n' >"$OUT/results.tsv"
: >"$OUT/notes.txt"
n=${#SERVERS[@]}
secs() { local d=$1 f=1; case $d in *m) f=60 ;; *h) f=3600 ;; esac; d=${d%[smh]}; echo $((d * f)); }
log "$ROUNDS round(s) x $n servers x ($WARMUP + $DURATION): about $((ROUNDS * n * ($(secs "$WARMUP") + $(secs "$DURATION") + 1) / 60 + 1)) min; results in $OUT"
load_start=$(cut -d ' ' -f 1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r/$ROUNDS (load average $(cut -d ' ' -f 1 /proc/loadavg))"
    for ((i = 0; i < n; i++)); do
        measure "$r" "${SERVERS[$(((i + r - 1) % n))]}"
    done
done
load_end=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- summary -----------------------------------------------------------------
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -F '\t' -v s="$1" -v c="$2" 'NR > 1 && $2 == s { print $c }' "$OUT/results.tsv"; }
declare -A MED CPU
{
    echo "End-to-end load: GET /get with a valid session cookie (bench/load/run.sh)"
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $ncpu cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -r)"
    echo "$(rustc --version), $(wrk --version 2>&1 | head -n 1 | cut -d ' ' -f 1-2)"
    echo "wrk -t1 -c$CONNECTIONS -d$DURATION --latency (warm-up $WARMUP), server on core $SERVER_CPU with 1 worker, wrk on core $CLIENT_CPU"
    [[ -z $SERVER_CPU_LIMIT ]] || echo "server limited to $SERVER_CPU_LIMIT % of its core (CPU cgroup, 10 ms period)"
    echo "reference apps: memory store, RUST_LOG=${SERVER_RUST_LOG:-(unset)}"
    echo "$ROUNDS interleaved round(s), each server started fresh per measurement; medians over rounds"
    echo "load average: $load_start at the start, $load_end at the end"
    echo
    printf '%-28s %11s %11s %11s %23s %13s %6s %9s\n' server 'req/s' 'p50 (us)' 'p99 (us)' 'req/s min..max' 'CPU/req (us)' 'busy' 'wrk busy'
    client_bound=0
    for s in "${SERVERS[@]}"; do
        MED[$s]=$(col "$s" 3 | median)
        CPU[$s]=$(col "$s" 6 | median)
        wb=$(col "$s" 8 | median)
        printf '%-28s %11.0f %11.1f %11.1f %23s %13.2f %5.0f%% %8.0f%%\n' "$s" "${MED[$s]}" "$(col "$s" 4 | median)" "$(col "$s" 5 | median)" \
            "$(col "$s" 3 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f..%.0f", lo, hi }')" \
            "${CPU[$s]}" "$(col "$s" 7 | median)" "$wb"
        awk -v b="$wb" 'BEGIN { exit !(b >= 90) }' && client_bound=1
    done
    if ((client_bound)); then
        echo
        echo "NOTE: wrk's core was 90 % busy or more for some servers: the client limits their req/s"
        echo "too, and the ratios understate what a session layer costs. SERVER_CPU_LIMIT=50 makes the"
        echo "server the bottleneck."
    fi
    echo
    echo "server CPU a request added to the same framework bare (medians; CPU/req is the server's"
    echo "user + system time over the measurement divided by the requests wrk completed):"
    added() {
        [[ -n ${CPU[$1]:-} && -n ${CPU[$2]:-} ]] || return 0
        awk -v a="${CPU[$1]}" -v b="${CPU[$2]}" -v l="$3" 'BEGIN { printf "  %-56s %+6.2f us (%.2f x)\n", l, a - b, a / b }'
    }
    for a in poem rocket warp; do
        added "sj-$a-hs256" "$a-bare-cookie" "$a + session-jwt HS256 - $a bare, same cookie"
        added "sj-$a-hs256" "$a-bare" "$a + session-jwt HS256 - $a bare, no cookie"
        added "$a-bare-cookie" "$a-bare" "$a bare, same cookie - $a bare, no cookie"
    done
    added sj-poem-hs256-anon poem-bare-cookie "poem + session-jwt, no login - poem bare, same cookie"
    added poem-server-session poem-bare "poem ServerSession (plain) - poem bare"
    added poem-server-session-padded poem-bare "poem ServerSession (plain, padded) - poem bare"
    added axum-tower-sessions axum-bare "axum + tower-sessions - axum bare"
    echo
    echo "ratios of req/s (median of the per-round ratios, ratio of medians [range of the per-round ratios],"
    echo "and a 95 % interval for the median of the per-round ratios; a verdict whose interval holds the"
    echo "target is marked: more rounds, or a quieter machine, would be needed to tell):"
    # ratio A B TARGET OP LABEL: A/B, checked against TARGET when OP is >= or >.
    ratio() {
        local a=$1 b=$2 target=$3 op=$4 label=$5
        [[ -n ${MED[$a]:-} && -n ${MED[$b]:-} ]] || return 0
        local q rounds m range verdict=""
        q=$(awk -v x="${MED[$a]}" -v y="${MED[$b]}" 'BEGIN { printf "%.3f", x / y }')
        # The per-round ratios, one a line, in ascending order.
        rounds=$(awk -F '\t' -v a="$a" -v b="$b" 'NR > 1 && $2 == a { x[$1] = $3 } NR > 1 && $2 == b { y[$1] = $3 }
            END { for (r in x) if (r in y) print x[r] / y[r] }' "$OUT/results.tsv" | sort -g)
        m=$(median <<<"$rounds" | awk '{ printf "%.3f", $1 }')
        range=$(awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f..%.3f", lo, hi }' <<<"$rounds")
        # The median's 95 % interval from order statistics (no assumption
        # about the ratios' distribution): the k-th smallest to the k-th
        # largest, k = (n - 1.96 sqrt(n)) / 2 rounded down (at least 1).
        ci=$(awk '{ a[NR] = $1 } END {
            k = int((NR - 1.96 * sqrt(NR)) / 2); if (k < 1) k = 1
            printf "%.3f..%.3f", a[k], a[NR + 1 - k] }' <<<"$rounds")
        if [[ $op != - ]]; then
            if awk -v q="$m" -v t="$target" -v op="$op" 'BEGIN { exit !(op == ">=" ? q >= t : q > t) }'; then
                verdict="ok (target $op $target)"
            else
                verdict="MISSED (target $op $target)"
            fi
            awk -v c="$ci" -v t="$target" 'BEGIN { split(c, x, /\.\./); exit !(x[1] <= t && t <= x[2]) }' &&
                verdict+=", not resolved"
        fi
        printf '  %-56s %6s %6s [%s]  %s  %s\n' "$label" "$m" "$q" "$range" "$ci" "$verdict"
    }
    for a in poem rocket warp; do
        ratio "sj-$a-hs256" "$a-bare-cookie" 0.85 '>=' "$a + session-jwt HS256 / $a bare, same cookie"
        ratio "sj-$a-hs256" "$a-bare" 0.85 '>=' "$a + session-jwt HS256 / $a bare, no cookie"
    done
    ratio sj-poem-hs256 poem-server-session 1 '>' "poem + session-jwt HS256 / poem ServerSession (plain)"
    ratio sj-poem-hs256-anon poem-server-session 0 - "poem + session-jwt, no login / ServerSession (plain)"
    ratio sj-poem-hs256 poem-server-session-signed 1 '>' "poem + session-jwt HS256 / poem ServerSession (signed)"
    ratio sj-poem-hs256 poem-server-session-padded 0 - "poem + session-jwt HS256 / ServerSession (plain, padded)"
    for a in poem rocket warp; do
        ratio "sj-$a-es256" "sj-$a-hs256" 0.90 '>=' "$a + session-jwt ES256 / HS256"
    done
    ratio poem-server-session poem-bare 0 - "poem ServerSession (plain) / poem bare"
    ratio axum-tower-sessions axum-bare 0 - "axum + tower-sessions / axum bare"
    ratio sj-poem-hs256 axum-tower-sessions 0 - "poem + session-jwt HS256 / axum + tower-sessions"
    if [[ -s $OUT/notes.txt ]]; then
        echo
        sort -u "$OUT/notes.txt"
    fi
    echo
    if ((ROUNDS < 3)); then
        echo "only $ROUNDS round(s): a smoke test, not a measurement"
    fi
    echo "raw results: $OUT/results.tsv; wrk outputs: $OUT/wrk/; server logs: $OUT/logs/"
} | tee "$OUT/summary.txt"
