//! The Rocket adapter against the real core: fairing, guards, JWKS, store
//! failures and the test helpers, through `rocket::local::asynchronous`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

mod common;

use common::{Logs, quiet};
use rocket::http::{Cookie, CookieJar, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::{Build, Responder, Rocket, State, get, post, routes};
use serde::Serialize;
use session_jwt_rocket::core::key::generate;
use session_jwt_rocket::core::{Algorithm, SessionKey};
use session_jwt_rocket::testing::asynchronous::{login, session, session_for_cookie};
use session_jwt_rocket::time::OffsetDateTime;
use session_jwt_rocket::{
    ApiUser, AuthUser, CurrentUser, Error, Key, LoginRequired, MemoryStore, Record, SaveMode,
    Session, SessionFairing, SessionJwt, SessionStore, Sessions, StoreError, UserLoader,
    async_trait, jwks_route,
};

// ---------------------------------------------------------------- fixtures

#[derive(Debug, Clone, Serialize)]
struct User {
    id: u64,
    name: String,
    #[serde(skip)]
    hash: String,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn session_auth_hash(&self) -> String {
        self.hash.clone()
    }
}

/// Users 1 and 2; `hash` changes as a password change would.
#[derive(Clone, Default)]
struct Users {
    hash_version: Arc<AtomicUsize>,
}

impl Users {
    fn user(&self, id: u64) -> User {
        User {
            id,
            name: format!("user{id}"),
            hash: format!("hash{id}-v{}", self.hash_version.load(Ordering::SeqCst)),
        }
    }
}

#[async_trait]
impl UserLoader for Users {
    type User = User;
    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(match id {
            "1" | "2" => id.parse().ok().map(|id| self.user(id)),
            _ => None,
        })
    }
}

/// A user of a type no loader is registered for.
#[derive(Debug, Clone, Serialize)]
struct Ghost;

impl AuthUser for Ghost {
    fn id(&self) -> String {
        "99".into()
    }
    fn session_auth_hash(&self) -> String {
        "h".into()
    }
}

fn engine() -> SessionJwt {
    SessionJwt::builder()
        .with_key(Key::hmac("a test secret of at least thirty-two bytes").unwrap())
        .unwrap()
        .with_fields([("name", "n", "name")])
        .build()
        .unwrap()
}

/// A real store that fails on purpose when told to.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    fail_load: AtomicBool,
    fail_save: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("connection refused (on purpose)")]
struct Down;

#[async_trait]
impl SessionStore for FlakyStore {
    async fn load(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Record>>, StoreError> {
        if self.fail_load.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(Down));
        }
        self.inner.load(key, now).await
    }
    async fn save(
        &self,
        key: &SessionKey,
        record: &Arc<Record>,
        mode: SaveMode,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(Down));
        }
        self.inner.save(key, record, mode, now).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(Down));
        }
        self.inner.delete(key).await
    }
    async fn delete_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&SessionKey>,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.inner.delete_user_sessions(user_id, keep, now).await
    }
}

// ---------------------------------------------------------------- routes

/// Counts the handler runs of `/put`.
#[derive(Default)]
struct Calls(AtomicUsize);

#[post("/put")]
fn put(session: Session, calls: &State<Calls>) -> &'static str {
    calls.0.fetch_add(1, Ordering::SeqCst);
    session.insert("k", "v").unwrap();
    "stored"
}

#[get("/read")]
fn read(session: Session) -> String {
    session.get::<String>("k").unwrap_or_else(|| "none".into())
}

#[get("/optional")]
fn optional(session: Option<Session>) -> &'static str {
    if session.is_some() { "some" } else { "none" }
}

#[get("/static")]
fn static_page() -> &'static str {
    "no session needed"
}

#[get("/whoami")]
fn whoami(user: CurrentUser<User>) -> String {
    user.as_ref().map_or("anonymous".into(), |u| u.name.clone())
}

#[get("/ghost")]
fn ghost(user: CurrentUser<Ghost>) -> &'static str {
    if user.is_some() { "ghost" } else { "nobody" }
}

