//! `docs/getting-started/custom.md`, proven: the guide shows
//! `examples/getting_started.rs` as it is down to `main` (so `cargo test`,
//! which builds the example, compiles every line of the guide), its `cargo
//! add` lines name every crate and feature the code uses, and the app it
//! builds logs in and out over real HTTP.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The guide's program, compiled once more here so the test can call `app()`.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/getting_started.rs"]
mod example;

const GUIDE_PATH: &str = "docs/getting-started/custom.md";
const GUIDE: &str = include_str!("../../docs/getting-started/custom.md");
const EXAMPLE: &str = include_str!("../examples/getting_started.rs");
const RUN: &str = "cargo run -p session-jwt-core --example getting_started";

// ---------------------------------------------------------------- the page

/// The guide and the program it shows.
const THE_GUIDE: guide_check::Guide = guide_check::Guide {
    path: GUIDE_PATH,
    page: GUIDE,
    example: EXAMPLE,
    run: RUN,
    // Features the program needs beyond a crate's defaults.
    features: &[("tokio", "full"), ("serde", "derive")],
    shown_until: Some("------------ the stand-in"),
};

#[test]
fn every_rust_block_of_the_guide_is_in_the_example() {
    THE_GUIDE.assert_every_block_is_in_the_example();
}

#[test]
fn the_guide_shows_the_whole_program() {
    THE_GUIDE.assert_the_page_shows_the_whole_program();
}

#[test]
fn the_cargo_add_lines_name_every_crate_and_feature_the_program_uses() {
    THE_GUIDE.assert_cargo_add_covers_the_program();
}

// ---------------------------------------------------------------- the app

/// An HTTP response as read off the socket.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let value = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "several {name} headers");
        value
    }
}

/// The claims of a `sessionid=<token>` pair (read, not verified: the test
/// only looks at what the cookie carries).
fn claims(cookie: &str) -> serde_json::Value {
    let token = cookie
        .strip_prefix("sessionid=")
        .expect("the session cookie");
    let token = session_jwt_core::insecure::insecure_decode(token).unwrap();
    serde_json::from_slice(&token.payload).unwrap()
}

/// One request over a new connection, as curl sends it.
async fn request(port: u16, method: &str, target: &str, form: &str, cookie: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if let Some(cookie) = cookie {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if method == "POST" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", form.len()));
    }
    req.push_str("\r\n");
    req.push_str(form);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()["HTTP/1.1 ".len()..][..3]
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("name: value");
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let reply = Reply {
        status,
        headers,
        body: body.to_owned(),
    };
    let length: usize = reply.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(length, reply.body.len(), "Content-Length");
    reply
}

#[tokio::test]
async fn the_guide_logs_in_and_out() {
    let app = example::app().expect("the app builds");
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(example::serve(listener, Arc::new(app)));
    let alice = "username=alice&password=wonderland";

    // An anonymous visitor of the dashboard is sent to the login page.
    let resp = request(port, "GET", "/dashboard", "", None).await;
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("Location"), Some("/login?next=/dashboard"));
    assert_eq!(resp.header("Set-Cookie"), None);

    let resp = request(port, "GET", "/login?next=/dashboard", "", None).await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.body.contains(r#"<form method="post">"#),
        "{}",
        resp.body
    );

    // A wrong password logs nobody in.
    let wrong = "username=alice&password=alice";
    let resp = request(port, "POST", "/login?next=/dashboard", wrong, None).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("Set-Cookie"), None);

    // The right one, percent-encoded as a browser may send it: a session
    // cookie, and back to `next`.
    let encoded = "username=alice&password=wonder%6Cand";
    let resp = request(port, "POST", "/login?next=%2Fdashboard", encoded, None).await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("Location"), Some("/dashboard"));
    let set = resp.header("Set-Cookie").expect("a session cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    assert_eq!(
        claims(&cookie)["u"],
        "alice",
        "the token carries the username"
    );

    let resp = request(port, "GET", "/dashboard", "", Some(&cookie)).await;
    assert_eq!(resp.status, 200);
    assert!(resp.body.contains("Hello, alice!"), "{}", resp.body);

    // `next` is followed only to a page of this site.
    let resp = request(port, "POST", "/login?next=//evil.example/", alice, None).await;
    assert_eq!(resp.header("Location"), Some("/dashboard"));

    // Logout deletes the session and removes the cookie...
    let resp = request(port, "POST", "/logout", "", Some(&cookie)).await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("Location"), Some("/login"));
    let removal = resp.header("Set-Cookie").expect("a removal cookie");
    assert!(
        removal.starts_with("sessionid=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );

    // ...and the old cookie no longer opens the dashboard.
    let resp = request(port, "GET", "/dashboard", "", Some(&cookie)).await;
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("Location"), Some("/login?next=/dashboard"));

    server.abort();
}
