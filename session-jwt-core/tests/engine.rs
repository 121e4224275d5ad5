//! The request/response engine as a pure state machine under a fixed clock:
//! every rule of the reference contract that the core decides.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};
use session_jwt_core::{
    AuthUser, CookieAction, Expiry, Key, KeyRing, MemoryStore, Record, SaveMode, Session,
    SessionJwt, SessionKey, SessionStore, StoreError, TokenError, UserLoader, auth,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn engine() -> SessionJwt {
    engine_with(&Users::new())
}

/// The engine with `users` as its user table.
fn engine_with(users: &Users) -> SessionJwt {
    builder().build().unwrap().with_user_loader(users.clone())
}

fn builder() -> session_jwt_core::Builder {
    SessionJwt::builder()
        .with_key(Key::hmac(SECRET).unwrap())
        .unwrap()
        .with_fields([
            ("id", "id", "user_id"),
            ("username", "u", "username"),
            ("profile.team", "t", "team"),
        ])
        .with_claims_provider(|_: Option<&Value>| {
            json!({"foo": "bar"}).as_object().unwrap().clone()
        })
}

/// The `name=value` pair of a `Set-Cookie` header, as a browser sends it back.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// One request: load with `cookie`, run `handler`, save. Returns the session
/// and the Set-Cookie header.
async fn request(
    engine: &SessionJwt,
    store: &impl SessionStore,
    cookie: Option<&str>,
    now: OffsetDateTime,
    handler: impl FnOnce(&Session),
) -> (Session, Option<String>) {
    let headers: Vec<&[u8]> = cookie.map(str::as_bytes).into_iter().collect();
    let session = engine.load(store, headers, now).await.unwrap();
    handler(&session);
    let out = engine.save(store, &session, now).await.unwrap();
    (session, out.set_cookie)
}

fn attr<'a>(set_cookie: &'a str, name: &str) -> Option<&'a str> {
    set_cookie.split("; ").skip(1).find_map(|a| {
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

#[derive(Clone, Serialize)]
struct User {
    id: u64,
    username: String,
    password: String,
    profile: Value,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn session_auth_hash(&self) -> String {
        auth::session_auth_hash(b"server secret", &self.password)
    }
}

fn john() -> User {
    User {
        id: 1,
        username: "john".into(),
        password: "password".into(),
        profile: json!({"team": "core"}),
    }
}

fn jane() -> User {
    User {
        id: 2,
        username: "jane".into(),
        password: "secret".into(),
        profile: json!({"team": "ops"}),
    }
}

/// The user table: john and jane, changeable by tests (a password change, a
/// removal), counting how often a user is loaded.
#[derive(Clone)]
struct Users {
    table: Arc<Mutex<HashMap<String, User>>>,
    loads: Arc<AtomicUsize>,
}

impl Users {
    fn new() -> Self {
        let table = [john(), jane()].map(|u| (u.id.to_string(), u));
        Self {
            table: Arc::new(Mutex::new(HashMap::from(table))),
            loads: Arc::default(),
        }
    }

    fn set(&self, user: User) {
        self.table.lock().unwrap().insert(user.id.to_string(), user);
    }

    fn remove(&self, id: u64) {
        self.table.lock().unwrap().remove(&id.to_string());
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl UserLoader for Users {
    type User = User;
    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        Ok(self.table.lock().unwrap().get(id).cloned())
    }
}

#[tokio::test]
async fn anonymous_unmodified_session_sends_and_saves_nothing() {
    let (e, store) = (engine(), MemoryStore::new());
    let (s, cookie) = request(&e, &store, None, NOW, |s| {
        assert!(s.public_items().is_empty())
    })
    .await;
    assert_eq!(cookie, None);
    assert!(store.is_empty());
    assert!(s.claims().is_none());
}

#[tokio::test]
async fn modified_session_is_saved_and_issued_with_django_cookie_attributes() {
    let (e, store) = (engine(), MemoryStore::new());
    let (s, cookie) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("sessionid="));
    assert_eq!(attr(&cookie, "Path"), Some("/"));
    assert_eq!(attr(&cookie, "SameSite"), Some("Lax"));
    assert!(attr(&cookie, "HttpOnly").is_some());
    assert!(attr(&cookie, "Secure").is_none());
    assert_eq!(attr(&cookie, "Max-Age"), Some("1209600"));
    assert_eq!(
        attr(&cookie, "Expires"),
        Some("Thu, 15 Jan 2026 00:00:00 GMT")
    );
    assert_eq!(store.len(), 1);

    let token = pair(&cookie)["sessionid=".len()..].to_string();
    let claims = e.codec().verify(&token, NOW).unwrap();
    assert_eq!(claims.session_key(), &s.key().unwrap());
    assert_eq!(claims.get("iat"), Some(&json!(NOW.unix_timestamp())));
    assert_eq!(
        claims.get("exp"),
        Some(&json!(NOW.unix_timestamp() + 28_800))
    );
    assert_eq!(
        claims.get("foo"),
        Some(&json!("bar")),
        "anonymous sessions carry the provider's claims"
    );
}

#[tokio::test]
async fn returning_visitor_finds_the_session_and_nothing_is_resent() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let later = NOW + Duration::hours(1);
    let (s, again) = request(&e, &store, Some(&c), later, |s| {
        assert_eq!(s.get::<String>("a").as_deref(), Some("b"));
    })
    .await;
    assert_eq!(again, None, "unchanged session, young token: no Set-Cookie");
    assert!(s.claims().is_some());
}

#[tokio::test]
async fn token_past_half_life_is_reissued_without_a_store_write() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let before = store.load(&first_key(&e, &c), NOW).await.unwrap().unwrap();

    let (_, none) = request(
        &e,
        &store,
        Some(&c),
        NOW + Duration::seconds(4 * 3600 - 1),
        |_| {},
    )
    .await;
    assert_eq!(none, None, "before half of its life: no refresh");

    let at = NOW + Duration::hours(4);
    let (_, fresh) = request(&e, &store, Some(&c), at, |_| {}).await;
    let fresh = fresh.expect("past half of its life: refreshed");
    let claims = e
        .codec()
        .verify(&pair(&fresh)["sessionid=".len()..], at)
        .unwrap();
    assert_eq!(claims.get("iat"), Some(&json!(at.unix_timestamp())));
    assert_eq!(
        claims.get("exp"),
        Some(&json!(at.unix_timestamp() + 28_800))
    );
    // The cookie keeps the session's server-side end, not a new two weeks.
    assert_eq!(
        attr(&fresh, "Max-Age"),
        Some((1_209_600 - 4 * 3600).to_string().as_str())
    );
    let after = store.load(claims.session_key(), at).await.unwrap().unwrap();
    assert_eq!(before, after, "a refresh does not write the store");
}

