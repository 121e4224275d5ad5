//! What the baseline servers of the load benchmark share: the port, the
//! number of worker threads, the runtime, the fixed body of the bare `/get`,
//! and the one `listening on` line the reference apps print.
//!
//! Every server here is a stand-in for one side of a ratio printed by
//! `run.sh`, so each one does as little as its framework allows beyond the
//! route under test.

use std::io::Write;

/// The body of a bare `GET /get`: what the reference app answers for the
/// benchmark's session (the item `a` set by `/set` and the item `test` set
/// at login), so that the bare and the session servers send the same bytes.
pub const BARE_BODY: &str = r#"{"a":"1","test":"This value should be present"}"#;

/// `PORT` from the environment; `0` (the default) lets the system choose,
/// and the chosen port is printed by [`listening`].
///
/// # Panics
///
/// When `PORT` is set but is not a port number.
#[must_use]
pub fn port() -> u16 {
    match std::env::var("PORT") {
        Ok(v) => v.parse().expect("PORT: not a port number"),
        Err(_) => 0,
    }
}

/// The number of runtime worker threads: `TOKIO_WORKER_THREADS` (the
/// variable `#[tokio::main]` reads, so the reference apps and these servers
/// take the same one), else 1.
///
/// # Panics
///
/// When `TOKIO_WORKER_THREADS` is set but is not a positive number.
#[must_use]
pub fn workers() -> usize {
    match std::env::var("TOKIO_WORKER_THREADS") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .expect("TOKIO_WORKER_THREADS: not a positive number"),
        Err(_) => 1,
    }
}

/// A multi-threaded Tokio runtime with [`workers`] workers: the flavour
/// `#[tokio::main]` builds for the reference apps, so that the runtime is
/// not a difference between the two sides of a ratio.
///
/// # Panics
///
/// When the runtime cannot be built.
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("cannot build the Tokio runtime")
}

/// Prints `listening on http://127.0.0.1:PORT` on stdout and flushes it, as
/// the reference apps do once they accept connections.
///
/// # Panics
///
/// When stdout cannot be written.
pub fn listening(port: u16) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://127.0.0.1:{port}").expect("stdout");
    out.flush().expect("stdout");
}
