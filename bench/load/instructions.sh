#!/usr/bin/env bash
# Instructions a request costs each server, counted by valgrind's callgrind:
# deterministic where req/s is noisy, user space only (no kernel), so it
# shows what a layer's own code costs and not what the machine was doing.
#
#     bench/load/run.sh ...                       # builds the servers first
#     bench/load/instructions.sh                  # every server below
#     bench/load/instructions.sh poem-bare sj-poem-hs256
#
# Each server runs under callgrind (one worker thread) twice, answering
# N1 and then N2 `GET /get` requests on CONNECTIONS keep-alive connections
# with the cookie run.sh would send it (a session-jwt app: POST /login, POST
# /set a=1; sj-*-anon and the other session servers: POST /set;
# *-bare-cookie: a cookie as long as the reference app's). Instructions per
# request = (total at N2 - total at N1) / (N2 - N1): start-up, login and
# shutdown cancel out.
#
# Settings (environment): N1=200, N2=1200, CONNECTIONS=1 (run.sh's wrk
# keeps 32 open), JWT_COOKIE_LEN=275, BIN (the binaries run.sh built:
# bench/load/target/load-bin).
#
# CACHE_SIM=1 runs cachegrind instead, with its simulated caches and branch
# predictor (the caches the host reports), and adds to each line the
# misses a request makes: of the L1 instruction cache, of the L1 data cache
# (reads, writes), and mispredicted branches (conditional + indirect). A
# simulation, not the CPU's counters: for comparing servers, not cycles.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${BIN:-$HERE/target/load-bin}
N1=${N1:-200}
N2=${N2:-1200}
CONNECTIONS=${CONNECTIONS:-1}
CACHE_SIM=${CACHE_SIM:-}
JWT_COOKIE_LEN=${JWT_COOKIE_LEN:-275}
SERVER_RUST_LOG=warn
# shellcheck source=servers.sh
source "$HERE/servers.sh"
if (($#)); then SERVERS=("$@"); else
    SERVERS=(poem-bare poem-bare-cookie sj-poem-hs256 poem-server-session sj-poem-hs256-anon
        rocket-bare rocket-bare-cookie sj-rocket-hs256
        warp-bare warp-bare-cookie sj-warp-hs256)
fi

die() { echo "instructions.sh: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
command -v python3 >/dev/null || die "python3 is missing"
TMP=$(mktemp -d)
PID=
cleanup() { [[ -z $PID ]] || kill -KILL "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
es256_key

# The client: N requests over CONNECTIONS keep-alive connections, each must
# answer 200. With more than one, each round sends one request on every
# connection before it reads the answers, as wrk keeps its connections busy:
# the server then finds them all ready at once, and each connection's own
# state (its buffers, its task) is touched once a round, not once a request.
cat >"$TMP/client.py" <<'EOF'
import socket, sys
port, n, cookie, k = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
req = (f"GET /get HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
       + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n").encode()
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(k)]
bufs = [b""] * k
def answer(i):
    while True:
        end = bufs[i].find(b"\r\n\r\n")
        if end >= 0:
            head = bufs[i][:end].decode("latin-1").split("\r\n")
            length = next((int(h.split(":", 1)[1]) for h in head[1:]
                           if h.lower().startswith("content-length:")), 0)
            if len(bufs[i]) >= end + 4 + length:
                bufs[i] = bufs[i][end + 4 + length:]
                if head[0].split()[1] != "200": sys.exit(f"GET /get answered {head[0]}")
                return
        data = conns[i].recv(65536)
        if not data: sys.exit("the server closed a connection")
        bufs[i] += data
done = 0
while done < n:
    m = min(k, n - done)
    for i in range(m): conns[i].sendall(req)
    for i in range(m): answer(i)
    done += m
EOF

# count NAME N: the instructions NAME executed, start to exit, answering N requests.
count() {
    local name=$1 n=$2 port cookie
    server_cmd "$name"
    [[ -x ${CMD[-1]} ]] || die "${CMD[-1]} is missing: run bench/load/run.sh once to build it"
    local tool=(--tool=callgrind --callgrind-out-file="$TMP/$name.cg")
    [[ -z $CACHE_SIM ]] ||
        tool=(--tool=cachegrind --cache-sim=yes --branch-sim=yes --cachegrind-out-file="$TMP/$name.cg")
    # valgrind goes between the environment and the binary.
    "${CMD[@]:0:${#CMD[@]}-1}" valgrind "${tool[@]}" "${CMD[-1]}" >"$TMP/out" 2>"$TMP/err" &
    PID=$!
    port=$(server_port "$name" "$PID" "$TMP/out" "$TMP/err" 60)
    cookie=$(server_cookie "$name" "$port")
    python3 "$TMP/client.py" "$port" "$n" "$cookie" "$CONNECTIONS" || die "$name: the client failed"
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
    # callgrind: the instructions; cachegrind: every event, in the order
    # of its `events:` line (Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim).
    awk '/^(summary|totals):/ { $1 = ""; print; exit }' "$TMP/$name.cg"
}

if [[ -z $CACHE_SIM ]]; then
    printf '%-22s %14s\n' server 'instr/request'
else
    printf '%-22s %14s %10s %10s %10s %12s\n' server 'instr/request' 'L1i miss' 'L1d rmiss' 'L1d wmiss' 'mispredicts'
fi
for s in "${SERVERS[@]}"; do
    a=$(count "$s" "$N1")
    b=$(count "$s" "$N2")
    awk -v s="$s" -v a="$a" -v b="$b" -v n=$((N2 - N1)) -v sim="$CACHE_SIM" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        for (i in y) d[i] = (y[i] - x[i]) / n
        if (sim == "") printf "%-22s %14.0f\n", s, d[1]
        else printf "%-22s %14.0f %10.0f %10.0f %10.0f %12.0f\n", s, d[1], d[2], d[5], d[8], d[11] + d[13]
    }'
done