#[get("/page?<_a>&<_b>")]
fn page(user: LoginRequired<User>, _a: Option<&str>, _b: Option<&str>) -> String {
    format!("page for {}", user.name)
}

/// A handler that answers an anonymous visitor itself.
#[get("/own-answer")]
fn own_answer(user: Result<LoginRequired<User>, Error>) -> Result<String, Error> {
    match user {
        Ok(user) => Ok(format!("page for {}", user.name)),
        Err(Error::LoginRequired { .. }) => Ok("please log in".into()),
        Err(e) => Err(e),
    }
}

/// A handler that passes the error on as its response.
#[get("/pass-on")]
fn pass_on(user: Result<LoginRequired<User>, Error>) -> Result<String, Error> {
    user.map(|u| format!("page for {}", u.name))
}

#[get("/api")]
fn api(user: ApiUser<User>) -> String {
    format!("api for {}", user.name)
}

#[post("/fail")]
fn fail(session: Session) -> Status {
    session.insert("k", "half-made").unwrap();
    Status::InternalServerError
}

#[post("/conflict")]
fn conflict(session: Session) -> Status {
    session.insert("k", "kept").unwrap();
    Status::Conflict
}

#[post("/logout")]
fn logout(session: Session) -> &'static str {
    session.logout();
    "OK"
}

#[post("/login/<id>")]
fn login_route(session: Session, id: u64, users: &State<Users>) -> &'static str {
    session.login(&users.user(id)).unwrap();
    "OK"
}

