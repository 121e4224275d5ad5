//! What the reference apps (`examples/demo.rs` of each adapter) share beyond
//! framework glue: the user table, the JWT field list, the store chosen from
//! the environment, the port, signal handling, and the framework-neutral
//! part of each route (`docs/reference-app.md` is the contract).
//!
//! Every session, token and cookie rule is the library's: this crate only
//! calls its public API, as an app would. Each demo is then routes and
//! wiring: it reads the request the framework's way, calls one function
//! here, and writes the [`Reply`] the framework's way.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde_json::{Map, Value, json};
use session_jwt_core::auth::{safe_next, session_auth_hash};
use session_jwt_core::{
    AuthUser, MemoryStore, Secret, Session, SessionJwt, SessionStore, StoreError, UserLoader, env,
};
use subtle::ConstantTimeEq;

/// The largest request body a demo accepts (the framework answers 413 above).
pub const MAX_BODY: u64 = 64 * 1024;

/// The JWT fields of django-session-jwt's test settings: (attribute path,
/// short name, long name). `invalid` names no attribute: it is left out.
pub const FIELDS: [(&str, &str, &str); 5] = [
    ("id", "id", "user_id"),
    ("username", "u", "username"),
    ("email", "e", "email"),
    ("profile.team", "t", "team"),
    ("invalid", "i", "invalid"),
];

/// The custom claims provider: `"foo": "bar"` in every token.
pub fn extra_claims(_user: Option<&Value>) -> Map<String, Value> {
    Map::from_iter([("foo".to_owned(), Value::from("bar"))])
}

// ---------------------------------------------------------------- users

/// A user's profile (a nested attribute for the `t` field).
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// The team.
    pub team: String,
}

/// A user as the token fields see it (its serde value); the password and the
/// auth hash are never serialized.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// The id (a number in the token).
    pub id: u64,
    /// The username.
    pub username: String,
    /// The e-mail address.
    pub email: String,
    /// The profile.
    pub profile: Profile,
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
pub struct Users {
    table: Arc<RwLock<HashMap<u64, User>>>,
    secret: Arc<Secret>,
}

impl Users {
    /// john (password `password`, team core) and jane (`secret`, ops).
    pub fn demo(secret: Secret) -> Self {
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
    pub fn check(&self, username: &str, password: &str) -> Option<User> {
        self.read()
            .values()
            .find(|u| u.username == username)
            .filter(|u| bool::from(u.password.as_bytes().ct_eq(password.as_bytes())))
            .cloned()
    }

    /// Changes a password (and so the auth hash); the updated user.
    pub fn set_password(&self, id: u64, password: &str) -> Option<User> {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        let user = table.get_mut(&id)?;
        user.password = password.into();
        user.auth_hash = session_auth_hash(self.secret.expose(), password);
        Some(user.clone())
    }
}

#[async_trait::async_trait]
impl UserLoader for Users {
    type User = User;

    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(id.parse().ok().and_then(|id| self.read().get(&id).cloned()))
    }
}

// ---------------------------------------------------------------- configuration

/// Everything a demo is built from, read from the environment once at start.
pub struct Demo {
    /// The engine: keys, cookie settings, fields, claims provider, and the
    /// user loader.
    pub engine: SessionJwt,
    /// The session store: Redis with `REDIS_URL`, else in memory.
    pub store: Arc<dyn SessionStore>,
    /// The user table (also the engine's user loader).
    pub users: Users,
    /// `PORT`, default 8000.
    pub port: u16,
}

impl Demo {
    /// The demo's configuration from the contract's environment variables.
    /// Must run inside a Tokio runtime (the Redis store needs one). Errors
    /// name the variable.
    pub fn from_env() -> Result<Self, String> {
        let engine = env::from_env()
            .and_then(|b| {
                b.with_fields(FIELDS)
                    .with_claims_provider(extra_claims)
                    .build()
                    .map_err(env::variable_for)
            })
            .map_err(|e| e.to_string())?;
        let users = Users::demo(
            engine
                .auth_secret()
                .ok_or("SESSION_JWT_KEY: a signing key is needed")?,
        );
        Ok(Self {
            engine: engine.with_user_loader(users.clone()),
            store: session_store()?,
            users,
            port: port()?,
        })
    }
}

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
        _ => Ok(Arc::new(MemoryStore::new())),
    }
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

// ---------------------------------------------------------------- routes

/// A route's answer, written out by each demo the framework's way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body (text).
    pub body: String,
    /// A `Location` header, for redirects.
    pub location: Option<String>,
}

