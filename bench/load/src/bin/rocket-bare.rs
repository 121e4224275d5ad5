//! Rocket with no session layer: `GET /get` answers a fixed JSON body.
//!
//! Configured as the reference app is (log off, `127.0.0.1`, `PORT`), with
//! `workers = 1`: the runtime is built here with one worker, as
//! `#[rocket::main]` does from `ROCKET_WORKERS` for the reference app (which
//! `run.sh` sets to 1).

use rocket::fairing::AdHoc;
use rocket::response::content::RawJson;
use rocket::{get, routes};
use session_jwt_load::{BARE_BODY, listening, port};

#[get("/get")]
fn get_items() -> RawJson<&'static str> {
    RawJson(BARE_BODY)
}

fn main() {
    let workers = std::env::var("ROCKET_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_usize);
    let figment = rocket::Config::figment()
        .merge(("address", "127.0.0.1"))
        .merge(("port", port()))
        .merge(("workers", workers))
        .merge(("log_level", "off"))
        .merge(("cli_colors", false));
    let rt = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("rocket-worker-thread")
        .enable_all()
        .build()
        .expect("cannot build the Tokio runtime");
    rt.block_on(async {
        let _ = rocket::custom(figment)
            .mount("/", routes![get_items])
            .attach(AdHoc::on_liftoff("listening", |rocket| {
                Box::pin(async move { listening(rocket.config().port) })
            }))
            .launch()
            .await
            .expect("rocket");
    });
}
