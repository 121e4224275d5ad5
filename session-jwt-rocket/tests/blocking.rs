//! The test helpers with `rocket::local::blocking::Client`.

mod common;

use common::quiet;
use rocket::http::Status;
use rocket::local::blocking::Client;
use rocket::{Build, Rocket, get, post, routes};
use serde::Serialize;
use session_jwt_rocket::testing::blocking::{login, session, session_for_cookie};
use session_jwt_rocket::{
    AuthUser, Error, Key, LoginRequired, Session, SessionFairing, SessionJwt, StoreError,
    UserLoader, async_trait,
};

#[derive(Debug, Clone, Serialize)]
struct User {
    id: u64,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn session_auth_hash(&self) -> String {
        "hash".into()
    }
}

struct Users;

#[async_trait]
impl UserLoader for Users {
    type User = User;
    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(id.parse().ok().map(|id| User { id }))
    }
}

#[get("/me")]
fn me(user: LoginRequired<User>) -> String {
    user.id.to_string()
}

#[post("/put")]
fn put(session: Session) -> &'static str {
    session.insert("k", "v").unwrap();
    "stored"
}

fn rocket() -> Rocket<Build> {
    let engine = SessionJwt::builder()
        .with_key(Key::hmac("a test secret of at least thirty-two bytes").unwrap())
        .unwrap()
        .build()
        .unwrap();
    quiet()
        .mount("/", routes![me, put])
        .attach(SessionFairing::memory(engine).with_user_loader(Users))
}

#[test]
fn a_blocking_tracked_client_logs_in_without_a_login_route() {
    let client = Client::tracked(rocket()).unwrap();
    let resp = client.get("/me").dispatch();
    assert_eq!(resp.status(), Status::Found);
    assert_eq!(resp.headers().get_one("Location"), Some("/login?next=/me"));
    assert!(session(&client).unwrap().is_empty());

    let cookie = login(&client, &User { id: 3 }).unwrap();
    assert_eq!(
        client.get("/me").dispatch().into_string().as_deref(),
        Some("3")
    );
    let held = session(&client).unwrap();
    assert_eq!(held.user_id().as_deref(), Some("3"));

    client.post("/put").dispatch();
    assert_eq!(
        session(&client).unwrap().get::<String>("k").as_deref(),
        Some("v")
    );
    let by_cookie = session_for_cookie(&client, cookie.to_string()).unwrap();
    assert_eq!(by_cookie.user_id().as_deref(), Some("3"));
}

#[test]
fn a_blocking_untracked_client_sends_the_cookie_it_is_given() {
    let client = Client::untracked(rocket()).unwrap();
    let cookie = login(&client, &User { id: 4 }).unwrap();
    assert_eq!(client.get("/me").dispatch().status(), Status::Found);
    let resp = client.get("/me").cookie(cookie).dispatch();
    assert_eq!(resp.into_string().as_deref(), Some("4"));
}

#[test]
fn the_blocking_helpers_need_the_fairing() {
    let client = Client::untracked(quiet()).unwrap();
    assert!(matches!(
        login(&client, &User { id: 1 }),
        Err(Error::FairingMissing)
    ));
}
