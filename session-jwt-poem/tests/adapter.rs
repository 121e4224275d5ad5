//! The Poem adapter against the real core: middleware, extractors, guards,
//! JWKS, store failures and the test helpers, through `poem::test`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use poem::http::StatusCode;
use poem::http::header::{LOCATION, SET_COOKIE, VARY};
use poem::test::{TestClient, TestResponse};
use poem::web::Data;
use poem::{Endpoint, EndpointExt, Route, get, handler, post};
use serde::Serialize;
use session_jwt_poem::core::key::generate;
use session_jwt_poem::core::{Algorithm, SessionKey};
use session_jwt_poem::testing::{SessionClient, login_cookie, session_for_cookie};
use session_jwt_poem::time::OffsetDateTime;
use session_jwt_poem::{
    ApiUser, AuthUser, CurrentUser, Key, LoginRequired, MemoryStore, Record, SaveMode, Session,
    SessionJwt, SessionMiddleware, SessionStore, StoreError, UserLoader, async_trait,
    jwks_endpoint,
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

/// Users 1 and 2; `hash` can be changed, as a password change would.
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

#[handler]
fn put(session: Session) -> &'static str {
    session.insert("k", "v").unwrap();
    "stored"
}

#[handler]
fn read(session: Session) -> String {
    session.get::<String>("k").unwrap_or_else(|| "none".into())
}

#[handler]
fn optional(session: Option<Session>) -> &'static str {
    if session.is_some() { "some" } else { "none" }
}

#[handler]
fn whoami(user: CurrentUser<User>) -> String {
    user.as_ref()
        .map_or_else(|| "anonymous".into(), |u| u.name.clone())
}

#[handler]
fn page(LoginRequired(user): LoginRequired<User>) -> String {
    format!("page for {}", user.name)
}

#[handler]
fn api(ApiUser(user): ApiUser<User>) -> String {
    format!("api for {}", user.name)
}

#[handler]
fn put_then_fail(session: Session) -> poem::Result<&'static str> {
    session.insert("k", "half-done").unwrap();
    Err(poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))
}

fn app_routes() -> Route {
    Route::new()
        .at("/put", post(put))
        .at("/put-then-fail", post(put_then_fail))
        .at("/read", get(read))
        .at("/optional", get(optional))
        .at("/whoami", get(whoami))
        .at("/page", get(page))
        .at("/api", get(api))
}

