//! The cases: each takes the adapter's name and checks one part of
//! `shared/reference-app.md` against its running reference app.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};
use session_jwt_core::insecure::insecure_decode;
use session_jwt_core::{
    Algorithm, Field, Fields, Key, KeyRing, SessionKey, TokenCodec, TokenSettings,
};
use time::{Duration, OffsetDateTime};

use crate::app::{App, SECRET};
use crate::keys::KeyFiles;

const COOKIE: &str = "sessionid";

/// The token inside a `name=value` cookie pair.
fn token(pair: &str) -> &str {
    pair.split_once('=').expect("name=value").1
}

/// Header and payload of a token, unverified (the tests check the layout).
fn parts(pair: &str) -> (Map<String, Value>, Map<String, Value>) {
    let t = insecure_decode(token(pair)).expect("the cookie is a compact JWS");
    (
        t.header.clone(),
        t.claims().expect("the payload is a JSON object"),
    )
}

/// The contract's field configuration.
fn fields() -> Fields {
    Fields::new(
        vec![
            Field::from(("id", "id", "user_id")),
            Field::from(("username", "u", "username")),
            Field::from(("email", "e", "email")),
            Field::from(("profile.team", "t", "team")),
            Field::from(("invalid", "i", "invalid")),
        ],
        "sk",
    )
    .unwrap()
}

/// A codec with `key`, to mint tokens as the app would and to verify its.
fn codec(key: Key) -> TokenCodec {
    TokenCodec::new(
        KeyRing::new(key).unwrap(),
        fields(),
        TokenSettings::default(),
    )
    .unwrap()
}

fn secret_codec() -> TokenCodec {
    codec(Key::hmac(SECRET).unwrap())
}

/// A token with any header and payload, HMAC-signed with `secret` and
/// `digest` (or unsigned when `secret` is `None`). Signed with openssl
/// directly, not with the library under test, so a refusal is the app's own.
fn forge(secret: Option<(&str, MessageDigest)>, header: Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let sig = match secret {
        Some((secret, digest)) => hmac(secret, digest, &input),
        None => String::new(),
    };
    format!("{input}.{sig}")
}

/// The HMAC of `input` with `secret` and `digest`, base64url (openssl).
fn hmac(secret: &str, digest: MessageDigest, input: &str) -> String {
    let key = openssl::pkey::PKey::hmac(secret.as_bytes()).unwrap();
    let mut signer = openssl::sign::Signer::new(digest, &key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    URL_SAFE_NO_PAD.encode(signer.sign_to_vec().unwrap())
}

/// `SECRET` with HMAC-SHA256, the app's default algorithm.
fn hs256() -> Option<(&'static str, MessageDigest)> {
    Some((SECRET, MessageDigest::sha256()))
}

/// Parses an HTTP date as cookies carry it in `Expires` (RFC 7231
/// IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(text: &str) -> OffsetDateTime {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text, format)
        .unwrap_or_else(|e| panic!("{text:?} is not an IMF-fixdate: {e}"))
        .assume_utc()
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Asserts that `cookie` counts as no cookie: anonymous everywhere, never an
/// error.
fn assert_anonymous(app: &App, cookie: &str, what: &str) {
    let get = app.get("/get", Some(cookie));
    assert_eq!(get.status, 200, "{what}: /get answered {}", get.status);
    assert_eq!(get.json(), json!({}), "{what}: /get");
    let claims = app.get("/claims", Some(cookie));
    assert_eq!(claims.status, 200, "{what}: /claims");
    assert_eq!(claims.json(), json!({}), "{what}: /claims");
    let me = app.get("/me", Some(cookie));
    assert_eq!(
        me.status, 302,
        "{what}: /me must redirect an anonymous visitor"
    );
}

// ---------------------------------------------------------------- routes

/// `GET /login`: a form posting username, password and a hidden next.
pub fn login_page_has_the_form(adapter: &str) {
    let app = App::start(adapter, &[]);
    let r = app.get("/login", None);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        r.headers
    );
    let html = r.body.to_lowercase();
    assert!(
        html.contains("<form")
            && html.contains("method=\"post\"")
            && html.contains("action=\"/login\""),
        "{html}"
    );
    for field in ["name=\"username\"", "name=\"password\"", "name=\"next\""] {
        assert!(html.contains(field), "missing {field}: {html}");
    }
    assert!(
        html.contains("type=\"hidden\""),
        "next is a hidden field: {html}"
    );
    assert!(
        r.set_cookies().is_empty(),
        "viewing the form sets no cookie"
    );
}

/// `POST /login`: 200 `OK` and a cookie with Django's attributes.
pub fn login_sets_the_cookie_with_djangos_attributes(adapter: &str) {
    let app = App::start(adapter, &[]);
    let r = app.post(
        "/login",
        &[("username", "john"), ("password", "password")],
        None,
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert!(r.cookie(COOKIE).is_some());
    assert_eq!(r.cookie_attr(COOKIE, "Path").as_deref(), Some("/"));
    assert_eq!(r.cookie_attr(COOKIE, "HttpOnly").as_deref(), Some(""));
    assert_eq!(
        r.cookie_attr(COOKIE, "SameSite")
            .map(|s| s.to_lowercase())
            .as_deref(),
        Some("lax")
    );
    assert_eq!(r.cookie_attr(COOKIE, "Max-Age").as_deref(), Some("1209600"));
    let expires = r.cookie_attr(COOKIE, "Expires").expect("Expires is set");
    let expected = OffsetDateTime::now_utc() + Duration::seconds(1_209_600);
    let off = (http_date(&expires) - expected).abs();
    assert!(
        off <= Duration::seconds(60),
        "Expires {expires} is {off} away from now + SESSION_COOKIE_AGE"
    );
    assert_eq!(r.cookie_attr(COOKIE, "Secure"), None);
}

/// `next` is followed only when it is a local path.
pub fn login_redirects_only_to_local_next(adapter: &str) {
    let app = App::start(adapter, &[]);
    let form = |next: &'static str| {
        [
            ("username", "john"),
            ("password", "password"),
            ("next", next),
        ]
    };
    let r = app.post("/login", &form("/me"), None);
    assert_eq!(r.status, 302);
    assert_eq!(r.location().as_deref(), Some("/me"));
    assert!(
        r.cookie(COOKIE).is_some(),
        "the redirect carries the cookie"
    );
    for bad in [
        "//evil.example/x",
        "https://evil.example/",
        "evil",
        "/\\evil.example",
        "",
    ] {
        let r = app.post("/login", &form(bad), None);
        assert_eq!(
            (r.status, r.body.as_str()),
            (200, "OK"),
            "next={bad:?} must be ignored"
        );
    }
}

/// A failed login: 401 `Failed`, nobody logged in, the session untouched.
pub fn failed_login_is_401_and_keeps_the_visitors_session(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app
        .post("/set", &[("cart", "apple")], None)
        .cookie(COOKIE)
        .unwrap();
    for (u, p) in [("john", "wrong"), ("nobody", "password"), ("", "")] {
        let r = app.post("/login", &[("username", u), ("password", p)], Some(&c));
        assert_eq!((r.status, r.body.as_str()), (401, "Failed"), "{u}/{p}");
        assert!(
            r.set_cookie(COOKIE).is_none(),
            "a failed login changes no cookie"
        );
    }
    assert_eq!(app.get("/get", Some(&c)).json()["cart"], "apple");
    assert_eq!(app.get("/me", Some(&c)).status, 302);
}

