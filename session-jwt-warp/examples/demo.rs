//! The reference app (`docs/reference-app.md`): the same routes, users and
//! configuration in every adapter, so one conformance suite drives them all.
//!
//!     cargo run -p session-jwt-warp --example demo
//!
//! Configuration comes from the environment (`SESSION_JWT_KEY`, `PORT`, ...).
//! This file is routes and Warp wiring only: the users, fields and store are
//! `demo-support`'s, and every session, token and cookie rule the library's.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use demo_support::{Demo, LoginForm, Reply, User, Users};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use session_jwt_warp::{Session, Sessions, jwks};
use warp::http::HeaderValue;
use warp::http::StatusCode;
use warp::http::header::{CONTENT_TYPE, LOCATION};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply as _};

/// A [`Reply`] as a warp response.
fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = warp::reply::with_status(reply.body, status).into_response();
    if let Some(location) = reply.location.and_then(|l| l.parse().ok()) {
        resp.headers_mut().insert(LOCATION, location);
    }
    resp
}

/// The request's form, or `None` when the body is not a form (no body,
/// another content type): routes answer that themselves, as a failed login,
/// an empty `/set` or a refused password change. Bodies over `MAX_BODY` are
/// refused with 413.
fn form<T: DeserializeOwned + Send + 'static>()
-> impl Filter<Extract = (Option<T>,), Error = Rejection> + Clone {
    warp::body::content_length_limit(demo_support::MAX_BODY).and(
        warp::body::form()
            .map(Some)
            .or(warp::any().map(|| None))
            .unify(),
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    old: Option<String>,
    new: Option<String>,
}

fn routes(
    sessions: &Sessions,
    users: Users,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    let users = warp::any().map(move || users.clone());
    let session = sessions.session();

    let login_page = warp::path!("login")
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .map(|q: HashMap<String, String>| {
            warp::reply::html(demo_support::login_page(q.get("next").map(String::as_str)))
                .into_response()
        });
    let login = warp::path!("login")
        .and(warp::post())
        .and(session.clone())
        .and(users.clone())
        .and(form::<Vec<(String, String)>>())
        .map(
            |session: Session, users: Users, pairs: Option<Vec<(String, String)>>| {
                let form = pairs.map(|pairs| {
                    LoginForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                });
                respond(demo_support::login(&session, &users, form.as_ref()))
            },
        );
    let logout = warp::path!("logout")
        .and(warp::post())
        .and(session.clone())
        .map(|session: Session| respond(demo_support::logout(&session)));
    let set = warp::path!("set")
        .and(warp::post())
        .and(session.clone())
        .and(form::<Vec<(String, String)>>())
        .map(|session: Session, pairs: Option<Vec<(String, String)>>| {
            respond(demo_support::set(&session, pairs.unwrap_or_default()))
        });
    let get = warp::path!("get")
        .and(warp::get())
        .and(session.clone())
        .map(|session: Session| {
            let mut resp = Response::new(demo_support::get(&session).into());
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        });
    let claims = warp::path!("claims")
        .and(warp::get())
        .and(session.clone())
        .map(|session: Session| warp::reply::json(&demo_support::claims(&session)).into_response());
    let me = warp::path!("me")
        .and(warp::get())
        .and(sessions.login_required::<User>())
        .map(|user: User| warp::reply::json(&demo_support::me(&user)).into_response());
    let password = warp::path!("password")
        .and(warp::post())
        .and(sessions.login_required::<User>())
        .and(session)
        .and(users)
        .and(form::<PasswordForm>())
        .map(
            |user: User, session: Session, users: Users, form: Option<PasswordForm>| {
                let (old, new) = form.map_or((None, None), |f| (f.old, f.new));
                respond(demo_support::change_password(
                    &session,
                    &users,
                    &user,
                    old.as_deref(),
                    new.as_deref(),
                ))
            },
        );

    // A tree of `or`s rather than a chain: a chain of nine routes nests
    // eight `or`s, and every request enters all eight before it reaches the
    // first route; in a tree a request enters at most four. The pages that
    // only read come first, then those that write. Each route checks its
    // own path, then its method (a known path with another method answers
    // 405, an unknown one 404), so the order decides nothing else. Boxed:
    // an `or` copies the branch it has not tried yet into each request's
    // future, and a box is copied as one `Arc`.
    let reads = (get.boxed().or(claims.boxed()).unify())
        .or(me.boxed().or(login_page.boxed()).unify().boxed())
        .unify();
    let writes = (login.boxed().or(logout.boxed()).unify())
        .or(set.boxed().or(password.boxed()).unify().boxed())
        .unify();
    let routes = reads
        .or(writes.boxed())
        .unify()
        .or(jwks(sessions.engine()).boxed())
        .unify();
    sessions.wrap(routes)
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

    let sessions = Sessions::with_shared_store(engine, store).with_login_url("/login");
    let app = routes(&sessions, users);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("PORT: cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = listener.local_addr().map_or(port, |a| a.port());
    demo_support::listening(port)?;

    // Warp waits for open connections after the signal; give them 5 s.
    let (stopping, stopped) = tokio::sync::oneshot::channel();
    let server = warp::serve(app)
        .incoming(listener)
        .graceful(async move {
            shutdown.await;
            let _ = stopping.send(());
        })
        .run();
    tokio::select! {
        () = server => {}
        () = async {
            if stopped.await.is_ok() {
                tokio::time::sleep(Duration::from_secs(5)).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!("connections still open 5 s after the signal: closed"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    demo_support::init_tracing();
    demo_support::exit(run().await)
}