fn first_key(e: &SessionJwt, cookie: &str) -> SessionKey {
    e.read_cookies([cookie.as_bytes()], NOW)
        .session_key()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn expired_token_is_an_anonymous_visitor_and_its_cookie_is_removed() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let (s, removal) = request(&e, &store, Some(&c), NOW + Duration::hours(8), |s| {
        assert_eq!(s.get::<String>("a"), None);
    })
    .await;
    assert!(s.claims().is_none());
    let removal = removal.expect("an invalid cookie is removed, as Django does");
    assert!(removal.starts_with("sessionid=;"));
    assert_eq!(attr(&removal, "Max-Age"), Some("0"));
}

#[tokio::test]
async fn deleting_the_record_revokes_the_cookie_at_once() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    store.delete(&first_key(&e, &c)).await.unwrap();
    let (s, _) = request(&e, &store, Some(&c), NOW + Duration::seconds(1), |_| {}).await;
    assert!(s.claims().is_none());
    assert!(s.public_items().is_empty());
}

#[tokio::test]
async fn cycle_key_keeps_items_under_a_new_key_and_deletes_the_old() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let old = first_key(&e, &c);
    let (s, c2) = request(&e, &store, Some(&c), NOW, Session::cycle_key).await;
    let new = s.key().unwrap();
    assert_ne!(old, new);
    assert!(
        store.load(&old, NOW).await.unwrap().is_none(),
        "old record deleted"
    );
    assert_eq!(
        store.load(&new, NOW).await.unwrap().unwrap().items.get("a"),
        Some(&json!("b"))
    );
    // The old cookie no longer works; the new one does.
    let (s_old, _) = request(&e, &store, Some(&c), NOW, |_| {}).await;
    assert!(s_old.claims().is_none());
    let (s_new, _) = request(&e, &store, Some(&pair(&c2.unwrap())), NOW, |_| {}).await;
    assert_eq!(s_new.get::<String>("a").as_deref(), Some("b"));
}

#[tokio::test]
async fn flush_deletes_the_session_and_removes_the_cookie() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let (_, removal) = request(&e, &store, Some(&c), NOW, Session::flush).await;
    assert!(removal.unwrap().starts_with("sessionid=;"));
    assert!(store.is_empty());
    let (s, _) = request(&e, &store, Some(&c), NOW, |_| {}).await;
    assert!(s.claims().is_none(), "the flushed cookie is refused");
}

#[tokio::test]
async fn flush_then_write_starts_a_new_session() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let (s, c2) = request(&e, &store, Some(&c), NOW, |s| {
        s.flush();
        s.insert("c", "d").unwrap();
    })
    .await;
    assert!(c2.is_some());
    assert_eq!(store.len(), 1);
    assert_eq!(
        s.public_items(),
        json!({"c": "d"}).as_object().unwrap().clone()
    );
}