/// A failed login by a visitor who is already logged in: 401 `Failed`, no
/// `Set-Cookie`, and still logged in as the same user.
pub fn failed_login_keeps_a_logged_in_visitor_logged_in(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    for (u, p) in [("john", "wrong"), ("jane", "password"), ("nobody", "x")] {
        let r = app.post("/login", &[("username", u), ("password", p)], Some(&c));
        assert_eq!((r.status, r.body.as_str()), (401, "Failed"), "{u}/{p}");
        assert!(
            r.set_cookies().is_empty(),
            "{u}/{p}: a failed login sends no cookie: {:?}",
            r.set_cookies()
        );
        let me = app.get("/me", Some(&c));
        assert_eq!(me.status, 200, "{u}/{p}: still logged in");
        assert_eq!(me.json()["username"], "john", "{u}/{p}: the same user");
    }
    let r = app.post_raw("/login", None, "", Some(&c));
    assert_eq!((r.status, r.body.as_str()), (401, "Failed"), "no form");
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    assert_eq!(app.get("/me", Some(&c)).json()["username"], "john");
}

/// `POST /login` without a form (no body, or a body that is not a form) is
/// a failed login like any other: 401 `Failed`, nobody logged in, the
/// visitor's session untouched. Not a 4xx of the framework's.
pub fn login_without_a_form_is_a_failed_login(adapter: &str) {
    let app = App::start(adapter, &[]);
    let json_body = r#"{"username":"john","password":"password"}"#;
    let attempts = [
        ("no body", None, ""),
        ("empty form", Some("application/x-www-form-urlencoded"), ""),
        ("JSON", Some("application/json"), json_body),
        (
            "text",
            Some("text/plain"),
            "username=john&password=password",
        ),
    ];
    for (what, content_type, body) in attempts {
        let r = app.post_raw("/login", content_type, body, None);
        assert_eq!((r.status, r.body.as_str()), (401, "Failed"), "{what}");
        assert!(r.set_cookies().is_empty(), "{what}: {:?}", r.set_cookies());
    }
    let c = app
        .post("/set", &[("cart", "apple")], None)
        .cookie(COOKIE)
        .unwrap();
    for (what, content_type, body) in attempts {
        let r = app.post_raw("/login", content_type, body, Some(&c));
        assert_eq!((r.status, r.body.as_str()), (401, "Failed"), "{what}");
        assert!(r.set_cookies().is_empty(), "{what}: {:?}", r.set_cookies());
    }
    assert_eq!(app.get("/get", Some(&c)).json()["cart"], "apple");
    assert_eq!(app.get("/me", Some(&c)).status, 302, "nobody logged in");
}

/// Login cycles the key: the old cookie is dead, the items are kept.
pub fn login_cycles_the_session_key_and_keeps_items(adapter: &str) {
    let app = App::start(adapter, &[]);
    let before = app
        .post("/set", &[("cart", "apple")], None)
        .cookie(COOKIE)
        .unwrap();
    let after = app.login("john", "password", Some(&before));
    let (sk1, sk2) = (
        parts(&before).1["sk"].clone(),
        parts(&after).1["sk"].clone(),
    );
    assert_ne!(sk1, sk2, "login must cycle the session key");
    let items = app.get("/get", Some(&after)).json();
    assert_eq!(items["cart"], "apple", "items stored before login are kept");
    assert_eq!(items["test"], "This value should be present");
    assert_anonymous(&app, &before, "the pre-login cookie");
}

/// Logging in over another user's session flushes it first.
pub fn login_as_another_user_flushes_the_session(adapter: &str) {
    let app = App::start(adapter, &[]);
    let john = app.login("john", "password", None);
    let john = app
        .post("/set", &[("secret", "john's")], Some(&john))
        .cookie(COOKIE)
        .unwrap_or(john);
    let jane = app.login("jane", "secret", Some(&john));
    let items = app.get("/get", Some(&jane)).json();
    assert!(
        items.get("secret").is_none(),
        "jane sees john's items: {items}"
    );
    assert_eq!(app.get("/me", Some(&jane)).json()["username"], "jane");
    assert_anonymous(&app, &john, "john's cookie after jane logged in over it");
}

/// A cookie planted before the victim logs in grants nothing after.
pub fn session_fixation_is_prevented(adapter: &str) {
    let app = App::start(adapter, &[]);
    let planted = app
        .post("/set", &[("x", "1")], None)
        .cookie(COOKIE)
        .unwrap();
    let victim = app.login("john", "password", Some(&planted));
    assert_eq!(app.get("/me", Some(&victim)).status, 200);
    assert_eq!(
        app.get("/me", Some(&planted)).status,
        302,
        "the attacker's cookie is not logged in"
    );
}

/// `POST /logout`: the session is deleted and the cookie revoked at once.
pub fn logout_deletes_the_session_and_revokes_the_cookie(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    assert_eq!(app.get("/me", Some(&c)).status, 200);
    let r = app.post("/logout", &[], Some(&c));
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    assert!(
        r.removes_cookie(COOKIE),
        "logout deletes the cookie: {:?}",
        r.set_cookies()
    );
    // The token is still within its exp; deleting the session revoked it.
    assert_anonymous(&app, &c, "the logged-out cookie");
}

/// `POST /set` stores strings; `GET /get` returns them.
pub fn set_and_get_store_strings(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.post("/set", &[("a", "1"), ("b", "two words")], None);
    assert_eq!((c.status, c.body.as_str()), (200, "OK"));
    let c = c.cookie(COOKIE).expect("a new session sets the cookie");
    let r = app.get("/get", Some(&c));
    assert_eq!(r.status, 200);
    let items = r.json();
    assert_eq!(items["a"], "1");
    assert_eq!(items["b"], "two words");
    let c2 = app
        .post("/set", &[("a", "changed")], Some(&c))
        .cookie(COOKIE)
        .unwrap();
    assert_eq!(app.get("/get", Some(&c2)).json()["a"], "changed");
    assert_eq!(app.get("/get", Some(&c2)).json()["b"], "two words");
}

/// `POST /set` with the names the library keeps for itself cannot change the
/// logged-in user or put claims into the signed token.
pub fn set_cannot_forge_the_user_or_the_tokens_claims(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("jane", "secret", None);
    let forged = r#"{"u": "john", "id": 1, "admin": true}"#;
    let form = [
        ("_jwt_claims", forged),
        ("_auth_user_id", "1"),
        ("_auth_user_hash", "x"),
        ("_session_expiry", "0"),
        ("note", "kept"),
    ];
    let r = app.post("/set", &form, Some(&c));
    assert_eq!(r.status, 200);
    let c = r.cookie(COOKIE).unwrap_or(c);
    assert_eq!(app.get("/me", Some(&c)).json()["username"], "jane");
    let (_, payload) = parts(&c);
    assert_eq!(
        payload["u"], "jane",
        "the token still says jane: {payload:?}"
    );
    assert!(payload.get("admin").is_none());
    assert_eq!(app.get("/get", Some(&c)).json()["note"], "kept");
}

