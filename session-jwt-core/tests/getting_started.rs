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

/// The fenced blocks of `lang` in a Markdown page.
fn blocks(page: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```") && fence[3..].trim() == lang => {
                current = Some(String::new());
            }
            Some(block) if fence.starts_with("```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Lines as compared: trimmed, blank ones left out.
fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The example without its leading `//!` comment (which is about this
/// repository, not the reader's program).
fn program(example: &str) -> Vec<&str> {
    lines(example)
        .into_iter()
        .skip_while(|l| l.starts_with("//!"))
        .collect()
}

/// What the guide shows: the program down to `main`, without the stand-in
/// server below it.
fn shown_program(example: &str) -> Vec<&str> {
    program(example)
        .into_iter()
        .take_while(|l| !l.contains("------------ the stand-in"))
        .collect()
}

#[test]
fn every_rust_block_of_the_guide_is_in_the_example() {
    let example = lines(EXAMPLE);
    let rust = blocks(GUIDE, "rust");
    assert!(!rust.is_empty(), "{GUIDE_PATH} has no rust block");
    for block in &rust {
        let block = lines(block);
        assert!(
            example.windows(block.len()).any(|w| w == block.as_slice()),
            "this rust block of {GUIDE_PATH} is not in examples/getting_started.rs \
             (the guide shows the example as it is):\n{}",
            block.join("\n")
        );
    }
}

#[test]
fn the_guide_shows_the_whole_program() {
    let rust = blocks(GUIDE, "rust").concat();
    let shown = lines(&rust);
    let program = shown_program(EXAMPLE);
    let differ = (0..shown.len().max(program.len())).find(|&i| shown.get(i) != program.get(i));
    if let Some(i) = differ {
        panic!(
            "the rust blocks of {GUIDE_PATH}, in order, must be examples/getting_started.rs \
             from after its `//!` comment down to the stand-in server (a reader who copies \
             them has the whole program but for the server); they differ at line {i} of \
             the program: the guide has {:?}, the example {:?}",
            shown.get(i),
            program.get(i)
        );
    }
}

/// Features the program needs beyond a crate's defaults, which the guide's
/// `cargo add` lines must ask for.
const FEATURES: &[(&str, &str)] = &[("tokio", "full"), ("serde", "derive")];

/// The guide's `cargo add` lines: the crates each names, and its features.
fn cargo_add_lines(page: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let shell = blocks(page, "sh").concat();
    let mut out = Vec::new();
    for line in shell.lines() {
        let Some(args) = line.trim().strip_prefix("cargo add ") else {
            continue;
        };
        let mut words = args
            .split('#')
            .next()
            .unwrap_or_default()
            .split_whitespace();
        let (mut crates, mut features) = (Vec::new(), Vec::new());
        while let Some(word) = words.next() {
            match word {
                "--features" | "-F" => {
                    let list = words.next().unwrap_or_default();
                    features.extend(list.split(',').map(str::to_owned));
                }
                w if w.starts_with('-') => {}
                w => crates.push(w.split('@').next().unwrap_or_default().to_owned()),
            }
        }
        out.push((crates, features));
    }
    out
}

#[test]
fn the_cargo_add_lines_name_every_crate_and_feature_the_program_uses() {
    let added = cargo_add_lines(GUIDE);
    for krate in crates_used(EXAMPLE) {
        assert!(
            added.iter().any(|(crates, _)| crates.contains(&krate)),
            "{GUIDE_PATH}: no `cargo add` line names `{krate}`, which the program uses \
             (cargo add lines: {added:?})"
        );
    }
    for (krate, feature) in FEATURES {
        let with_feature = |(crates, features): &(Vec<String>, Vec<String>)| {
            crates.iter().any(|c| c == krate)
                && features
                    .iter()
                    .any(|f| f == feature || *f == format!("{krate}/{feature}"))
        };
        assert!(
            added.iter().any(with_feature),
            "{GUIDE_PATH}: no `cargo add {krate}` line asks for feature `{feature}`, \
             which the program needs (cargo add lines: {added:?})"
        );
    }
    assert!(GUIDE.contains(RUN), "{GUIDE_PATH} names `{RUN}`");
}

/// The crates named by the program's `use` lines and attributes, as
/// Cargo names them.
fn crates_used(example: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in program(example) {
        let path = line
            .strip_prefix("use ")
            .or_else(|| line.strip_prefix("#[").filter(|a| a.contains("::")));
        let Some(root) = path.and_then(|p| p.split("::").next()) else {
            continue;
        };
        if ["std", "core", "alloc", "crate", "self", "super"].contains(&root) {
            continue;
        }
        let krate = root.replace('_', "-");
        if !out.contains(&krate) {
            out.push(krate);
        }
    }
    out
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