#[tokio::test]
async fn browser_close_cookies_have_no_max_age_or_expires() {
    let e = builder()
        .with_expire_at_browser_close(true)
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let (s, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = c.unwrap();
    assert!(
        attr(&c, "Max-Age").is_none() && attr(&c, "Expires").is_none(),
        "{c}"
    );
    // The server keeps it for the cookie age.
    let rec = store.load(&s.key().unwrap(), NOW).await.unwrap().unwrap();
    assert_eq!(rec.expires, NOW + Duration::seconds(1_209_600));

    // Per session, too (Django's set_expiry(0)), and back.
    let e = engine();
    let (_, c) = request(&e, &store, None, NOW, |s| {
        s.set_expiry(Some(Expiry::OnBrowserClose))
    })
    .await;
    assert!(attr(&c.unwrap(), "Max-Age").is_none());
    let (_, c) = request(&e, &store, None, NOW, |s| {
        s.set_expiry(Some(Expiry::After(Duration::seconds(60))))
    })
    .await;
    assert_eq!(attr(&c.unwrap(), "Max-Age"), Some("60"));
}

#[tokio::test]
async fn save_every_request_reissues_and_saves_every_time() {
    let e = builder().with_save_every_request(true).build().unwrap();
    let store = MemoryStore::new();
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let later = NOW + Duration::minutes(5);
    let (s, again) = request(&e, &store, Some(&c), later, |_| {}).await;
    assert!(again.is_some(), "re-issued although nothing changed");
    let rec = store.load(&s.key().unwrap(), later).await.unwrap().unwrap();
    assert_eq!(
        rec.expires,
        later + Duration::seconds(1_209_600),
        "saved again: the session slides"
    );
    // An empty anonymous session is still not saved.
    let (_, none) = request(&e, &store, None, NOW, |_| {}).await;
    assert_eq!(none, None);
}

#[tokio::test]
async fn token_exp_never_passes_the_cookie_expiry() {
    let e = builder().with_cookie_age(100).build().unwrap();
    let store = MemoryStore::new();
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let claims = e
        .codec()
        .verify(&pair(&c.unwrap())["sessionid=".len()..], NOW)
        .unwrap();
    assert_eq!(claims.expires_at(), Some(NOW + Duration::seconds(100)));

    let e = builder().with_token_lifetime(0).build().unwrap();
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let claims = e
        .codec()
        .verify(&pair(&c.unwrap())["sessionid=".len()..], NOW)
        .unwrap();
    // Without a token lifetime there is no exp: the token lives as long as
    // the cookie and its server-side session.
    assert_eq!(claims.expires_at(), None);
}

#[tokio::test]
async fn token_signed_by_an_older_ring_key_is_reissued_with_the_current_one() {
    let old_key = Key::hmac("old secret, at least thirty-two bytes")
        .unwrap()
        .with_kid(Some("old".into()));
    let new_key = Key::hmac("new secret, at least thirty-two bytes")
        .unwrap()
        .with_kid(Some("new".into()));
    let old = SessionJwt::builder()
        .with_key(old_key.clone())
        .unwrap()
        .build()
        .unwrap();
    let rotated = SessionJwt::builder()
        .with_key_ring(
            KeyRing::new(new_key)
                .unwrap()
                .with_verification_key(old_key)
                .unwrap(),
        )
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let (_, c) = request(&old, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let (s, fresh) = request(
        &rotated,
        &store,
        Some(&c),
        NOW + Duration::seconds(1),
        |_| {},
    )
    .await;
    assert_eq!(
        s.get::<String>("a").as_deref(),
        Some("b"),
        "nobody is logged out by a rotation"
    );
    let fresh = fresh.expect("re-issued with the current key");
    let token = &pair(&fresh)["sessionid=".len()..];
    let claims = rotated
        .codec()
        .verify(token, NOW + Duration::seconds(1))
        .unwrap();
    assert_eq!(claims.header().get("kid"), Some(&json!("new")));
    assert!(
        old.codec().verify(token, NOW).is_err(),
        "the old key alone no longer verifies it"
    );
}

#[tokio::test]
async fn several_session_cookies_follow_the_planted_cookie_rules() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, a) = request(&e, &store, None, NOW, |s| s.insert("who", "a").unwrap()).await;
    let (_, b) = request(&e, &store, None, NOW, |s| s.insert("who", "b").unwrap()).await;
    let (a, b) = (pair(&a.unwrap()), pair(&b.unwrap()));
    let garbage = "sessionid=not.a.token";
    let load = |header: String| {
        let e = e.clone();
        let store = store.clone();
        async move {
            e.load(&store, [header.as_bytes()], NOW)
                .await
                .unwrap()
                .get::<String>("who")
        }
    };
    assert_eq!(
        load(format!("{garbage}; {a}")).await.as_deref(),
        Some("a"),
        "invalid ones are ignored"
    );
    assert_eq!(
        load(format!("{a}; other=1; {a}")).await.as_deref(),
        Some("a"),
        "same key twice is fine"
    );
    assert_eq!(
        load(format!("{a}; {b}")).await,
        None,
        "two valid, different keys: anonymous"
    );
    // Split over two Cookie headers, the same.
    let s = e
        .load(&store, [a.as_bytes(), b.as_bytes()], NOW)
        .await
        .unwrap();
    assert_eq!(s.get::<String>("who"), None);
    // Non-UTF-8 header bytes are ignored, never a panic.
    let s = e
        .load(&store, [&b"sessionid=\xff\xfe"[..], a.as_bytes()], NOW)
        .await
        .unwrap();
    assert_eq!(s.get::<String>("who").as_deref(), Some("a"));
    // Too many cookies of the name: anonymous.
    let many = [a.as_str(); 9].join("; ");
    assert_eq!(load(many).await, None);
}

#[tokio::test]
async fn login_cycles_the_key_keeps_items_and_puts_user_fields_in_the_token() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("cart", "x").unwrap()).await;
    let c = pair(&c.unwrap());
    let before = first_key(&e, &c);
    let (s, c2) = request(&e, &store, Some(&c), NOW, |s| s.login(&john()).unwrap()).await;
    assert_ne!(
        s.key().unwrap(),
        before,
        "login cycles the key (session fixation)"
    );
    assert!(store.load(&before, NOW).await.unwrap().is_none());
    assert_eq!(
        s.get::<String>("cart").as_deref(),
        Some("x"),
        "items kept, as cycle_key"
    );
    let claims = e
        .codec()
        .verify(&pair(&c2.unwrap())["sessionid=".len()..], NOW)
        .unwrap();
    let got: Value = Value::Object(claims.claims().clone());
    assert_eq!(got["id"], json!(1));
    assert_eq!(got["user_id"], json!(1));
    assert_eq!(got["u"], json!("john"));
    assert_eq!(got["username"], json!("john"));
    assert_eq!(got["team"], json!("core"));
    assert_eq!(got["foo"], json!("bar"));
    assert_eq!(s.user_id().as_deref(), Some("1"));
}

#[tokio::test]
async fn login_as_another_user_flushes_first() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| {
        s.login(&john()).unwrap();
        s.insert("private", "john's").unwrap();
    })
    .await;
    let (s, _) = request(&e, &store, Some(&pair(&c.unwrap())), NOW, |s| {
        s.login(&jane()).unwrap()
    })
    .await;
    assert_eq!(
        s.get::<String>("private"),
        None,
        "jane must not see john's items"
    );
    assert_eq!(s.user_id().as_deref(), Some("2"));
}