/// Sets a cookie of the app's own beside the session's.
#[post("/own-cookie")]
fn own_cookie(session: Session, jar: &CookieJar<'_>) -> &'static str {
    jar.add(Cookie::new("app", "1"));
    session.insert("k", "v").unwrap();
    "OK"
}

#[derive(Responder)]
#[response(content_type = "text")]
struct NoStore(&'static str, Header<'static>);

/// A route with a `Cache-Control` of its own.
#[post("/no-store")]
fn no_store(session: Session) -> NoStore {
    session.insert("k", "v").unwrap();
    NoStore("OK", Header::new("Cache-Control", "no-store"))
}

/// Reaches the `Session` guard without naming it in the signature, so no
/// sentinel sees it.
struct Indirect(Result<Session, Error>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Indirect {
    type Error = Infallible;
    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Infallible> {
        Outcome::Success(Indirect(match req.guard::<Session>().await {
            Outcome::Success(s) => Ok(s),
            Outcome::Error((_, e)) => Err(e),
            Outcome::Forward(_) => unreachable!("the guard never forwards"),
        }))
    }
}

#[get("/indirect")]
fn indirect(session: Indirect) -> Result<&'static str, Error> {
    session.0.map(|_| "session")
}

fn base() -> Rocket<Build> {
    quiet()
}

fn app(fairing: SessionFairing) -> Rocket<Build> {
    base()
        .mount(
            "/",
            routes![
                put,
                read,
                optional,
                static_page,
                whoami,
                ghost,
                page,
                own_answer,
                pass_on,
                api,
                fail,
                conflict,
                logout,
                login_route,
                own_cookie,
                no_store,
                indirect,
            ],
        )
        .mount("/", vec![jwks_route()])
        .manage(Calls::default())
        .manage(Users::default())
        .attach(fairing)
}

fn sessions(users: &Users) -> SessionFairing {
    SessionFairing::memory(engine()).with_user_loader(users.clone())
}

async fn tracked(fairing: SessionFairing) -> Client {
    Client::tracked(app(fairing)).await.expect("a valid rocket")
}

fn set_cookies(resp: &LocalResponse<'_>) -> Vec<String> {
    resp.headers()
        .get("Set-Cookie")
        .map(str::to_owned)
        .collect()
}

fn session_cookie(resp: &LocalResponse<'_>) -> Option<String> {
    set_cookies(resp)
        .into_iter()
        .find(|c| c.starts_with("sessionid="))
}

async fn text(resp: LocalResponse<'_>) -> String {
    resp.into_string().await.unwrap_or_default()
}

async fn get_text(client: &Client, uri: &'static str) -> String {
    text(client.get(uri).dispatch().await).await
}

// ---------------------------------------------------------------- the session

#[tokio::test]
async fn session_round_trips_through_the_cookie() {
    let client = Client::untracked(app(SessionFairing::memory(engine())))
        .await
        .unwrap();

    let resp = client.get("/read").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert!(
        set_cookies(&resp).is_empty(),
        "an anonymous read sets nothing"
    );
    assert_eq!(resp.headers().get_one("Vary"), Some("Cookie"));
    assert_eq!(text(resp).await, "none");

    let resp = client.post("/put").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    let attrs = session_cookie(&resp).expect("a new session sets the cookie");
    assert!(attrs.starts_with("sessionid=ey"), "{attrs}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
        assert!(attrs.contains(attr), "{attr} missing: {attrs}");
    }
    assert_eq!(resp.headers().get_one("Cache-Control"), Some("private"));
    let pair = attrs.split(';').next().unwrap().to_owned();

    // The cookie as a browser sends it: a `Cookie` header.
    let resp = client
        .get("/read")
        .header(Header::new("Cookie", pair.clone()))
        .dispatch()
        .await;
    assert!(
        set_cookies(&resp).is_empty(),
        "unchanged session: no cookie"
    );
    assert_eq!(resp.headers().get_one("Cache-Control"), None);
    assert_eq!(text(resp).await, "v");

    // The cookie as a local client adds it: `.cookie(..)`.
    let cookie = Cookie::parse(pair).unwrap();
    let resp = client.get("/read").cookie(cookie).dispatch().await;
    assert_eq!(text(resp).await, "v");

    // A cookie that is not a JWT is no cookie (and is removed), never a 500.
    let resp = client
        .get("/read")
        .header(Header::new("Cookie", "sessionid=not.a.jwt"))
        .dispatch()
        .await;
    assert_eq!(resp.status(), Status::Ok);
    assert!(session_cookie(&resp).unwrap().contains("Max-Age=0"));
    assert_eq!(text(resp).await, "none");
}

#[tokio::test]
async fn every_session_cookie_header_is_read() {
    let users = Users::default();
    let client = Client::untracked(app(sessions(&users))).await.unwrap();
    let john = login(&client, &users.user(1)).await.unwrap().to_string();
    let jane = login(&client, &users.user(2)).await.unwrap().to_string();
    let whoami = |cookies: Vec<String>| {
        let mut req = client.get("/whoami");
        for c in cookies {
            req = req.header(Header::new("Cookie", c));
        }
        req.dispatch()
    };
    // One garbage, one valid, in two headers: the valid one is used (the
    // `CookieJar` would keep only the last of a name).
    let resp = whoami(vec![john.clone(), "sessionid=garbage".into()]).await;
    assert_eq!(text(resp).await, "user1");
    // Two valid ones of different sessions: anonymous.
    let resp = whoami(vec![format!("{john}; {jane}")]).await;
    assert_eq!(text(resp).await, "anonymous");
}

#[tokio::test]
async fn the_apps_own_cookies_are_kept_beside_the_session_cookie() {
    let client = tracked(SessionFairing::memory(engine())).await;
    let resp = client.post("/own-cookie").dispatch().await;
    let cookies = set_cookies(&resp);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies.iter().any(|c| c.starts_with("app=1")));
    assert!(cookies.iter().any(|c| c.starts_with("sessionid=ey")));
}

#[tokio::test]
async fn a_cache_control_of_the_routes_own_is_kept() {
    let client = tracked(SessionFairing::memory(engine())).await;
    let resp = client.post("/no-store").dispatch().await;
    assert!(session_cookie(&resp).is_some());
    let cache: Vec<&str> = resp.headers().get("Cache-Control").collect();
    assert_eq!(cache, ["no-store"]);
}

