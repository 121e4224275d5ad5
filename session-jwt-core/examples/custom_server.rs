//! The core used directly in a custom server, with no web framework: a tokio
//! `TcpListener`, a small hand-rolled HTTP/1.1 reader, and the three sans-IO
//! steps of [`SessionJwt`] called one by one, so the whole flow is visible.
//!
//! ```text
//! cargo run -p session-jwt-core --example custom_server
//! curl -i -c jar -b jar -d 'username=john&password=password' http://127.0.0.1:8001/login
//! curl -i -c jar -b jar -d 'colour=blue' http://127.0.0.1:8001/set
//! curl -i -c jar -b jar http://127.0.0.1:8001/get
//! curl -i -c jar -b jar -X POST http://127.0.0.1:8001/logout
//! ```
//!
//! Routes: `POST /login` (form `username`, `password`, optional `next`),
//! `POST /set` (every form field stored as a string), `GET /get` (the
//! session's public items as JSON), `GET /me` (login required), `POST
//! /logout`. One demo user: `john` / `password`.
//!
//! Configuration comes from the environment, with Django's names
//! (`SESSION_JWT_KEY`, `SESSION_COOKIE_NAME`, ...; see
//! `session_jwt_core::env`), and `PORT` (default 8001).
//!
//! An adapter for a real framework would call [`SessionJwt::load`] and
//! [`SessionJwt::save`], which run the same steps; this example spells them
//! out. It answers one request per connection (`Connection: close`) and is
//! not a production HTTP server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use session_jwt_core::auth::UserLoader;
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{
    AuthUser, CookieAction, MemoryStore, SaveMode, Session, SessionJwt, SessionStore, auth, env,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The request line and headers together may not exceed this.
const MAX_HEAD: usize = 16 * 1024;
/// Nor the body this.
const MAX_BODY: usize = 64 * 1024;
/// A client gets this long to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The app's user type. Only the fields named in the field configuration go
/// into the token; the password and the auth hash are never serialized.
#[derive(Debug, Clone, Serialize)]
struct User {
    id: u64,
    username: &'static str,
    email: &'static str,
    #[serde(skip)]
    password: &'static str,
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

/// The user table: one demo user. Shared by the login route and the
/// engine's user loader.
#[derive(Clone)]
struct Users(Arc<Vec<User>>);

impl Users {
    /// `auth_secret` keys the session auth hashes (Django's `SECRET_KEY`).
    fn demo(auth_secret: &[u8]) -> Self {
        let password = "password";
        Self(Arc::new(vec![User {
            id: 1,
            username: "john",
            email: "john@domain.com",
            password,
            // A real app derives this from the stored password *hash*.
            auth_hash: auth::session_auth_hash(auth_secret, password),
        }]))
    }

    fn check_password(&self, username: &str, password: &str) -> Option<&User> {
        self.0
            .iter()
            .find(|u| u.username == username && u.password == password)
    }
}

#[async_trait::async_trait]
impl UserLoader for Users {
    type User = User;

    async fn load_user(&self, id: &str) -> Result<Option<User>, session_jwt_core::StoreError> {
        Ok(self.0.iter().find(|u| u.id() == id).cloned())
    }
}

/// What every connection shares: the engine (configuration, keys) and the
/// store. Both are cheap to clone; they are built once at start.
struct App {
    engine: SessionJwt,
    store: MemoryStore,
    users: Users,
}

/// A parsed request: only what this server needs.
struct Request {
    method: String,
    path: String,
    /// Every `Cookie` header's raw value (a client may send several).
    cookies: Vec<Vec<u8>>,
    body: Vec<u8>,
}

/// A response before the session's headers are added.
struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
    location: Option<String>,
}

impl Response {
    fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
            location: None,
        }
    }

    fn json(value: &Value) -> Self {
        Self {
            status: 200,
            content_type: "application/json",
            body: value.to_string(),
            location: None,
        }
    }

    fn redirect(to: String) -> Self {
        Self {
            location: Some(to),
            ..Self::text(302, "")
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("SESSION_JWT_KEY").is_none() {
        eprintln!(
            "warning: SESSION_JWT_KEY is not set; signing with a random secret made at start"
        );
    }
    // Configuration is read and checked once, at start: a bad value stops
    // the server here with an error naming the variable.
    let engine = env::from_env()?
        .with_fields([
            ("id", "id", "user_id"),
            ("username", "u", "username"),
            ("email", "e", "email"),
        ])
        .build()
        .map_err(env::variable_for)?;
    let auth_secret = engine
        .auth_secret()
        .ok_or("the configuration has no signing key")?;
    // The engine loads and checks the logged-in user of every session it
    // loads (a password change elsewhere logs the session out).
    let users = Users::demo(auth_secret.expose());
    let app = Arc::new(App {
        engine: engine.with_user_loader(users.clone()),
        users,
        store: MemoryStore::new(),
    });

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT: {p:?} is not a port"))?,
        Err(_) => 8001,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    println!("listening on http://127.0.0.1:{port}");

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let app = app.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(&app, stream).await {
                        eprintln!("connection error: {e}");
                    }
                });
            }
            () = &mut shutdown => return Ok(()),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One connection, one request.