#[tokio::test]
async fn password_change_logs_out_other_sessions_but_not_this_one() {
    let users = Users::new();
    let (e, store) = (engine_with(&users), MemoryStore::new());
    let (_, here) = request(&e, &store, None, NOW, |s| s.login(&john()).unwrap()).await;
    let (_, there) = request(&e, &store, None, NOW, |s| s.login(&john()).unwrap()).await;
    let (here, there) = (pair(&here.unwrap()), pair(&there.unwrap()));
    let changed = User {
        password: "new".into(),
        ..john()
    };
    let (s, here2) = request(&e, &store, Some(&here), NOW, |s| {
        assert_eq!(s.user::<User>().unwrap().unwrap().password, "password");
        users.set(changed.clone());
        s.update_auth_hash(&changed).unwrap();
    })
    .await;
    assert_eq!(s.user::<User>().unwrap().unwrap().password, "new");
    let here2 = pair(&here2.unwrap());
    let (s, _) = request(&e, &store, Some(&here2), NOW, |_| {}).await;
    assert_eq!(
        s.user::<User>().unwrap().map(|u| u.password).as_deref(),
        Some("new"),
        "this session stays"
    );
    let (s, removal) = request(&e, &store, Some(&there), NOW, |s| {
        assert!(s.user::<User>().unwrap().is_none());
        assert!(s.claims().is_none());
    })
    .await;
    assert!(s.user_id().is_none(), "the other session is logged out");
    assert!(removal.unwrap().starts_with("sessionid=;"));
}

/// Logs john in; returns the cookie. The token lifetime is 600 s, so it is
/// past half its life (refreshed) at NOW + 301 s.
async fn john_logged_in(e: &SessionJwt, store: &impl SessionStore) -> String {
    let (_, c) = request(e, store, None, NOW, |s| s.login(&john()).unwrap()).await;
    pair(&c.unwrap())
}

fn short_lived(users: &Users, save_every_request: bool) -> SessionJwt {
    builder()
        .with_token_lifetime(600)
        .with_save_every_request(save_every_request)
        .build()
        .unwrap()
        .with_user_loader(users.clone())
}

#[tokio::test]
async fn a_password_changed_elsewhere_stops_every_kind_of_token_issue() {
    // Each way a token can be issued without a login: a sliding refresh, a
    // modified save, save_every_request. After a password change elsewhere,
    // each logs the session out instead: removal cookie, record deleted,
    // claims() None, and no new token.
    type Handler = fn(&Session);
    let kinds: [(&str, bool, Handler); 3] = [
        ("sliding refresh", false, |_| {}),
        ("modified save", false, |s| s.insert("x", "y").unwrap()),
        ("save every request", true, |_| {}),
    ];
    for (kind, every, handler) in kinds {
        let users = Users::new();
        let (e, store) = (short_lived(&users, every), MemoryStore::new());
        let c = john_logged_in(&e, &store).await;
        users.set(User {
            password: "changed elsewhere".into(),
            ..john()
        });
        let later = NOW + Duration::seconds(301);
        let (s, set_cookie) = request(&e, &store, Some(&c), later, |s| {
            assert!(s.claims().is_none(), "{kind}: claims of a stale session");
            handler(s);
        })
        .await;
        let set_cookie = set_cookie.unwrap_or_default();
        assert!(s.user_id().is_none() && s.claims().is_none(), "{kind}");
        assert!(
            store
                .load(&first_key(&e, &c), later)
                .await
                .unwrap()
                .is_none(),
            "{kind}: the logged-in record is deleted"
        );
        if kind == "modified save" {
            // The handler's write, after the logout, starts a new anonymous
            // session (as after any logout): its token has no user in it.
            let token = &pair(&set_cookie)["sessionid=".len()..];
            let claims = e.codec().verify(token, later).unwrap();
            assert!(claims.get("u").is_none() && claims.get("id").is_none());
            assert_eq!(s.get::<String>("x").as_deref(), Some("y"));
        } else {
            assert!(
                set_cookie.starts_with("sessionid=;"),
                "{kind}: the removal cookie, not a new token: {set_cookie:?}"
            );
            assert!(store.is_empty(), "{kind}: the record is deleted");
        }
    }
}

