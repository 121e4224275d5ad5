//! The reference app (`docs/reference-app.md`): the same routes, users and
//! configuration in every adapter, so one conformance suite drives them all.
//!
//!     cargo run -p session-jwt-poem --example demo
//!
//! Configuration comes from the environment (`SESSION_JWT_KEY`, `PORT`, ...).
//! This file is routes and Poem wiring only: the users, fields and store are
//! `demo-support`'s, and every session, token and cookie rule the library's.

use std::process::ExitCode;
use std::time::Duration;

use demo_support::{Demo, LoginForm, Reply, User, Users};
use poem::http::header::CONTENT_TYPE;
use poem::http::{HeaderValue, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Form, Html, Json, Query};
use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server, get, handler, post,
};
use serde::Deserialize;
use serde_json::Value;
use session_jwt_poem::{LoginRequired, Session, SessionMiddleware, jwks_endpoint};

/// A [`Reply`] as a Poem response.
fn respond(reply: Reply) -> Response {
    let mut resp = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(location) = reply.location {
        resp = resp.header("Location", location);
    }
    resp.body(reply.body)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[handler]
fn login_page(Query(q): Query<NextQuery>) -> Html<String> {
    Html(demo_support::login_page(q.next.as_deref()))
}

#[handler]
async fn login(
    session: Session,
    Data(users): Data<&Users>,
    form: Option<Form<Vec<(String, String)>>>,
) -> Response {
    let form = form.map(|Form(pairs)| {
        LoginForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    });
    respond(demo_support::login_async(&session, users, form.as_ref()).await)
}

#[handler]
fn logout(session: Session) -> Response {
    respond(demo_support::logout(&session))
}

#[handler]
fn set(session: Session, form: Option<Form<Vec<(String, String)>>>) -> Response {
    respond(demo_support::set(
        &session,
        form.map(|f| f.0).unwrap_or_default(),
    ))
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
fn claims(session: Session) -> Json<Value> {
    Json(demo_support::claims(&session))
}

#[handler]
fn me(LoginRequired(user): LoginRequired<User>) -> Json<Value> {
    Json(demo_support::me(&user))
}

#[derive(Deserialize)]
struct PasswordForm {
    old: Option<String>,
    new: Option<String>,
}

#[handler]
async fn change_password(
    LoginRequired(user): LoginRequired<User>,
    session: Session,
    Data(users): Data<&Users>,
    form: Option<Form<PasswordForm>>,
) -> Response {
    let (old, new) = form.map_or((None, None), |Form(f)| (f.old, f.new));
    respond(
        demo_support::change_password_async(&session, users, &user, old.as_deref(), new.as_deref())
            .await,
    )
}

/// Request bodies over 64 KiB are refused with 413 (Poem's `SizeLimit`
/// would also refuse every body without a `Content-Length`).
async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    // An HTTP/1 request without a body (most GETs) has nothing to read.
    let headers = req.headers();
    let no_body = req.version() <= poem::http::Version::HTTP_11
        && !headers.contains_key(poem::http::header::TRANSFER_ENCODING)
        && headers
            .get(poem::http::header::CONTENT_LENGTH)
            .is_none_or(|n| n.as_bytes() == b"0");
    if no_body {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let body = req
        .take_body()
        .into_bytes_limit(demo_support::MAX_BODY as usize)
        .await?;
    req.set_body(body);
    next.call(req).await.map(IntoResponse::into_response)
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

    let sessions =
        SessionMiddleware::with_shared_store(engine.clone(), store).with_login_url("/login");
    // The body limit and the users are attached to the routes that read a
    // form, as in the warp app: every other request goes without the extra
    // layers (a request extension, a boxed future each).
    let app = Route::new()
        .at(
            "/login",
            get(login_page).post(login.data(users.clone()).around(limit_body)),
        )
        .at("/logout", post(logout.around(limit_body)))
        .at("/set", post(set.around(limit_body)))
        .at("/get", get(get_items))
        .at("/claims", get(claims))
        .at("/me", get(me))
        .at(
            "/password",
            post(change_password.data(users).around(limit_body)),
        )
        .at("/.well-known/jwks.json", get(jwks_endpoint(&engine)))
        .with(sessions);

    let acceptor = TcpListener::bind(("127.0.0.1", port))
        .into_acceptor()
        .await
        .map_err(|e| format!("PORT: cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().map(|a| a.port()))
        .unwrap_or(port);
    demo_support::listening(port)?;

    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(5)))
        .await
        .map_err(|e| format!("server: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    demo_support::init_tracing();
    demo_support::exit(run().await)
}
