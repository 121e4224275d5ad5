//! Warp with no session layer: `GET /get` answers a fixed JSON body.

use session_jwt_load::{BARE_BODY, listening, port, runtime};
use warp::Filter;
use warp::http::header::CONTENT_TYPE;

fn main() -> std::io::Result<()> {
    runtime().block_on(async {
        let route = warp::get()
            .and(warp::path("get"))
            .and(warp::path::end())
            .map(|| warp::reply::with_header(BARE_BODY, CONTENT_TYPE, "application/json"));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port())).await?;
        listening(listener.local_addr()?.port());
        // Shut down gracefully on SIGINT/SIGTERM, as the reference app does:
        // warp then watches every connection, which costs each request.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        warp::serve(route)
            .incoming(listener)
            .graceful(async move {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            })
            .run()
            .await;
        Ok(())
    })
}