#[tokio::test]
async fn a_removed_user_is_logged_out_at_the_next_request() {
    let users = Users::new();
    let (e, store) = (short_lived(&users, false), MemoryStore::new());
    let c = john_logged_in(&e, &store).await;
    users.remove(1);
    let (s, set_cookie) = request(&e, &store, Some(&c), NOW + Duration::seconds(301), |s| {
        assert!(s.claims().is_none());
    })
    .await;
    assert!(set_cookie.unwrap().starts_with("sessionid=;"));
    assert!(s.user_id().is_none());
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_users_changed_fields_appear_in_the_next_token() {
    let users = Users::new();
    let (e, store) = (short_lived(&users, false), MemoryStore::new());
    let c = john_logged_in(&e, &store).await;
    users.set(User {
        username: "johnny".into(),
        profile: json!({"team": "platform"}),
        ..john()
    });
    // Not yet past half of the token's life: nothing issued, but the user
    // was checked (loaded once) and the session is intact.
    let loads = users.loads();
    let (s, none) = request(&e, &store, Some(&c), NOW + Duration::seconds(10), |_| {}).await;
    assert_eq!(none, None);
    assert_eq!(users.loads(), loads + 1, "one user load per session load");
    assert_eq!(s.user::<User>().unwrap().unwrap().username, "johnny");
    // The sliding refresh carries the fields as they are now.
    let (_, refreshed) = request(&e, &store, Some(&c), NOW + Duration::seconds(301), |_| {}).await;
    let token = pair(&refreshed.unwrap())["sessionid=".len()..].to_string();
    let claims = e
        .codec()
        .verify(&token, NOW + Duration::seconds(301))
        .unwrap();
    assert_eq!(claims.get("u"), Some(&json!("johnny")));
    assert_eq!(claims.get("team"), Some(&json!("platform")));
}

#[tokio::test]
async fn logging_in_needs_a_user_loader_and_its_user_type() {
    let e = builder().build().unwrap();
    let s = e.new_session();
    assert!(matches!(
        s.login(&john()),
        Err(session_jwt_core::SessionError::NoUserLoader)
    ));
    #[derive(Clone, Serialize)]
    struct Other;
    impl AuthUser for Other {
        fn id(&self) -> String {
            "9".into()
        }
        fn session_auth_hash(&self) -> String {
            "h".into()
        }
    }
    let s = engine().new_session();
    let err = s.login(&Other).unwrap_err().to_string();
    assert!(err.contains("Other") && err.contains("User"), "{err}");
    s.login(&john()).unwrap();
    assert!(
        s.user::<Other>().is_err(),
        "asking for the wrong type is an error"
    );
}

#[tokio::test]
async fn a_session_opened_without_the_drivers_issues_no_token_for_its_user() {
    let (e, store) = (engine(), MemoryStore::new());
    let c = john_logged_in(&e, &store).await;
    // Steps 1 and 2 by hand, without check_user.
    let incoming = e.read_cookies([c.as_bytes()], NOW);
    let record = store
        .load(incoming.session_key().unwrap(), NOW)
        .await
        .unwrap();
    let s = e.open(incoming, record, NOW);
    assert!(s.claims().is_none(), "unchecked: no claims");
    assert!(s.user::<User>().is_err());
    s.insert("x", "y").unwrap();
    assert_eq!(e.finish(&s, NOW).unwrap_err(), TokenError::UserNotChecked);
    // check_user is the missing step.
    let incoming = e.read_cookies([c.as_bytes()], NOW);
    let record = store
        .load(incoming.session_key().unwrap(), NOW)
        .await
        .unwrap();
    let s = e.open(incoming, record, NOW);
    e.check_user(&s).await.unwrap();
    assert!(s.claims().is_some());
}

#[tokio::test]
async fn a_user_store_outage_logs_nobody_out() {
    struct Down;
    #[async_trait]
    impl UserLoader for Down {
        type User = User;
        async fn load_user(&self, _: &str) -> Result<Option<User>, StoreError> {
            Err(StoreError::unavailable(std::io::Error::other("users down")))
        }
    }
    let store = MemoryStore::new();
    let c = john_logged_in(&engine(), &store).await;
    let down = builder().build().unwrap().with_user_loader(Down);
    assert!(matches!(
        down.load(&store, [c.as_bytes()], NOW).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(store.len(), 1, "the session is still there");
}

#[tokio::test]
async fn logout_deletes_the_session_and_removes_the_cookie() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.login(&john()).unwrap()).await;
    let c = pair(&c.unwrap());
    let (_, removal) = request(&e, &store, Some(&c), NOW, Session::logout).await;
    assert!(removal.unwrap().starts_with("sessionid=;"));
    assert!(store.is_empty());
    let (s, _) = request(&e, &store, Some(&c), NOW, |_| {}).await;
    assert!(s.user_id().is_none());
}

#[tokio::test]
async fn finish_outcome_lists_save_delete_and_cookie() {
    let e = engine();
    let s = e.new_session();
    s.insert("a", 1).unwrap();
    let out = e.finish(&s, NOW).unwrap();
    let save = out.save.unwrap();
    assert_eq!(save.mode, SaveMode::Create);
    assert_eq!(save.record.expires, NOW + Duration::seconds(1_209_600));
    assert!(out.delete.is_empty());
    assert!(matches!(out.cookie, CookieAction::Set(_)));
    // Finished once: a second finish has nothing new to do.
    let again = e.finish(&s, NOW).unwrap();
    assert!(again.save.is_none() && again.cookie == CookieAction::None);
}

/// A store that can be switched off: every call fails while it is down.
#[derive(Default, Clone)]
struct Flaky {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(std::io::Error::other(
                "store is down",
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for Flaky {
    async fn load(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Record>>, StoreError> {
        self.check()?;
        self.inner.load(key, now).await
    }
    async fn save(
        &self,
        key: &SessionKey,
        r: &Arc<Record>,
        m: SaveMode,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.save(key, r, m, now).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete(key).await
    }
    async fn delete_user_sessions(
        &self,
        u: &str,
        k: Option<&SessionKey>,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.check()?;
        self.inner.delete_user_sessions(u, k, now).await
    }
}

#[tokio::test]
async fn a_store_outage_is_an_error_never_a_logout() {
    let (e, store) = (engine(), Flaky::default());
    let (_, c) = request(&e, &store, None, NOW, |s| s.login(&john()).unwrap()).await;
    let c = pair(&c.unwrap());
    store.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        e.load(&store, [c.as_bytes()], NOW).await,
        Err(StoreError::Unavailable(_))
    ));
    store.down.store(false, Ordering::SeqCst);
    let s = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
    s.logout();
    store.down.store(true, Ordering::SeqCst);
    assert!(
        e.save(&store, &s, NOW).await.is_err(),
        "a failed save is reported"
    );
    store.down.store(false, Ordering::SeqCst);
    let s = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
    assert_eq!(
        s.user_id().as_deref(),
        Some("1"),
        "the outage logged nobody out"
    );
}

#[tokio::test]
async fn a_session_deleted_meanwhile_is_not_resurrected() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let s = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
    s.insert("a", "changed").unwrap();
    // A logout at another instance, while this request runs.
    store.delete(&s.key().unwrap()).await.unwrap();
    let out = e.save(&store, &s, NOW).await.unwrap();
    assert_eq!(out.set_cookie, None);
    assert!(store.is_empty());
}

#[tokio::test]
async fn an_expiry_in_the_past_ends_the_session_instead_of_saving_it() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let (_, removal) = request(&e, &store, Some(&c), NOW, |s| {
        s.set_expiry(Some(Expiry::At(NOW - Duration::seconds(1))));
    })
    .await;
    assert!(removal.unwrap().starts_with("sessionid=;"));
    assert!(
        store.is_empty(),
        "the expired session is deleted, not saved"
    );
}

#[tokio::test]
async fn records_round_trip_through_json_exactly() {
    let (e, store) = (engine(), MemoryStore::new());
    let odd_now = NOW + Duration::milliseconds(1234);
    let (s, _) = request(&e, &store, None, odd_now, |s| s.insert("a", "b").unwrap()).await;
    let rec = store
        .load(&s.key().unwrap(), odd_now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Record::from_json(&rec.to_json()).unwrap(),
        *rec,
        "whole seconds survive JSON"
    );
}

#[tokio::test]
async fn no_debug_output_shows_a_token_a_session_key_or_a_secret() {
    let (e, store) = (engine(), MemoryStore::new());
    let s = e.load(&store, [], NOW).await.unwrap();
    s.login(&john()).unwrap();
    let outcome = e.finish(&s, NOW).unwrap();
    let CookieAction::Set(cookie) = &outcome.cookie else {
        panic!("a login sets the cookie")
    };
    let token = cookie.value().to_string();
    let sk = outcome.save.as_ref().unwrap().key.expose().to_string();
    let claims = e.codec().verify(&token, NOW).unwrap();
    let incoming = e.read_cookies([format!("sessionid={token}").as_bytes()], NOW);
    let headers = session_jwt_core::ResponseHeaders {
        set_cookie: Some(cookie.to_string()),
        vary_cookie: true,
        cache_private: true,
    };
    let settings: session_jwt_core::Settings =
        serde_json::from_value(json!({"key": {"secret": SECRET}})).unwrap();
    let builder = session_jwt_core::Builder::from_settings(settings.clone());
    let shown = format!(
        "{outcome:?} {claims:?} {incoming:?} {headers:?} {settings:?} {builder:?} {e:?} {s:?}"
    );
    for secret in [token.as_str(), sk.as_str(), SECRET] {
        assert!(
            !shown.contains(secret),
            "Debug output leaks {secret:.12}...: {shown}"
        );
    }
    assert!(
        shown.contains("HttpOnly"),
        "the attributes are still shown: {shown}"
    );
}

#[tokio::test]
async fn huge_expiry_overrides_are_clamped_not_a_panic() {
    let (e, store) = (engine(), MemoryStore::new());
    for expiry in [
        Expiry::After(Duration::seconds(i64::MAX / 4)),
        Expiry::At(datetime!(9999-12-31 23:59 UTC)),
    ] {
        let (_, c) = request(&e, &store, None, NOW, |s| {
            s.insert("a", "b").unwrap();
            s.set_expiry(Some(expiry));
        })
        .await;
        assert!(c.is_some());
    }
}

#[tokio::test]
async fn reserved_items_cannot_be_written_so_token_claims_cannot_be_forged() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.login(&jane()).unwrap()).await;
    let c = pair(&c.unwrap());
    let (s, c2) = request(&e, &store, Some(&c), NOW, |s| {
        // An app storing visitor-chosen names, as the reference app's /set.
        for name in [
            "_jwt_claims",
            "_auth_user_id",
            "_auth_user_hash",
            "_session_expiry",
        ] {
            let err = s.insert(name, json!({"u": "john", "id": 1})).unwrap_err();
            assert!(
                matches!(err, session_jwt_core::SessionError::Reserved(_)),
                "{name}: {err}"
            );
        }
        s.insert("_other", "fine").unwrap();
        s.insert("cart", "fine").unwrap();
    })
    .await;
    assert_eq!(s.user_id().as_deref(), Some("2"));
    let claims = e
        .codec()
        .verify(&pair(&c2.unwrap())["sessionid=".len()..], NOW)
        .unwrap();
    assert_eq!(
        claims.get("u"),
        Some(&json!("jane")),
        "the token still says jane"
    );
    assert!(session_jwt_core::session::is_reserved("_jwt_claims"));
    assert!(!session_jwt_core::session::is_reserved("_other"));
}

