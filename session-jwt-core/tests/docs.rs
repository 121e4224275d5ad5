//! The code of `docs/`, compiled and run here.
//!
//! Each ```` ```rust ```` and ```` ```toml ```` block of the pages below must
//! appear in this file verbatim (indentation aside), inside a module that
//! the tests exercise: a change of API breaks the build here, and a change of
//! a page without this file (or the reverse) fails
//! `every_code_block_of_the_docs_is_checked_here`.

use guide_check::{blocks, lines};
use serde::Serialize;
use serde_json::json;
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::time::macros::datetime;
use session_jwt_core::{AuthUser, Key, KeyRing, MemoryStore, SessionJwt, Settings, auth};

const PAGES: [&str; 4] = [
    "architecture.md",
    "key-rotation.md",
    "verifying-elsewhere.md",
    "migration-from-django-session-jwt.md",
];

const THIS_FILE: &str = include_str!("docs.rs");

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn vector(name: &str) -> String {
    format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_code_block_of_the_docs_is_checked_here() {
    let here = lines(THIS_FILE);
    let mut checked = 0;
    for name in PAGES {
        let path = format!("{}/../docs/{name}", env!("CARGO_MANIFEST_DIR"));
        let page = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for lang in ["rust", "toml"] {
            for block in blocks(&page, lang) {
                let block = lines(&block);
                assert!(
                    here.windows(block.len()).any(|w| w == block.as_slice()),
                    "this {lang} block of docs/{name} is not in tests/docs.rs \
                     (copy it here, inside a tested module):\n{}",
                    block.join("\n")
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9, "the number of code blocks in the pages changed");
}

/// The reference app's user, for tests that log in.
#[derive(Clone, Serialize)]
struct User {
    id: u64,
    username: &'static str,
    email: &'static str,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }

    fn session_auth_hash(&self) -> String {
        auth::session_auth_hash(b"docs test", "password hash")
    }
}

const JOHN: User = User {
    id: 1,
    username: "john",
    email: "john@domain.com",
};

/// The user table of these tests: john.
struct John;

#[async_trait::async_trait]
impl session_jwt_core::UserLoader for John {
    type User = User;
    async fn load_user(&self, id: &str) -> Result<Option<User>, session_jwt_core::StoreError> {
        Ok((id == "1").then_some(JOHN))
    }
}

/// The `name=value` pair of a `Set-Cookie` value.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

fn header_kid(token: &str) -> Option<String> {
    let header = session_jwt_core::insecure::insecure_decode(token)
        .unwrap()
        .header;
    header
        .get("kid")
        .and_then(|k| k.as_str())
        .map(str::to_owned)
}

// ---------------------------------------------------------------- architecture.md

mod architecture {
    use session_jwt_core::time::OffsetDateTime;
    use session_jwt_core::{Session, SessionJwt, SessionStore, StoreError};

    /// Runs `handler` inside the session flow; returns the `Set-Cookie` value to
    /// send, if any. A `StoreError` is answered with 503, never as a logout.
    async fn with_session<S: SessionStore>(
        engine: &SessionJwt,
        store: &S,
        cookie_headers: &[&[u8]],
        handler: impl FnOnce(&Session),
    ) -> Result<Option<String>, StoreError> {
        let now = OffsetDateTime::now_utc(); // the clock, read once per request
        let session = engine
            .load(store, cookie_headers.iter().copied(), now)
            .await?;
        handler(&session);
        let headers = engine.save(store, &session, now).await?;
        // Also add `Vary: Cookie` when `headers.vary_cookie` is set.
        Ok(headers.set_cookie)
    }

    use super::*;

    #[tokio::test]
    async fn architecture_with_session_runs_the_flow() {
        let engine = SessionJwt::builder()
            .with_key(Key::hmac("a secret of at least thirty-two bytes!").unwrap())
            .unwrap()
            .build()
            .unwrap()
            .with_user_loader(John);
        let store = MemoryStore::new();
        let set_cookie = with_session(&engine, &store, &[], |s| {
            s.insert("cart", ["apple"]).unwrap();
        })
        .await
        .unwrap()
        .expect("a modified session sets the cookie");
        let cookie = pair(&set_cookie);
        let again = with_session(&engine, &store, &[cookie.as_bytes()], |s| {
            assert_eq!(s.get::<Vec<String>>("cart"), Some(vec!["apple".into()]));
        })
        .await
        .unwrap();
        assert_eq!(again, None, "an unchanged session sends nothing");
    }
}

// ---------------------------------------------------------------- key-rotation.md

mod rotation_hmac {
    use session_jwt_core::{ConfigError, Key, KeyRing, SessionJwt};

    fn engine(new_secret: &str, old_secret: &str) -> Result<SessionJwt, ConfigError> {
        let ring = KeyRing::new(Key::hmac(new_secret)?)? // signs new tokens
            .with_verification_key(Key::hmac(old_secret)?)?; // still verifies old ones
        SessionJwt::builder()
            .with_key_ring(ring)
            .with_fields([("id", "id", "user_id"), ("username", "u", "username")])
            .build()
    }

    use super::*;

    #[tokio::test]
    async fn hmac_rotation_keeps_sessions_and_reissues_with_the_new_secret() {
        const OLD: &str = "the old secret, at least 32 bytes long";
        const NEW: &str = "the new secret, at least 32 bytes long";
        let store = MemoryStore::new();
        let before = SessionJwt::builder()
            .with_key(Key::hmac(OLD).unwrap())
            .unwrap()
            .with_fields([("id", "id", "user_id"), ("username", "u", "username")])
            .build()
            .unwrap()
            .with_user_loader(John);
        let session = before.new_session();
        session.login(&JOHN).unwrap();
        let cookie = pair(
            &before
                .save(&store, &session, NOW)
                .await
                .unwrap()
                .set_cookie
                .unwrap(),
        );

        let after = engine(NEW, OLD).unwrap().with_user_loader(John);
        let session = after.load(&store, [cookie.as_bytes()], NOW).await.unwrap();
        assert_eq!(
            session.user_id().as_deref(),
            Some("1"),
            "nobody is logged out"
        );
        let reissued = after.save(&store, &session, NOW).await.unwrap().set_cookie;
        let token = pair(&reissued.expect("an old-key token is re-issued"))["sessionid=".len()..]
            .to_string();
        let only_new = SessionJwt::builder()
            .with_key(Key::hmac(NEW).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .with_user_loader(John);
        let claims = only_new.codec().verify(&token, NOW).unwrap();
        assert!(claims.signed_with_current_key());
        assert_eq!(claims.get("u"), Some(&json!("john")));
    }
}

mod rotation_asymmetric {
    use session_jwt_core::{ConfigError, Key, KeyRing};

    /// Step 2: sign with the current key, publish the next one.
    fn publish_next(current: &str, next_public: &str) -> Result<KeyRing, ConfigError> {
        KeyRing::new(Key::from_pem_file(current)?)?
            .with_verification_key(Key::from_pem_file(next_public)?)
    }

    /// Step 4: sign with the next key; the old one only verifies.
    fn switch_to_next(next: &str, old_public: &str) -> Result<KeyRing, ConfigError> {
        KeyRing::new(Key::from_pem_file(next)?)?
            .with_verification_key(Key::from_pem_file(old_public)?)
    }

    const STEP_2: &str = r#"
[key]
private_key = "/etc/myapp/keys/2026-01.pem"
verification_keys = ["/etc/myapp/keys/2026-06.pub.pem"]
"#;

    const STEP_4: &str = r#"
[key]
private_key = "/etc/myapp/keys/2026-06.pem"
verification_keys = ["/etc/myapp/keys/2026-01.pub.pem"]
"#;

    use super::*;

    #[tokio::test]
    async fn asymmetric_rotation_publishes_first_then_switches() {
        let (current, old_public, next) =
            (vector("rsa.pem"), vector("rsa.pub.pem"), vector("p256.pem"));
        let next_key = Key::from_pem_file(&next).unwrap();
        let next_public = std::env::temp_dir().join(format!(
            "session-jwt-docs-{}-next.pub.pem",
            std::process::id()
        ));
        std::fs::write(&next_public, next_key.public_pem().unwrap()).unwrap();
        let next_public = next_public.to_str().unwrap().to_owned();

        let fields = [("id", "id", "user_id"), ("username", "u", "username")];
        let stage_2 = publish_next(&current, &next_public).unwrap();
        let stage_4 = switch_to_next(&next, &old_public).unwrap();
        std::fs::remove_file(&next_public).unwrap();

        let jwks = stage_2.jwks().unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(
            kids.contains(&next_key.kid().unwrap()),
            "the next key is published"
        );
        assert_eq!(kids.len(), 2);

        let store = MemoryStore::new();
        let engine_2 = SessionJwt::builder()
            .with_key_ring(stage_2)
            .with_fields(fields)
            .build()
            .unwrap()
            .with_user_loader(John);
        let engine_4 = SessionJwt::builder()
            .with_key_ring(stage_4)
            .with_fields(fields)
            .build()
            .unwrap()
            .with_user_loader(John);
        let session = engine_2.new_session();
        session.login(&JOHN).unwrap();
        let cookie = pair(
            &engine_2
                .save(&store, &session, NOW)
                .await
                .unwrap()
                .set_cookie
                .unwrap(),
        );
        let session = engine_4
            .load(&store, [cookie.as_bytes()], NOW)
            .await
            .unwrap();
        assert_eq!(
            session.user_id().as_deref(),
            Some("1"),
            "nobody is logged out"
        );
        let set_cookie = engine_4
            .save(&store, &session, NOW)
            .await
            .unwrap()
            .set_cookie;
        let token = pair(&set_cookie.expect("re-issued with the next key"))["sessionid=".len()..]
            .to_string();
        assert_eq!(header_kid(&token).as_deref(), next_key.kid());

        for (toml_text, private, verification) in [
            (
                STEP_2,
                "/etc/myapp/keys/2026-01.pem",
                "/etc/myapp/keys/2026-06.pub.pem",
            ),
            (
                STEP_4,
                "/etc/myapp/keys/2026-06.pem",
                "/etc/myapp/keys/2026-01.pub.pem",
            ),
        ] {
            let settings: Settings = toml::from_str(toml_text).unwrap();
            assert_eq!(settings.key.private_key.unwrap().to_str(), Some(private));
            assert_eq!(
                settings.key.verification_keys,
                vec![std::path::PathBuf::from(verification)]
            );
        }
    }
}

// ---------------------------------------------------------------- verifying-elsewhere.md

mod verifying {
    use session_jwt_core::time::OffsetDateTime;
    use session_jwt_core::{
        ConfigError, Fields, KeyRing, SessionJwt, TokenCodec, TokenError, TokenSettings,
    };

    /// The app's field configuration: (attribute path, short name, long name).
    fn fields() -> Result<Fields, ConfigError> {
        Fields::new(
            vec![
                ("id", "id", "user_id").into(),
                ("username", "u", "username").into(),
                ("email", "e", "email").into(),
            ],
            "sk",
        )
    }

    /// Built once at start-up, from the app's JWKS (fetched from
    /// `https://app.example/.well-known/jwks.json`, or read from a file).
    fn codec(jwks_json: &str) -> Result<TokenCodec, ConfigError> {
        TokenCodec::new(
            KeyRing::from_jwks(jwks_json)?,
            fields()?,
            TokenSettings::default(),
        )
    }

    /// Per request: one token (for example from an `Authorization` header) and
    /// the clock, read once.
    fn username(
        codec: &TokenCodec,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<String, TokenError> {
        let claims = codec.verify(token, now)?;
        // Short and long names are both there: `u` and `username`.
        Ok(claims
            .get("username")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned())
    }

    /// To read the `Cookie` header with the app's own rules (several cookies,
    /// planted cookies, non-UTF-8 bytes), build a `SessionJwt` on the
    /// verify-only ring and use `read_cookies`; no store is involved.
    fn consumer(jwks_json: &str) -> Result<SessionJwt, ConfigError> {
        SessionJwt::builder()
            .with_key_ring(KeyRing::from_jwks(jwks_json)?)
            .with_fields([
                ("id", "id", "user_id"),
                ("username", "u", "username"),
                ("email", "e", "email"),
            ])
            .build()
    }

    fn user_id(
        consumer: &SessionJwt,
        cookie_headers: &[&[u8]],
        now: OffsetDateTime,
    ) -> Option<u64> {
        let incoming = consumer.read_cookies(cookie_headers.iter().copied(), now);
        incoming.claims()?.get("user_id")?.as_u64()
    }

    use session_jwt_core::Key;

    /// A consumer's verify-only ring, from what the app shares with it. The ring
    /// is the algorithm allow-list: a key verifies with its own algorithm only,
    /// whatever the token's header asks for.
    fn key_ring(mode: &str, key: &str) -> Result<KeyRing, ConfigError> {
        match mode {
            // (a) The shared secret (HS256; `Key::with_algorithm` for HS384/512).
            "secret" => KeyRing::verify_only([Key::hmac(key)?]),
            // (b) The app's public key, a PEM file: RS256 for RSA, ES256 for P-256.
            "pem" => KeyRing::verify_only([Key::from_pem_file(key)?]),
            // (c) The text of the app's JWKS, from its /.well-known/jwks.json
            // (fetched with your HTTP client).
            _ => KeyRing::from_jwks(key),
        }
    }

    use super::*;

    #[tokio::test]
    async fn a_consumer_verifies_with_the_published_jwks() {
        let app = SessionJwt::builder()
            .with_key(Key::from_pem_file(vector("p256.pem")).unwrap())
            .unwrap()
            .with_fields([
                ("id", "id", "user_id"),
                ("username", "u", "username"),
                ("email", "e", "email"),
            ])
            .build()
            .unwrap()
            .with_user_loader(John);
        let store = MemoryStore::new();
        let session = app.new_session();
        session.login(&JOHN).unwrap();
        let cookie = pair(
            &app.save(&store, &session, NOW)
                .await
                .unwrap()
                .set_cookie
                .unwrap(),
        );
        let token = &cookie["sessionid=".len()..];
        let jwks = app.jwks().unwrap().to_string();

        let codec = codec(&jwks).unwrap();
        assert_eq!(username(&codec, token, NOW).unwrap(), "john");
        assert!(username(&codec, "not.a.token", NOW).is_err());

        let consumer = consumer(&jwks).unwrap();
        let header = format!("csrftoken=abc; {cookie}");
        assert_eq!(user_id(&consumer, &[header.as_bytes()], NOW), Some(1));
        assert_eq!(user_id(&consumer, &[b"sessionid=x"], NOW), None);

        // The other forms of verify-only rings named on the page.
        let pem = KeyRing::verify_only([Key::from_pem_file(vector("p256.pem"))
            .unwrap()
            .public_pem()
            .map(Key::from_pem)
            .unwrap()
            .unwrap()])
        .unwrap();
        assert!(pem.signing_key().is_none());
        let hmac =
            KeyRing::verify_only([Key::hmac("a shared secret of at least 32 bytes").unwrap()]);
        assert!(hmac.unwrap().signing_key().is_none());
    }

    /// A token of john's, signed by an app with `key`.
    fn minted(key: Key) -> String {
        let app = TokenCodec::new(
            KeyRing::new(key).unwrap(),
            fields().unwrap(),
            TokenSettings::default(),
        )
        .unwrap();
        let claims = app.fields().extract(&json!({"id": 1, "username": "john"}));
        app.encode(
            &session_jwt_core::SessionKey::generate(),
            &claims,
            NOW,
            None,
        )
        .unwrap()
    }

    #[test]
    fn the_three_verify_only_rings() {
        let verifies = |ring: KeyRing, token: &str| {
            assert!(ring.signing_key().is_none());
            let codec = TokenCodec::new(ring, fields().unwrap(), TokenSettings::default());
            username(&codec.unwrap(), token, NOW)
        };
        const SECRET: &str = "a shared secret of at least 32 bytes";
        let hs256 = minted(Key::hmac(SECRET).unwrap());
        let rs256 = minted(Key::from_pem_file(vector("rsa.pem")).unwrap());
        let p256 = Key::from_pem_file(vector("p256.pem")).unwrap();
        let jwks = KeyRing::new(p256.clone())
            .unwrap()
            .jwks()
            .unwrap()
            .to_string();
        let es256 = minted(p256);

        // (a) The shared secret.
        let secret = || key_ring("secret", SECRET).unwrap();
        assert_eq!(verifies(secret(), &hs256).unwrap(), "john");
        assert!(verifies(secret(), &rs256).is_err());
        // (b) The public key file: RS256, and nothing else.
        let pem = || key_ring("pem", &vector("rsa.pub.pem")).unwrap();
        assert_eq!(verifies(pem(), &rs256).unwrap(), "john");
        assert!(verifies(pem(), &es256).is_err());
        assert!(verifies(pem(), &hs256).is_err());
        // (c) The JWKS.
        let from_jwks = || key_ring("jwks", &jwks).unwrap();
        assert_eq!(verifies(from_jwks(), &es256).unwrap(), "john");
        assert!(verifies(from_jwks(), &rs256).is_err());

        assert!(key_ring("pem", "no such file").is_err());
        assert!(key_ring("jwks", "{}").is_err());
    }
}

// ---------------------------------------------------------------- migration-from-django-session-jwt.md

mod migration {
    use serde_json::{Map, Value, json};
    use session_jwt_core::{ConfigError, Key, SameSite, SessionJwt};

    fn engine(secret_key: &str) -> Result<SessionJwt, ConfigError> {
        SessionJwt::builder()
            .with_key(Key::hmac(secret_key)?)? // KEY (a string: HS256)
            .with_fields([
                ("id", "id", "user_id"),
                ("username", "u", "username"),
                ("email", "e", "email"),
            ]) // FIELDS
            .with_claims_provider(|_user: Option<&Value>| {
                let mut claims = Map::new();
                claims.insert("foo".into(), json!("bar"));
                claims
            }) // CALLABLE
            .with_session_field("sk") // SESSION_FIELD
            .with_token_lifetime(60 * 60 * 8) // EXPIRES
            .with_cookie_name("sessionid") // SESSION_COOKIE_NAME
            .with_cookie_age(1_209_600) // SESSION_COOKIE_AGE
            .with_secure(true) // SESSION_COOKIE_SECURE
            .with_same_site(SameSite::Lax) // SESSION_COOKIE_SAMESITE
            .build()
    }

    const SETTINGS: &str = r#"
session_field = "sk"
fields = [["id", "id", "user_id"], ["username", "u", "username"], ["email", "e", "email"]]

[key]
private_key = "keys/rsa"     # KEY = ("keys/rsa", "keys/rsa.pub")
public_key = "keys/rsa.pub"

[jwt]
expires = 28800              # EXPIRES

[cookie]
name = "sessionid"
age = 1209600
secure = true
same_site = "Lax"
"#;

    use super::*;

    #[tokio::test]
    async fn migration_engine_matches_django_session_jwt() {
        let engine = engine("django-session-jwt secret key, at least 32 bytes")
            .unwrap()
            .with_user_loader(John);

        // A token of django-session-jwt verifies here, names expanded.
        let issued = OffsetDateTime::from_unix_timestamp(1_795_366_979).unwrap();
        let claims = engine.codec().verify(DJANGO_TOKEN, issued).unwrap();
        assert_eq!(
            claims.session_key().expose(),
            "5a6aybftilfw60wl9ehwrg4ybzawr9b4"
        );
        assert_eq!(claims.get("user_id"), Some(&json!(1)));
        assert_eq!(claims.get("username"), Some(&json!("john")));
        assert_eq!(claims.get("email"), Some(&json!("john@domain.com")));
        assert_eq!(claims.get("foo"), Some(&json!("bar")));
        assert!(
            engine
                .codec()
                .verify(
                    DJANGO_TOKEN,
                    issued + session_jwt_core::time::Duration::hours(8)
                )
                .is_err(),
            "EXPIRES = 28800"
        );

        // Its own tokens carry the same claims, and the cookie Django's attributes.
        let store = MemoryStore::new();
        let session = engine.new_session();
        session.login(&JOHN).unwrap();
        let set_cookie = engine
            .save(&store, &session, NOW)
            .await
            .unwrap()
            .set_cookie
            .unwrap();
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=1209600",
        ] {
            assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
        }
        let token = &pair(&set_cookie)["sessionid=".len()..];
        let claims = engine.codec().verify(token, NOW).unwrap();
        assert_eq!(claims.get("foo"), Some(&json!("bar")));
        assert_eq!(claims.get("u"), Some(&json!("john")));
        assert_eq!(
            claims.get("exp"),
            Some(&json!(NOW.unix_timestamp() + 28_800))
        );

        let settings: Settings = toml::from_str(SETTINGS).unwrap();
        assert_eq!(settings.fields.len(), 3);
        assert_eq!(settings.session_field, "sk");
        assert_eq!(settings.jwt.expires, 28_800);
        assert!(settings.cookie.secure);
        assert_eq!(
            settings.key.public_key.as_deref(),
            Some(std::path::Path::new("keys/rsa.pub"))
        );
        // With the real key files in place, the same settings build an engine.
        let mut settings = settings;
        settings.key.private_key = Some(vector("rsa.pem").into());
        settings.key.public_key = Some(vector("rsa.pub.pem").into());
        let engine = session_jwt_core::Builder::from_settings(settings)
            .build()
            .unwrap()
            .with_user_loader(John);
        assert_eq!(
            engine.codec().keys().signing_key().unwrap().algorithm(),
            session_jwt_core::Algorithm::RS256
        );
        let _ = KeyRing::verify_only([Key::from_pem_file(vector("rsa.pub.pem")).unwrap()]).unwrap();
    }
}

/// Minted by django-session-jwt 0.10.19's `create_jwt` (PyJWT 2.15) with
/// `KEY = "django-session-jwt secret key, at least 32 bytes"`, `EXPIRES =
/// 28800`, the three fields above plus `("invalid", "i", "invalid")`, and
/// `CALLABLE` returning `{"foo": "bar"}`.
const DJANGO_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzayI6IjVhNmF5YmZ0aWxmdzYwd2w5ZWh3cmc0eWJ6YXdyOWI0IiwiaWF0IjoxNzk1MzY2OTc5LCJleHAiOjE3OTUzOTU3NzksImlkIjoxLCJ1Ijoiam9obiIsImUiOiJqb2huQGRvbWFpbi5jb20iLCJmb28iOiJiYXIifQ.qc491AScUefc6XrLQlxTZYGH5AFVCpC6pMaEkNHmXE8";

/// `docs/testing.md` shows the adapters' `testing` doc tests: each of its
/// Rust blocks must be in one of the adapters' `src/testing.rs`, where it is
/// compiled and run.
#[test]
fn the_testing_page_shows_the_adapters_doc_tests() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(format!("{root}/docs/testing.md")).unwrap();
    let sources: Vec<String> = ["poem", "rocket", "warp"]
        .iter()
        .map(|a| std::fs::read_to_string(format!("{root}/session-jwt-{a}/src/testing.rs")).unwrap())
        .collect();
    let rust = blocks(&page, "rust");
    assert_eq!(rust.len(), 3, "one example per adapter");
    for block in rust {
        let block = lines(&block);
        let found = sources.iter().any(|src| {
            let doc: Vec<&str> = src
                .lines()
                .filter_map(|l| l.trim_start().strip_prefix("//!"))
                .map(str::trim)
                // Hidden doc-test lines (`# ...`) are not shown on the page.
                .filter(|l| !l.is_empty() && *l != "#" && !l.starts_with("# "))
                .collect();
            doc.windows(block.len()).any(|w| w == block.as_slice())
        });
        assert!(
            found,
            "a block of docs/testing.md is no adapter's doc test:\n{}",
            block.join("\n")
        );
    }
}