fn set_cookies(resp: &TestResponse) -> Vec<String> {
    resp.0
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Cookie` header value for a response's session cookie.
fn cookie_of(resp: &TestResponse) -> String {
    let all = set_cookies(resp);
    assert_eq!(all.len(), 1, "one Set-Cookie expected: {all:?}");
    all[0].split(';').next().unwrap().to_owned()
}

async fn text(resp: TestResponse) -> String {
    resp.0.into_body().into_string().await.unwrap()
}

// ---------------------------------------------------------------- session

#[tokio::test]
async fn a_server_error_saves_nothing_as_in_django() {
    let cli = TestClient::new(app_routes().with(SessionMiddleware::memory(engine())));
    let resp = cli.post("/put-then-fail").send().await;
    resp.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&resp).is_empty(), "a 500 sets no cookie");
    let cookie = cookie_of(&cli.post("/put").send().await);
    let resp = cli
        .post("/put-then-fail")
        .header("Cookie", &cookie)
        .send()
        .await;
    resp.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    let resp = cli.get("/read").header("Cookie", &cookie).send().await;
    resp.assert_text("v").await;
}

#[tokio::test]
async fn session_round_trips_through_the_cookie() {
    let cli = TestClient::new(app_routes().with(SessionMiddleware::memory(engine())));

    let resp = cli.get("/read").send().await;
    resp.assert_status_is_ok();
    assert!(set_cookies(&resp).is_empty(), "anonymous read sets nothing");
    resp.assert_header(VARY, "Cookie");
    resp.assert_text("none").await;

    let resp = cli.post("/put").send().await;
    resp.assert_status_is_ok();
    let cookie = cookie_of(&resp);
    let attrs = &set_cookies(&resp)[0];
    assert!(cookie.starts_with("sessionid=ey"), "{cookie}");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax") && attrs.contains("Path=/")
    );

    let resp = cli.get("/read").header("Cookie", &cookie).send().await;
    assert!(
        set_cookies(&resp).is_empty(),
        "unchanged session: no cookie"
    );
    resp.assert_text("v").await;

    // A cookie that is not a JWT is no cookie (and is removed), never a 500.
    let resp = cli
        .get("/read")
        .header("Cookie", "sessionid=not.a.jwt")
        .send()
        .await;
    resp.assert_status_is_ok();
    assert!(set_cookies(&resp)[0].contains("Max-Age=0"));
    resp.assert_text("none").await;
}

#[tokio::test]
async fn session_without_middleware_says_so() {
    let cli = TestClient::new(app_routes());
    let resp = cli.get("/read").send().await;
    resp.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    let body = text(resp).await;
    assert!(
        body.contains("SessionMiddleware is not installed"),
        "{body}"
    );

    let resp = cli.get("/whoami").send().await;
    resp.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        text(resp)
            .await
            .contains("SessionMiddleware is not installed")
    );
}

#[tokio::test]
async fn option_session_is_none_without_middleware() {
    TestClient::new(app_routes())
        .get("/optional")
        .send()
        .await
        .assert_text("none")
        .await;
    TestClient::new(app_routes().with(SessionMiddleware::memory(engine())))
        .get("/optional")
        .send()
        .await
        .assert_text("some")
        .await;
}

#[tokio::test]
async fn session_is_saved_when_the_handler_fails() {
    #[handler]
    fn fails(session: Session) -> poem::Result<()> {
        session.insert("k", "v").unwrap();
        Err(poem::Error::from_status(StatusCode::CONFLICT))
    }
    let mw = SessionMiddleware::memory(engine());
    let cli = TestClient::new(Route::new().at("/", post(fails)).with(mw.clone()));
    let resp = cli.post("/").send().await;
    resp.assert_status(StatusCode::CONFLICT);
    let session = session_for_cookie(&mw, &cookie_of(&resp)).await.unwrap();
    assert_eq!(session.get::<String>("k").as_deref(), Some("v"));
}

#[tokio::test]
async fn middleware_installed_twice_manages_one_session() {
    let mw = SessionMiddleware::memory(engine());
    let cli = TestClient::new(app_routes().with(mw.clone()).with(mw));
    let resp = cli.post("/put").send().await;
    assert_eq!(set_cookies(&resp).len(), 1);
}

// ---------------------------------------------------------------- users

fn user_app(users: &Users) -> (SessionMiddleware, impl Endpoint + use<>) {
    let mw = SessionMiddleware::memory(engine().with_user_loader(users.clone()));
    (mw.clone(), app_routes().with(mw))
}

#[tokio::test]
async fn current_user_is_optional_and_checks_the_auth_hash() {
    let users = Users::default();
    let (mw, app) = user_app(&users);
    let mut cli = SessionClient::new(TestClient::new(app), &mw);

    cli.get("/whoami")
        .send()
        .await
        .assert_text("anonymous")
        .await;

    cli.login(&users.user(1)).await.unwrap();
    cli.get("/whoami").send().await.assert_text("user1").await;

    // The password changes elsewhere: this session is logged out at its next
    // request, and its cookie removed.
    users.hash_version.fetch_add(1, Ordering::SeqCst);
    let resp = cli.get("/whoami").send().await;
    assert!(set_cookies(&resp)[0].contains("Max-Age=0"));
    resp.assert_text("anonymous").await;
    assert!(cli.session().await.unwrap().user_id().is_none());
}

#[tokio::test]
async fn current_user_of_a_deleted_user_is_anonymous() {
    // Logged in as user 99, who is not (any more) in the table.
    let users = Users::default();
    let (mw, app) = user_app(&users);
    let mut cli = SessionClient::new(TestClient::new(app), &mw);
    let ghost = User {
        id: 99,
        ..users.user(1)
    };
    cli.login(&ghost).await.unwrap();
    cli.get("/whoami")
        .send()
        .await
        .assert_text("anonymous")
        .await;
}

#[tokio::test]
async fn user_extractor_without_loader_is_a_logged_500_with_a_generic_body() {
    let cli = TestClient::new(app_routes().with(SessionMiddleware::memory(engine())));
    let resp = cli.get("/whoami").send().await;
    resp.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    let body = text(resp).await;
    assert_eq!(body, "internal server error");
}

#[tokio::test]
async fn login_required_redirects_pages_with_next() {
    let users = Users::default();
    let (mw, app) = user_app(&users);
    let mut cli = SessionClient::new(TestClient::new(app), &mw);

    let resp = cli.get("/page").send().await;
    resp.assert_status(StatusCode::FOUND);
    resp.assert_header(LOCATION, "/login?next=/page");

    let resp = cli.get("/page?a=1&b=x%20y").send().await;
    resp.assert_status(StatusCode::FOUND);
    resp.assert_header(LOCATION, "/login?next=/page%3Fa%3D1%26b%3Dx%2520y");

    cli.login(&users.user(2)).await.unwrap();
    let resp = cli.get("/page").send().await;
    resp.assert_status_is_ok();
    resp.assert_text("page for user2").await;
}

#[tokio::test]
async fn login_required_uses_the_configured_login_url_and_full_path() {
    let mw = SessionMiddleware::memory(engine().with_user_loader(Users::default()))
        .with_login_url("/accounts/login/");
    let app = Route::new().nest("/app", app_routes()).with(mw);
    let resp = TestClient::new(app).get("/app/page").send().await;
    resp.assert_status(StatusCode::FOUND);
    resp.assert_header(LOCATION, "/accounts/login/?next=/app/page");
}

#[tokio::test]
async fn api_user_is_401_for_anonymous() {
    let users = Users::default();
    let (mw, app) = user_app(&users);
    let mut cli = SessionClient::new(TestClient::new(app), &mw);

    let resp = cli.get("/api").send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    resp.assert_header_is_not_exist(LOCATION);

    cli.login(&users.user(1)).await.unwrap();
    cli.get("/api")
        .send()
        .await
        .assert_text("api for user1")
        .await;
}

// ---------------------------------------------------------------- JWKS

#[tokio::test]
async fn jwks_is_404_for_hmac() {
    let cli = TestClient::new(get(jwks_endpoint(&engine())));
    cli.get("/")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwks_serves_the_public_key() {
    let (key, _pem): (Key, _) = generate(Algorithm::ES256).unwrap();
    let engine = SessionJwt::builder()
        .with_key(key)
        .unwrap()
        .build()
        .unwrap();
    let resp = TestClient::new(get(jwks_endpoint(&engine)))
        .get("/")
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_content_type("application/json");
    let jwks = resp.json().await;
    let key = jwks.value().object().get("keys").array().get(0).object();
    key.get("kty").assert_string("EC");
    key.get("alg").assert_string("ES256");
    key.get("use").assert_string("sig");
    key.get("kid").string();
    assert!(key.get_opt("d").is_none(), "never the private part");
}

// ---------------------------------------------------------------- store failures

/// Collects the log lines written while it is the thread's subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(move || logs.clone())
                .with_ansi(false)
                .finish(),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[derive(Clone)]
struct Counted(Arc<AtomicUsize>);

fn flaky_app() -> (
    Arc<FlakyStore>,
    SessionMiddleware,
    Arc<AtomicUsize>,
    impl Endpoint + use<>,
) {
    let store = Arc::new(FlakyStore::default());
    let mw = SessionMiddleware::with_shared_store(
        engine().with_user_loader(Users::default()),
        store.clone(),
    );
    let calls = Arc::new(AtomicUsize::new(0));

    #[handler]
    fn counted_put(session: Session, Data(c): Data<&Counted>) -> &'static str {
        c.0.fetch_add(1, Ordering::SeqCst);
        session.insert("k", "changed").unwrap();
        "stored"
    }
    #[handler]
    fn static_page() -> &'static str {
        "no session needed"
    }
    let app = Route::new()
        .at("/put", post(counted_put))
        .at("/read", get(read))
        .at("/optional", get(optional))
        .at("/static", get(static_page))
        .with(mw.clone())
        .data(Counted(calls.clone()));
    (store, mw, calls, app)
}

#[tokio::test]
async fn store_failure_on_load_is_503_and_no_logout() {
    let (store, mw, calls, app) = flaky_app();
    let mut cli = SessionClient::new(TestClient::new(app), &mw);
    cli.post("/put").send().await.assert_status_is_ok();
    let first = calls.load(Ordering::SeqCst);
    cli.login(&Users::default().user(1)).await.unwrap();

    store.fail_load.store(true, Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let resp = cli.post("/put").send().await;
    drop(guard);
    let logged = logs.text();
    assert!(
        logged.contains("ERROR") && logged.contains("connection refused (on purpose)"),
        "the reason is logged: {logged}"
    );
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&resp).is_empty(), "no cookie change on failure");
    assert!(
        !text(resp).await.contains("on purpose"),
        "the reason is logged, not sent"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        first,
        "the handler did not run"
    );

    store.fail_load.store(false, Ordering::SeqCst);
    let session = cli.session().await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"), "still logged in");
}

#[tokio::test]
async fn during_an_outage_only_requests_that_use_the_session_fail() {
    let (store, mw, _calls, app) = flaky_app();
    let mut cli = SessionClient::new(TestClient::new(app), &mw);
    cli.login(&Users::default().user(1)).await.unwrap();
    store.fail_load.store(true, Ordering::SeqCst);
    // A page that never asks for its session does not wait for the store.
    let resp = cli.get("/static").send().await;
    resp.assert_status_is_ok();
    assert!(set_cookies(&resp).is_empty());
    // A handler taking Option<Session> gets None from poem when the load
    // fails; the response is still a 503, never an anonymous page.
    let resp = cli.get("/optional").send().await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&resp).is_empty());
    store.fail_load.store(false, Ordering::SeqCst);
    cli.get("/optional").send().await.assert_text("some").await;
}

#[tokio::test]
async fn store_failure_on_save_is_503_without_set_cookie() {
    let (store, mw, _calls, app) = flaky_app();
    let mut cli = SessionClient::new(TestClient::new(app), &mw);
    cli.login(&Users::default().user(1)).await.unwrap();

    store.fail_save.store(true, Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let resp = cli.post("/put").send().await;
    drop(guard);
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&resp).is_empty());
    assert!(logs.text().contains("failed to save"), "{}", logs.text());

    store.fail_save.store(false, Ordering::SeqCst);
    let session = cli.session().await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"), "still logged in");
    assert_eq!(
        session.get::<String>("k"),
        None,
        "the failed write is not kept"
    );

    // A new visitor whose first session cannot be stored: 503 too.
    store.fail_save.store(true, Ordering::SeqCst);
    cli.set_cookie(None);
    let resp = cli.post("/put").send().await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&resp).is_empty());
}

// ---------------------------------------------------------------- testing helpers

#[tokio::test]
async fn session_client_follows_the_cookie() {
    let users = Users::default();
    let (mw, app) = user_app(&users);
    let mut cli = SessionClient::new(TestClient::new(app), &mw);
    assert_eq!(cli.cookie(), None);
    assert!(cli.session().await.unwrap().is_empty());

    cli.login(&users.user(1)).await.unwrap();
    assert!(cli.cookie().unwrap().starts_with("sessionid="));
    let session = cli.session().await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"));
    assert_eq!(
        session.claims().unwrap().get("name"),
        Some(&"user1".into()),
        "the token carries the user's fields"
    );

    // The response cycles nothing here, so the client keeps its cookie...
    let resp = cli.get("/whoami").send().await;
    assert!(!cli.keep_cookie(&resp));
    resp.assert_text("user1").await;

    // ...and follows a new one.
    let resp = cli.post("/put").send().await;
    assert!(cli.keep_cookie(&resp));
    assert_eq!(
        cli.session().await.unwrap().get::<String>("k").as_deref(),
        Some("v")
    );

    cli.set_cookie(None);
    cli.get("/whoami")
        .send()
        .await
        .assert_text("anonymous")
        .await;
}

#[tokio::test]
async fn login_cookie_works_with_a_plain_test_client() {
    let users = Users::default();
    let (mw, app) = user_app(&users);
    let cookie = login_cookie(&mw, &users.user(2)).await.unwrap();
    let resp = TestClient::new(app)
        .get("/page")
        .header("Cookie", cookie)
        .send()
        .await;
    resp.assert_text("page for user2").await;
}