async fn serve(app: &App, stream: TcpStream) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    let response = match tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream)).await {
        Ok(Ok(Ok(request))) => handle(app, request).await,
        Ok(Ok(Err((status, reason)))) => HttpResponse::plain(status, reason),
        Ok(Err(e)) => return Err(e),
        Err(_elapsed) => HttpResponse::plain(408, "request timeout"),
    };
    let stream = stream.get_mut();
    stream.write_all(&response.to_bytes()).await?;
    stream.shutdown().await
}

/// Reads a request: request line, headers (several `Cookie` headers are
/// kept apart), and a `Content-Length` body. Protocol errors are answered
/// with a 4xx; they never reach the session code.
async fn read_request(
    stream: &mut BufReader<TcpStream>,
) -> std::io::Result<Result<Request, (u16, &'static str)>> {
    let mut budget = MAX_HEAD;
    let mut line = Vec::new();

    let Some(n) = read_line(stream, &mut line, &mut budget).await? else {
        return Ok(Err((431, "request head too large")));
    };
    if n == 0 {
        return Ok(Err((400, "empty request")));
    }
    let request_line = String::from_utf8_lossy(trim_eol(&line)).into_owned();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Err((400, "bad request line")));
    };
    if !version.starts_with("HTTP/1.") {
        return Ok(Err((505, "HTTP/1.x only")));
    }
    let path = target.split('?').next().unwrap_or_default().to_string();
    let method = method.to_string();

    let mut cookies = Vec::new();
    let mut content_length = 0usize;
    loop {
        let Some(n) = read_line(stream, &mut line, &mut budget).await? else {
            return Ok(Err((431, "request head too large")));
        };
        let header = trim_eol(&line);
        if n == 0 || header.is_empty() {
            break;
        }
        let Some(colon) = header.iter().position(|&b| b == b':') else {
            return Ok(Err((400, "bad header line")));
        };
        let (name, value) = (&header[..colon], trim_ows(&header[colon + 1..]));
        if name.eq_ignore_ascii_case(b"cookie") {
            // Kept as bytes: the core ignores values that are not UTF-8.
            cookies.push(value.to_vec());
        } else if name.eq_ignore_ascii_case(b"content-length") {
            match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                Some(len) if len <= MAX_BODY => content_length = len,
                Some(_) => return Ok(Err((413, "body too large"))),
                None => return Ok(Err((400, "bad Content-Length"))),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Ok(Err((501, "chunked bodies are not supported")));
        }
    }
    let mut body = vec![0; content_length];
    stream.read_exact(&mut body).await?;
    Ok(Ok(Request {
        method,
        path,
        cookies,
        body,
    }))
}

/// The session flow around one handler call, step by step.
async fn handle(app: &App, request: Request) -> HttpResponse {
    // The clock is read once per request; every step below gets this `now`.
    let now = OffsetDateTime::now_utc();

    // Step 1 (pure): verify the session cookie(s). No I/O, no clock.
    let incoming = app
        .engine
        .read_cookies(request.cookies.iter().map(Vec::as_slice), now);

    // The I/O the core asked for: load the record of the verified key, if any.
    // A store failure is a 503, never an anonymous session (which would log
    // the user out and, on save, could overwrite their data).
    let record = match incoming.session_key() {
        Some(key) => match app.store.load(key, now).await {
            Ok(record) => record,
            Err(e) => return HttpResponse::unavailable(&e),
        },
        None => None,
    };

    // Step 2 (pure): the session the handler sees. A valid token whose record
    // is gone (logged out, expired, deleted) gives an empty, anonymous session.
    let session = app.engine.open(incoming, record, now);

    // The I/O the core asks for next: the session's logged-in user, loaded
    // through the registered UserLoader and checked against the auth hash
    // stored at login. A user who is gone or changed password elsewhere
    // logs the session out here, before the handler or any token sees it.
    if let Err(e) = app.engine.check_user(&session).await {
        return HttpResponse::unavailable(&e);
    }

    let response = route(app, &request, &session).await;

    // Step 3 (pure): what to save, what to delete, what cookie to send. Then
    // apply it, in order: save, delete, then the cookie. If the store fails,
    // send no cookie: the client keeps its old one and the store its data.
    let mut attempts = 0;
    let (outcome, set_cookie) = loop {
        let outcome = match app.engine.finish(&session, now) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("cannot issue the session token: {e}");
                return HttpResponse::plain(500, "Internal Server Error");
            }
        };
        let mut set_cookie = outcome.cookie.header_value();
        if let Some(save) = &outcome.save {
            let written = match &save.replaces {
                // After cycle_key (login): the new record appears only if the
                // old one still exists, and the old one goes in the same step.
                Some(old) => app.store.cycle(old, &save.key, &save.record, now).await,
                None => {
                    app.store
                        .save(&save.key, &save.record, save.mode, now)
                        .await
                }
            };
            match written {
                Ok(true) => {}
                // The record was deleted meanwhile (a logout in another tab):
                // do not resurrect it, and do not hand out a token for it.
                Ok(false) if save.mode == SaveMode::Update || save.replaces.is_some() => {
                    set_cookie = None
                }
                // A fresh key that already exists (about 2^-165): never
                // overwrite another session; finish again with another key.
                Ok(false) if attempts < 2 => {
                    attempts += 1;
                    app.engine.key_taken(&session, outcome);
                    continue;
                }
                Ok(false) => return HttpResponse::plain(503, "Try again"),
                Err(e) => return HttpResponse::unavailable(&e),
            }
        }
        break (outcome, set_cookie);
    };
    for key in &outcome.delete {
        if let Err(e) = app.store.delete(key).await {
            return HttpResponse::unavailable(&e);
        }
    }

    let mut http = HttpResponse::from(response);
    // A new token is private to this visitor: no shared cache may keep it.
    http.cache_private = set_cookie.is_some() && matches!(outcome.cookie, CookieAction::Set(_));
    http.set_cookie = set_cookie;
    http.vary_cookie = outcome.vary_cookie;
    http
}

