//! Runs `examples/custom_server.rs` as a real process and drives the
//! login → set → get → logout cycle over real HTTP on loopback.
//!
//! `cargo test` builds the examples into `target/<profile>/examples/`; this
//! test finds the binary there, next to its own `deps/` directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use session_jwt_core::{Key, SessionJwt};
use time::OffsetDateTime;

const SECRET: &str = "custom-server test secret, 32+ bytes long";

/// The example process; killed when dropped, even when an assertion fails.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/custom_server-<hash> → target/<profile>/examples/
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable lives in target/<profile>/deps");
    let name = format!("custom_server{}", std::env::consts::EXE_SUFFIX);
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "the example binary {} is missing: run this test with `cargo test -p session-jwt-core` \
         (which builds the examples), or build it first with \
         `cargo build -p session-jwt-core --example custom_server`",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

fn start() -> Server {
    let port = free_port();
    let mut child = Command::new(example_binary())
        .env("PORT", port.to_string())
        .env("SESSION_JWT_KEY", SECRET)
        .env_remove("SESSION_COOKIE_NAME")
        .env_remove("SESSION_JWT_EXPIRES")
        .env_remove("SESSION_COOKIE_SECURE")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server { child, port };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the example printed its listening line within 30 s");
    assert_eq!(
        line.trim_end(),
        format!("listening on http://127.0.0.1:{port}")
    );
    server
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn set_cookie(&self) -> Option<&str> {
        let all: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(all.len() <= 1, "several Set-Cookie headers: {all:?}");
        all.first().copied()
    }

    /// The `name=value` pair a browser would send back.
    fn cookie_pair(&self) -> String {
        let set_cookie = self.set_cookie().expect("a Set-Cookie header");
        set_cookie.split(';').next().unwrap().to_string()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection; `cookies` become one
/// `Cookie` header each.
fn request(server: &Server, method: &str, path: &str, cookies: &[&str], form: &str) -> Reply {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for c in cookies {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if method == "POST" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", form.len()));
    }
    req.push_str("\r\n");
    req.push_str(form);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("a complete response");
    let raw = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("name: value");
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    let reply = Reply {
        status,
        headers,
        body: body.to_string(),
    };
    let length: usize = reply.header("content-length").unwrap().parse().unwrap();
    assert_eq!(length, reply.body.len(), "Content-Length");
    reply
}

/// The same configuration as the server's, to check its tokens.
fn engine() -> SessionJwt {
    SessionJwt::builder()
        .with_key(Key::hmac(SECRET).unwrap())
        .unwrap()
        .with_fields([
            ("id", "id", "user_id"),
            ("username", "u", "username"),
            ("email", "e", "email"),
        ])
        .build()
        .unwrap()
}

fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[test]
fn login_set_get_logout_over_real_http() {
    let server = start();

    // Anonymous: an empty session, no cookie.
    let r = request(&server, "GET", "/get", &[], "");
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    assert_eq!(r.set_cookie(), None);

    // A wrong password: 401, nobody logged in, no cookie.
    let r = request(
        &server,
        "POST",
        "/login",
        &[],
        "username=john&password=wrong",
    );
    assert_eq!((r.status, r.body.as_str()), (401, "Failed"));
    assert_eq!(r.set_cookie(), None);

    // Login: the cookie is a JWT with Django's attributes and the user's fields.
    let r = request(
        &server,
        "POST",
        "/login",
        &[],
        "username=john&password=password",
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let set_cookie = r.set_cookie().expect("login sets the cookie");
    assert!(set_cookie.starts_with("sessionid=ey"), "{set_cookie}");
    let attrs = attributes(set_cookie);
    for expected in ["path=/", "httponly", "samesite=lax", "max-age=1209600"] {
        assert!(
            attrs.iter().any(|a| a == expected),
            "{expected} in {attrs:?}"
        );
    }
    assert!(!attrs.iter().any(|a| a == "secure"), "{attrs:?}");
    assert_eq!(r.header("vary"), Some("Cookie"));
    let login_cookie = r.cookie_pair();
    let token = login_cookie.strip_prefix("sessionid=").unwrap();
    let claims = engine()
        .codec()
        .verify(token, OffsetDateTime::now_utc())
        .expect("the server's token verifies with the shared secret");
    assert_eq!(claims.get("u"), Some(&"john".into()));
    assert_eq!(claims.get("username"), Some(&"john".into()));
    assert_eq!(claims.get("user_id"), Some(&1.into()));
    assert_eq!(claims.get("e"), Some(&"john@domain.com".into()));
    assert!(claims.get("exp").is_some() && claims.get("iat").is_some());

    // Set two items; the session changed, so the token is re-issued.
    let r = request(
        &server,
        "POST",
        "/set",
        &[&login_cookie],
        "a=12345&b=abc+de%21",
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let cookie = r.cookie_pair();
    assert!(cookie.starts_with("sessionid=ey"), "{cookie}");

    // Get them back; another cookie in its own Cookie header is ignored.
    let r = request(
        &server,
        "GET",
        "/get",
        &["csrftoken=abc; theme=dark", &cookie],
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"a": "12345", "b": "abc de!", "test": "This value should be present"})
    );
    assert_eq!(r.set_cookie(), None, "nothing changed: no cookie is sent");
    assert_eq!(r.header("content-type"), Some("application/json"));

    // The login-required route knows the user.
    let r = request(&server, "GET", "/me", &[&cookie], "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"id": 1, "username": "john", "email": "john@domain.com"})
    );

    // Logout: 200, the cookie is removed.
    let r = request(&server, "POST", "/logout", &[&cookie], "");
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let removal = r.set_cookie().expect("logout removes the cookie");
    assert!(removal.starts_with("sessionid=;"), "{removal}");
    assert!(attributes(removal).iter().any(|a| a == "max-age=0"));

    // The old token still has a valid signature but its session is gone:
    // the visitor is anonymous and the dead cookie is removed.
    let r = request(&server, "GET", "/get", &[&cookie], "");
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    assert!(r.set_cookie().unwrap().starts_with("sessionid=;"));
    let r = request(&server, "GET", "/me", &[&cookie], "");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/login?next=/me"));
}

#[test]
fn bad_cookies_are_anonymous_and_next_is_only_followed_locally() {
    let server = start();

    for bad in [
        "sessionid=not-a-jwt",
        "sessionid=eyJhbGciOiJub25lIn0.eyJzayI6ImFiY2RlZmdoaWprbG1uIn0.",
        "sessionid=",
    ] {
        let r = request(&server, "GET", "/get", &[bad], "");
        assert_eq!((r.status, r.body.as_str()), (200, "{}"), "{bad}");
    }

    let r = request(
        &server,
        "POST",
        "/login",
        &[],
        "username=john&password=password&next=%2Fme",
    );
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/me"));
    let cookie = r.cookie_pair();

    let r = request(
        &server,
        "POST",
        "/login",
        &[&cookie],
        "username=john&password=password&next=%2F%2Fevil.example",
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let second = r.cookie_pair();
    assert_ne!(second, cookie, "login cycles the session key");

    // The key before the second login is no longer valid.
    let r = request(&server, "GET", "/get", &[&cookie], "");
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));

    // Unknown routes are 404s.
    let r = request(&server, "GET", "/nowhere", &[&second], "");
    assert_eq!(r.status, 404);
}