impl Reply {
    /// `status` with a text body.
    #[must_use]
    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            location: None,
        }
    }

    fn redirect(location: &str) -> Self {
        Self {
            status: 302,
            body: String::new(),
            location: Some(location.to_owned()),
        }
    }
}

/// `GET /login`: the form, with `next` carried in a hidden field.
#[must_use]
pub fn login_page(next: Option<&str>) -> String {
    let next = html_escape(next.unwrap_or_default());
    format!(
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
    )
}

/// A login form as posted; `None` fields were missing.
#[derive(Debug, Default, Clone)]
pub struct LoginForm {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: String,
    /// `next`, where to go after login.
    pub next: Option<String>,
}

impl LoginForm {
    /// The form from its fields (a repeated name: the last value wins).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut form = Self::default();
        for (name, value) in pairs {
            match name {
                "username" => form.username = value.to_owned(),
                "password" => form.password = value.to_owned(),
                "next" => form.next = Some(value.to_owned()),
                _ => {}
            }
        }
        form
    }
}

/// `POST /login`. No form at all (no body, another content type) is a failed
/// login like any other: 401 `Failed`.
pub fn login(session: &Session, users: &Users, form: Option<&LoginForm>) -> Reply {
    let Some(user) = form.and_then(|f| users.check(&f.username, &f.password)) else {
        return Reply::text(401, "Failed");
    };
    if let Err(e) = session
        .login(&user)
        .and_then(|()| session.insert("test", "This value should be present"))
    {
        tracing::error!(error = %e, "login failed");
        return Reply::text(500, "Internal Server Error");
    }
    // Only a local path is followed (no open redirect).
    match form.and_then(|f| f.next.as_deref()).and_then(safe_next) {
        Some(next) => Reply::redirect(next),
        None => Reply::text(200, "OK"),
    }
}

/// `POST /logout`.
pub fn logout(session: &Session) -> Reply {
    session.logout();
    Reply::text(200, "OK")
}

/// `POST /set`: each field stored as a string. The library refuses the
/// names it keeps for itself (the user, the expiry): a visitor cannot write
/// them.
pub fn set<K: Into<String>, V: Into<String>>(
    session: &Session,
    fields: impl IntoIterator<Item = (K, V)>,
) -> Reply {
    for (name, value) in fields {
        if let Err(e) = session.insert_value(name, Value::String(value.into())) {
            tracing::debug!(error = %e, "/set: item refused");
        }
    }
    Reply::text(200, "OK")
}

/// `GET /get`: the session's items, without internal ones.
#[must_use]
pub fn get(session: &Session) -> Value {
    Value::Object(session.public_items())
}

/// `GET /claims`: the verified claims with short and long names; `{}` when
/// there are none.
#[must_use]
pub fn claims(session: &Session) -> Value {
    Value::Object(
        session
            .claims()
            .map(|c| c.claims().clone())
            .unwrap_or_default(),
    )
}

/// `GET /me`, for a logged-in user.
#[must_use]
pub fn me(user: &User) -> Value {
    json!({"id": user.id, "username": user.username, "email": user.email})
}

/// `POST /password` (form `old`, `new`), for a logged-in user. This session
/// stays logged in; the user's other sessions no longer match the auth hash
/// and are logged out at their next request.
pub fn change_password(
    session: &Session,
    users: &Users,
    user: &User,
    old: Option<&str>,
    new: Option<&str>,
) -> Reply {
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    let old_ok: bool = user.password.as_bytes().ct_eq(old.as_bytes()).into();
    if !old_ok || new.is_empty() {
        return Reply::text(400, "Bad password");
    }
    let Some(user) = users.set_password(user.id, new) else {
        return Reply::text(400, "No such user");
    };
    if let Err(e) = session.update_auth_hash(&user) {
        tracing::error!(error = %e, "password change failed");
        return Reply::text(500, "Internal Server Error");
    }
    Reply::text(200, "OK")
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

// ---------------------------------------------------------------- process

/// Resolves on SIGINT or SIGTERM. Call it before accepting connections, so a
/// signal right after the `listening` line is handled.
#[cfg(unix)]
pub fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
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

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Prints the one stdout line the conformance suite waits for, once the
/// server accepts connections on `port`.
pub fn listening(port: u16) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://127.0.0.1:{port}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))
}

/// Logs to stderr (`RUST_LOG`, default `info`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
}

/// The end of `main`: an error is printed as one line on stderr, with a
/// non-zero exit.
pub fn exit(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {}", msg.replace(['\n', '\r'], " "));
            ExitCode::FAILURE
        }
    }
}
