//! `docs/getting-started/rocket.md`, proven: the guide shows
//! `examples/getting_started.rs` as it is (so `cargo test`, which builds the
//! example, compiles every line of the guide), its `cargo add` lines name
//! every crate and feature the code uses, and the app it builds logs in and
//! out.

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};

/// The guide's program, compiled once more here so the test can call `app()`.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/getting_started.rs"]
mod example;

const GUIDE_PATH: &str = "docs/getting-started/rocket.md";
const GUIDE: &str = include_str!("../../docs/getting-started/rocket.md");
const EXAMPLE: &str = include_str!("../examples/getting_started.rs");
const RUN: &str = "cargo run -p session-jwt-rocket --example getting_started";

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
    let program = program(EXAMPLE);
    let differ = (0..shown.len().max(program.len())).find(|&i| shown.get(i) != program.get(i));
    if let Some(i) = differ {
        panic!(
            "the rust blocks of {GUIDE_PATH}, in order, must be examples/getting_started.rs \
             after its `//!` comment (a reader who copies them has the whole program); \
             they differ at line {i} of the program: the guide has {:?}, the example {:?}",
            shown.get(i),
            program.get(i)
        );
    }
}

/// Features the program needs beyond a crate's defaults, which the guide's
/// `cargo add` lines must ask for.
const FEATURES: &[(&str, &str)] = &[("serde", "derive")];

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

/// The response's `Set-Cookie` header (one at most).
fn set_cookie(resp: &LocalResponse<'_>) -> Option<String> {
    let all: Vec<&str> = resp.headers().get("Set-Cookie").collect();
    assert!(all.len() <= 1, "several Set-Cookie headers: {all:?}");
    all.first().map(|c| (*c).to_owned())
}

/// The claims of a `sessionid=<token>` pair (read, not verified: the test
/// only looks at what the cookie carries).
fn claims(cookie: &str) -> serde_json::Value {
    let token = cookie
        .strip_prefix("sessionid=")
        .expect("the session cookie");
    let token = session_jwt_rocket::core::insecure::insecure_decode(token).unwrap();
    serde_json::from_slice(&token.payload).unwrap()
}

/// A form post, with the browser's cookie if any.
async fn post<'c>(
    client: &'c Client,
    uri: &'static str,
    form: &'static str,
    cookie: Option<&str>,
) -> LocalResponse<'c> {
    let mut req = client.post(uri).header(ContentType::Form).body(form);
    if let Some(cookie) = cookie {
        req = req.header(Header::new("Cookie", cookie.to_owned()));
    }
    req.dispatch().await
}

async fn get<'c>(client: &'c Client, uri: &'static str, cookie: Option<&str>) -> LocalResponse<'c> {
    let mut req = client.get(uri);
    if let Some(cookie) = cookie {
        req = req.header(Header::new("Cookie", cookie.to_owned()));
    }
    req.dispatch().await
}

#[rocket::async_test]
async fn the_guide_logs_in_and_out() {
    let client = Client::untracked(example::app().expect("the app builds"))
        .await
        .expect("the app launches");
    let alice = "username=alice&password=wonderland";

    // An anonymous visitor of the dashboard is sent to the login page.
    let resp = get(&client, "/dashboard", None).await;
    assert_eq!(resp.status(), Status::Found);
    assert_eq!(
        resp.headers().get_one("Location"),
        Some("/login?next=/dashboard")
    );
    assert_eq!(set_cookie(&resp), None);

    let resp = get(&client, "/login?next=/dashboard", None).await;
    assert_eq!(resp.status(), Status::Ok);
    let page = resp.into_string().await.unwrap();
    assert!(page.contains(r#"<form method="post">"#), "{page}");

    // A wrong password logs nobody in.
    let wrong = "username=alice&password=alice";
    let resp = post(&client, "/login?next=/dashboard", wrong, None).await;
    assert_eq!(resp.status(), Status::Unauthorized);
    assert_eq!(set_cookie(&resp), None);

    // The right one: a session cookie, and back to `next`.
    let resp = post(&client, "/login?next=/dashboard", alice, None).await;
    assert_eq!(resp.status(), Status::SeeOther);
    assert_eq!(resp.headers().get_one("Location"), Some("/dashboard"));
    let set = set_cookie(&resp).expect("a session cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    assert_eq!(
        claims(&cookie)["u"],
        "alice",
        "the token carries the username"
    );

    let resp = get(&client, "/dashboard", Some(&cookie)).await;
    assert_eq!(resp.status(), Status::Ok);
    let page = resp.into_string().await.unwrap();
    assert!(page.contains("Hello, alice!"), "{page}");

    // `next` is followed only to a page of this site.
    let resp = post(&client, "/login?next=//evil.example/", alice, None).await;
    assert_eq!(resp.headers().get_one("Location"), Some("/dashboard"));

    // Logout deletes the session and removes the cookie...
    let resp = post(&client, "/logout", "", Some(&cookie)).await;
    assert_eq!(resp.status(), Status::SeeOther);
    assert_eq!(resp.headers().get_one("Location"), Some("/login"));
    let removal = set_cookie(&resp).expect("a removal cookie");
    assert!(
        removal.starts_with("sessionid=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );

    // ...and the old cookie no longer opens the dashboard.
    let resp = get(&client, "/dashboard", Some(&cookie)).await;
    assert_eq!(resp.status(), Status::Found);
    assert_eq!(
        resp.headers().get_one("Location"),
        Some("/login?next=/dashboard")
    );
}