/// An anonymous visitor without a session: `{}` and no cookie.
pub fn anonymous_get_is_empty_without_a_cookie(adapter: &str) {
    let app = App::start(adapter, &[]);
    let r = app.get("/get", None);
    assert_eq!((r.status, r.json()), (200, json!({})));
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    let r = app.get("/claims", None);
    assert_eq!((r.status, r.json()), (200, json!({})));
    assert!(r.set_cookies().is_empty());
}

/// Nothing changed and the token is young: no `Set-Cookie`.
pub fn unchanged_session_sends_no_cookie(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    for path in ["/get", "/me", "/claims"] {
        let r = app.get(path, Some(&c));
        assert!(
            r.set_cookie(COOKIE).is_none(),
            "{path} re-sent the cookie: {:?}",
            r.set_cookies()
        );
    }
}

/// `GET /claims`: short and long names, sk, iat, exp, foo.
pub fn claims_carry_short_and_long_names(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    let claims = app.get("/claims", Some(&c)).json();
    let expected = [
        ("id", json!(1)),
        ("user_id", json!(1)),
        ("u", json!("john")),
        ("username", json!("john")),
        ("e", json!("john@domain.com")),
        ("email", json!("john@domain.com")),
        ("t", json!("core")),
        ("team", json!("core")),
        ("foo", json!("bar")),
    ];
    for (name, value) in expected {
        assert_eq!(claims[name], value, "{name} in {claims}");
    }
    assert!(
        claims.get("i").is_none() && claims.get("invalid").is_none(),
        "a missing attribute is omitted"
    );
    assert!(claims["sk"].is_string());
    assert_eq!(claims["sk"], parts(&c).1["sk"]);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!((iat - now()).abs() < 60);
    assert_eq!(exp - iat, 28_800);
    assert_eq!(
        app.get("/claims", Some("sessionid=garbage")).json(),
        json!({})
    );
}

/// The cookie is a compact JWS laid out as the contract says, and verifies
/// with the secret.
pub fn token_layout_matches_the_contract(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    let (header, payload) = parts(&c);
    assert_eq!(header.get("alg"), Some(&json!("HS256")));
    assert_eq!(header.get("typ"), Some(&json!("JWT")));
    assert!(
        header.get("kid").is_none(),
        "an HMAC key has no kid by default"
    );
    for name in ["sk", "iat", "exp", "id", "u", "e", "t", "foo"] {
        assert!(
            payload.contains_key(name),
            "{name} missing from {payload:?}"
        );
    }
    assert_eq!(payload["id"], json!(1), "id is the number 1");
    for long in ["user_id", "username", "email", "team", "i", "invalid"] {
        assert!(
            !payload.contains_key(long),
            "{long} must not be in the token"
        );
    }
    let v = secret_codec()
        .verify(token(&c), OffsetDateTime::now_utc())
        .expect("verifies with the secret");
    assert_eq!(v.get("username"), Some(&json!("john")));
}

/// `GET /me` needs a login and redirects with `?next=`.
pub fn me_requires_login_and_redirects_with_next(adapter: &str) {
    let app = App::start(adapter, &[]);
    let r = app.get("/me", None);
    assert_eq!(r.status, 302);
    assert_eq!(r.location().as_deref(), Some("/login?next=/me"));
    let c = app.login("john", "password", None);
    let r = app.get("/me", Some(&c));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"id": 1, "username": "john", "email": "john@domain.com"})
    );
    let r = app.post("/password", &[("old", "x"), ("new", "y")], None);
    assert_eq!(r.status, 302);
    assert_eq!(r.location().as_deref(), Some("/login?next=/password"));
}

/// `POST /password`: this session stays, every other one of the user ends.
pub fn password_change_logs_out_other_sessions(adapter: &str) {
    let app = App::start(adapter, &[]);
    let here = app.login("john", "password", None);
    let there = app.login("john", "password", None);
    let jane = app.login("jane", "secret", None);
    let r = app.post("/password", &[("old", "wrong"), ("new", "x")], Some(&here));
    assert_eq!(r.status, 400);
    let r = app.post(
        "/password",
        &[("old", "password"), ("new", "n3w")],
        Some(&here),
    );
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let here = r.cookie(COOKIE).unwrap_or(here);
    assert_eq!(
        app.get("/me", Some(&here)).status,
        200,
        "this session stays logged in"
    );
    assert_eq!(
        app.get("/me", Some(&there)).status,
        302,
        "the other session is logged out"
    );
    assert_eq!(
        app.get("/me", Some(&jane)).status,
        200,
        "other users are not affected"
    );
    assert_eq!(
        app.post(
            "/login",
            &[("username", "john"), ("password", "password")],
            None
        )
        .status,
        401
    );
    assert_eq!(
        app.post("/login", &[("username", "john"), ("password", "n3w")], None)
            .status,
        200
    );
}

/// With an HMAC key there is nothing to publish.
pub fn jwks_is_404_with_an_hmac_key(adapter: &str) {
    let app = App::start(adapter, &[]);
    assert_eq!(app.get("/.well-known/jwks.json", None).status, 404);
}

