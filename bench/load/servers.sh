# How the load benchmark's servers are started and which cookie each is
# sent: sourced by run.sh and instructions.sh, so that both measure the same
# servers on the same request. Each script defines `die`, and sets BIN (the
# binaries), TMP (a scratch directory), SERVER_RUST_LOG and JWT_COOKIE_LEN
# before it calls these.

# The session's two items as /get answers them: the bare servers and the
# other session layers always, a reference app for a session made by one
# POST /set a=1&test=... (no login). A reference app keeps the order the
# items were set in, so a logged-in session (test set at login, then
# POST /set a=1) answers SJ_LOGIN_BODY: the same items, test first.
BARE_BODY='{"a":"1","test":"This value should be present"}'
SJ_LOGIN_BODY='{"test":"This value should be present","a":"1"}'
HS256_SECRET='session-jwt load benchmark HS256 secret, not for production use'

# es256_key: makes the P-256 key the ES256 servers sign with, in TMP.
es256_key() {
    ES256_KEY=$TMP/es256.pem
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ES256_KEY" 2>/dev/null ||
        die "openssl cannot make a P-256 key"
}

# server_cmd NAME: sets CMD, the environment and command line of a server.
server_cmd() {
    local base=(env -i "PATH=$PATH" "HOME=${HOME:-/root}" PORT=0 TOKIO_WORKER_THREADS=1 ROCKET_WORKERS=1)
    [[ -n $SERVER_RUST_LOG ]] && base+=("RUST_LOG=$SERVER_RUST_LOG")
    case $1 in
    sj-*-hs256 | sj-*-hs256-anon)
        local a=${1#sj-} && a=${a%-anon} && a=${a%-hs256}
        CMD=("${base[@]}" "SESSION_JWT_KEY=$HS256_SECRET" "$BIN/sj-$a")
        ;;
    sj-*-es256) local a=${1#sj-} && a=${a%-es256} && CMD=("${base[@]}" "SESSION_JWT_KEY=${ES256_KEY:?es256_key first}" "$BIN/sj-$a") ;;
    poem-server-session | poem-server-session-padded) CMD=("${base[@]}" POEM_SESSION_COOKIE=plain "$BIN/poem-server-session") ;;
    poem-server-session-signed) CMD=("${base[@]}" POEM_SESSION_COOKIE=signed "$BIN/poem-server-session") ;;
    *-bare-cookie) CMD=("${base[@]}" "$BIN/${1%-cookie}") ;;
    *) CMD=("${base[@]}" "$BIN/$1") ;;
    esac
}

# server_port NAME PID OUT ERR SECONDS: the port of the server PID started
# as NAME, from the "listening on" line it prints to OUT in SECONDS at most.
server_port() {
    local name=$1 pid=$2 out=$3 err=$4 seconds=$5 port
    for _ in $(seq "$((seconds * 10))"); do
        port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$out" 2>/dev/null || true)
        [[ -n $port ]] && break
        kill -0 "$pid" 2>/dev/null || die "$name exited at start: $(tail -n 3 "$err")"
        sleep 0.1
    done
    [[ -n $port ]] || die "$name printed no 'listening on' line in $seconds s"
    echo "$port"
}

# server_cookie NAME PORT: the Cookie header NAME is sent (empty: none), got
# as a browser would. A session-jwt app: POST /login (john/password) then
# POST /set a=1; sj-*-anon and another session server: POST /set with the
# same two items (a=1, test=...), no login; *-bare-cookie: a cookie as long
# as the reference app's (its name and a value of base64url characters, none
# percent-encoded, JWT_COOKIE_LEN bytes in all); *-bare: none.
server_cookie() {
    local name=$1 port=$2 jar=$TMP/jar
    local post=(curl -sS --max-time 5 -o "$TMP/body" -w '%{http_code}' -b "$jar" -c "$jar")
    rm -f "$jar"
    case $name in
    *-bare) return 0 ;;
    *-bare-cookie)
        echo "sessionid=$(head -c "$((JWT_COOKIE_LEN - 10))" /dev/zero | tr '\0' A)"
        return 0
        ;;
    sj-*-hs256 | sj-*-es256)
        [[ $("${post[@]}" -d 'username=john&password=password' "http://127.0.0.1:$port/login") == 200 ]] ||
            die "$name: POST /login failed"
        [[ $("${post[@]}" -d 'a=1' "http://127.0.0.1:$port/set") == 200 ]] || die "$name: POST /set failed"
        ;;
    *)
        [[ $("${post[@]}" -d 'a=1&test=This+value+should+be+present' "http://127.0.0.1:$port/set") == 200 ]] ||
            die "$name: POST /set failed"
        ;;
    esac
    # Netscape cookie file: name and value are fields 6 and 7.
    local cookie
    cookie=$(awk -F '\t' 'NF >= 7 { c = c (c ? "; " : "") $6 "=" $7 } END { print c }' "$jar" 2>/dev/null)
    [[ -n $cookie ]] || die "$name: no cookie was issued"
    echo "$cookie"
}
