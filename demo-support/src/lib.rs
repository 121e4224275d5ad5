//! What the reference apps (`examples/demo.rs` of each adapter) share beyond
//! framework glue: the user table, the JWT field list, the store chosen from
//! the environment, the port, signal handling, and the framework-neutral
//! part of each route (`docs/reference-app.md` is the contract).
//!
//! In Django mode (`DATABASE_URL` + `SESSION_STORE=django` +
//! `DJANGO_SECRET_KEY`) the sessions are those of a Django app, in its
//! `django_session` table, and the users those of its `auth_user` table.
//! Checking a password then reads the database: the routes that do
//! ([`login_async`], [`change_password_async`]) are async; their sync
//! forms ([`login`], [`change_password`]) still work there, on a
//! multi-threaded Tokio runtime, by blocking the handler's thread
//! ([`tokio::task::block_in_place`]).
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
use session_jwt_core::session::is_internal;
use session_jwt_core::{
    AuthUser, MemoryStore, Secret, Session, SessionJwt, SessionStore, StoreError, UserLoader, env,
};
use session_jwt_sql::{DjangoSettings, DjangoUser, DjangoUsers, SqlStore};
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
    /// The team; empty for a user without one (Django's users): the token
    /// then has no `t` claim.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub team: String,
}

/// A user as the token fields see it (its serde value: [`UserData`]'s); the
/// password and the auth hash are never serialized. Cheap to clone: the
/// table and every request that loaded the user share one copy, as an app's
/// user cache would.
#[derive(Debug, Clone)]
pub struct User(Arc<UserData>);

impl std::ops::Deref for User {
    type Target = UserData;

    fn deref(&self) -> &UserData {
        &self.0
    }
}

impl Serialize for User {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// A user's attributes.
#[derive(Debug, Clone, Serialize)]
pub struct UserData {
    /// The id (a number in the token).
    pub id: u64,
    /// The username.
    pub username: String,
    /// The e-mail address.
    pub email: String,
    /// The profile.
    pub profile: Profile,
    #[serde(skip)]
    password: Password,
    #[serde(skip)]
    auth_hash: String,
}

/// How a user's password is kept.
#[derive(Clone)]
enum Password {
    /// In clear, in the built-in table (a demo).
    Clear(String),
    /// Django's hash (`pbkdf2_sha256$...`), from `auth_user`.
    Django(String),
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl User {
    /// Whether `password` is this user's (constant time). For a Django
    /// user this runs PBKDF2 (a fraction of a second): in async code prefer
    /// [`change_password_async`].
    fn check_password(&self, password: &str) -> bool {
        match &self.password {
            Password::Clear(p) => p.as_bytes().ct_eq(password.as_bytes()).into(),
            Password::Django(hash) => session_jwt_sql::password::check_password(password, hash),
        }
    }

    /// A Django user as the demo's user: no profile team.
    fn from_django(user: DjangoUser) -> Option<Self> {
        Some(Self(Arc::new(UserData {
            id: u64::try_from(user.id).ok()?,
            auth_hash: user.session_auth_hash(),
            password: Password::Django(user.password_hash().to_owned()),
            username: user.username,
            email: user.email,
            profile: Profile {
                team: String::new(),
            },
        })))
    }
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }

    fn session_auth_hash(&self) -> String {
        self.auth_hash.clone()
    }

    /// Checked on every request: the id and hash compared without building
    /// either string (the hash in constant time).
    fn is_logged_in_as(&self, id: &str, hash: &str) -> bool {
        // The id in decimal, as `id()` writes it, on the stack.
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut n = self.id;
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        id.as_bytes() == &digits[start..]
            && constant_time_eq::constant_time_eq(hash.as_bytes(), self.auth_hash.as_bytes())
    }
}

/// The users: the in-memory table of the contract, or (Django mode) Django's
/// `auth_user` table.
///
/// In the in-memory table passwords are kept in clear because this is a
/// demo; the auth hash is keyed with the engine's auth secret (derived from
/// the signing key), so every instance with the same key agrees on it.
#[derive(Clone)]
pub struct Users {
    backend: UsersBackend,
}

#[derive(Clone)]
enum UsersBackend {
    Memory {
        table: Arc<RwLock<HashMap<u64, User>>>,
        secret: Arc<Secret>,
    },
    Django(DjangoUsers),
}

impl Users {
    /// john (password `password`, team core) and jane (`secret`, ops).
    pub fn demo(secret: Secret) -> Self {
        let secret = Arc::new(secret);
        let user = |id, username: &str, password: &str, team: &str| {
            User(Arc::new(UserData {
                id,
                username: username.into(),
                email: format!("{username}@domain.com"),
                profile: Profile { team: team.into() },
                password: Password::Clear(password.into()),
                auth_hash: session_auth_hash(secret.expose(), password),
            }))
        };
        let table = [
            user(1, "john", "password", "core"),
            user(2, "jane", "secret", "ops"),
        ]
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
        Self {
            backend: UsersBackend::Memory {
                table: Arc::new(RwLock::new(table)),
                secret,
            },
        }
    }

