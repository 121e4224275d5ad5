//! The program of `docs/getting-started/warp.md`: a login page, a page that
//! requires login, and logout, with a user type of the app's own.
//!
//!     cargo run -p session-jwt-warp --example getting_started
//!
//! `tests/getting_started.rs` checks that the guide shows this file as it
//! is, and logs in and out through `app()`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use session_jwt_warp::{
    AuthUser, ConfigError, Error, Key, MemoryStore, Session, SessionJwt, Sessions, StoreError,
    UserLoader, async_trait, safe_next, session_auth_hash,
};
use warp::http::{StatusCode, Uri};
use warp::reply::{Response, html, with_status};
use warp::{Filter, Rejection, Reply, redirect};

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

async fn login(
    session: Session,
    users: Users,
    Next { next }: Next,
    form: Credentials,
) -> Result<Response, Rejection> {
    let Some(user) = users.authenticate(&form.username, &form.password) else {
        return Ok(with_status(html(LOGIN_FORM), StatusCode::UNAUTHORIZED).into_response());
    };
    // A new session key, with the user's id and auth hash.
    session.login(user).map_err(Error::from)?;
    let next = next.as_deref().and_then(safe_next).unwrap_or("/dashboard");
    let next = Uri::try_from(next).unwrap_or(Uri::from_static("/dashboard"));
    Ok(redirect::see_other(next).into_response())
}

fn dashboard(user: User) -> impl Reply {
    html(format!(
        r#"<p>Hello, {}!</p><form method="post" action="/logout"><button>Log out</button></form>"#,
        user.username
    ))
}

fn logout(session: Session) -> impl Reply {
    session.logout(); // deletes the session; the response removes the cookie
    redirect::see_other(Uri::from_static("/login"))
}

/// The app, apart from `main` so that a test can drive it.
pub fn app() -> Result<impl Filter<Extract = (Response,), Error = Rejection> + Clone, ConfigError> {
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
    let sessions = Sessions::new(engine.with_user_loader(users.clone()), MemoryStore::new());

    let login_page = warp::path!("login")
        .and(warp::get())
        .map(|| html(LOGIN_FORM));
    let login = warp::path!("login")
        .and(warp::post())
        .and(sessions.session())
        .and(warp::any().map(move || users.clone()))
        .and(warp::query::<Next>())
        .and(warp::body::content_length_limit(4096))
        .and(warp::body::form::<Credentials>())
        .and_then(login);
    let dashboard = warp::path!("dashboard")
        .and(warp::get())
        .and(sessions.login_required::<User>())
        .map(dashboard);
    let logout = warp::path!("logout")
        .and(warp::post())
        .and(sessions.session())
        .map(logout);
    Ok(sessions.wrap(login_page.or(login).or(dashboard).or(logout)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("http://127.0.0.1:3030/dashboard (alice / wonderland)");
    warp::serve(app()?).run(([127, 0, 0, 1], 3030)).await;
    Ok(())
}