/// The application: routes and handlers. They only use the session API.
async fn route(app: &App, request: &Request, session: &Session) -> Response {
    let form = || parse_form(&request.body);
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/login") => {
            let form = form();
            let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
            let user = app
                .users
                .check_password(field("username"), field("password"));
            let Some(user) = user else {
                // Nobody logged in; a session the visitor had is left as it was.
                return Response::text(401, "Failed");
            };
            // Cycles the session key (against session fixation), stores the
            // user id and auth hash, and puts the user's fields in the token.
            if let Err(e) = session.login(user) {
                eprintln!("login failed: {e}");
                return Response::text(500, "Internal Server Error");
            }
            session
                .insert("test", "This value should be present")
                .expect("a string serializes");
            // Only a local path is followed (no open redirect).
            match form.get("next").and_then(|n| auth::safe_next(n)) {
                Some(next) => Response::redirect(next.to_string()),
                None => Response::text(200, "OK"),
            }
        }
        ("POST", "/set") => {
            for (name, value) in form() {
                session.insert(name, value).expect("a string serializes");
            }
            Response::text(200, "OK")
        }
        ("GET", "/get") => Response::json(&Value::Object(session.public_items())),
        ("GET", "/me") => {
            // The user the engine loaded and checked for this request.
            match session.user::<User>() {
                Err(e) => {
                    eprintln!("no user loader: {e}");
                    Response::text(500, "Internal Server Error")
                }
                Ok(Some(user)) => Response::json(&serde_json::json!({
                    "id": user.id,
                    "username": user.username,
                    "email": user.email,
                })),
                Ok(None) => Response::redirect(auth::login_redirect("/login", "/me")),
            }
        }
        ("POST", "/logout") => {
            // Deletes the server-side record; the response removes the cookie
            // and the old token is refused from now on.
            session.logout();
            Response::text(200, "OK")
        }
        (_, "/login" | "/set" | "/get" | "/me" | "/logout") => {
            Response::text(405, "Method Not Allowed")
        }
        _ => Response::text(404, "Not Found"),
    }
}

/// The response as written to the socket.
struct HttpResponse {
    response: Response,
    set_cookie: Option<String>,
    vary_cookie: bool,
    cache_private: bool,
}

impl From<Response> for HttpResponse {
    fn from(response: Response) -> Self {
        Self {
            response,
            set_cookie: None,
            vary_cookie: false,
            cache_private: false,
        }
    }
}

impl HttpResponse {
    fn plain(status: u16, body: &str) -> Self {
        Response::text(status, body).into()
    }

    fn unavailable(e: &session_jwt_core::StoreError) -> Self {
        eprintln!("session store: {e}");
        Self::plain(503, "Service Unavailable")
    }

    fn to_bytes(&self) -> Vec<u8> {
        let r = &self.response;
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            r.status,
            reason(r.status),
            r.content_type,
            r.body.len()
        );
        if let Some(location) = &r.location {
            head.push_str(&format!("Location: {location}\r\n"));
        }
        if let Some(cookie) = &self.set_cookie {
            head.push_str(&format!("Set-Cookie: {cookie}\r\n"));
        }
        if self.vary_cookie {
            head.push_str("Vary: Cookie\r\n");
        }
        if self.cache_private {
            head.push_str("Cache-Control: private\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(r.body.as_bytes());
        bytes
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Reads one line into `line`; `None` once the head has used up `budget`.
async fn read_line(
    stream: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    budget: &mut usize,
) -> std::io::Result<Option<usize>> {
    line.clear();
    let n = (&mut *stream)
        .take(*budget as u64 + 1)
        .read_until(b'\n', line)
        .await?;
    if n > *budget {
        return Ok(None);
    }
    *budget -= n;
    Ok(Some(n))
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// An `application/x-www-form-urlencoded` body; on a repeated name the last
/// value wins. Bytes that do not decode to UTF-8 are replaced.
fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            let name = percent_decode(kv.next().unwrap_or_default());
            let value = percent_decode(kv.next().unwrap_or_default());
            (name, value)
        })
        .collect()
}

fn percent_decode(s: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
