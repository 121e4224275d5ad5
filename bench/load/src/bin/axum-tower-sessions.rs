//! axum with tower-sessions and its `MemoryStore`.
//!
//! `POST /set` stores each form field in the session (the cookie is issued
//! then); `GET /get` reads the session's two items, `a` and `test`, and
//! answers them as a JSON object: the bytes the reference app's `/get` and
//! the bare servers answer. Before 368e744 (2026-12-03) it read `a`
//! alone.

use std::collections::HashMap;

use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};
use session_jwt_load::{listening, port, runtime};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

async fn set(session: Session, Form(fields): Form<HashMap<String, String>>) -> &'static str {
    for (k, v) in fields {
        session.insert(&k, v).await.expect("memory store");
    }
    "OK"
}

async fn get_items(session: Session) -> Json<Value> {
    let a: Option<String> = session.get("a").await.expect("memory store");
    let test: Option<String> = session.get("test").await.expect("memory store");
    Json(json!({ "a": a, "test": test }))
}

fn main() -> std::io::Result<()> {
    runtime().block_on(async {
        // As the reference app's cookie: over plain HTTP on loopback.
        let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
        let app = Router::new()
            .route("/set", post(set))
            .route("/get", get(get_items))
            .layer(sessions);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port())).await?;
        listening(listener.local_addr()?.port());
        axum::serve(listener, app).await
    })
}
