//! Poem with no session layer: `GET /get` answers a fixed JSON body.

use poem::http::HeaderValue;
use poem::http::header::CONTENT_TYPE;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Response, Route, Server, get, handler};
use session_jwt_load::{BARE_BODY, listening, port, runtime};

#[handler]
fn get_items() -> Response {
    Response::builder()
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(BARE_BODY)
}

fn main() -> std::io::Result<()> {
    runtime().block_on(async {
        let app = Route::new().at("/get", get(get_items));
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
