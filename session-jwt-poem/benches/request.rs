//! What the session layer adds to one Poem request, without the network:
//! `GET /get` with a returning visitor's cookie, answered by
//!
//! - `bare`: a route answering the same JSON bytes, no session layer;
//! - `session-jwt`: the reference app's `/get` (`SessionMiddleware`, memory
//!   store, HS256, the demo's users and fields), reading the session's
//!   items;
//! - `server-session`: Poem's own `ServerSession` (`MemoryStorage`, plain
//!   cookie), reading the same two items.
//!
//! `cargo bench -p session-jwt-poem --bench request`. The end-to-end load
//! benchmark (`bench/load/run.sh`) measures the same route over loopback.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use poem::http::HeaderValue;
use poem::http::header::{CONTENT_TYPE, COOKIE};
use poem::web::Json;
use poem::{Endpoint, EndpointExt, Request, Response, Route, get, handler, post};
use serde_json::Value;
use session_jwt_core::{Key, MemoryStore, SessionJwt};
use session_jwt_poem::{Session, SessionMiddleware};

const BODY: &str = r#"{"a":"1","test":"This value should be present"}"#;

#[handler]
fn bare_get() -> Response {
    Response::builder()
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(BODY)
}

#[handler]
fn get_items(session: Session) -> Response {
    Response::builder()
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )
        .body(demo_support::get(&session))
}

#[handler]
fn server_session_get(session: &poem::session::Session) -> Json<Value> {
    Json(serde_json::json!({
        "a": session.get::<String>("a"),
        "test": session.get::<String>("test"),
    }))
}

#[handler]
fn server_session_set(session: &poem::session::Session) -> &'static str {
    session.set("a", "1");
    session.set("test", "This value should be present");
    "ok"
}

#[handler]
async fn login(
    session: Session,
    poem::web::Data(users): poem::web::Data<&demo_support::Users>,
) -> Response {
    let form =
        demo_support::LoginForm::from_pairs([("username", "john"), ("password", "password")]);
    let _ = demo_support::login_async(&session, users, Some(&form)).await;
    session.insert("a", "1").expect("insert");
    Response::builder().body("ok")
}

/// The `name=value` of the cookie that a POST to `path` sets.
async fn post_for_cookie(app: &impl Endpoint, path: &str) -> String {
    let request = Request::builder()
        .method(poem::http::Method::POST)
        .uri_str(path)
        .finish();
    let resp = app.get_response(request).await;
    let set_cookie = resp
        .headers()
        .get("set-cookie")
        .expect("a cookie")
        .to_str()
        .expect("text");
    set_cookie.split(';').next().expect("name=value").to_owned()
}

fn bench(c: &mut Criterion) {
    if std::env::var_os("BENCH_TRACING").is_some() {
        demo_support::init_tracing();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (app, cookie) = rt.block_on(async {
        // The reference app's configuration (`Demo::from_env` on the
        // embedded defaults): its fields, claims provider and users.
        let engine = SessionJwt::builder()
            .with_key(Key::hmac("session-jwt request benchmark HS256 secret").expect("key"))
            .expect("key")
            .with_fields(demo_support::FIELDS)
            .with_claims_provider(demo_support::extra_claims)
            .build()
            .expect("configuration");
        let users = demo_support::Users::demo(engine.auth_secret().expect("a signing key"));
        let engine = engine.with_user_loader(users.clone());
        let store = MemoryStore::new();
        let app = Route::new()
            .at("/login", post(login))
            .at("/get", get(get_items))
            .with(SessionMiddleware::new(engine, store))
            .data(users);
        let cookie = post_for_cookie(&app, "/login").await;
        (app, cookie)
    });
    let bare = Route::new().at("/get", get(bare_get));
    let request = |cookie: &str| {
        Request::builder()
            .uri_str("/get")
            .header(COOKIE, cookie)
            .header("host", "127.0.0.1")
            .finish()
    };
    let full_cookie = format!("csrftoken=abc; {cookie}; theme=dark");
    let body = rt.block_on(async {
        app.call(request(&full_cookie))
            .await
            .expect("get")
            .into_body()
            .into_string()
            .await
            .expect("body")
    });
    assert!(body.contains(r#""a":"1""#), "{body}");

    let (peer, peer_cookie) = rt.block_on(async {
        let peer = Route::new()
            .at("/set", post(server_session_set))
            .at("/get", get(server_session_get))
            .with(poem::session::ServerSession::new(
                poem::session::CookieConfig::new().secure(false),
                poem::session::MemoryStorage::new(),
            ));
        let cookie = post_for_cookie(&peer, "/set").await;
        (peer, format!("csrftoken=abc; {cookie}; theme=dark"))
    });

    let mut group = c.benchmark_group("poem/get");
    group.bench_function("bare", |b| {
        b.iter(|| {
            rt.block_on(async { black_box(bare.call(request(&full_cookie)).await.expect("get")) })
        });
    });
    group.bench_function("session-jwt", |b| {
        b.iter(|| {
            rt.block_on(async { black_box(app.call(request(&full_cookie)).await.expect("get")) })
        });
    });
    group.bench_function("server-session", |b| {
        b.iter(|| {
            rt.block_on(async { black_box(peer.call(request(&peer_cookie)).await.expect("get")) })
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
