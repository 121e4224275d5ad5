//! A service that consumes the session cookie without the session store: it
//! knows only the app's published JWK Set, the field names, and the expected
//! `iss`/`aud`, and verifies with [`TokenCodec::verify`] over a
//! [`KeyRing::from_jwks`] (or [`KeyRing::verify_only`] for PEM public keys, or
//! the shared secret).
//!
//! Run it with `cargo run -p session-jwt-core --example verify_only`. To be
//! self-contained, it first plays the app: generates a key, mints a token,
//! and publishes the JWKS. The consuming service below sees only the JSON
//! text of the JWKS and the cookie header.

use serde_json::{Map, Value, json};
use session_jwt_core::time::{Duration, OffsetDateTime};
use session_jwt_core::{
    Algorithm, Fields, KeyRing, SessionKey, TokenCodec, TokenError, TokenSettings, key,
};

/// The field configuration shared by the app and its consumers: (attribute
/// path, short name in the token, long name after decoding).
fn fields() -> Fields {
    Fields::new(
        vec![
            ("id", "id", "user_id").into(),
            ("username", "u", "username").into(),
            ("email", "e", "email").into(),
            ("profile.team", "t", "team").into(),
        ],
        "sk",
    )
    .expect("valid fields")
}

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: Some("https://app.example".into()),
        audience: Some("orders-service".into()),
        ..TokenSettings::default()
    }
}

/// The app: signs with its private key, publishes the public half.
fn the_app(now: OffsetDateTime) -> Result<(String, String), Box<dyn std::error::Error>> {
    let (signing_key, _private_pem) = key::generate(Algorithm::ES256)?;
    let codec = TokenCodec::new(KeyRing::new(signing_key)?, fields(), settings())?;
    let user = json!({"id": 1, "username": "john", "email": "john@domain.com", "profile": {"team": "core"}});
    let claims = codec.fields().extract(&user);
    let token = codec.encode(&SessionKey::generate(), &claims, now, None)?;
    let jwks = codec.keys().jwks().expect("an asymmetric key has a JWKS");
    Ok((token, jwks.to_string()))
}

/// The consuming service, built once at start-up from the JWKS text (fetched
/// from `https://app.example/.well-known/jwks.json`, or read from a file).
struct Consumer {
    codec: TokenCodec,
}

impl Consumer {
    fn new(jwks_json: &str) -> Result<Self, session_jwt_core::ConfigError> {
        let keys = KeyRing::from_jwks(jwks_json)?;
        Ok(Self {
            codec: TokenCodec::new(keys, fields(), settings())?,
        })
    }

    /// Per request: the `Cookie` header and the clock, read once by the
    /// caller. Returns the verified claims, with long names beside short.
    fn user(
        &self,
        cookie_header: &str,
        now: OffsetDateTime,
    ) -> Result<Map<String, Value>, TokenError> {
        let token = cookie_header
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| name.trim() == "sessionid")
            .map(|(_, value)| value.trim())
            .ok_or(TokenError::Malformed)?;
        let verified = self.codec.verify(token, now)?;
        // The session key is there if the service wants to call back into the
        // app; it must never be logged.
        let _session_key = verified.session_key();
        Ok(verified.claims().clone())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let now = OffsetDateTime::now_utc();
    let (token, jwks_json) = the_app(now)?;
    println!("published JWKS: {jwks_json}");

    let consumer = Consumer::new(&jwks_json)?;
    let header = format!("csrftoken=abc; sessionid={token}");

    let claims = consumer.user(&header, now)?;
    println!(
        "verified: user_id={} username={} team={}",
        claims["user_id"], claims["username"], claims["team"]
    );
    assert_eq!(claims["username"], "john");
    assert_eq!(claims["u"], "john");

    // Tampered, expired, or signed by someone else: refused, never trusted.
    let tampered = forge_username(&token, "admin");
    let refused = consumer
        .user(&format!("sessionid={tampered}"), now)
        .unwrap_err();
    println!("tampered: {refused}");
    assert_eq!(refused, TokenError::BadSignature);
    let later = now + Duration::hours(9);
    let refused = consumer.user(&header, later).unwrap_err();
    println!("nine hours later: {refused}");
    assert_eq!(refused, TokenError::Expired);
    let (stranger, _) = the_app(now)?;
    let refused = consumer
        .user(&format!("sessionid={stranger}"), now)
        .unwrap_err();
    println!("another app's key: {refused}");
    Ok(())
}

/// The token with its payload's `u` rewritten, the signature kept.
fn forge_username(token: &str, username: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"))
            .expect("JSON");
    payload["u"] = username.into();
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}