    /// Django's users (`auth_user`), with Django's password hashes and
    /// session auth hash.
    #[must_use]
    pub fn django(users: DjangoUsers) -> Self {
        Self {
            backend: UsersBackend::Django(users),
        }
    }

    fn read(
        table: &RwLock<HashMap<u64, User>>,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<u64, User>> {
        table.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The user with these credentials. In Django mode this reads the
    /// database by blocking the thread (see the crate docs); a database
    /// failure is logged and answered as bad credentials: prefer
    /// [`Users::check_async`].
    pub fn check(&self, username: &str, password: &str) -> Option<User> {
        match &self.backend {
            UsersBackend::Memory { table, .. } => Self::read(table)
                .values()
                .find(|u| u.username == username)
                .filter(|u| u.check_password(password))
                .cloned(),
            UsersBackend::Django(_) => block_on(self.check_async(username, password))
                .and_then(|r| {
                    r.map_err(|e| tracing::error!(error = %e, "login: user database failed"))
                        .ok()
                })
                .flatten(),
        }
    }

    /// The user with these credentials; a database failure is an error
    /// (answer 503).
    ///
    /// # Errors
    /// When Django's user table cannot be read.
    pub async fn check_async(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        match &self.backend {
            UsersBackend::Memory { .. } => Ok(self.check(username, password)),
            UsersBackend::Django(users) => Ok(users
                .authenticate(username, password)
                .await?
                .and_then(User::from_django)),
        }
    }

    /// Changes a password (and so the auth hash); the updated user. In
    /// Django mode this writes the database by blocking the thread: prefer
    /// [`Users::set_password_async`].
    pub fn set_password(&self, id: u64, password: &str) -> Option<User> {
        match &self.backend {
            UsersBackend::Memory { table, secret } => {
                let mut table = table.write().unwrap_or_else(|p| p.into_inner());
                let user = table.get_mut(&id)?;
                let data = Arc::make_mut(&mut user.0);
                data.password = Password::Clear(password.into());
                data.auth_hash = session_auth_hash(secret.expose(), password);
                Some(user.clone())
            }
            UsersBackend::Django(_) => block_on(self.set_password_async(id, password))
                .and_then(|r| {
                    r.map_err(
                        |e| tracing::error!(error = %e, "password change: user database failed"),
                    )
                    .ok()
                })
                .flatten(),
        }
    }

    /// Changes a password; the updated user, `None` if there is no such
    /// user. In Django mode: a new PBKDF2-SHA256 hash in `auth_user`, which
    /// Django accepts.
    ///
    /// # Errors
    /// When Django's user table cannot be written.
    pub async fn set_password_async(
        &self,
        id: u64,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        match &self.backend {
            UsersBackend::Memory { .. } => Ok(self.set_password(id, password)),
            UsersBackend::Django(users) => {
                let Ok(id) = i64::try_from(id) else {
                    return Ok(None);
                };
                Ok(users
                    .set_password(id, password)
                    .await?
                    .and_then(User::from_django))
            }
        }
    }
}

/// Runs `fut` to completion from sync code inside a multi-threaded Tokio
/// runtime (a handler's thread blocks meanwhile); `None`, with an error
/// logged, elsewhere.
fn block_on<F: Future>(fut: F) -> Option<F::Output> {
    let handle = tokio::runtime::Handle::try_current().ok()?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        tracing::error!(
            "Django mode needs a multi-threaded Tokio runtime for the sync demo routes; \
             use login_async and change_password_async"
        );
        return None;
    }
    Some(tokio::task::block_in_place(|| handle.block_on(fut)))
}

#[async_trait::async_trait]
impl UserLoader for Users {
    type User = User;

    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        match &self.backend {
            UsersBackend::Memory { table, .. } => Ok(id
                .parse()
                .ok()
                .and_then(|id| Self::read(table).get(&id).cloned())),
            UsersBackend::Django(users) => {
                Ok(users.load_user(id).await?.and_then(User::from_django))
            }
        }
    }
}

// ---------------------------------------------------------------- configuration

/// Everything a demo is built from, read from the environment once at start.
pub struct Demo {
    /// The engine: keys, cookie settings, fields, claims provider, and the
    /// user loader.
    pub engine: SessionJwt,
    /// The session store: Redis with `REDIS_URL`, SQL with `DATABASE_URL`
    /// (Django's table with `SESSION_STORE=django`), else in memory.
    pub store: Arc<dyn SessionStore>,
    /// The users (also the engine's user loader): the built-in table, or
    /// Django's `auth_user` in Django mode.
    pub users: Users,
    /// `PORT`, default 8000.
    pub port: u16,
}

impl Demo {
    /// The demo's configuration from the contract's environment variables.
    /// Must run inside a Tokio runtime (the Redis and SQL stores need one).
    /// Errors name the variable.
    pub fn from_env() -> Result<Self, String> {
        let engine = env::from_env()
            .and_then(|b| {
                b.with_fields(FIELDS)
                    .with_claims_provider(extra_claims)
                    .build()
                    .map_err(env::variable_for)
            })
            .map_err(|e| e.to_string())?;
        let (store, users) = match StoreChoice::from_env()? {
            StoreChoice::Memory => (Arc::new(MemoryStore::new()) as Arc<dyn SessionStore>, None),
            StoreChoice::Redis(url) => (redis_store(&url)?, None),
            StoreChoice::Sql(url) => {
                // The table is made on first use; the database is connected
                // lazily (503 while it is down).
                let store = SqlStore::builder(url)
                    .with_create_table(true)
                    .build()
                    .map_err(|e| e.to_string())?;
                (Arc::new(store) as Arc<dyn SessionStore>, None)
            }
            StoreChoice::Django { url, secret_key } => {
                let store = SqlStore::builder(url)
                    .with_django(DjangoSettings::new(secret_key.as_bytes()))
                    .build()
                    .map_err(|e| e.to_string())?;
                let users =
                    DjangoUsers::new(&store, secret_key.as_bytes()).map_err(|e| e.to_string())?;
                (
                    Arc::new(store) as Arc<dyn SessionStore>,
                    Some(Users::django(users)),
                )
            }
        };
        let users = match users {
            Some(users) => users,
            None => Users::demo(
                engine
                    .auth_secret()
                    .ok_or("SESSION_JWT_KEY: a signing key is needed")?,
            ),
        };
        Ok(Self {
            engine: engine.with_user_loader(users.clone()),
            store,
            users,
            port: port()?,
        })
    }
}

/// Which store the environment asks for.
enum StoreChoice {
    Memory,
    Redis(String),
    Sql(String),
    Django { url: String, secret_key: String },
}

impl StoreChoice {
    fn from_env() -> Result<Self, String> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let django = match var("SESSION_STORE").as_deref() {
            None => false,
            Some("django") => true,
            Some(other) => {
                return Err(format!(
                    "SESSION_STORE: {other:?} is not a store (set django, with DATABASE_URL, \
                     for Django's own session table; leave it unset otherwise)"
                ));
            }
        };
        match (var("REDIS_URL"), var("DATABASE_URL")) {
            (Some(_), Some(_)) => Err(
                "DATABASE_URL: REDIS_URL is set as well; set one of them (the session store)"
                    .to_owned(),
            ),
            (_, None) if django => Err(
                "SESSION_STORE: django needs DATABASE_URL (the database of the Django app)"
                    .to_owned(),
            ),
            (Some(url), None) => Ok(Self::Redis(url)),
            (None, Some(url)) if django => {
                let secret_key = var("DJANGO_SECRET_KEY").ok_or(
                    "DJANGO_SECRET_KEY: required with SESSION_STORE=django (the Django app's \
                     SECRET_KEY, which signs session_data and keys the session auth hash)",
                )?;
                Ok(Self::Django { url, secret_key })
            }
            (None, Some(url)) => Ok(Self::Sql(url)),
            (None, None) => Ok(Self::Memory),
        }
    }
}

