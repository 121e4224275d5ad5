//! The Warp adapter against the real core: the wrapper, the filters, JWKS,
//! store failures and the test helpers, through `warp::test`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::Serialize;
use session_jwt_warp::core::key::generate;
use session_jwt_warp::core::{Algorithm, SessionKey};
use session_jwt_warp::testing::{
    SessionClient, login_cookie, session_for_cookie, session_of, set_cookie,
};
use session_jwt_warp::time::OffsetDateTime;
use session_jwt_warp::{
    AuthUser, Error, Key, MemoryStore, Record, SaveMode, Session, SessionJwt, SessionStore,
    Sessions, StoreError, UserLoader, async_trait, jwks,
};
use warp::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE, VARY};
use warp::http::{Response, StatusCode};
use warp::hyper::body::Bytes;
use warp::{Filter, Rejection, Reply};

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

/// A real store that counts loads, and fails on purpose or loads slowly
/// (as a network store would: the load waits for the next poll) when told to.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    loads: AtomicUsize,
    slow: AtomicBool,
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
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.slow.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
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

/// Sessions over a [`FlakyStore`], with users 1 and 2.
fn sessions(users: &Users) -> (Sessions, Arc<FlakyStore>) {
    let store = Arc::new(FlakyStore::default());
    let sessions =
        Sessions::with_shared_store(engine().with_user_loader(users.clone()), store.clone());
    (sessions, store)
}

#[derive(Debug)]
struct Teapot;
impl warp::reject::Reject for Teapot {}

