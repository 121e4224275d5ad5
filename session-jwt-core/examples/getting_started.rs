//! The program of `docs/getting-started/custom.md`: a login page, a page that
//! requires login, and logout, with a user type of the app's own, on the
//! core alone, for a server that no adapter covers.
//!
//!     cargo run -p session-jwt-core --example getting_started
//!
//! The guide shows everything down to `main`; below `main` is a small
//! stand-in for the reader's own server. `tests/getting_started.rs` checks
//! the guide's excerpts against this file, and logs in and out over HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use session_jwt_core::auth::{login_redirect, safe_next, session_auth_hash};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{
    AuthUser, ConfigError, Key, MemoryStore, Session, SessionError, SessionJwt, StoreError,
    UserLoader,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Your user type. The token's fields are read from what it serializes.
#[derive(Clone, Serialize)]
struct User {
    id: u64,
    username: String,
    #[serde(skip)]
    password: String, // a demo: store a hash (argon2, bcrypt) and verify that
    #[serde(skip)]
    auth_hash: String,
}

impl User {
    fn check_password(&self, password: &str) -> bool {
        self.password == password
    }
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }

    fn session_auth_hash(&self) -> String {
        self.auth_hash.clone()
    }
}

/// Your user table (a database, in a real app).
#[derive(Clone)]
struct Users(Arc<Vec<User>>);

impl Users {
    fn authenticate(&self, username: &str, password: &str) -> Option<&User> {
        self.0
            .iter()
            .find(|u| u.username == username && u.check_password(password))
    }
}

#[async_trait::async_trait]
impl UserLoader for Users {
    type User = User;

    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.0.iter().find(|u| u.id() == id).cloned())
    }
}

/// A request, as your server hands it over: what the session and the
/// routes need.
struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    /// Every `Cookie` header, as sent.
    cookies: Vec<Vec<u8>>,
    form: HashMap<String, String>,
}

/// A response, for your server to send.
struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Response {
    fn html(status: u16, body: impl Into<String>) -> Self {
        let headers = vec![("Content-Type", "text/html; charset=utf-8".into())];
        let body = body.into();
        Self {
            status,
            headers,
            body,
        }
    }

    fn redirect(status: u16, location: &str) -> Self {
        let headers = vec![("Location", location.into())];
        let body = String::new();
        Self {
            status,
            headers,
            body,
        }
    }
}

/// Built once at start: the engine (keys, configuration, users) and the store.
pub struct App {
    engine: SessionJwt,
    store: MemoryStore,
    users: Users,
}

/// The session around your routes: what an adapter does for you.
async fn handle(app: &App, req: Request) -> Response {
    let now = OffsetDateTime::now_utc(); // the clock, read once per request
    let cookies = req.cookies.iter().map(Vec::as_slice);
    // Verifies the cookie, loads the session and its user (your UserLoader).
    let session = match app.engine.load(&app.store, cookies, now).await {
        Ok(session) => session,
        Err(e) => return unavailable(e), // never a logout
    };
    let mut resp = route(app, &req, &session).unwrap_or_else(|e| {
        eprintln!("session: {e}");
        Response::html(500, "internal server error")
    });
    // Saves or deletes the session; says which headers to add.
    let saved = app
        .engine
        .save_response(&app.store, &session, resp.status, now);
    match saved.await {
        Ok(add) => resp
            .headers
            .extend(add.headers(false).map(|(n, v)| (n, v.into()))),
        Err(e) => return unavailable(e), // and no cookie: the client keeps its own
    }
    resp
}

fn unavailable(e: StoreError) -> Response {
    eprintln!("session store: {e}");
    Response::html(503, "session store unavailable")
}

/// No `action`: the form posts back to `/login?next=...`.
const LOGIN_FORM: &str = r#"<form method="post">
  <input name="username" placeholder="username">
  <input name="password" type="password" placeholder="password">
  <button>Log in</button>
</form>"#;
const LOGOUT: &str = r#"<form method="post" action="/logout"><button>Log out</button></form>"#;