#[tokio::test]
async fn a_server_error_saves_nothing_but_a_logout_still_deletes() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("a", "b").unwrap()).await;
    let c = pair(&c.unwrap());
    let s = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
    s.insert("a", "half-done").unwrap();
    let out = e.save_response(&store, &s, 500, NOW).await.unwrap();
    assert_eq!(out.set_cookie, None);
    let kept = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
    assert_eq!(
        kept.get::<String>("a").as_deref(),
        Some("b"),
        "a 5xx does not save"
    );
    kept.logout();
    let out = e.save_response(&store, &kept, 503, NOW).await.unwrap();
    assert_eq!(out.set_cookie, None);
    assert!(
        store.is_empty(),
        "a logout deletes even when the response fails"
    );
    // Below 500, as save.
    let s = e.new_session();
    s.insert("x", 1).unwrap();
    assert!(
        e.save_response(&store, &s, 404, NOW)
            .await
            .unwrap()
            .set_cookie
            .is_some()
    );
}

#[tokio::test]
async fn a_taken_key_is_replaced_and_finish_runs_again() {
    let (e, store) = (engine(), MemoryStore::new());
    let s = e.new_session();
    s.insert("a", "b").unwrap();
    let first = e.finish(&s, NOW).unwrap();
    let taken = first.save.as_ref().unwrap().key.clone();
    // Another session got that key first.
    let other = Arc::new(Record {
        items: Default::default(),
        expires: NOW + Duration::hours(1),
    });
    store
        .save(&taken, &other, SaveMode::Create, NOW)
        .await
        .unwrap();
    e.key_taken(&s, first);
    let second = e.finish(&s, NOW).unwrap();
    let save = second.save.unwrap();
    assert_ne!(save.key, taken);
    assert_eq!(save.mode, SaveMode::Create);
    assert!(
        store
            .save(&save.key, &save.record, save.mode, NOW)
            .await
            .unwrap()
    );
}

