//! The reference app (`docs/reference-app.md`): the same routes, users and
//! configuration in every adapter, so one conformance suite drives them all.
//!
//!     cargo run -p session-jwt-rocket --example demo
//!
//! Configuration comes from the environment (`SESSION_JWT_KEY`, `PORT`, ...).
//! Rocket's own settings (workers, keep-alive, other limits, ...) may also
//! come from `Rocket.toml` and `ROCKET_*` variables, but the contract wins:
//! it listens on `127.0.0.1:$PORT`, limits forms to 64 KiB, keeps stdout for
//! its one `listening on` line (Rocket's own log is off; ours goes to stderr)
//! and stops on SIGINT/SIGTERM. This file is routes and Rocket wiring only:
//! the users, fields and store are `demo-support`'s, and every session, token
//! and cookie rule the library's.

use std::collections::HashMap;
use std::io::Cursor;
use std::process::ExitCode;

use demo_support::{Demo, LoginForm, Reply, User, Users};
use rocket::data::{self, Data, FromData};
use rocket::fairing::AdHoc;
use rocket::form::Form;
use rocket::http::{ContentType, Status};
use rocket::outcome::Outcome;
use rocket::response::content::{RawHtml, RawJson};
use rocket::response::{self, Responder};
use rocket::{Request, Response, State, get, post, routes};
use session_jwt_rocket::{LoginRequired, Session, SessionFairing, jwks_route};

/// A [`Reply`] as a Rocket response.
struct Answer(Reply);

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let Reply {
            status,
            body,
            location,
        } = self.0;
        let mut resp = Response::build()
            .status(Status::new(status))
            .header(ContentType::Plain)
            .sized_body(body.len(), Cursor::new(body))
            .finalize();
        if let Some(location) = location {
            resp.set_raw_header("Location", location);
        }
        Ok(resp)
    }
}

/// The fields of a urlencoded form, or `None` when the body is not one (no
/// body, JSON, text: the routes treat it as an empty form, never as Rocket's
/// 415). A form over the limit stays Rocket's 413.
struct Fields(Option<HashMap<String, String>>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.as_ref()?.get(name).map(String::as_str)
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Fields {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match Form::<HashMap<String, String>>::from_data(req, data).await {
            Outcome::Success(form) => Outcome::Success(Fields(Some(form.into_inner()))),
            Outcome::Error((Status::PayloadTooLarge, _)) => {
                Outcome::Error((Status::PayloadTooLarge, ()))
            }
            _ => Outcome::Success(Fields(None)),
        }
    }
}

#[get("/login?<next>")]
fn login_page(next: Option<&str>) -> RawHtml<String> {
    RawHtml(demo_support::login_page(next))
}

#[post("/login", data = "<form>")]
fn login(session: Session, users: &State<Users>, form: Fields) -> Answer {
    let form = form
        .0
        .map(|f| LoginForm::from_pairs(f.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    Answer(demo_support::login(&session, users, form.as_ref()))
}

#[post("/logout")]
fn logout(session: Session) -> Answer {
    Answer(demo_support::logout(&session))
}

#[post("/set", data = "<form>")]
fn set(session: Session, form: Fields) -> Answer {
    Answer(demo_support::set(&session, form.0.unwrap_or_default()))
}

#[get("/get")]
fn get_items(session: Session) -> RawJson<String> {
    RawJson(demo_support::get(&session))
}

#[get("/claims")]
fn claims(session: Session) -> RawJson<String> {
    RawJson(demo_support::claims(&session).to_string())
}

#[get("/me")]
fn me(user: LoginRequired<User>) -> RawJson<String> {
    RawJson(demo_support::me(&user).to_string())
}

#[post("/password", data = "<form>")]
fn change_password(
    user: LoginRequired<User>,
    session: Session,
    users: &State<Users>,
    form: Fields,
) -> Answer {
    Answer(demo_support::change_password(
        &session,
        users,
        &user,
        form.get("old"),
        form.get("new"),
    ))
}

async fn run() -> Result<(), String> {
    let Demo {
        engine,
        store,
        users,
        port,
    } = Demo::from_env()?;
    // Before accepting: a signal right after the `listening` line is handled.
    let shutdown = demo_support::shutdown_signal()?;

    // `Rocket.toml` and `ROCKET_*`, then the contract on top.
    let figment = rocket::Config::figment()
        .merge(("address", "127.0.0.1"))
        .merge(("port", port))
        .merge(("limits.form", demo_support::MAX_BODY))
        .merge(("limits.data-form", demo_support::MAX_BODY))
        .merge(("log_level", "off"))
        .merge(("cli_colors", false))
        .merge(("shutdown.ctrlc", false))
        .merge(("shutdown.signals", Vec::<String>::new()));

    let rocket = rocket::custom(figment)
        .mount(
            "/",
            routes![
                login_page,
                login,
                logout,
                set,
                get_items,
                claims,
                me,
                change_password
            ],
        )
        .mount("/", vec![jwks_route()])
        .manage(users)
        .attach(SessionFairing::with_shared_store(engine, store).with_login_url("/login"))
        .attach(AdHoc::on_liftoff("listening", |rocket| {
            Box::pin(async move {
                if let Err(e) = demo_support::listening(rocket.config().port) {
                    tracing::error!("{e}");
                    rocket.shutdown().notify();
                }
            })
        }))
        .ignite()
        .await
        .map_err(|e| format!("cannot start: {}", e.kind()))?;

    let handle = rocket.shutdown();
    tokio::spawn(async move {
        shutdown.await;
        handle.notify();
    });
    rocket.launch().await.map_err(|e| match e.kind() {
        rocket::error::ErrorKind::Bind(e) => {
            format!("PORT: cannot listen on 127.0.0.1:{port}: {e}")
        }
        kind => format!("server: {kind}"),
    })?;
    Ok(())
}

#[rocket::main]
async fn main() -> ExitCode {
    demo_support::init_tracing();
    demo_support::exit(run().await)
}