#[tokio::test]
async fn a_handler_that_fails_saves_nothing() {
    let client = tracked(SessionFairing::memory(engine())).await;
    client.post("/put").dispatch().await;
    let before = session(&client).await.unwrap();
    assert_eq!(before.get::<String>("k").as_deref(), Some("v"));

    // A 5xx: nothing saved, no cookie.
    let resp = client.post("/fail").dispatch().await;
    assert_eq!(resp.status(), Status::InternalServerError);
    assert!(set_cookies(&resp).is_empty(), "{:?}", set_cookies(&resp));
    let after = session(&client).await.unwrap();
    assert_eq!(after.get::<String>("k").as_deref(), Some("v"));

    // A new visitor whose handler fails gets no session at all.
    let fresh = Client::untracked(app(SessionFairing::memory(engine())))
        .await
        .unwrap();
    let resp = fresh.post("/fail").dispatch().await;
    assert!(set_cookies(&resp).is_empty());

    // A 4xx is the app's answer, not a failure: the session is saved.
    let resp = client.post("/conflict").dispatch().await;
    assert_eq!(resp.status(), Status::Conflict);
    assert!(session_cookie(&resp).is_some());
    let after = session(&client).await.unwrap();
    assert_eq!(after.get::<String>("k").as_deref(), Some("kept"));
}

#[tokio::test]
async fn logout_removes_the_cookie_and_the_record() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    let cookie = login(&client, &users.user(1)).await.unwrap();
    let resp = client.post("/logout").dispatch().await;
    assert!(session_cookie(&resp).unwrap().contains("Max-Age=0"));
    assert!(
        client.cookies().get("sessionid").is_none(),
        "the client dropped it"
    );
    // The old cookie is refused at once.
    let resp = client.get("/whoami").cookie(cookie).dispatch().await;
    assert_eq!(text(resp).await, "anonymous");
}

#[tokio::test]
async fn login_in_a_handler_cycles_the_key() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    client.post("/put").dispatch().await;
    let before = session(&client).await.unwrap().key().unwrap();
    let resp = client.post("/login/2").dispatch().await;
    assert!(session_cookie(&resp).is_some());
    let after = session(&client).await.unwrap();
    assert_ne!(after.key().unwrap(), before, "login cycles the key");
    assert_eq!(after.get::<String>("k").as_deref(), Some("v"), "items kept");
    assert_eq!(get_text(&client, "/whoami").await, "user2");
}

// ---------------------------------------------------------------- the fairing

#[tokio::test]
async fn a_route_with_a_guard_does_not_launch_without_the_fairing() {
    for rocket in [
        base().mount("/", routes![read]),
        base().mount("/", routes![optional]),
        base().mount("/", routes![whoami]),
        base().mount("/", routes![page]),
        base().mount("/", routes![api]),
    ] {
        let logs = Logs::default();
        let guard = logs.capture();
        let err = rocket.ignite().await.expect_err("the launch stops");
        drop(guard);
        assert!(
            matches!(err.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
            "{err:?}"
        );
        assert!(
            logs.text().contains("SessionFairing is not attached"),
            "{}",
            logs.text()
        );
    }
}

#[tokio::test]
async fn a_guard_without_the_fairing_fails_with_a_message() {
    let client = Client::untracked(
        base()
            .mount("/", routes![indirect, static_page])
            .mount("/", vec![jwks_route()]),
    )
    .await
    .unwrap();
    let resp = client.get("/indirect").dispatch().await;
    assert_eq!(resp.status(), Status::InternalServerError);
    assert!(text(resp).await.contains("SessionFairing is not attached"));
    let resp = client.get("/.well-known/jwks.json").dispatch().await;
    assert_eq!(resp.status(), Status::InternalServerError);
    assert_eq!(get_text(&client, "/static").await, "no session needed");

    // With the fairing, the same route has its session.
    let client = client_with_fairing().await;
    assert_eq!(get_text(&client, "/indirect").await, "session");
}

async fn client_with_fairing() -> Client {
    tracked(SessionFairing::memory(engine())).await
}

#[tokio::test]
async fn the_fairing_attached_twice_manages_one_session() {
    let rocket = app(SessionFairing::memory(engine())).attach(SessionFairing::memory(engine()));
    let client = Client::tracked(rocket).await.unwrap();
    let resp = client.post("/put").dispatch().await;
    assert_eq!(set_cookies(&resp).len(), 1);
    assert_eq!(get_text(&client, "/read").await, "v");
}

#[tokio::test]
async fn sessions_are_managed_state() {
    let client = client_with_fairing().await;
    let sessions = client.rocket().state::<Sessions>().expect("managed");
    assert_eq!(sessions.engine().cookie_settings().name, "sessionid");
    assert_eq!(sessions.login_url(), "/login");
}

// ---------------------------------------------------------------- users

#[tokio::test]
async fn current_user_is_optional_and_logged_out_after_a_password_change() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    assert_eq!(get_text(&client, "/whoami").await, "anonymous");

    login(&client, &users.user(1)).await.unwrap();
    assert_eq!(get_text(&client, "/whoami").await, "user1");

    // The password changes elsewhere: this session is logged out at its next
    // request, and its cookie removed.
    users.hash_version.fetch_add(1, Ordering::SeqCst);
    let resp = client.get("/whoami").dispatch().await;
    assert!(session_cookie(&resp).unwrap().contains("Max-Age=0"));
    assert_eq!(text(resp).await, "anonymous");
    assert!(session(&client).await.unwrap().user_id().is_none());
}