/// RSA, P-256, P-384 and Ed25519 keys: the algorithm follows the key, the
/// kid is the thumbprint, and the published JWKS verifies the cookie.
pub fn asymmetric_keys_sign_and_jwks_verifies_the_cookie(adapter: &str) {
    for alg in [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let key = KeyFiles::generate(alg);
        let app = App::start(adapter, &[("SESSION_JWT_KEY", key.private_path())]);
        let c = app.login("john", "password", None);
        let (header, _) = parts(&c);
        assert_eq!(header["alg"], json!(alg.as_str()));
        assert_eq!(
            header["kid"],
            json!(key.key.thumbprint().unwrap()),
            "{alg}: kid is the RFC 7638 thumbprint"
        );
        let r = app.get("/.well-known/jwks.json", None);
        assert_eq!(r.status, 200, "{alg}");
        let jwks = r.json();
        let published = &jwks["keys"][0];
        assert_eq!(published["kid"], header["kid"]);
        assert_eq!(published["alg"], json!(alg.as_str()));
        assert_eq!(published["use"], "sig");
        assert!(
            published.get("d").is_none(),
            "{alg}: a private member was published"
        );
        let from_jwks = TokenCodec::new(
            KeyRing::from_jwks(jwks.to_string()).unwrap(),
            fields(),
            TokenSettings::default(),
        )
        .unwrap();
        let v = from_jwks
            .verify(token(&c), OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(v.get("username"), Some(&json!("john")));
        assert_eq!(app.get("/me", Some(&c)).status, 200, "{alg}");
        // An HMAC token made with the public key as the secret is refused.
        let confused = codec(Key::hmac(key.public_pem()).unwrap())
            .encode(
                v.session_key(),
                &Map::new(),
                OffsetDateTime::now_utc(),
                None,
            )
            .unwrap();
        assert_anonymous(
            &app,
            &format!("sessionid={confused}"),
            "HS256 signed with the public key",
        );
    }
}

/// `SESSION_JWT_PUBLIC_KEY`: the matching key works, another one stops the
/// app at start.
pub fn public_key_pair_must_match(adapter: &str) {
    let key = KeyFiles::generate(Algorithm::RS256);
    let app = App::start(
        adapter,
        &[
            ("SESSION_JWT_KEY", key.private_path()),
            ("SESSION_JWT_PUBLIC_KEY", key.public_path()),
        ],
    );
    let c = app.login("john", "password", None);
    assert_eq!(app.get("/me", Some(&c)).status, 200);
    drop(app);
    let other = KeyFiles::generate(Algorithm::RS256);
    let f = App::start_failing(
        adapter,
        &[
            ("SESSION_JWT_KEY", key.private_path()),
            ("SESSION_JWT_PUBLIC_KEY", other.public_path()),
        ],
    );
    assert!(!f.status.success());
    assert!(f.stderr.contains("SESSION_JWT_PUBLIC_KEY"), "{}", f.stderr);
}

/// `SESSION_JWT_ALG` and `SESSION_JWT_KID` override the defaults.
pub fn algorithm_and_kid_overrides(adapter: &str) {
    let key = KeyFiles::generate(Algorithm::RS256);
    let app = App::start(
        adapter,
        &[
            ("SESSION_JWT_KEY", key.private_path()),
            ("SESSION_JWT_ALG", "PS256"),
            ("SESSION_JWT_KID", "k-2026"),
        ],
    );
    let c = app.login("john", "password", None);
    let (header, _) = parts(&c);
    assert_eq!(
        (header["alg"].clone(), header["kid"].clone()),
        (json!("PS256"), json!("k-2026"))
    );
    assert_eq!(app.get("/me", Some(&c)).status, 200);
    assert_eq!(
        app.get("/.well-known/jwks.json", None).json()["keys"][0]["alg"],
        "PS256"
    );
    drop(app);
    let long = "a-long-hmac-secret-for-hs512-0123456789abcdef0123456789abcdef-0123456789";
    let app = App::start(
        adapter,
        &[("SESSION_JWT_KEY", long), ("SESSION_JWT_ALG", "HS512")],
    );
    let c = app.login("john", "password", None);
    assert_eq!(parts(&c).0["alg"], "HS512");
    assert_eq!(app.get("/me", Some(&c)).status, 200);
    drop(app);
    // A kid for the default HMAC key (which has none by default).
    let app = App::start(adapter, &[("SESSION_JWT_KID", "k1")]);
    let c = app.login("john", "password", None);
    let (header, _) = parts(&c);
    assert_eq!(
        (header["alg"].clone(), header["kid"].clone()),
        (json!("HS256"), json!("k1"))
    );
    assert_eq!(app.get("/me", Some(&c)).json()["username"], "john");
    assert_eq!(
        app.get("/.well-known/jwks.json", None).status,
        404,
        "an HMAC key is not published, kid or not"
    );
}

/// `SESSION_JWT_ALG` for each algorithm the contract lists beyond the
/// defaults: the header carries it, the cookie works, the JWKS (asymmetric)
/// or the secret (HMAC, checked with openssl) verifies it.
pub fn algorithm_overrides_sign_and_verify(adapter: &str) {
    // HS384 with the default secret (52 bytes; HS384 needs 48).
    let app = App::start(adapter, &[("SESSION_JWT_ALG", "HS384")]);
    let c = app.login("john", "password", None);
    let (header, payload) = parts(&c);
    assert_eq!(header["alg"], "HS384");
    assert_eq!(app.get("/me", Some(&c)).json()["username"], "john");
    let (input, sig) = token(&c).rsplit_once('.').unwrap();
    assert_eq!(
        hmac(SECRET, MessageDigest::sha384(), input),
        sig,
        "the HS384 signature is HMAC-SHA384 with the secret"
    );
    // The same forged token that `bad_cookies_are_anonymous_never_an_error`
    // sends to an HS256 app: accepted here, so only the allow-list refuses
    // it there.
    let forged = forge(
        Some((SECRET, MessageDigest::sha384())),
        json!({"alg": "HS384", "typ": "JWT"}),
        &Value::Object(payload.clone()),
    );
    assert_eq!(
        app.get("/me", Some(&format!("sessionid={forged}"))).status,
        200
    );
    let hs256 = forge(
        hs256(),
        json!({"alg": "HS256", "typ": "JWT"}),
        &Value::Object(payload),
    );
    assert_anonymous(&app, &format!("sessionid={hs256}"), "HS256 at an HS384 app");
    drop(app);

    let rsa = KeyFiles::generate(Algorithm::RS256);
    let p384 = KeyFiles::generate(Algorithm::ES384);
    for (key, alg) in [
        (&rsa, "RS384"),
        (&rsa, "RS512"),
        (&rsa, "PS384"),
        (&rsa, "PS512"),
        (&p384, "ES384"),
    ] {
        let app = App::start(
            adapter,
            &[
                ("SESSION_JWT_KEY", key.private_path()),
                ("SESSION_JWT_ALG", alg),
            ],
        );
        let c = app.login("john", "password", None);
        assert_eq!(parts(&c).0["alg"], alg);
        assert_eq!(app.get("/me", Some(&c)).status, 200, "{alg}");
        let jwks = app.get("/.well-known/jwks.json", None).json();
        assert_eq!(jwks["keys"][0]["alg"], alg);
        let v = TokenCodec::new(
            KeyRing::from_jwks(jwks.to_string()).unwrap(),
            fields(),
            TokenSettings::default(),
        )
        .unwrap()
        .verify(token(&c), OffsetDateTime::now_utc())
        .unwrap_or_else(|e| panic!("{alg}: the JWKS does not verify the cookie: {e}"));
        assert_eq!(v.get("username"), Some(&json!("john")), "{alg}");
    }
}

/// `SESSION_JWT_EXPIRES=0`: no `exp` in the token.
pub fn expires_zero_leaves_exp_out(adapter: &str) {
    let app = App::start(adapter, &[("SESSION_JWT_EXPIRES", "0")]);
    let c = app.login("john", "password", None);
    assert!(!parts(&c).1.contains_key("exp"), "{:?}", parts(&c).1);
    assert_eq!(app.get("/me", Some(&c)).status, 200);
    drop(app);
    let app = App::start(adapter, &[("SESSION_JWT_EXPIRES", "60")]);
    let c = app.login("john", "password", None);
    let p = parts(&c).1;
    assert_eq!(p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(), 60);
}

/// Cookie name, age and Secure from the environment; exp never after the
/// cookie's expiry.
pub fn cookie_settings_from_the_environment(adapter: &str) {
    let app = App::start(
        adapter,
        &[
            ("SESSION_COOKIE_NAME", "sid"),
            ("SESSION_COOKIE_AGE", "600"),
            ("SESSION_COOKIE_SECURE", "1"),
        ],
    );
    let r = app.post(
        "/login",
        &[("username", "john"), ("password", "password")],
        None,
    );
    assert!(r.set_cookie(COOKIE).is_none());
    let c = r
        .cookie("sid")
        .expect("cookie named by SESSION_COOKIE_NAME");
    assert_eq!(r.cookie_attr("sid", "Max-Age").as_deref(), Some("600"));
    assert_eq!(r.cookie_attr("sid", "Secure").as_deref(), Some(""));
    let p = parts(&c).1;
    assert!(
        p["exp"].as_i64().unwrap() <= p["iat"].as_i64().unwrap() + 600,
        "exp after the cookie expiry: {p:?}"
    );
    assert_eq!(app.get("/me", Some(&c)).status, 200);
    assert_eq!(
        app.get("/me", Some(&format!("sessionid={}", token(&c))))
            .status,
        302,
        "the old name is not read"
    );
}

/// `SESSION_EXPIRE_AT_BROWSER_CLOSE=1`: no `Max-Age`, no `Expires`.
pub fn browser_close_cookies_have_no_expiry(adapter: &str) {
    let app = App::start(adapter, &[("SESSION_EXPIRE_AT_BROWSER_CLOSE", "1")]);
    let r = app.post(
        "/login",
        &[("username", "john"), ("password", "password")],
        None,
    );
    assert!(r.cookie(COOKIE).is_some());
    assert_eq!(r.cookie_attr(COOKIE, "Max-Age"), None);
    assert_eq!(r.cookie_attr(COOKIE, "Expires"), None);
    assert_eq!(app.get("/me", Some(&r.cookie(COOKIE).unwrap())).status, 200);
}

/// `SESSION_SAVE_EVERY_REQUEST=1`: the cookie comes back on every request.
pub fn save_every_request_reissues_the_cookie(adapter: &str) {
    let app = App::start(adapter, &[("SESSION_SAVE_EVERY_REQUEST", "1")]);
    let mut c = app.login("john", "password", None);
    for _ in 0..2 {
        let r = app.get("/get", Some(&c));
        c = r.cookie(COOKIE).expect("re-issued on every request");
        assert_eq!(app.get("/me", Some(&c)).status, 200);
    }
    let r = app.get("/get", None);
    assert!(
        r.set_cookies().is_empty(),
        "an empty anonymous session is still not saved"
    );
}

/// A token past half of its lifetime is re-issued (sliding refresh); a
/// younger one is not.
pub fn token_past_half_life_is_refreshed(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    let (_, payload) = parts(&c);
    let sk = SessionKey::parse(payload["sk"].as_str().unwrap()).unwrap();
    let mut claims = payload.clone();
    for reserved in ["sk", "iat", "exp"] {
        claims.remove(reserved);
    }
    let mint = |age: i64| {
        let iat = OffsetDateTime::now_utc() - Duration::seconds(age);
        format!(
            "sessionid={}",
            secret_codec().encode(&sk, &claims, iat, None).unwrap()
        )
    };
    let young = app.get("/get", Some(&mint(3600)));
    assert_eq!(young.status, 200);
    assert!(
        young.set_cookie(COOKIE).is_none(),
        "1 h into 8 h: no refresh"
    );
    let old = app.get("/get", Some(&mint(5 * 3600)));
    assert_eq!(
        old.json()["test"],
        "This value should be present",
        "the old token still finds the session"
    );
    let fresh = old.cookie(COOKIE).expect("5 h into 8 h: refreshed");
    let p = parts(&fresh).1;
    assert!(
        (p["iat"].as_i64().unwrap() - now()).abs() < 60,
        "new iat is now: {p:?}"
    );
    assert_eq!(p["sk"], payload["sk"], "a refresh keeps the session key");
    assert_eq!(p["u"], "john", "a refresh keeps the user's fields");
    assert_eq!(app.get("/me", Some(&fresh)).status, 200);
    let expired = app.get("/me", Some(&mint(8 * 3600 + 5)));
    assert_eq!(expired.status, 302, "past exp: anonymous");
}

/// Every kind of bad cookie counts as no cookie.
pub fn bad_cookies_are_anonymous_never_an_error(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    let (header, payload) = parts(&c);
    let sk = SessionKey::parse(payload["sk"].as_str().unwrap()).unwrap();
    let t = token(&c);
    let (h, p, s) = {
        let v: Vec<&str> = t.split('.').collect();
        (v[0], v[1], v[2])
    };
    let other = codec(Key::hmac("another-secret-0123456789abcdef-0123456789abcdef").unwrap());
    let n = OffsetDateTime::now_utc();
    let mut later = payload.clone();
    later.insert("nbf".into(), json!(now() + 3600));
    let cases: Vec<(&str, String)> = vec![
        ("not a JWT", "garbage".into()),
        ("empty", String::new()),
        ("two parts", format!("{h}.{p}")),
        ("bad base64", format!("{h}.{p}!!.{s}")),
        (
            "not JSON",
            format!("{}.{p}.{s}", URL_SAFE_NO_PAD.encode("nope")),
        ),
        (
            "tampered payload",
            format!(
                "{h}.{}.{s}",
                URL_SAFE_NO_PAD.encode(json!({"sk": payload["sk"], "u": "admin"}).to_string())
            ),
        ),
        (
            "another key",
            other.encode(&sk, &Map::new(), n, None).unwrap(),
        ),
        (
            "alg none",
            forge(
                None,
                json!({"alg": "none", "typ": "JWT"}),
                &Value::Object(payload.clone()),
            ),
        ),
        // Real HMAC-SHA384/512 signatures with the app's own secret (52
        // bytes, long enough for HS384): only the algorithm allow-list can
        // refuse them. `algorithm_overrides_sign_and_verify` shows that an
        // app configured for HS384 accepts the HS384 one.
        (
            "another algorithm (HS384)",
            forge(
                Some((SECRET, MessageDigest::sha384())),
                json!({"alg": "HS384", "typ": "JWT"}),
                &Value::Object(payload.clone()),
            ),
        ),
        (
            "another algorithm (HS512)",
            forge(
                Some((SECRET, MessageDigest::sha512())),
                json!({"alg": "HS512", "typ": "JWT"}),
                &Value::Object(payload.clone()),
            ),
        ),
        (
            "expired",
            secret_codec()
                .encode(&sk, &Map::new(), n - Duration::hours(9), None)
                .unwrap(),
        ),
        (
            "not yet valid",
            forge(
                hs256(),
                json!({"alg": "HS256", "typ": "JWT"}),
                &Value::Object(later),
            ),
        ),
        (
            "issued in the future",
            secret_codec()
                .encode(&sk, &Map::new(), n + Duration::hours(1), None)
                .unwrap(),
        ),
        (
            "unknown kid",
            forge(
                hs256(),
                json!({"alg": "HS256", "kid": "x"}),
                &Value::Object(payload.clone()),
            ),
        ),
        (
            "crit header",
            forge(
                hs256(),
                json!({"alg": "HS256", "crit": ["x"]}),
                &Value::Object(payload.clone()),
            ),
        ),
        ("oversized", format!("{h}.{}.{s}", "A".repeat(5000))),
        (
            "unknown session key",
            secret_codec()
                .encode(&SessionKey::generate(), &Map::new(), n, None)
                .unwrap(),
        ),
    ];
    assert_eq!(header.get("alg"), Some(&json!("HS256")));
    for (what, value) in &cases {
        assert_anonymous(&app, &format!("sessionid={value}"), what);
    }
    // A forged HS256 token with the right secret does work: the forging
    // helper is sound, so the refusals above are the app's.
    let ok = forge(
        hs256(),
        json!({"alg": "HS256", "typ": "JWT"}),
        &Value::Object(payload.clone()),
    );
    assert_eq!(app.get("/me", Some(&format!("sessionid={ok}"))).status, 200);
}

/// Oversized headers and non-UTF-8 bytes: anonymous or the framework's own
/// 4xx, never a 500.
pub fn oversized_and_non_utf8_headers_are_never_a_500(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    let mut h = HeaderMap::new();
    h.insert(
        "cookie",
        HeaderValue::from_bytes(b"sessionid=\xff\xfe\xfd; other=\x80").unwrap(),
    );
    let r = app
        .get_raw("/get", h)
        .expect("an answer to non-UTF-8 cookies");
    assert_eq!((r.status, r.json()), (200, json!({})));
    let mut h = HeaderMap::new();
    h.insert(
        "cookie",
        HeaderValue::from_bytes(format!("{c}; junk=\u{e9}").as_bytes()).unwrap(),
    );
    let r = app.get_raw("/me", h).expect("an answer");
    assert_ne!(r.status / 100, 5, "{}", r.status);
    for size in [16 * 1024, 200 * 1024] {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_str(&format!("sessionid={}", "a".repeat(size))).unwrap(),
        );
        // An answer, not a dropped connection: anonymous, or the
        // framework's own 4xx (Poem: 431 for a very large head).
        let r = app
            .get_raw("/get", h)
            .unwrap_or_else(|| panic!("{size}-byte cookie: no answer"));
        assert!(
            r.status == 200 || (400..500).contains(&r.status),
            "{size}-byte cookie: {}",
            r.status
        );
        if r.status == 200 {
            assert_eq!(r.json(), json!({}), "{size}-byte cookie");
        }
    }
    // The app is still serving.
    assert_eq!(app.get("/me", Some(&c)).status, 200);
}

