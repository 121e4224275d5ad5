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

/// The guide and the program it shows.
const THE_GUIDE: guide_check::Guide = guide_check::Guide {
    path: GUIDE_PATH,
    page: GUIDE,
    example: EXAMPLE,
    run: RUN,
    // Features the program needs beyond a crate's defaults.
    features: &[("serde", "derive")],
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
