//! `docs/getting-started/warp.md`, proven: the guide shows
//! `examples/getting_started.rs` as it is (so `cargo test`, which builds the
//! example, compiles every line of the guide), its `cargo add` lines name
//! every crate and feature the code uses, and the app it builds logs in and
//! out.

use warp::http::StatusCode;
use warp::http::header::{LOCATION, SET_COOKIE};
use warp::http::response::Response;
use warp::hyper::body::Bytes;

/// The guide's program, compiled once more here so the test can call `app()`.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/getting_started.rs"]
mod example;

const GUIDE_PATH: &str = "docs/getting-started/warp.md";
const GUIDE: &str = include_str!("../../docs/getting-started/warp.md");
const EXAMPLE: &str = include_str!("../examples/getting_started.rs");
const RUN: &str = "cargo run -p session-jwt-warp --example getting_started";

// ---------------------------------------------------------------- the page

/// The guide and the program it shows.
const THE_GUIDE: guide_check::Guide = guide_check::Guide {
    path: GUIDE_PATH,
    page: GUIDE,
    example: EXAMPLE,
    run: RUN,
    // Features the program needs beyond a crate's defaults.
    features: &[("warp", "server"), ("tokio", "full"), ("serde", "derive")],
    shown_until: None,
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

/// The response's `Set-Cookie` header (one at most).
fn set_cookie(resp: &Response<Bytes>) -> Option<String> {
    let all: Vec<&str> = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(all.len() <= 1, "several Set-Cookie headers: {all:?}");
    all.first().map(|c| (*c).to_owned())
}

fn location(resp: &Response<Bytes>) -> Option<&str> {
    resp.headers().get(LOCATION).map(|l| l.to_str().unwrap())
}

fn body(resp: &Response<Bytes>) -> &str {
    std::str::from_utf8(resp.body()).unwrap()
}

/// The claims of a `sessionid=<token>` pair (read, not verified: the test
/// only looks at what the cookie carries).
fn claims(cookie: &str) -> serde_json::Value {
    let token = cookie
        .strip_prefix("sessionid=")
        .expect("the session cookie");
    let token = session_jwt_warp::core::insecure::insecure_decode(token).unwrap();
    serde_json::from_slice(&token.payload).unwrap()
}

/// A request as a browser sends it: a form for a POST, the cookie if any.
fn request(
    method: &str,
    path: &str,
    form: &str,
    cookie: Option<&str>,
) -> warp::test::RequestBuilder {
    let mut req = warp::test::request().method(method).path(path);
    if method == "POST" {
        req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
    }
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req
}

#[tokio::test]
async fn the_guide_logs_in_and_out() {
    let app = example::app().expect("the app builds");
    let alice = "username=alice&password=wonderland";

    // An anonymous visitor of the dashboard is sent to the login page.
    let resp = request("GET", "/dashboard", "", None).reply(&app).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), Some("/login?next=/dashboard"));
    assert_eq!(set_cookie(&resp), None);

    let resp = request("GET", "/login?next=/dashboard", "", None)
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        body(&resp).contains(r#"<form method="post">"#),
        "{}",
        body(&resp)
    );

    // A wrong password logs nobody in.
    let wrong = "username=alice&password=alice";
    let resp = request("POST", "/login?next=/dashboard", wrong, None)
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(set_cookie(&resp), None);

    // The right one: a session cookie, and back to `next`.
    let resp = request("POST", "/login?next=/dashboard", alice, None)
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some("/dashboard"));
    let set = set_cookie(&resp).expect("a session cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    assert_eq!(
        claims(&cookie)["u"],
        "alice",
        "the token carries the username"
    );

    let resp = request("GET", "/dashboard", "", Some(&cookie))
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(body(&resp).contains("Hello, alice!"), "{}", body(&resp));

    // `next` is followed only to a page of this site.
    let resp = request("POST", "/login?next=//evil.example/", alice, None)
        .reply(&app)
        .await;
    assert_eq!(location(&resp), Some("/dashboard"));

    // Logout deletes the session and removes the cookie...
    let resp = request("POST", "/logout", "", Some(&cookie))
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some("/login"));
    let removal = set_cookie(&resp).expect("a removal cookie");
    assert!(
        removal.starts_with("sessionid=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );

    // ...and the old cookie no longer opens the dashboard.
    let resp = request("GET", "/dashboard", "", Some(&cookie))
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), Some("/login?next=/dashboard"));
}