/// Several cookies of the session cookie's name.
pub fn several_session_cookies(adapter: &str) {
    let app = App::start(adapter, &[]);
    let john = app.login("john", "password", None);
    let jane = app.login("jane", "secret", None);
    let me = |cookie: &str| app.get("/me", Some(cookie));
    let r = me(&format!("sessionid=garbage; {john}"));
    assert_eq!(
        (r.status, r.json()["username"].clone()),
        (200, json!("john")),
        "invalid ones are ignored"
    );
    let r = me(&format!("{john}; sessionid=x.y.z"));
    assert_eq!(r.status, 200);
    let r = me(&format!("{john}; other=1; {john}"));
    assert_eq!(r.status, 200, "the same session twice is fine");
    assert_eq!(
        me(&format!("{john}; {jane}")).status,
        302,
        "two valid different sessions: anonymous"
    );
    assert_eq!(me(&format!("{jane}; {john}")).status, 302);
}

/// More session cookies than the cap (3): anonymous, whichever is valid.
pub fn more_than_three_session_cookies_are_anonymous(adapter: &str) {
    let app = App::start(adapter, &[]);
    let john = app.login("john", "password", None);
    let me = |cookie: &str| app.get("/me", Some(cookie));
    assert_eq!(
        me(&format!("{john}; {john}; {john}")).status,
        200,
        "three of the name are considered"
    );
    let four = format!("{john}; sessionid=a; sessionid=b; sessionid=c");
    assert_eq!(me(&four).status, 302, "four: anonymous");
    assert_eq!(
        me(&[john.as_str(); 9].join("; ")).status,
        302,
        "nine: anonymous"
    );
    assert_eq!(app.get("/claims", Some(&four)).json(), json!({}));
    // Split over several Cookie headers, the same count.
    let mut headers = HeaderMap::new();
    for _ in 0..4 {
        headers.append("cookie", HeaderValue::from_str(&john).unwrap());
    }
    let r = app.get_raw("/me", headers).expect("an answer");
    assert_eq!(r.status, 302, "four over four headers: anonymous");
}

