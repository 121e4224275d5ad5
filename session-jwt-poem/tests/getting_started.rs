//! `docs/getting-started/poem.md`, proven: the guide shows
//! `examples/getting_started.rs` as it is (so `cargo test`, which builds the
//! example, compiles every line of the guide), its `cargo add` lines name
//! every crate and feature the code uses, and the app it builds logs in and
//! out.

use poem::http::StatusCode;
use poem::http::header::{LOCATION, SET_COOKIE};
use poem::test::{TestClient, TestResponse};

/// The guide's program, compiled once more here so the test can call `app()`.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/getting_started.rs"]
mod example;

const GUIDE_PATH: &str = "docs/getting-started/poem.md";
const GUIDE: &str = include_str!("../../docs/getting-started/poem.md");
const EXAMPLE: &str = include_str!("../examples/getting_started.rs");
const RUN: &str = "cargo run -p session-jwt-poem --example getting_started";

// ---------------------------------------------------------------- the page

/// The guide and the program it shows.
const THE_GUIDE: guide_check::Guide = guide_check::Guide {
    path: GUIDE_PATH,
    page: GUIDE,
    example: EXAMPLE,
    run: RUN,
    // Features the program needs beyond a crate's defaults.
    features: &[("tokio", "full"), ("serde", "derive")],
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

/// The `name=value` pair a browser sends back for the response's cookie.
fn cookie_of(resp: &TestResponse) -> String {
    let set_cookie = resp.0.headers()[SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The claims of a `sessionid=<token>` pair (read, not verified: the test
/// only looks at what the cookie carries).
fn claims(cookie: &str) -> serde_json::Value {
    let token = cookie
        .strip_prefix("sessionid=")
        .expect("the session cookie");
    let token = session_jwt_poem::core::insecure::insecure_decode(token).unwrap();
    serde_json::from_slice(&token.payload).unwrap()
}

#[tokio::test]
async fn the_guide_logs_in_and_out() {
    let client = TestClient::new(example::app().expect("the app builds"));
    let alice = [("username", "alice"), ("password", "wonderland")];

    // An anonymous visitor of the dashboard is sent to the login page.
    let resp = client.get("/dashboard").send().await;
    resp.assert_status(StatusCode::FOUND);
    resp.assert_header(LOCATION, "/login?next=/dashboard");
    resp.assert_header_is_not_exist(SET_COOKIE);

    let resp = client.get("/login?next=/dashboard").send().await;
    resp.assert_status_is_ok();
    let page = resp.0.into_body().into_string().await.unwrap();
    assert!(page.contains(r#"<form method="post">"#), "{page}");

    // A wrong password logs nobody in.
    let resp = client
        .post("/login?next=/dashboard")
        .form(&[("username", "alice"), ("password", "alice")])
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    resp.assert_header_is_not_exist(SET_COOKIE);

    // The right one: a session cookie, and back to `next`.
    let resp = client
        .post("/login?next=/dashboard")
        .form(&alice)
        .send()
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    resp.assert_header(LOCATION, "/dashboard");
    let set_cookie = resp.0.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = cookie_of(&resp);
    assert_eq!(
        claims(&cookie)["u"],
        "alice",
        "the token carries the username"
    );

    let resp = client
        .get("/dashboard")
        .header("Cookie", &cookie)
        .send()
        .await;
    resp.assert_status_is_ok();
    let page = resp.0.into_body().into_string().await.unwrap();
    assert!(page.contains("Hello, alice!"), "{page}");

    // `next` is followed only to a page of this site.
    let resp = client
        .post("/login?next=//evil.example/")
        .form(&alice)
        .send()
        .await;
    resp.assert_header(LOCATION, "/dashboard");

    // Logout deletes the session and removes the cookie...
    let resp = client
        .post("/logout")
        .header("Cookie", &cookie)
        .send()
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    resp.assert_header(LOCATION, "/login");
    let removal = resp.0.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        removal.starts_with("sessionid=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );

    // ...and the old cookie no longer opens the dashboard.
    let resp = client
        .get("/dashboard")
        .header("Cookie", &cookie)
        .send()
        .await;
    resp.assert_status(StatusCode::FOUND);
    resp.assert_header(LOCATION, "/login?next=/dashboard");
}