#[tokio::test]
async fn current_user_of_a_deleted_user_is_anonymous() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    let mut gone = users.user(1);
    gone.id = 7;
    login(&client, &gone).await.unwrap();
    assert_eq!(get_text(&client, "/whoami").await, "anonymous");
}

#[tokio::test]
async fn a_user_guard_for_another_type_than_the_loaders_is_a_500() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    login(&client, &users.user(1)).await.unwrap();
    let logs = Logs::default();
    let guard = logs.capture();
    let resp = client.get("/ghost").dispatch().await;
    drop(guard);
    assert_eq!(resp.status(), Status::InternalServerError);
    assert!(logs.text().contains("Ghost"), "{}", logs.text());
    assert!(
        session_cookie(&resp).is_none(),
        "an app mistake logs nobody out"
    );
    assert_eq!(get_text(&client, "/whoami").await, "user1");
}

#[tokio::test]
async fn login_required_redirects_pages_with_next() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;

    let resp = client.get("/page").dispatch().await;
    assert_eq!(resp.status(), Status::Found);
    assert_eq!(
        resp.headers().get_one("Location"),
        Some("/login?next=/page")
    );

    let resp = client.get("/page?a=1&b=x%20y").dispatch().await;
    assert_eq!(resp.status(), Status::Found);
    assert_eq!(
        resp.headers().get_one("Location"),
        Some("/login?next=/page%3Fa%3D1%26b%3Dx%2520y")
    );

    login(&client, &users.user(2)).await.unwrap();
    let resp = client.get("/page").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(text(resp).await, "page for user2");
}

#[tokio::test]
async fn login_required_uses_the_login_url_and_the_full_path() {
    let users = Users::default();
    let rocket = base()
        .mount("/app", routes![page])
        .manage(users.clone())
        .attach(sessions(&users).with_login_url("/accounts/login/"));
    let client = Client::tracked(rocket).await.unwrap();
    let resp = client.get("/app/page").dispatch().await;
    assert_eq!(resp.status(), Status::Found);
    assert_eq!(
        resp.headers().get_one("Location"),
        Some("/accounts/login/?next=/app/page")
    );
}

#[tokio::test]
async fn login_required_as_a_result_leaves_the_answer_to_the_handler() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    let resp = client.get("/own-answer").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(resp.headers().get_one("Location"), None);
    assert_eq!(text(resp).await, "please log in");

    // Passed on as the response, the error is the same redirect.
    let resp = client.get("/pass-on").dispatch().await;
    assert_eq!(resp.status(), Status::Found);
    assert_eq!(
        resp.headers().get_one("Location"),
        Some("/login?next=/pass-on")
    );
}