/// Your routes: they only use the session.
fn route(app: &App, req: &Request, session: &Session) -> Result<Response, SessionError> {
    let field = |name: &str| req.form.get(name).map_or("", String::as_str);
    Ok(match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/login") => Response::html(200, LOGIN_FORM),
        ("POST", "/login") => match app.users.authenticate(field("username"), field("password")) {
            Some(user) => {
                session.login(user)?; // a new session key, with the user's id and auth hash
                let next = req.query.get("next").and_then(|n| safe_next(n));
                Response::redirect(303, next.unwrap_or("/dashboard"))
            }
            None => Response::html(401, LOGIN_FORM),
        },
        ("GET", "/dashboard") => match session.user::<User>()? {
            Some(user) => Response::html(200, format!("<p>Hello, {}!</p>{LOGOUT}", user.username)),
            None => Response::redirect(302, &login_redirect("/login", &req.path)),
        },
        ("POST", "/logout") => {
            session.logout(); // deletes the session; the response removes the cookie
            Response::redirect(303, "/login")
        }
        _ => Response::html(404, "not found"),
    })
}

/// The app, apart from `main` so that a test can drive it.
pub fn app() -> Result<App, ConfigError> {
    // DEV FALLBACK: set SESSION_JWT_KEY (32+ random bytes) outside development.
    let secret = std::env::var("SESSION_JWT_KEY")
        .unwrap_or_else(|_| "insecure development secret, 32+ bytes".into());
    let engine = SessionJwt::builder()
        .with_key(Key::hmac(secret)?)?
        .with_fields([("username", "u", "username")])
        .build()?;
    // Auth hashes are keyed with a secret derived from the signing key.
    let auth_secret = engine.auth_secret().expect("an HMAC key signs");
    let users = Users(Arc::new(vec![User {
        id: 1,
        username: "alice".into(),
        password: "wonderland".into(),
        auth_hash: session_auth_hash(auth_secret.expose(), "wonderland"),
    }]));
    let engine = engine.with_user_loader(users.clone());
    let store = MemoryStore::new();
    Ok(App {
        engine,
        store,
        users,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:8080").await?;
    println!("http://127.0.0.1:8080/dashboard (alice / wonderland)");
    serve(listener, Arc::new(app()?)).await;
    Ok(())
}

// ---------------------------------------------------------------- the stand-in
// A stand-in for your server: HTTP/1.1, one request per connection, with no
// limits and no timeouts. Not for production; `custom_server.rs` is a careful
// one.

/// Answers every connection with [`handle`].
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    while let Ok((stream, _)) = listener.accept().await {
        let app = app.clone();
        tokio::spawn(async move {
            let mut stream = BufReader::new(stream);
            if let Ok(req) = read_request(&mut stream).await {
                let resp = handle(&app, req).await;
                let _ = write_response(stream.get_mut(), resp).await;
            }
        });
    }
}

async fn read_request(stream: &mut BufReader<TcpStream>) -> std::io::Result<Request> {
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let target = words.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (path, query) = (path.to_owned(), parse_form(query));
    let (mut cookies, mut length) = (Vec::new(), 0);
    loop {
        line.clear();
        stream.read_line(&mut line).await?;
        let Some((name, value)) = line.split_once(':') else {
            break; // the blank line after the headers
        };
        if name.eq_ignore_ascii_case("cookie") {
            cookies.push(value.trim().as_bytes().to_vec());
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    let form = parse_form(&String::from_utf8_lossy(&body));
    Ok(Request {
        method,
        path,
        query,
        cookies,
        form,
    })
}

async fn write_response(stream: &mut TcpStream, resp: Response) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} \r\n", resp.status);
    head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    head.push_str("Connection: close\r\n");
    for (name, value) in &resp.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(resp.body.as_bytes()).await?;
    stream.shutdown().await
}

/// `a=1&b=2`, percent-decoded (`application/x-www-form-urlencoded`).
fn parse_form(text: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let mut out = Vec::new();
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                    out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
                }
                b => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (decode(name), decode(value)))
        .collect()
}