/// The Redis store at `url`, connected lazily: the app starts while Redis
/// is down and answers 503 until it is back.
fn redis_store(url: &str) -> Result<Arc<dyn SessionStore>, String> {
    let store = session_jwt_redis::RedisStore::new(url).map_err(|e| match e {
        session_jwt_redis::Error::Url(_) => e.to_string(),
        e => format!("REDIS_URL: {e}"),
    })?;
    Ok(Arc::new(store))
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
/// login like any other: 401 `Failed`. In Django mode, [`login_async`] does
/// not block the thread while the database answers.
pub fn login(session: &Session, users: &Users, form: Option<&LoginForm>) -> Reply {
    let user = form.and_then(|f| users.check(&f.username, &f.password));
    finish_login(session, user, form)
}

/// `POST /login`, checking the password without blocking the thread (Django
/// mode reads the database); a user database that fails is 503.
pub async fn login_async(session: &Session, users: &Users, form: Option<&LoginForm>) -> Reply {
    let user = match form {
        Some(f) => match users.check_async(&f.username, &f.password).await {
            Ok(user) => user,
            Err(e) => {
                tracing::error!(error = %e, "login: the user database failed; answering 503");
                return Reply::text(503, "Service Unavailable");
            }
        },
        None => None,
    };
    finish_login(session, user, form)
}

fn finish_login(session: &Session, user: Option<User>, form: Option<&LoginForm>) -> Reply {
    let Some(user) = user else {
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

/// `GET /get`: the session's items, without internal ones, as JSON text
/// (written from the session's own items, not from a copy).
#[must_use]
pub fn get(session: &Session) -> String {
    /// The items whose names do not start with `_`.
    struct Public<'a>(&'a Map<String, Value>);
    impl Serialize for Public<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().filter(|(k, _)| !is_internal(k)))
        }
    }
    // A map of JSON values always serializes.
    session.with_items(|items| serde_json::to_string(&Public(items)).unwrap_or_default())
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
/// and are logged out at their next request. In Django mode,
/// [`change_password_async`] does not block the thread meanwhile.
pub fn change_password(
    session: &Session,
    users: &Users,
    user: &User,
    old: Option<&str>,
    new: Option<&str>,
) -> Reply {
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    if !user.check_password(old) || new.is_empty() {
        return Reply::text(400, "Bad password");
    }
    finish_password_change(session, users.set_password(user.id, new))
}