/// After a password change, the user's other sessions get no new token of
/// any kind: not from the sliding refresh, not from a write, not from
/// /claims. They get the removal cookie, and `{}` from /claims.
pub fn password_change_stops_other_sessions_from_getting_tokens(adapter: &str) {
    // A 60 s token: past half its life after 31 s, without waiting, by
    // minting an older token for the same session with the same key.
    let app = App::start(adapter, &[("SESSION_JWT_EXPIRES", "60")]);
    let here = app.login("john", "password", None);
    let there = app.login("john", "password", None);
    let (_, payload) = parts(&there);
    let sk = SessionKey::parse(payload["sk"].as_str().unwrap()).unwrap();
    let mut claims = payload.clone();
    for reserved in ["sk", "iat", "exp"] {
        claims.remove(reserved);
    }
    let settings = TokenSettings {
        expires: 60,
        ..TokenSettings::default()
    };
    let aged = format!(
        "sessionid={}",
        TokenCodec::new(
            KeyRing::new(Key::hmac(SECRET).unwrap()).unwrap(),
            fields(),
            settings
        )
        .unwrap()
        .encode(
            &sk,
            &claims,
            OffsetDateTime::now_utc() - Duration::seconds(40),
            None
        )
        .unwrap()
    );
    // Before the change, the aged token is refreshed: the mechanism works.
    let refreshed = app.get("/claims", Some(&aged));
    assert_eq!(refreshed.json()["u"], "john");
    assert!(
        refreshed.cookie(COOKIE).is_some(),
        "40 s into 60 s: a refresh"
    );

    let r = app.post(
        "/password",
        &[("old", "password"), ("new", "n3w")],
        Some(&here),
    );
    assert_eq!(r.status, 200);
    let r = app.get("/claims", Some(&aged));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({}), "claims of a logged-out session");
    assert!(
        r.removes_cookie(COOKIE),
        "the removal cookie: {:?}",
        r.set_cookies()
    );
    // The session is gone for good: a write afterwards starts an anonymous
    // session, never one with john's claims.
    let w = app.post("/set", &[("k", "v")], Some(&aged));
    assert_eq!(w.status, 200);
    if let Some(c) = w.cookie(COOKIE) {
        let (_, p) = parts(&c);
        assert!(p.get("u").is_none() && p.get("id").is_none(), "{p:?}");
        assert_ne!(p["sk"], payload["sk"]);
    }
    assert_eq!(app.get("/me", Some(&there)).status, 302);
}

/// A response that read the session says `Vary: Cookie` (also /claims, which
/// reads only the token's claims); one that sets a new token says
/// `Cache-Control: private`.
pub fn vary_and_cache_control_keep_shared_caches_out(adapter: &str) {
    let app = App::start(adapter, &[]);
    let login = app.post(
        "/login",
        &[("username", "john"), ("password", "password")],
        None,
    );
    assert_eq!(login.status, 200);
    assert!(login.cookie(COOKIE).is_some());
    assert_eq!(
        login.header("cache-control"),
        Some("private"),
        "a new token"
    );
    let varies = |r: &crate::Reply| {
        r.headers.get_all("vary").iter().any(|v| {
            v.to_str()
                .unwrap_or("")
                .to_ascii_lowercase()
                .contains("cookie")
        })
    };
    assert!(varies(&login), "login: Vary: Cookie");
    let john = login.cookie(COOKIE).unwrap();
    for path in ["/claims", "/get", "/me"] {
        let r = app.get(path, Some(&john));
        assert_eq!(r.status, 200, "{path}");
        assert!(varies(&r), "{path}: Vary: Cookie");
        assert!(r.set_cookie(COOKIE).is_none(), "{path}: no new token");
        assert_ne!(
            r.header("cache-control"),
            Some("private"),
            "{path}: no new token"
        );
    }
    // A page that never reads the session does not vary on the cookie.
    let page = app.get("/login", Some(&john));
    assert!(!varies(&page), "the login page does not read the session");
}