#[tokio::test]
async fn a_stale_session_is_removed_on_a_redirect_too() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    login(&client, &users.user(1)).await.unwrap();
    assert_eq!(get_text(&client, "/page").await, "page for user1");
    users.hash_version.fetch_add(1, Ordering::SeqCst);
    // The catcher of the 302 resets the `CookieJar`; the session's removal
    // cookie is written by the fairing and survives it.
    let resp = client.get("/page").dispatch().await;
    assert_eq!(resp.status(), Status::Found);
    assert!(session_cookie(&resp).unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn api_user_is_401_for_anonymous() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    let resp = client.get("/api").dispatch().await;
    assert_eq!(resp.status(), Status::Unauthorized);
    assert_eq!(resp.headers().get_one("Location"), None);

    login(&client, &users.user(1)).await.unwrap();
    assert_eq!(get_text(&client, "/api").await, "api for user1");

    // After a password change elsewhere: 401, and the session is removed.
    users.hash_version.fetch_add(1, Ordering::SeqCst);
    let resp = client.get("/api").dispatch().await;
    assert_eq!(resp.status(), Status::Unauthorized);
    assert!(session_cookie(&resp).unwrap().contains("Max-Age=0"));
}

// ---------------------------------------------------------------- JWKS

#[tokio::test]
async fn jwks_is_404_for_hmac() {
    let client = client_with_fairing().await;
    let resp = client.get("/.well-known/jwks.json").dispatch().await;
    assert_eq!(resp.status(), Status::NotFound);
}

#[tokio::test]
async fn jwks_serves_the_public_key() {
    let (key, _pem) = generate(Algorithm::ES256).unwrap();
    let engine = SessionJwt::builder()
        .with_key(key)
        .unwrap()
        .build()
        .unwrap();
    let client = tracked(SessionFairing::memory(engine)).await;
    let resp = client.get("/.well-known/jwks.json").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(resp.content_type(), Some(rocket::http::ContentType::JSON));
    assert!(set_cookies(&resp).is_empty());
    let jwks: serde_json::Value = serde_json::from_str(&text(resp).await).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].is_string());
    assert!(key.get("d").is_none(), "never the private part");
}

// ---------------------------------------------------------------- store failures

async fn flaky() -> (Arc<FlakyStore>, Client) {
    let store = Arc::new(FlakyStore::default());
    let fairing = SessionFairing::with_shared_store(engine(), store.clone())
        .with_user_loader(Users::default());
    (store, tracked(fairing).await)
}

fn calls(client: &Client) -> usize {
    client
        .rocket()
        .state::<Calls>()
        .unwrap()
        .0
        .load(Ordering::SeqCst)
}

