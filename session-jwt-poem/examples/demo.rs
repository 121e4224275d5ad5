//! The reference app (`shared/reference-app.md`): the same routes, users and
//! configuration in every adapter, so one conformance suite drives them all.
//!
//!     cargo run -p session-jwt-poem --example demo
//!
//! Configuration comes from the environment (`SESSION_JWT_KEY`, `PORT`, ...;
//! see `session_jwt_poem::env`). It holds routes, an in-memory user table and
//! wiring only: every session, token and cookie rule is the library's.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use poem::http::header::LOCATION;
use poem::http::{HeaderValue, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Form, Html, Json, Query};
use poem::{EndpointExt, IntoResponse, Response, Route, Server, get, handler, post};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use session_jwt_poem::core::Secret;
use session_jwt_poem::{
    AuthUser, LoginRequired, Session, SessionJwt, SessionMiddleware, SessionStore, UserLoader,
    async_trait, env, jwks_endpoint, safe_next, session_auth_hash,
};
use subtle::ConstantTimeEq;

/// The JWT fields of django-session-jwt's test settings: (attribute path,
/// short name, long name). `invalid` names no attribute: it is left out.
const FIELDS: [(&str, &str, &str); 5] = [
    ("id", "id", "user_id"),
    ("username", "u", "username"),
    ("email", "e", "email"),
    ("profile.team", "t", "team"),
    ("invalid", "i", "invalid"),
];

/// The custom claims provider: `"foo": "bar"` in every token.
fn extra_claims(_user: Option<&Value>) -> Map<String, Value> {
    Map::from_iter([("foo".to_owned(), Value::from("bar"))])
}

// ---------------------------------------------------------------- users

#[derive(Debug, Clone, Serialize)]
struct Profile {
    team: String,
}

/// A user as the token fields see it (its serde value); the password and
/// the auth hash are never serialized.
#[derive(Debug, Clone, Serialize)]
struct User {
    id: u64,
    username: String,
    email: String,
    profile: Profile,
    #[serde(skip)]
    password: String,
    #[serde(skip)]
    auth_hash: String,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }

    fn session_auth_hash(&self) -> String {
        self.auth_hash.clone()
    }
}

/// The in-memory user table. Passwords are kept in clear because this is a
/// demo; the auth hash is keyed with the engine's auth secret (derived from
/// the signing key), so every instance with the same key agrees on it.
#[derive(Clone)]
struct Users {
    table: Arc<RwLock<HashMap<u64, User>>>,
    secret: Arc<Secret>,
}