#[test]
fn the_auth_secret_can_be_kept_across_key_rotation() {
    let a = builder().build().unwrap();
    let rotated = SessionJwt::builder()
        .with_key(Key::hmac("a brand new secret of thirty-two bytes").unwrap())
        .unwrap()
        .build()
        .unwrap();
    assert_ne!(
        a.auth_secret(),
        rotated.auth_secret(),
        "derived from the key by default"
    );
    let stable = "a stable auth secret of thirty-two bytes";
    let a = builder().with_auth_secret(stable).unwrap().build().unwrap();
    let rotated = SessionJwt::builder()
        .with_key(Key::hmac("a brand new secret of thirty-two bytes").unwrap())
        .unwrap()
        .with_auth_secret(stable)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(a.auth_secret(), rotated.auth_secret());
    assert!(builder().with_auth_secret("short").is_err());
}

#[tokio::test]
async fn a_lazy_session_touches_the_store_only_when_asked() {
    let (e, store) = (engine(), Flaky::default());
    let (_, c) = request(&e, &store, None, NOW, |s| s.login(&john()).unwrap()).await;
    let c = pair(&c.unwrap());
    store.down.store(true, Ordering::SeqCst);
    // A request that never asks for its session works while the store is down.
    let lazy = e.lazy([c.as_bytes()], NOW);
    assert!(lazy.incoming().session_key().is_some());
    let out = lazy.save_response(&store, 200).await.unwrap();
    assert_eq!(out.set_cookie, None);
    // One that asks gets the store's error, and can ask again later.
    let lazy = e.lazy([c.as_bytes()], NOW);
    assert!(lazy.get(&store).await.is_err());
    store.down.store(false, Ordering::SeqCst);
    assert!(
        lazy.save_response(&store, 200).await.is_err(),
        "a handler that went on without its session still gets the store error"
    );
    let s = lazy.get(&store).await.unwrap();
    assert_eq!(s.user_id().as_deref(), Some("1"));
    s.insert("x", 1).unwrap();
    let again = lazy.get(&store).await.unwrap();
    assert_eq!(
        again.get::<i32>("x"),
        Some(1),
        "the same handle on every call"
    );
    assert!(
        lazy.save_response(&store, 200)
            .await
            .unwrap()
            .set_cookie
            .is_some()
    );
}

#[tokio::test]
async fn every_read_of_the_session_marks_it_for_vary_cookie() {
    let (e, store) = (engine(), MemoryStore::new());
    let c = john_logged_in(&e, &store).await;
    type Read = fn(&Session);
    let reads: [(&str, Read); 6] = [
        ("claims", |s| {
            let _ = s.claims();
        }),
        ("key", |s| {
            let _ = s.key();
        }),
        ("expiry", |s| {
            let _ = s.expiry();
        }),
        ("is_empty", |s| {
            let _ = s.is_empty();
        }),
        ("public_items", |s| {
            let _ = s.public_items();
        }),
        ("user", |s| {
            let _ = s.user::<User>();
        }),
    ];
    for (name, read) in reads {
        let s = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
        read(&s);
        let out = e.save(&store, &s, NOW).await.unwrap();
        assert!(out.vary_cookie, "{name}() must mark the session accessed");
        assert_eq!(out.set_cookie, None, "{name}(): nothing to re-issue");
        assert!(!out.cache_private, "{name}(): no new token, no cache rule");
    }
    // Not read at all: the response does not depend on the cookie.
    let s = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
    assert!(!e.save(&store, &s, NOW).await.unwrap().vary_cookie);
}

#[tokio::test]
async fn a_new_token_asks_shared_caches_to_keep_out() {
    let (e, store) = (engine(), MemoryStore::new());
    let s = e.load(&store, [], NOW).await.unwrap();
    s.login(&john()).unwrap();
    let out = e.save(&store, &s, NOW).await.unwrap();
    assert!(out.set_cookie.is_some() && out.cache_private);
    let headers: Vec<_> = out.headers(false).collect();
    assert!(headers.contains(&("Cache-Control", "private")));
    assert!(headers.contains(&("Vary", "Cookie")));
    assert!(
        !out.headers(true).any(|(n, _)| n == "Cache-Control"),
        "a route's own Cache-Control wins"
    );
    // A removal cookie carries no token: no cache rule is needed for it.
    let c = pair(out.set_cookie.as_deref().unwrap());
    let s = e.load(&store, [c.as_bytes()], NOW).await.unwrap();
    s.logout();
    let out = e.save(&store, &s, NOW).await.unwrap();
    assert!(out.set_cookie.unwrap().starts_with("sessionid=;") && !out.cache_private);
    // And it can be turned off.
    let off = builder()
        .with_cache_private(false)
        .build()
        .unwrap()
        .with_user_loader(Users::new());
    let s = off.load(&store, [], NOW).await.unwrap();
    s.insert("a", "b").unwrap();
    assert!(!off.save(&store, &s, NOW).await.unwrap().cache_private);
}

#[tokio::test]
async fn an_oversized_session_is_refused_and_the_stored_one_kept() {
    let e = builder()
        .with_max_record_size(4096)
        .build()
        .unwrap()
        .with_user_loader(Users::new());
    let store = MemoryStore::new();
    let (_, c) = request(&e, &store, None, NOW, |s| s.insert("small", "ok").unwrap()).await;
    let c = pair(&c.unwrap());
    let key = first_key(&e, &c);
    let before = store.load(&key, NOW).await.unwrap().unwrap();
    let (_, sent) = request(&e, &store, Some(&c), NOW, |s| {
        s.insert("big", "x".repeat(5000)).unwrap();
    })
    .await;
    assert_eq!(sent, None, "no cookie for a session that was not saved");
    assert_eq!(store.load(&key, NOW).await.unwrap().unwrap(), before);
    assert_eq!(store.len(), 1);
    // A new visitor's oversized session is not stored at all.
    let (_, sent) = request(&e, &store, None, NOW, |s| {
        s.insert("big", "x".repeat(5000)).unwrap();
    })
    .await;
    assert_eq!(sent, None);
    assert_eq!(store.len(), 1);
    // The default limit is 64 KiB.
    assert_eq!(engine().limits().max_record_size, 65_536);
}