/// Request bodies over 64 KiB are refused with 413; nothing is stored.
pub fn oversized_bodies_are_refused_with_413(adapter: &str) {
    let app = App::start(adapter, &[]);
    let big = "v".repeat(70 * 1024);
    // The server answers without reading the whole body and closes the
    // connection: the next request must not race that close on it.
    let r = app.post_closing("/set", &[("big", big.as_str())]);
    assert_eq!(r.status, 413);
    assert!(r.set_cookie(COOKIE).is_none());
    let ok = "v".repeat(32 * 1024);
    let r = app.post("/set", &[("ok", ok.as_str())], None);
    assert_eq!(r.status, 200);
}

// ---------------------------------------------------------- configuration

/// A bad value stops the app at start, naming the variable.
pub fn bad_configuration_stops_at_start_naming_the_variable(adapter: &str) {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a key").unwrap();
    let rsa = KeyFiles::generate(Algorithm::RS256);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("SESSION_JWT_KEY", garbage.to_str().unwrap())],
            "SESSION_JWT_KEY",
        ),
        (
            vec![("SESSION_JWT_KEY", "/no/such/key.pem")],
            "SESSION_JWT_KEY",
        ),
        // A mistyped key path is an error, never signing with its text.
        (
            vec![("SESSION_JWT_KEY", "/no/such/file")],
            "SESSION_JWT_KEY",
        ),
        (vec![("SESSION_JWT_KEY", "short")], "SESSION_JWT_KEY"),
        (vec![("SESSION_JWT_ALG", "ES256")], "SESSION_JWT_ALG"),
        (vec![("SESSION_JWT_ALG", "XX512")], "SESSION_JWT_ALG"),
        (
            vec![
                ("SESSION_JWT_KEY", rsa.private_path()),
                ("SESSION_JWT_ALG", "HS256"),
            ],
            "SESSION_JWT_ALG",
        ),
        (
            vec![("SESSION_JWT_EXPIRES", "eight hours")],
            "SESSION_JWT_EXPIRES",
        ),
        (vec![("SESSION_COOKIE_AGE", "-1")], "SESSION_COOKIE_AGE"),
        (
            vec![("SESSION_COOKIE_NAME", "bad name")],
            "SESSION_COOKIE_NAME",
        ),
        (
            vec![("SESSION_COOKIE_SECURE", "maybe")],
            "SESSION_COOKIE_SECURE",
        ),
        (
            vec![("SESSION_EXPIRE_AT_BROWSER_CLOSE", "2")],
            "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        ),
        (
            vec![("SESSION_SAVE_EVERY_REQUEST", "yes please")],
            "SESSION_SAVE_EVERY_REQUEST",
        ),
        (vec![("PORT", "eighty")], "PORT"),
    ];
    for (env, var) in cases {
        let f = App::start_failing(adapter, &env);
        assert!(!f.status.success(), "{env:?}: exit {}", f.status);
        let lines: Vec<&str> = f.stderr.lines().filter(|l| l.contains(var)).collect();
        assert!(
            !lines.is_empty(),
            "{env:?}: stderr does not name {var}:\n{}",
            f.stderr
        );
        assert!(
            !f.stderr.contains("panicked"),
            "{env:?}: a panic, not an error:\n{}",
            f.stderr
        );
    }
}

/// No key: a random secret, with a warning on stderr.
pub fn missing_key_warns_and_uses_a_random_secret(adapter: &str) {
    let app = App::start(adapter, &[("SESSION_JWT_KEY", "")]);
    let c = app.login("john", "password", None);
    assert_eq!(app.get("/me", Some(&c)).status, 200);
    assert!(
        secret_codec()
            .verify(token(&c), OffsetDateTime::now_utc())
            .is_err(),
        "signed with a random secret"
    );
    assert!(
        app.stderr().contains("SESSION_JWT_KEY"),
        "no warning on stderr:\n{}",
        app.stderr()
    );
}

/// SIGTERM and SIGINT stop the app cleanly.
pub fn stops_cleanly_on_sigterm_and_sigint(adapter: &str) {
    for signal in ["TERM", "INT"] {
        let app = App::start(adapter, &[]);
        assert_eq!(app.get("/get", None).status, 200);
        let status = app.signal(signal);
        assert!(status.success(), "SIG{signal}: exit {status}");
    }
}

// -------------------------------------------------------- interoperability

/// PyJWT verifies the cookie with the secret or the public key.
pub fn pyjwt_verifies_the_cookie(adapter: &str) {
    let hmac = App::start(adapter, &[]);
    let c = hmac.login("john", "password", None);
    let Some(out) = crate::python::interop(
        &json!({"lib": "pyjwt", "token": token(&c), "alg": "HS256", "key": SECRET}),
    ) else {
        return;
    };
    assert_eq!(out["claims"]["u"], "john");
    assert_eq!(out["claims"]["id"], 1);
    assert_eq!(out["claims"]["sk"], parts(&c).1["sk"]);
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let key = KeyFiles::generate(alg);
        let app = App::start(adapter, &[("SESSION_JWT_KEY", key.private_path())]);
        let c = app.login("john", "password", None);
        let out = crate::python::interop(&json!({"lib": "pyjwt", "token": token(&c), "alg": alg.as_str(), "key": key.public_pem()}))
            .expect("python was there a moment ago");
        assert_eq!(out["claims"]["e"], "john@domain.com", "{alg}");
        assert_eq!(
            out["header"]["kid"],
            json!(key.key.thumbprint().unwrap()),
            "{alg}"
        );
    }
}

/// django-session-jwt's own `verify_jwt`, configured with the same key and
/// fields, accepts the cookie and expands the long names.
pub fn django_session_jwt_verifies_the_cookie(adapter: &str) {
    let app = App::start(adapter, &[]);
    let c = app.login("john", "password", None);
    let Some(out) =
        crate::python::interop(&json!({"lib": "django", "token": token(&c), "key": SECRET}))
    else {
        return;
    };
    let claims = &out["claims"];
    assert_eq!(claims["sk"], parts(&c).1["sk"]);
    assert_eq!(claims["username"], "john");
    assert_eq!(claims["user_id"], 1);
    assert_eq!(claims["team"], "core");
    // Another secret: django-session-jwt refuses it ({}).
    let out = crate::python::interop(&json!({"lib": "django", "token": token(&c), "key": "another-secret-0123456789abcdef-0123456789"})).unwrap();
    assert_eq!(out["claims"], json!({}));
    drop(app);
    // RS256 with the (private, public) pair, as django-session-jwt's KEY tuple.
    let key = KeyFiles::generate(Algorithm::RS256);
    let app = App::start(
        adapter,
        &[
            ("SESSION_JWT_KEY", key.private_path()),
            ("SESSION_JWT_PUBLIC_KEY", key.public_path()),
        ],
    );
    let c = app.login("jane", "secret", None);
    let out = crate::python::interop(&json!({"lib": "django", "token": token(&c), "key": [key.private_path(), key.public_path()]})).unwrap();
    assert_eq!(out["claims"]["username"], "jane");
    assert_eq!(out["claims"]["team"], "ops");
}

// ------------------------------------------------------------------ Redis