/// `POST /password`, hashing and writing without blocking the thread (Django
/// mode: PBKDF2 on a blocking thread, then `auth_user`); a user database
/// that fails is 503.
pub async fn change_password_async(
    session: &Session,
    users: &Users,
    user: &User,
    old: Option<&str>,
    new: Option<&str>,
) -> Reply {
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    let old_ok = match &user.password {
        Password::Clear(_) => user.check_password(old),
        Password::Django(hash) => {
            let (old, hash) = (old.to_owned(), hash.clone());
            tokio::task::spawn_blocking(move || {
                session_jwt_sql::password::check_password(&old, &hash)
            })
            .await
            .unwrap_or(false)
        }
    };
    if !old_ok || new.is_empty() {
        return Reply::text(400, "Bad password");
    }
    match users.set_password_async(user.id, new).await {
        Ok(updated) => finish_password_change(session, updated),
        Err(e) => {
            tracing::error!(error = %e, "password change: the user database failed; answering 503");
            Reply::text(503, "Service Unavailable")
        }
    }
}

fn finish_password_change(session: &Session, updated: Option<User>) -> Reply {
    let Some(user) = updated else {
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
                // Rocket logs each request at info through `log`, whatever
                // its own log_level: the reference apps keep the library's
                // info and the frameworks' warnings.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("info,rocket=warn,_=warn,hyper=warn")
                }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_check_compares_the_id_as_id_writes_it() {
        for n in [0u64, 1, 9, 10, 42, 1_000_000, u64::MAX] {
            let user = User(Arc::new(UserData {
                id: n,
                username: "u".into(),
                email: "e".into(),
                profile: Profile {
                    team: String::new(),
                },
                password: Password::Django(String::new()),
                auth_hash: "h".into(),
            }));
            assert!(user.is_logged_in_as(&user.id(), "h"), "{n}");
            for other in [
                format!("0{n}"),
                format!("+{n}"),
                format!("{n}0"),
                format!(" {n}"),
                String::new(),
            ] {
                assert!(!user.is_logged_in_as(&other, "h"), "{other:?}");
            }
            assert!(!user.is_logged_in_as(&user.id(), "H"));
            assert!(!user.is_logged_in_as(&user.id(), ""));
        }
    }
}
