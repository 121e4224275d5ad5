//! axum with no session layer: `GET /get` answers a fixed JSON body.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use session_jwt_load::{BARE_BODY, listening, port, runtime};

async fn get_items() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], BARE_BODY)
}

fn main() -> std::io::Result<()> {
    runtime().block_on(async {
        let app = Router::new().route("/get", get(get_items));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port())).await?;
        listening(listener.local_addr()?.port());
        axum::serve(listener, app).await
    })
}
