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
# N1 and then N2 `GET /get` requests on one keep-alive connection with the
# cookie run.sh would send it (a session-jwt app: POST /login, POST /set a=1;
# the other session servers: POST /set; *-bare-cookie: a cookie as long as
# the reference app's). Instructions per request = (total at N2 - total at
# N1) / (N2 - N1): start-up, login and shutdown cancel out.
#
# Settings (environment): N1=200, N2=1200, JWT_COOKIE_LEN=275, BIN (the
# binaries run.sh built: bench/load/target/load-bin).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${BIN:-$HERE/target/load-bin}
N1=${N1:-200}
N2=${N2:-1200}
JWT_COOKIE_LEN=${JWT_COOKIE_LEN:-275}
HS256_SECRET='session-jwt load benchmark HS256 secret, not for production use'
if (($#)); then SERVERS=("$@"); else
    SERVERS=(poem-bare poem-bare-cookie sj-poem-hs256 poem-server-session
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

# The client: N requests on one connection, each must answer 200.
cat >"$TMP/client.py" <<'EOF'
import http.client, sys
port, n, cookie = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", "/get", headers={"Cookie": cookie} if cookie else {})
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit(f"GET /get answered {r.status}")
EOF

# count NAME N: the instructions NAME executed, start to exit, answering N requests.
count() {
    local name=$1 n=$2 exe=$1 env=() port="" cookie=""
    case $name in
    sj-*-hs256) exe=${name%-hs256} && env=("SESSION_JWT_KEY=$HS256_SECRET") ;;
    *-bare-cookie) exe=${name%-cookie} ;;
    poem-server-session) env=(POEM_SESSION_COOKIE=plain) ;;
    esac
    [[ -x $BIN/$exe ]] || die "$BIN/$exe is missing: run bench/load/run.sh once to build it"
    env -i "PATH=$PATH" "HOME=${HOME:-/root}" PORT=0 TOKIO_WORKER_THREADS=1 ROCKET_WORKERS=1 RUST_LOG=warn "${env[@]}" \
        valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.cg" "$BIN/$exe" >"$TMP/out" 2>"$TMP/err" &
    PID=$!
    for _ in $(seq 600); do
        port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$TMP/out")
        [[ -n $port ]] && break
        kill -0 "$PID" 2>/dev/null || die "$name exited at start: $(tail -n 3 "$TMP/err")"
        sleep 0.1
    done
    [[ -n $port ]] || die "$name printed no 'listening on' line"
    local jar=$TMP/jar post=(curl -sS -o /dev/null -b "$TMP/jar" -c "$TMP/jar")
    rm -f "$jar"
    case $name in
    sj-*) "${post[@]}" -d 'username=john&password=password' "http://127.0.0.1:$port/login"
        "${post[@]}" -d 'a=1' "http://127.0.0.1:$port/set" ;;
    *-bare) ;;
    *-bare-cookie) cookie="sessionid=$(head -c "$((JWT_COOKIE_LEN - 10))" /dev/zero | tr '\0' A)" ;;
    *) "${post[@]}" -d 'a=1&test=This+value+should+be+present' "http://127.0.0.1:$port/set" ;;
    esac
    [[ -f $jar ]] && cookie=$(awk -F '\t' 'NF >= 7 { c = c (c ? "; " : "") $6 "=" $7 } END { print c }' "$jar")
    python3 "$TMP/client.py" "$port" "$n" "$cookie" || die "$name: the client failed"
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
    awk '/^(summary|totals):/ { print $2; exit }' "$TMP/$name.cg"
}

printf '%-22s %14s\n' server 'instr/request'
for s in "${SERVERS[@]}"; do
    a=$(count "$s" "$N1")
    b=$(count "$s" "$N2")
    awk -v s="$s" -v a="$a" -v b="$b" -v n=$((N2 - N1)) 'BEGIN { printf "%-22s %14.0f\n", s, (b - a) / n }'
done