#[tokio::test]
async fn store_failure_on_load_is_503_and_no_logout() {
    let (store, client) = flaky().await;
    login(&client, &Users::default().user(1)).await.unwrap();
    let first = calls(&client);

    store.fail_load.store(true, Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let resp = client.post("/put").dispatch().await;
    drop(guard);
    let logged = logs.text();
    assert!(
        logged.contains("ERROR") && logged.contains("connection refused (on purpose)"),
        "the reason is logged: {logged}"
    );
    assert_eq!(resp.status(), Status::ServiceUnavailable);
    assert!(set_cookies(&resp).is_empty(), "no cookie change on failure");
    assert!(
        !text(resp).await.contains("on purpose"),
        "the reason is logged, not sent"
    );
    assert_eq!(calls(&client), first, "the handler did not run");

    // The user guards answer 503 too, never anonymous.
    for uri in ["/whoami", "/page", "/api"] {
        let resp = client.get(uri).dispatch().await;
        assert_eq!(resp.status(), Status::ServiceUnavailable, "{uri}");
        assert!(set_cookies(&resp).is_empty(), "{uri}");
    }

    store.fail_load.store(false, Ordering::SeqCst);
    let session = session(&client).await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"), "still logged in");
}

#[tokio::test]
async fn during_an_outage_only_requests_that_use_the_session_fail() {
    let (store, client) = flaky().await;
    login(&client, &Users::default().user(1)).await.unwrap();
    store.fail_load.store(true, Ordering::SeqCst);
    // A page that never asks for its session does not wait for the store.
    let resp = client.get("/static").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert!(set_cookies(&resp).is_empty());
    // A handler taking Option<Session> gets None when the load fails; the
    // response is still a 503, never an anonymous page.
    let resp = client.get("/optional").dispatch().await;
    assert_eq!(resp.status(), Status::ServiceUnavailable);
    assert!(set_cookies(&resp).is_empty());
    store.fail_load.store(false, Ordering::SeqCst);
    assert_eq!(get_text(&client, "/optional").await, "some");
}

#[tokio::test]
async fn store_failure_on_save_is_503_without_set_cookie() {
    let (store, client) = flaky().await;
    login(&client, &Users::default().user(1)).await.unwrap();

    store.fail_save.store(true, Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let resp = client.post("/put").dispatch().await;
    drop(guard);
    assert_eq!(resp.status(), Status::ServiceUnavailable);
    assert!(set_cookies(&resp).is_empty());
    assert!(logs.text().contains("failed to save"), "{}", logs.text());
    assert_eq!(text(resp).await, "session store unavailable");

    store.fail_save.store(false, Ordering::SeqCst);
    let session = session(&client).await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"), "still logged in");
    assert_eq!(
        session.get::<String>("k"),
        None,
        "the failed write is not kept"
    );

    // A new visitor whose first session cannot be stored: 503 too.
    store.fail_save.store(true, Ordering::SeqCst);
    client.cookies().remove("sessionid");
    let fresh = Client::untracked(app(SessionFairing::with_shared_store(
        engine(),
        store.clone(),
    )))
    .await
    .unwrap();
    let resp = fresh.post("/put").dispatch().await;
    assert_eq!(resp.status(), Status::ServiceUnavailable);
    assert!(set_cookies(&resp).is_empty());
}

// ---------------------------------------------------------------- testing helpers

#[tokio::test]
async fn the_test_helpers_follow_the_cookie() {
    let users = Users::default();
    let client = tracked(sessions(&users)).await;
    assert!(client.cookies().get("sessionid").is_none());
    assert!(session(&client).await.unwrap().is_empty());

    let cookie = login(&client, &users.user(1)).await.unwrap();
    assert_eq!(
        client
            .cookies()
            .get("sessionid")
            .map(|c| c.value().to_owned()),
        Some(cookie.value().to_owned()),
        "the tracked client keeps the cookie"
    );
    let held = session(&client).await.unwrap();
    assert_eq!(held.user_id().as_deref(), Some("1"));
    assert_eq!(
        held.claims().unwrap().get("name"),
        Some(&"user1".into()),
        "the token carries the user's fields"
    );
    assert_eq!(get_text(&client, "/whoami").await, "user1");

    // The client follows a new cookie from a response.
    client.post("/put").dispatch().await;
    assert_eq!(
        session(&client)
            .await
            .unwrap()
            .get::<String>("k")
            .as_deref(),
        Some("v")
    );
    let by_cookie = session_for_cookie(&client, cookie.to_string())
        .await
        .unwrap();
    assert_eq!(by_cookie.user_id().as_deref(), Some("1"));
}

#[tokio::test]
async fn login_cookie_works_with_an_untracked_client() {
    let users = Users::default();
    let client = Client::untracked(app(sessions(&users))).await.unwrap();
    let cookie = login(&client, &users.user(2)).await.unwrap();
    assert_eq!(
        get_text(&client, "/whoami").await,
        "anonymous",
        "nothing kept"
    );
    let resp = client.get("/whoami").cookie(cookie).dispatch().await;
    assert_eq!(text(resp).await, "user2");
}

#[tokio::test]
async fn the_testing_route_is_invisible_to_requests() {
    let client = client_with_fairing().await;
    let resp = client.get("/__session_jwt/testing").dispatch().await;
    assert_eq!(resp.status(), Status::NotFound);
    assert!(set_cookies(&resp).is_empty());
}

#[tokio::test]
async fn the_test_helpers_need_the_fairing() {
    let client = Client::untracked(base()).await.unwrap();
    assert!(matches!(
        login(&client, &Users::default().user(1)).await,
        Err(Error::FairingMissing)
    ));
    assert!(matches!(session(&client).await, Err(Error::FairingMissing)));
}
