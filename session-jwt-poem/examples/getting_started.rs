//! The program of `docs/getting-started/poem.md`: a login page, a page that
//! requires login, and logout, with a user type of the app's own.
//!
//!     cargo run -p session-jwt-poem --example getting_started
//!
//! `tests/getting_started.rs` checks that the guide shows this file as it
//! is, and logs in and out through `app()`.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Data, Form, Html, Query, Redirect};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, Server, get, handler, post};
use serde::{Deserialize, Serialize};
use session_jwt_poem::{
    AuthUser, ConfigError, Key, LoginRequired, MemoryStore, Session, SessionJwt, SessionMiddleware,
    StoreError, UserLoader, async_trait, safe_next, session_auth_hash,
};

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

#[async_trait]
impl UserLoader for Users {
    type User = User;

    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.0.iter().find(|u| u.id() == id).cloned())
    }
}

/// No `action`: the form posts back to `/login?next=...`.
const LOGIN_FORM: &str = r#"<form method="post">
  <input name="username" placeholder="username">
  <input name="password" type="password" placeholder="password">
  <button>Log in</button>
</form>"#;

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[handler]
fn login_page() -> Html<&'static str> {
    Html(LOGIN_FORM)
}

#[handler]
fn login(
    session: Session,
    Data(users): Data<&Users>,
    Query(Next { next }): Query<Next>,
    Form(form): Form<Credentials>,
) -> poem::Result<Response> {
    let Some(user) = users.authenticate(&form.username, &form.password) else {
        return Ok(Html(LOGIN_FORM)
            .with_status(StatusCode::UNAUTHORIZED)
            .into_response());
    };
    session.login(user)?; // a new session key, with the user's id and auth hash
    let next = next.as_deref().and_then(safe_next).unwrap_or("/dashboard");
    Ok(Redirect::see_other(next).into_response())
}

#[handler]
fn dashboard(LoginRequired(user): LoginRequired<User>) -> Html<String> {
    Html(format!(
        r#"<p>Hello, {}!</p><form method="post" action="/logout"><button>Log out</button></form>"#,
        user.username
    ))
}

#[handler]
fn logout(session: Session) -> Redirect {
    session.logout(); // deletes the session; the response removes the cookie
    Redirect::see_other("/login")
}

/// The app, apart from `main` so that a test can drive it.
pub fn app() -> Result<impl Endpoint, ConfigError> {
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
    Ok(Route::new()
        .at("/login", get(login_page).post(login))
        .at("/dashboard", get(dashboard))
        .at("/logout", post(logout))
        .with(SessionMiddleware::new(engine, MemoryStore::new()))
        .data(users))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("http://127.0.0.1:3000/dashboard (alice / wonderland)");
    Server::new(TcpListener::bind("127.0.0.1:3000"))
        .run(app()?)
        .await?;
    Ok(())
}