/// The test routes, wrapped.
fn app(
    s: &Sessions,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone + use<> {
    let put = warp::path!("put")
        .and(warp::post())
        .and(s.session())
        .map(|session: Session| {
            session.insert("k", "v").unwrap();
            "stored"
        });
    let read = warp::path!("read")
        .and(s.session())
        .map(|session: Session| session.get::<String>("k").unwrap_or_else(|| "none".into()));
    let static_page = warp::path!("static").map(|| "no session needed");
    let whoami = warp::path!("whoami")
        .and(s.current_user::<User>())
        .map(|user: Option<User>| user.map_or_else(|| "anonymous".into(), |u| u.name));
    let page = warp::path!("page")
        .and(warp::get())
        .and(s.login_required::<User>())
        .map(|user: User| format!("page for {}", user.name));
    let api = warp::path!("api")
        .and(s.api_user::<User>())
        .map(|user: User| format!("api for {}", user.name));
    let logout = warp::path!("logout")
        .and(s.session())
        .map(|session: Session| {
            session.logout();
            "bye"
        });
    // A route that changes the session, then rejects: the app recovers it.
    let put_then_reject =
        warp::path!("put-then-reject")
            .and(s.session())
            .and_then(|session: Session| async move {
                session.insert("k", "changed").unwrap();
                Err::<&str, _>(warp::reject::custom(Teapot))
            });
    let put_then_fail = warp::path!("put-then-fail")
        .and(s.session())
        .map(|session: Session| {
            session.insert("k", "half-done").unwrap();
            StatusCode::INTERNAL_SERVER_ERROR
        });
    let own_cache = warp::path!("own-cache")
        .and(s.session())
        .map(|session: Session| {
            session.insert("k", "v").unwrap();
            warp::reply::with_header("cached", CACHE_CONTROL, "max-age=60")
        });
    let routes = put
        .or(read)
        .or(static_page)
        .or(whoami)
        .or(page)
        .or(api)
        .or(logout)
        .or(put_then_fail)
        .or(own_cache)
        .or(put_then_reject.recover(|r: Rejection| async move {
            match r.find::<Teapot>() {
                Some(_) => Ok(StatusCode::IM_A_TEAPOT),
                None => Err(r),
            }
        }));
    s.wrap(routes)
}

fn set_cookies<B>(resp: &Response<B>) -> Vec<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Cookie` header value for a response's session cookie.
fn cookie_of<B>(resp: &Response<B>) -> String {
    let all = set_cookies(resp);
    assert_eq!(all.len(), 1, "one Set-Cookie expected: {all:?}");
    all[0].split(';').next().unwrap().to_owned()
}

fn body(resp: &Response<Bytes>) -> &str {
    std::str::from_utf8(resp.body()).unwrap()
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn anonymous_visitor_gets_an_empty_session_and_no_cookie() {
    let (s, _) = sessions(&Users::default());
    let app = app(&s);
    let resp = warp::test::request().path("/read").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), "none");
    assert!(set_cookies(&resp).is_empty(), "anonymous read sets nothing");
    assert_eq!(
        resp.headers()[VARY],
        "Cookie",
        "the answer depends on the cookie"
    );
    assert!(resp.headers().get(CACHE_CONTROL).is_none());
}

#[tokio::test]
async fn a_modified_session_is_saved_and_round_trips() {
    let (s, _) = sessions(&Users::default());
    let app = app(&s);
    let resp = warp::test::request()
        .method("POST")
        .path("/put")
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = cookie_of(&resp);
    let attrs = &set_cookies(&resp)[0];
    assert!(cookie.starts_with("sessionid=ey"), "{cookie}");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax") && attrs.contains("Path=/"),
        "{attrs}"
    );
    assert_eq!(
        resp.headers()[CACHE_CONTROL],
        "private",
        "a new token is private"
    );
    assert_eq!(resp.headers()[VARY], "Cookie");

    let resp = warp::test::request()
        .path("/read")
        .header("cookie", &cookie)
        .reply(&app)
        .await;
    assert_eq!(body(&resp), "v");
    assert!(
        set_cookies(&resp).is_empty(),
        "unchanged session: no cookie"
    );

    // A cookie that is not a JWT is no cookie (and is removed), never a 500.
    let resp = warp::test::request()
        .path("/read")
        .header("cookie", "sessionid=not.a.jwt")
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(set_cookies(&resp)[0].contains("Max-Age=0"));
    assert_eq!(body(&resp), "none");
}

#[tokio::test]
async fn a_routes_own_cache_control_and_cookies_are_kept() {
    let (s, _) = sessions(&Users::default());
    let app = app(&s);
    let resp = warp::test::request().path("/own-cache").reply(&app).await;
    assert_eq!(resp.headers()[CACHE_CONTROL], "max-age=60");
    assert_eq!(resp.headers().get_all(CACHE_CONTROL).iter().count(), 1);
    assert_eq!(set_cookies(&resp).len(), 1);
}

#[tokio::test]
async fn a_page_that_never_asks_does_not_touch_the_session() {
    let (s, store) = sessions(&Users::default());
    let app = app(&s);
    let cookie = login_cookie(&s, &Users::default().user(1)).await.unwrap();
    let resp = warp::test::request()
        .path("/static")
        .header("cookie", &cookie)
        .reply(&app)
        .await;
    assert_eq!(body(&resp), "no session needed");
    assert!(resp.headers().get(VARY).is_none());
    assert_eq!(store.loads.load(Ordering::SeqCst), 0, "never loaded");
}

#[tokio::test]
async fn or_branches_load_the_session_once() {
    let users = Users::default();
    let (s, store) = sessions(&users);
    // Three branches ask for the session (two through the user filters)
    // before the fourth answers.
    let first = warp::path!("x")
        .and(s.session())
        .and(warp::header::exact("x-branch", "1"))
        .map(|_: Session| "one");
    let second = s
        .current_user::<User>()
        .and(warp::header::exact("x-branch", "2"))
        .map(|_: Option<User>| "two");
    let third = warp::path!("x")
        .and(s.api_user::<User>())
        .and(warp::post())
        .map(|_: User| "three");
    let fourth = warp::path!("x")
        .and(s.session())
        .map(|session: Session| session.user_id().unwrap_or_default());
    let app = s.wrap(first.or(second).or(third).or(fourth));
    let cookie = login_cookie(&s, &users.user(2)).await.unwrap();
    let resp = warp::test::request()
        .path("/x")
        .header("cookie", &cookie)
        .reply(&app)
        .await;
    assert_eq!(body(&resp), "2");
    assert_eq!(store.loads.load(Ordering::SeqCst), 1, "loaded once");
}

#[tokio::test]
async fn a_route_that_rejects_after_a_change_is_saved_when_recovered_inside() {
    let (s, _) = sessions(&Users::default());
    let app = app(&s);
    let resp = warp::test::request()
        .path("/put-then-reject")
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::IM_A_TEAPOT);
    let session = session_of(&s, &resp).await.unwrap().expect("a cookie");
    assert_eq!(session.get::<String>("k").as_deref(), Some("changed"));
}

#[tokio::test]
async fn an_unrecovered_rejection_still_saves_a_logout() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    // Logs out, then rejects with a rejection the app never recovers.
    let route = s.session().and_then(|session: Session| async move {
        session.logout();
        Err::<&str, _>(warp::reject::custom(Teapot))
    });
    let app = s.wrap(route);
    let mut client = SessionClient::new(&s);
    client.login(&users.user(1)).await.unwrap();
    let resp = client.request().path("/").reply(&app).await;
    assert_eq!(
        resp.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "warp's answer"
    );
    assert!(
        set_cookies(&resp).is_empty(),
        "warp's response carries no cookie"
    );
    assert_eq!(
        client.session().await.unwrap().user_id(),
        None,
        "the logout is saved: the old cookie is dead"
    );
}

#[tokio::test]
async fn a_server_error_saves_nothing_as_in_django() {
    let (s, _) = sessions(&Users::default());
    let app = app(&s);
    let resp = warp::test::request()
        .path("/put-then-fail")
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&resp).is_empty(), "a 500 sets no cookie");
    let cookie = cookie_of(
        &warp::test::request()
            .method("POST")
            .path("/put")
            .reply(&app)
            .await,
    );
    let resp = warp::test::request()
        .path("/put-then-fail")
        .header("cookie", &cookie)
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let resp = warp::test::request()
        .path("/read")
        .header("cookie", &cookie)
        .reply(&app)
        .await;
    assert_eq!(body(&resp), "v");
}

#[tokio::test]
async fn filters_outside_the_wrapper_say_so() {
    let (s, _) = sessions(&Users::default());
    let unwrapped = s.session().map(|_: Session| "never");
    let resp = warp::test::request()
        .reply(&unwrapped.recover(session_jwt_warp::recover))
        .await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body(&resp).contains("Sessions::wrap"), "{}", body(&resp));
}

#[tokio::test]
async fn a_tree_wrapped_twice_refuses_rather_than_guess() {
    let (s, _) = sessions(&Users::default());
    let app = s.wrap(s.wrap(s.session().map(|_: Session| "never")));
    let resp = warp::test::request().reply(&app).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_in_their_own_tasks_keep_their_own_sessions() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = app(&s);
    let one = login_cookie(&s, &users.user(1)).await.unwrap();
    let two = login_cookie(&s, &users.user(2)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (app, cookie) = (app.clone(), if i % 2 == 0 { &one } else { &two }.clone());
        tasks.push(tokio::spawn(async move {
            let resp = warp::test::request()
                .path("/whoami")
                .header("cookie", &cookie)
                .reply(&app)
                .await;
            (i, String::from_utf8(resp.body().to_vec()).unwrap())
        }));
    }
    for task in tasks {
        let (i, name) = task.await.unwrap();
        assert_eq!(name, if i % 2 == 0 { "user1" } else { "user2" });
    }
}

#[tokio::test]
async fn two_requests_joined_in_one_task_never_swap_sessions() {
    let users = Users::default();
    let (s, store) = sessions(&users);
    store.slow.store(true, Ordering::SeqCst);
    let app = app(&s);
    let one = login_cookie(&s, &users.user(1)).await.unwrap();
    let two = login_cookie(&s, &users.user(2)).await.unwrap();
    let whoami = |cookie: &str| {
        warp::test::request()
            .path("/whoami")
            .header("cookie", cookie)
            .reply(&app)
    };
    // The first is loading its session when the second starts in the same
    // task: the second cannot tell which session is its own, and refuses.
    let (first, second) = tokio::join!(whoami(&one), whoami(&two));
    assert_eq!(body(&first), "user1");
    assert_eq!(second.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body(&second).contains("one task"), "{}", body(&second));
    // One after the other, in the same task, both are served.
    assert_eq!(body(&whoami(&two).await), "user2");
}

// ---------------------------------------------------------------- users

#[tokio::test]
async fn current_user_is_optional_and_follows_the_auth_hash() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = app(&s);
    let mut client = SessionClient::new(&s);

    let resp = client.request().path("/whoami").reply(&app).await;
    assert_eq!(body(&resp), "anonymous");

    client.login(&users.user(1)).await.unwrap();
    let resp = client.request().path("/whoami").reply(&app).await;
    assert_eq!(body(&resp), "user1");

    // The password changes elsewhere: this session is logged out at its
    // next request, and its cookie removed.
    users.hash_version.fetch_add(1, Ordering::SeqCst);
    let resp = client.request().path("/whoami").reply(&app).await;
    assert!(set_cookies(&resp)[0].contains("Max-Age=0"));
    assert_eq!(body(&resp), "anonymous");
    assert!(client.session().await.unwrap().user_id().is_none());
}

#[tokio::test]
async fn login_required_redirects_pages_with_next() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = app(&s);
    let mut client = SessionClient::new(&s);

    let resp = client.request().path("/page").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.headers()[LOCATION], "/login?next=/page");

    let resp = client.request().path("/page?a=1&b=x%20y").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        resp.headers()[LOCATION],
        "/login?next=/page%3Fa%3D1%26b%3Dx%2520y"
    );

    client.login(&users.user(2)).await.unwrap();
    let resp = client.request().path("/page").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), "page for user2");
}

#[tokio::test]
async fn login_required_logs_a_stale_session_out_with_the_302() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = app(&s);
    let mut client = SessionClient::new(&s);
    client.login(&users.user(1)).await.unwrap();
    let stale = client.cookie().unwrap().to_owned();
    users.hash_version.fetch_add(1, Ordering::SeqCst);

    let resp = client.request().path("/page").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(
        set_cookies(&resp)[0].contains("Max-Age=0"),
        "the 302 removes the cookie: {:?}",
        set_cookies(&resp)
    );
    // The record is gone: even with the old hash back, the cookie is dead.
    users.hash_version.fetch_sub(1, Ordering::SeqCst);
    let session = session_for_cookie(&s, &stale).await.unwrap();
    assert!(session.user_id().is_none() && session.is_empty());
}

#[tokio::test]
async fn login_required_uses_the_configured_login_url_and_full_path() {
    let (s, _) = sessions(&Users::default());
    let s = s.with_login_url("/accounts/login/");
    let app = s.wrap(warp::path("app").and(app(&s)));
    let resp = warp::test::request().path("/app/page").reply(&app).await;
    // Wrapped twice (the inner tree is wrapped too): refused, never guessed.
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let page = warp::path!("app" / "page")
        .and(s.login_required::<User>())
        .map(|u: User| u.name);
    let resp = warp::test::request()
        .path("/app/page")
        .reply(&s.wrap(page))
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.headers()[LOCATION], "/accounts/login/?next=/app/page");
}

#[tokio::test]
async fn api_user_is_401_for_anonymous() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = app(&s);
    let mut client = SessionClient::new(&s);

    let resp = client.request().path("/api").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().get(LOCATION).is_none());

    client.login(&users.user(1)).await.unwrap();
    let resp = client.request().path("/api").reply(&app).await;
    assert_eq!(body(&resp), "api for user1");
}

#[tokio::test]
async fn a_user_type_the_engine_does_not_load_is_a_500_naming_nothing_internal() {
    #[derive(Clone)]
    struct Other;
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = s.wrap(s.current_user::<Other>().map(|_: Option<Other>| "never"));
    let cookie = login_cookie(&s, &users.user(1)).await.unwrap();
    let resp = warp::test::request()
        .header("cookie", &cookie)
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // The type names go to the log (tracing::error!), not to the client.
    assert_eq!(body(&resp), "internal server error");
}

#[tokio::test]
async fn recover_answers_the_crates_rejections_only() {
    let resp = warp::test::request()
        .reply(
            &warp::any()
                .and_then(|| async { Err::<&str, _>(warp::reject::custom(Error::Unauthorized)) })
                .recover(session_jwt_warp::recover),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = warp::test::request()
        .reply(
            &warp::path("x")
                .map(warp::reply)
                .recover(session_jwt_warp::recover),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "warp's own answer");
}

// ---------------------------------------------------------------- JWKS

#[tokio::test]
async fn jwks_is_404_for_hmac() {
    let resp = warp::test::request()
        .path("/.well-known/jwks.json")
        .reply(&jwks(&engine()))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwks_serves_the_public_key() {
    let (key, _pem): (Key, _) = generate(Algorithm::ES256).unwrap();
    let engine = SessionJwt::builder()
        .with_key(key)
        .unwrap()
        .build()
        .unwrap();
    let resp = warp::test::request()
        .path("/.well-known/jwks.json")
        .reply(&jwks(&engine))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let jwks: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].is_string());
    assert!(key.get("d").is_none(), "never the private part");
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

#[tokio::test]
async fn store_failure_on_load_is_503_logged_and_no_logout() {
    let users = Users::default();
    let (s, store) = sessions(&users);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let put = warp::path!("put")
        .and(s.session())
        .map(move |session: Session| {
            counted.fetch_add(1, Ordering::SeqCst);
            session.insert("k", "changed").unwrap();
            "stored"
        });
    let app = s.wrap(put);
    let mut client = SessionClient::new(&s);
    client.login(&users.user(1)).await.unwrap();

    store.fail_load.store(true, Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let resp = client.request().path("/put").reply(&app).await;
    drop(guard);
    let logged = logs.text();
    assert!(
        logged.contains("ERROR") && logged.contains("connection refused (on purpose)"),
        "the reason is logged: {logged}"
    );
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&resp).is_empty(), "no cookie change on failure");
    assert!(!body(&resp).contains("on purpose"), "logged, not sent");
    assert!(!body(&resp).contains("StoreError"), "never a Debug body");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the route did not run");

    store.fail_load.store(false, Ordering::SeqCst);
    let session = client.session().await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"), "still logged in");
}

#[tokio::test]
async fn during_an_outage_only_requests_that_use_the_session_fail() {
    let users = Users::default();
    let (s, store) = sessions(&users);
    let app = app(&s);
    let mut client = SessionClient::new(&s);
    client.login(&users.user(1)).await.unwrap();
    store.fail_load.store(true, Ordering::SeqCst);
    let resp = client.request().path("/static").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client.request().path("/page").reply(&app).await;
    assert_eq!(
        resp.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "never a 302"
    );
    let resp = client.request().path("/whoami").reply(&app).await;
    assert_eq!(
        resp.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "never anonymous"
    );
    store.fail_load.store(false, Ordering::SeqCst);
    let resp = client.request().path("/whoami").reply(&app).await;
    assert_eq!(body(&resp), "user1");
}

#[tokio::test]
async fn store_failure_on_save_is_503_without_set_cookie_and_nothing_lost() {
    let users = Users::default();
    let (s, store) = sessions(&users);
    let app = app(&s);
    let mut client = SessionClient::new(&s);
    client.login(&users.user(1)).await.unwrap();

    store.fail_save.store(true, Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let resp = client
        .request()
        .method("POST")
        .path("/put")
        .reply(&app)
        .await;
    drop(guard);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&resp).is_empty());
    assert!(logs.text().contains("failed to save"), "{}", logs.text());

    store.fail_save.store(false, Ordering::SeqCst);
    let session = client.session().await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"), "still logged in");
    assert_eq!(
        session.get::<String>("k"),
        None,
        "the failed write is not kept"
    );

    // A logout whose deletion fails: 503, and the session is still there.
    store.fail_save.store(true, Ordering::SeqCst);
    let resp = client.request().path("/logout").reply(&app).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    store.fail_save.store(false, Ordering::SeqCst);
    assert_eq!(
        client.session().await.unwrap().user_id().as_deref(),
        Some("1")
    );

    // A new visitor whose first session cannot be stored: 503 too.
    store.fail_save.store(true, Ordering::SeqCst);
    client.set_cookie(None);
    let resp = client
        .request()
        .method("POST")
        .path("/put")
        .reply(&app)
        .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&resp).is_empty());
}

// ---------------------------------------------------------------- testing helpers

#[tokio::test]
async fn session_client_follows_the_cookie() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = app(&s);
    let mut client = SessionClient::new(&s);
    assert_eq!(client.cookie(), None);
    assert!(client.session().await.unwrap().is_empty());

    client.login(&users.user(1)).await.unwrap();
    assert!(client.cookie().unwrap().starts_with("sessionid="));
    let session = client.session().await.unwrap();
    assert_eq!(session.user_id().as_deref(), Some("1"));
    assert_eq!(
        session.claims().unwrap().get("name"),
        Some(&"user1".into()),
        "the token carries the user's fields"
    );

    // The response cycles nothing here, so the client keeps its cookie...
    let resp = client.request().path("/whoami").reply(&app).await;
    assert!(!client.keep_cookie(&resp));
    assert_eq!(body(&resp), "user1");

    // ...and follows a new one.
    let resp = client
        .request()
        .method("POST")
        .path("/put")
        .reply(&app)
        .await;
    assert!(client.keep_cookie(&resp));
    assert_eq!(
        client
            .session()
            .await
            .unwrap()
            .get::<String>("k")
            .as_deref(),
        Some("v")
    );

    // A logout removes it.
    let resp = client.request().path("/logout").reply(&app).await;
    assert_eq!(set_cookie(&s, &resp), Some(None));
    assert!(client.keep_cookie(&resp));
    assert_eq!(client.cookie(), None);
    let resp = client.request().path("/whoami").reply(&app).await;
    assert_eq!(body(&resp), "anonymous");
}

#[tokio::test]
async fn session_of_reads_the_session_a_response_sets() {
    let (s, _) = sessions(&Users::default());
    let app = app(&s);
    let resp = warp::test::request()
        .method("POST")
        .path("/put")
        .reply(&app)
        .await;
    let session = session_of(&s, &resp).await.unwrap().expect("a new session");
    assert_eq!(session.get::<String>("k").as_deref(), Some("v"));
    let resp = warp::test::request().path("/read").reply(&app).await;
    assert!(
        session_of(&s, &resp).await.unwrap().is_none(),
        "no cookie sent"
    );
}

#[tokio::test]
async fn login_cookie_works_with_a_plain_request() {
    let users = Users::default();
    let (s, _) = sessions(&users);
    let app = app(&s);
    let cookie = login_cookie(&s, &users.user(2)).await.unwrap();
    let resp = warp::test::request()
        .path("/page")
        .header("cookie", cookie)
        .reply(&app)
        .await;
    assert_eq!(body(&resp), "page for user2");
}

// Filters return replies of any type; the wrapper's output serves as is.
#[allow(dead_code)]
fn serves_with_warp_serve(s: &Sessions) {
    let _ = warp::serve(app(s));
    let _ = warp::serve(
        s.wrap(warp::path::end().map(|| "hi"))
            .with(warp::trace::request()),
    );
    let _: fn(warp::reply::Response) -> warp::reply::Response = Reply::into_response;
}