#[tokio::test]
async fn the_cookie_cap_applies_before_any_signature_check() {
    let (e, store) = (engine(), MemoryStore::new());
    let (_, a) = request(&e, &store, None, NOW, |s| s.insert("who", "a").unwrap()).await;
    let a = pair(&a.unwrap());
    let forged = "sessionid=eyJhbGciOiJIUzI1NiJ9.eyJzayI6ImFhYWFhYWFhYWFhYSJ9.c2ln";
    // Nine cookies of the name: anonymous, and not one signature checked.
    let nine = [forged; 9].join("; ");
    let incoming = e.read_cookies([nine.as_bytes()], NOW);
    assert_eq!(incoming.signature_checks(), 0);
    assert!(incoming.session_key().is_none() && incoming.cookie_present());
    // The default cap is 3, across all Cookie headers of the request.
    let four: Vec<&[u8]> = vec![a.as_bytes(); 4];
    let incoming = e.read_cookies(four, NOW);
    assert_eq!(incoming.signature_checks(), 0);
    assert!(incoming.session_key().is_none());
    // Three: considered; identical values are checked once.
    let three = format!("{a}; {a}; {forged}");
    let incoming = e.read_cookies([three.as_bytes()], NOW);
    assert_eq!(incoming.signature_checks(), 2);
    assert!(incoming.session_key().is_some());
    // Configurable.
    let one = builder().with_max_session_cookies(1).build().unwrap();
    let two = format!("{a}; {forged}");
    assert_eq!(
        one.read_cookies([two.as_bytes()], NOW).signature_checks(),
        0
    );
    assert!(builder().with_max_session_cookies(0).build().is_err());
}

/// One race: a login (cycle_key) and a logout of the same session, at once.
/// Returns (the logout deleted the old record, a record exists under the
/// new key).
async fn cycle_against_logout<S: SessionStore + Clone>(e: &SessionJwt, store: &S) -> (bool, bool) {
    let c = {
        let s = e.load(store, [], NOW).await.unwrap();
        s.insert("cart", "x").unwrap();
        pair(&e.save(store, &s, NOW).await.unwrap().set_cookie.unwrap())
    };
    let old = first_key(e, &c);
    let s = e.load(store, [c.as_bytes()], NOW).await.unwrap();
    s.login(&john()).unwrap();
    let (login, logout) = {
        let (e, store2, store3, old) = (e.clone(), store.clone(), store.clone(), old.clone());
        let login = tokio::spawn(async move { e.save(&store2, &s, NOW).await.unwrap() });
        let logout = tokio::spawn(async move { store3.delete(&old).await.unwrap() });
        (login.await.unwrap(), logout.await.unwrap())
    };
    let new = login
        .set_cookie
        .filter(|c| !c.starts_with("sessionid=;"))
        .map(|c| first_key(e, &pair(&c)));
    let new_exists = match &new {
        Some(k) => store.load(k, NOW).await.unwrap().is_some(),
        None => false,
    };
    assert!(store.load(&old, NOW).await.unwrap().is_none());
    (logout, new_exists)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_racing_a_logout_never_resurrects_the_session() {
    // The memory store's atomic cycle, and the trait's default (Flaky does
    // not override it).
    let e = engine();
    let memory = MemoryStore::new();
    let default = Flaky::default();
    for _ in 0..50 {
        for (i, (logout, new_exists)) in [
            cycle_against_logout(&e, &memory).await,
            cycle_against_logout(&e, &default).await,
        ]
        .into_iter()
        .enumerate()
        {
            // Exactly one of them wins: a logout that deleted the old record
            // leaves no new one; a login that moved it leaves the logout
            // nothing to delete.
            assert_ne!(
                logout, new_exists,
                "store {i}: logout {logout}, new record {new_exists}"
            );
        }
    }
    // The deterministic orders, too: a logout first always wins.
    for store in [&memory as &dyn SessionStoreDyn, &default] {
        let r = Arc::new(Record {
            items: Default::default(),
            expires: NOW + Duration::hours(1),
        });
        let (old, new) = (SessionKey::generate(), SessionKey::generate());
        store.save_dyn(&old, &r).await;
        assert!(store.delete_dyn(&old).await);
        assert!(
            !store.cycle_dyn(&old, &new, &r).await,
            "no old record: no cycle"
        );
        assert!(store.load_dyn(&new).await.is_none());
    }
}

/// Object-safe helpers over both stores for the deterministic checks.
#[async_trait]
trait SessionStoreDyn: Sync {
    async fn save_dyn(&self, k: &SessionKey, r: &Arc<Record>);
    async fn delete_dyn(&self, k: &SessionKey) -> bool;
    async fn cycle_dyn(&self, old: &SessionKey, new: &SessionKey, r: &Arc<Record>) -> bool;
    async fn load_dyn(&self, k: &SessionKey) -> Option<Arc<Record>>;
}

#[async_trait]
impl<S: SessionStore> SessionStoreDyn for S {
    async fn save_dyn(&self, k: &SessionKey, r: &Arc<Record>) {
        assert!(self.save(k, r, SaveMode::Create, NOW).await.unwrap());
    }
    async fn delete_dyn(&self, k: &SessionKey) -> bool {
        self.delete(k).await.unwrap()
    }
    async fn cycle_dyn(&self, old: &SessionKey, new: &SessionKey, r: &Arc<Record>) -> bool {
        self.cycle(old, new, r, NOW).await.unwrap()
    }
    async fn load_dyn(&self, k: &SessionKey) -> Option<Arc<Record>> {
        self.load(k, NOW).await.unwrap()
    }
}