impl Users {
    fn demo(secret: Secret) -> Self {
        let secret = Arc::new(secret);
        let user = |id, username: &str, password: &str, team: &str| User {
            id,
            username: username.into(),
            email: format!("{username}@domain.com"),
            profile: Profile { team: team.into() },
            password: password.into(),
            auth_hash: session_auth_hash(secret.expose(), password),
        };
        let table = [
            user(1, "john", "password", "core"),
            user(2, "jane", "secret", "ops"),
        ]
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
        Self {
            table: Arc::new(RwLock::new(table)),
            secret,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, User>> {
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The user with these credentials.
    fn check(&self, username: &str, password: &str) -> Option<User> {
        self.read()
            .values()
            .find(|u| u.username == username)
            .filter(|u| bool::from(u.password.as_bytes().ct_eq(password.as_bytes())))
            .cloned()
    }

    /// Changes a password (and so the auth hash); the updated user.
    fn set_password(&self, id: u64, password: &str) -> Option<User> {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        let user = table.get_mut(&id)?;
        user.password = password.into();
        user.auth_hash = session_auth_hash(self.secret.expose(), password);
        Some(user.clone())
    }
}

#[async_trait]
impl UserLoader for Users {
    type User = User;

    async fn load_user(&self, id: &str) -> Option<User> {
        self.read().get(&id.parse().ok()?).cloned()
    }
}

// ---------------------------------------------------------------- routes

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[handler]
fn login_page(Query(q): Query<NextQuery>) -> Html<String> {
    let next = html_escape(q.next.as_deref().unwrap_or_default());
    Html(format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Log in</title></head>
<body>
<form method="post" action="/login">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<input type="hidden" name="next" value="{next}">
<button type="submit">Log in</button>
</form>
</body></html>
"#
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[handler]
fn login(session: Session, Data(users): Data<&Users>, form: Option<Form<LoginForm>>) -> Response {
    // No form (no body, another content type) is a failed login like any
    // other, not the framework's 415.
    let Some(Form(form)) = form else {
        return (StatusCode::UNAUTHORIZED, "Failed").into_response();
    };
    let Some(user) = users.check(&form.username, &form.password) else {
        return (StatusCode::UNAUTHORIZED, "Failed").into_response();
    };
    if let Err(e) = session
        .login(&user)
        .and_then(|()| session.insert("test", "This value should be present"))
    {
        tracing::error!(error = %e, "login failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let next = form.next.as_deref().and_then(safe_next);
    match next.map(HeaderValue::from_str) {
        Some(Ok(location)) => Response::builder()
            .status(StatusCode::FOUND)
            .header(LOCATION, location)
            .finish(),
        _ => "OK".into_response(),
    }
}

#[handler]
fn logout(session: Session) -> &'static str {
    session.logout();
    "OK"
}

#[handler]
fn set(session: Session, form: Option<Form<Vec<(String, String)>>>) -> &'static str {
    for (name, value) in form.map(|f| f.0).unwrap_or_default() {
        // The library refuses the names it keeps for itself (the user, the
        // token's claims): a visitor cannot write them.
        if let Err(e) = session.insert_value(name, Value::String(value)) {
            tracing::debug!(error = %e, "/set: item refused");
        }
    }
    "OK"
}

#[handler]
fn get_items(session: Session) -> Json<Map<String, Value>> {
    Json(session.public_items())
}

#[handler]
fn claims(session: Session) -> Json<Map<String, Value>> {
    Json(
        session
            .claims()
            .map(|c| c.claims().clone())
            .unwrap_or_default(),
    )
}

#[handler]
fn me(LoginRequired(user): LoginRequired<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username, "email": user.email}))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    old: String,
    #[serde(default)]
    new: String,
}

#[handler]
fn change_password(
    LoginRequired(user): LoginRequired<User>,
    session: Session,
    Data(users): Data<&Users>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let old_ok: bool = user.password.as_bytes().ct_eq(form.old.as_bytes()).into();
    if !old_ok || form.new.is_empty() {
        return (StatusCode::BAD_REQUEST, "Bad password").into_response();
    }
    let Some(user) = users.set_password(user.id, &form.new) else {
        return (StatusCode::BAD_REQUEST, "No such user").into_response();
    };
    // This session stays logged in; the user's other sessions no longer
    // match the auth hash and are logged out at their next request.
    if let Err(e) = session.update_auth_hash(&user) {
        tracing::error!(error = %e, "password change failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    "OK".into_response()
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------- wiring

/// The session store: Redis when `REDIS_URL` is set (sessions shared by every
/// instance and surviving restarts), else in memory. Redis is connected
/// lazily: the app starts while it is down and answers 503 until it is back.
fn session_store() -> Result<Arc<dyn SessionStore>, String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            let store = session_jwt_redis::RedisStore::new(&url).map_err(|e| match e {
                session_jwt_redis::Error::Url(_) => e.to_string(),
                e => format!("REDIS_URL: {e}"),
            })?;
            Ok(Arc::new(store))
        }
        _ => Ok(Arc::new(session_jwt_poem::MemoryStore::new())),
    }
}

fn engine() -> Result<SessionJwt, String> {
    let engine = env::from_env()
        .and_then(|b| {
            b.with_fields(FIELDS)
                .with_claims_provider(extra_claims)
                .build()
                .map_err(env::variable_for)
        })
        .map_err(|e| e.to_string())?;
    Ok(engine)
}

fn port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(v) if !v.is_empty() => v
            .trim()
            .parse()
            .map_err(|_| format!("PORT: {v:?} is not a port number (0 to 65535)")),
        _ => Ok(8000),
    }
}

#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| signal(kind).map_err(|e| format!("cannot listen for signals: {e}"));
    let mut int = listen(SignalKind::interrupt())?;
    let mut term = listen(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

async fn run() -> Result<(), String> {
    let engine = engine()?;
    let store = session_store()?;
    let port = port()?;
    // Before accepting: a signal right after the `listening` line is handled.
    let shutdown = shutdown_signal()?;

    let auth_secret = engine
        .auth_secret()
        .ok_or("SESSION_JWT_KEY: a signing key is needed")?;
    let users = Users::demo(auth_secret);
    let sessions = SessionMiddleware::with_shared_store(engine.clone(), store)
        .with_user_loader(users.clone())
        .with_login_url("/login");
    let app = Route::new()
        .at("/login", get(login_page).post(login))
        .at("/logout", post(logout))
        .at("/set", post(set))
        .at("/get", get(get_items))
        .at("/claims", get(claims))
        .at("/me", get(me))
        .at("/password", post(change_password))
        .at("/.well-known/jwks.json", get(jwks_endpoint(&engine)))
        .with(sessions)
        .data(users);

    let acceptor = TcpListener::bind(("127.0.0.1", port))
        .into_acceptor()
        .await
        .map_err(|e| format!("PORT: cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().map(|a| a.port()))
        .unwrap_or(port);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://127.0.0.1:{port}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))?;
    drop(stdout);

    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(5)))
        .await
        .map_err(|e| format!("server: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            // One line, whatever the underlying error printed.
            eprintln!("error: {}", msg.replace(['\n', '\r'], " "));
            ExitCode::FAILURE
        }
    }
}