/// A private `redis-server` for one case, or `None` (and the case returns)
/// where it is not installed outside CI; under CI a missing server fails.
fn redis(case: &str, persistent: bool) -> Option<session_jwt_redis::testing::RedisServer> {
    session_jwt_redis::testing::RedisServer::builder()
        .with_persistence(persistent)
        .start_or_skip(case)
}

/// Polls `f` until it returns true, for at most `secs` seconds.
fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// Two instances on one Redis: a login at A works at B, a logout at B is
/// refused at A at once.
pub fn redis_instances_share_sessions_and_logout(adapter: &str) {
    let Some(server) = redis("redis_instances_share_sessions_and_logout", false) else {
        return;
    };
    let url = server.url();
    let a = App::start(adapter, &[("REDIS_URL", &url)]);
    let b = App::start(adapter, &[("REDIS_URL", &url)]);
    let c = a.login("john", "password", None);
    assert_eq!(
        b.get("/me", Some(&c)).json()["username"],
        "john",
        "the session made at A is found at B"
    );
    let c = b
        .post("/set", &[("where", "b")], Some(&c))
        .cookie(COOKIE)
        .unwrap_or(c);
    assert_eq!(a.get("/get", Some(&c)).json()["where"], "b");
    let r = b.post("/logout", &[], Some(&c));
    assert!(r.removes_cookie(COOKIE));
    assert_anonymous(&a, &c, "a cookie logged out at the other instance");
}

/// Restarting an app instance loses no session.
pub fn redis_app_restart_loses_no_session(adapter: &str) {
    let Some(server) = redis("redis_app_restart_loses_no_session", false) else {
        return;
    };
    let url = server.url();
    let app = App::start(adapter, &[("REDIS_URL", &url)]);
    let c = app.login("jane", "secret", None);
    drop(app);
    let app = App::start(adapter, &[("REDIS_URL", &url)]);
    assert_eq!(app.get("/me", Some(&c)).json()["username"], "jane");
}

/// The record in Redis is the core's, so apps of other frameworks on the same
/// Redis and key share sessions.
pub fn redis_record_is_the_cores_format(adapter: &str) {
    let Some(server) = redis("redis_record_is_the_cores_format", false) else {
        return;
    };
    let app = App::start(adapter, &[("REDIS_URL", &server.url())]);
    let c = app.login("john", "password", None);
    let sk = parts(&c).1["sk"].as_str().unwrap().to_string();
    let raw: String = server
        .query(&[
            "GET",
            &format!("{}{sk}", session_jwt_redis::DEFAULT_KEY_PREFIX),
        ])
        .unwrap();
    let record =
        session_jwt_core::Record::from_json(raw.as_bytes()).expect("the core's record format");
    assert_eq!(record.user_id(), Some("1"));
    assert_eq!(record.items["test"], "This value should be present");
    let ttl: i64 = server
        .query(&[
            "TTL",
            &format!("{}{sk}", session_jwt_redis::DEFAULT_KEY_PREFIX),
        ])
        .unwrap();
    assert!(
        (1_209_000..=1_209_600).contains(&ttl),
        "Redis expires it with the session: TTL {ttl}"
    );
}

/// Redis stops while the app serves: 503, never a logout or a 500; Redis
/// comes back on the same port: the same app recovers by itself, with the
/// sessions saved before the outage.
pub fn redis_outage_answers_503_and_recovers(adapter: &str) {
    let Some(mut server) = redis("redis_outage_answers_503_and_recovers", true) else {
        return;
    };
    let app = App::start(adapter, &[("REDIS_URL", &server.url())]);
    let c = app.login("john", "password", None);
    server.stop();
    for _ in 0..2 {
        let r = app.get("/me", Some(&c));
        assert_eq!(r.status, 503, "a store outage is 503: {}", r.body);
        assert!(
            r.set_cookies().is_empty(),
            "nobody is logged out: {:?}",
            r.set_cookies()
        );
    }
    let r = app.post(
        "/login",
        &[("username", "jane"), ("password", "secret")],
        None,
    );
    assert_eq!(r.status, 503, "a login cannot be saved: 503");
    assert!(r.set_cookies().is_empty());
    assert_eq!(
        app.get("/get", None).status,
        200,
        "pages that need no store still answer"
    );
    let page = app.get("/login", Some(&c));
    assert_eq!(
        page.status, 200,
        "a page that does not use the session answers, cookie or not"
    );
    assert!(page.set_cookies().is_empty());
    assert_eq!(
        app.get("/me", Some(&c)).status,
        503,
        "still 503 where the session is needed"
    );
    server.restart();
    assert!(
        eventually(15, || app.get("/me", Some(&c)).status == 200),
        "the app did not recover after Redis came back"
    );
    assert_eq!(
        app.get("/me", Some(&c)).json()["username"],
        "john",
        "the session saved before the outage is there"
    );
    assert!(!app.stderr().contains("panicked"), "{}", app.stderr());
}

/// A hung Redis (stopped process, open connections): 503 within the store's
/// timeout, not a hanging request; then recovery.
pub fn redis_hung_server_answers_503_not_a_hang(adapter: &str) {
    let Some(mut server) = redis("redis_hung_server_answers_503_not_a_hang", false) else {
        return;
    };
    let app = App::start(adapter, &[("REDIS_URL", &server.url())]);
    let c = app.login("john", "password", None);
    server.pause();
    let start = std::time::Instant::now();
    let r = app.get("/me", Some(&c));
    assert_eq!(r.status, 503);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    server.resume();
    assert!(
        eventually(15, || app.get("/me", Some(&c)).status == 200),
        "no recovery after the pause"
    );
}

// ---------------------------------------------------------- across adapters

/// The three reference apps on one Redis and one key: a cookie issued by any
/// of them is accepted by the other two, a write at one is seen at the
/// others, and a logout at one ends the session at all three.
pub fn every_adapter_accepts_the_others_cookies(adapters: &[&str]) {
    let Some(server) = redis("every_adapter_accepts_the_others_cookies", false) else {
        return;
    };
    let url = server.url();
    let apps: Vec<(&str, App)> = adapters
        .iter()
        .map(|a| (*a, App::start(a, &[("REDIS_URL", &url)])))
        .collect();
    for (issuer, app) in &apps {
        let c = app.login("john", "password", None);
        let c = app
            .post("/set", &[("issuer", issuer)], Some(&c))
            .cookie(COOKIE)
            .unwrap_or(c);
        for (reader, other) in &apps {
            let me = other.get("/me", Some(&c));
            assert_eq!(
                (me.status, me.json()["username"].clone()),
                (200, json!("john")),
                "a cookie of {issuer} at {reader}"
            );
            assert_eq!(other.get("/get", Some(&c)).json()["issuer"], *issuer);
            assert_eq!(other.get("/claims", Some(&c)).json()["username"], "john");
        }
        // A logout at the next app ends it everywhere.
        let next = &apps[(apps.iter().position(|(a, _)| a == issuer).unwrap() + 1) % apps.len()];
        assert!(next.1.post("/logout", &[], Some(&c)).removes_cookie(COOKIE));
        for (reader, other) in &apps {
            assert_anonymous(
                other,
                &c,
                &format!("{issuer}'s cookie after a logout, at {reader}"),
            );
        }
    }
}
