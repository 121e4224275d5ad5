//! The program of `docs/getting-started/rocket.md`: a login page, a page that
//! requires login, and logout, with a user type of the app's own.
//!
//!     cargo run -p session-jwt-rocket --example getting_started
//!
//! `tests/getting_started.rs` checks that the guide shows this file as it
//! is, and logs in and out through `app()`.

use std::sync::Arc;

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::{Build, Either, Rocket, State, get, post, routes, uri};
use serde::Serialize;
use session_jwt_rocket::{
    AuthUser, ConfigError, Error, Key, LoginRequired, MemoryStore, Session, SessionFairing,
    SessionJwt, StoreError, UserLoader, async_trait, safe_next, session_auth_hash,
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

#[derive(FromForm)]
struct Credentials<'r> {
    username: &'r str,
    password: &'r str,
}

#[get("/login")]
fn login_page() -> RawHtml<&'static str> {
    RawHtml(LOGIN_FORM)
}

#[post("/login?<next>", data = "<form>")]
fn login(
    session: Session,
    users: &State<Users>,
    next: Option<&str>,
    form: Form<Credentials<'_>>,
) -> Result<Either<Redirect, (Status, RawHtml<&'static str>)>, Error> {
    let Some(user) = users.authenticate(form.username, form.password) else {
        return Ok(Either::Right((Status::Unauthorized, RawHtml(LOGIN_FORM))));
    };
    session.login(user)?; // a new session key, with the user's id and auth hash
    let next = next.and_then(safe_next).unwrap_or("/dashboard");
    Ok(Either::Left(Redirect::to(next.to_owned())))
}

#[get("/dashboard")]
fn dashboard(user: LoginRequired<User>) -> RawHtml<String> {
    RawHtml(format!(
        r#"<p>Hello, {}!</p><form method="post" action="/logout"><button>Log out</button></form>"#,
        user.username
    ))
}

#[post("/logout")]
fn logout(session: Session) -> Redirect {
    session.logout(); // deletes the session; the response removes the cookie
    Redirect::to(uri!(login_page))
}

/// The app, apart from `main` so that a test can drive it.
pub fn app() -> Result<Rocket<Build>, ConfigError> {
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
    Ok(rocket::build()
        .mount("/", routes![login_page, login, dashboard, logout])
        .attach(SessionFairing::new(engine, MemoryStore::new()))
        .manage(users))
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    app()?.launch().await?; // http://127.0.0.1:8000/dashboard (alice / wonderland)
    Ok(())
}
