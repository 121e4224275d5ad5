//! Poem's own server-side sessions: `ServerSession` with `MemoryStorage`.
//!
//! `POST /set` stores each form field in the session (the cookie is issued
//! then); `GET /get` reads the session's two items, `a` and `test`, and
//! answers them as a JSON object: the bytes the reference app's `/get` and
//! the bare servers answer, as the in-process benchmark's `ServerSession`
//! route does (`session-jwt-poem/benches/request.rs`). Before 368e744
//! (2026-12-03) it read `a` alone and answered `{"a":"1"}`, 38 bytes shorter.
//!
//! `POEM_SESSION_COOKIE` chooses how the cookie carries the session id:
//! `plain` (the default, Poem's `CookieConfig::new()`: the id as it is) or
//! `signed` (`CookieConfig::signed`: the id plus an HMAC-SHA256, which is
//! what session-jwt's HS256 cookie costs too).

use std::collections::HashMap;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::session::{CookieConfig, MemoryStorage, ServerSession, Session};
use poem::web::cookie::CookieKey;
use poem::web::{Form, Json};
use poem::{EndpointExt, Route, Server, get, handler, post};
use serde_json::{Value, json};
use session_jwt_load::{listening, port, runtime};

#[handler]
fn set(session: &Session, Form(fields): Form<HashMap<String, String>>) -> &'static str {
    for (k, v) in fields {
        session.set(&k, v);
    }
    "OK"
}

#[handler]
fn get_items(session: &Session) -> Json<Value> {
    Json(json!({
        "a": session.get::<String>("a"),
        "test": session.get::<String>("test"),
    }))
}

fn main() -> std::io::Result<()> {
    let config = match std::env::var("POEM_SESSION_COOKIE").as_deref() {
        Ok("plain") | Err(_) => CookieConfig::new(),
        Ok("signed") => CookieConfig::signed(CookieKey::generate()),
        Ok(other) => panic!("POEM_SESSION_COOKIE: {other:?} is neither plain nor signed"),
    }
    // As the reference app's cookie: over plain HTTP on loopback.
    .secure(false);
    runtime().block_on(async {
        let app = Route::new()
            .at("/set", post(set))
            .at("/get", get(get_items))
            .with(ServerSession::new(config, MemoryStorage::new()));
        let acceptor = TcpListener::bind(("127.0.0.1", port()))
            .into_acceptor()
            .await?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(std::net::SocketAddr::port))
            .unwrap_or_default();
        listening(port);
        Server::new_with_acceptor(acceptor).run(app).await
    })
}
