//! The verified-token cache: a cookie string already verified is not
//! verified again.
//!
//! Why it is safe:
//! - the key is the whole token string, compared byte for byte: a hit is the
//!   very token that passed every check before (signature, algorithm, `kid`,
//!   claims); a token that differs in one byte is a miss and is verified;
//! - `exp`, `nbf` and `iat` are checked again on every hit against the
//!   request's `now`, so an entry never outlives its token;
//! - the cache belongs to one engine, whose key ring never changes: a new
//!   ring is a new engine, with an empty cache;
//! - a hit still loads the session from the store by its key, so revocation
//!   (logout, a password change, a deleted record) stays immediate;
//! - it is bounded in bytes and in entries (every entry weighs at least
//!   `bytes / entries`), so a flood of valid tokens cannot grow it.
//!
//! What it saves is the signature check: an RS256 or ES256 deployment then
//! costs about what an HS256 one costs for returning visitors.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Weighter};
use time::OffsetDateTime;

use crate::config::LimitSettings;
use crate::error::TokenError;
use crate::token::{TokenCodec, VerifiedClaims};

#[derive(Clone)]
struct ByBytes {
    floor: u64,
}

impl Weighter<Token, Arc<VerifiedClaims>> for ByBytes {
    fn weight(&self, key: &Token, claims: &Arc<VerifiedClaims>) -> u64 {
        ((key.0.len() + claims.weight()) as u64).max(self.floor)
    }
}

/// A cached token: equal only to the very same string (compared whole), and
/// hashed by its last bytes only, the signature's, which differ from token
/// to token: a lookup hashes 32 bytes, not the whole token.
#[derive(PartialEq, Eq)]
struct Token(Box<str>);

/// A request's token, looked up without a copy.
struct TokenRef<'a>(&'a str);

/// What a token is hashed by.
fn tail(token: &str) -> &[u8] {
    let bytes = token.as_bytes();
    &bytes[bytes.len().saturating_sub(32)..]
}

impl Hash for Token {
    fn hash<H: Hasher>(&self, state: &mut H) {
        tail(&self.0).hash(state);
    }
}

impl Hash for TokenRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        tail(self.0).hash(state);
    }
}

impl Equivalent<Token> for TokenRef<'_> {
    fn equivalent(&self, key: &Token) -> bool {
        self.0 == &*key.0
    }
}

/// Verified tokens by their exact string.
pub(crate) struct TokenCache {
    cache: Cache<Token, Arc<VerifiedClaims>, ByBytes>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("len", &self.cache.len())
            .field("weight", &self.cache.weight())
            .finish()
    }
}

impl TokenCache {
    /// The cache the limits ask for; `None` when it is off.
    pub(crate) fn new(limits: &LimitSettings) -> Option<Self> {
        let (bytes, entries) = (limits.token_cache_bytes, limits.token_cache_entries);
        if bytes == 0 || entries == 0 {
            return None;
        }
        let floor = (bytes / entries).max(1) as u64;
        Some(Self {
            cache: Cache::with_weighter(entries, bytes as u64, ByBytes { floor }),
        })
    }

    /// `token`'s claims: from the cache (time claims checked again at `now`),
    /// or verified by `codec` and remembered.
    pub(crate) fn verify(
        &self,
        codec: &TokenCodec,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<VerifiedClaims>, TokenError> {
        if let Some(claims) = self.cache.get(&TokenRef(token)) {
            return match claims.check_time(now, codec.settings().leeway) {
                Ok(()) => Ok(claims),
                Err(e) => {
                    self.cache.remove(&TokenRef(token));
                    Err(e)
                }
            };
        }
        let claims = Arc::new(codec.verify(token, now)?);
        self.cache.insert(Token(token.into()), claims.clone());
        Ok(claims)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Fields;
    use crate::key::{Key, KeyRing};
    use crate::session::SessionKey;
    use crate::token::TokenSettings;
    use serde_json::Map;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn codec() -> TokenCodec {
        TokenCodec::new(
            KeyRing::new(Key::hmac("0123456789abcdef0123456789abcdef").unwrap()).unwrap(),
            Fields::new(vec![], "sk").unwrap(),
            TokenSettings {
                expires: 600,
                ..TokenSettings::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn a_hit_is_the_same_token_and_rechecks_time() {
        let codec = codec();
        let cache = TokenCache::new(&LimitSettings::default()).unwrap();
        let token = codec
            .encode(&SessionKey::generate(), &Map::new(), NOW, None)
            .unwrap();
        let first = cache.verify(&codec, &token, NOW).unwrap();
        assert_eq!(cache.len(), 1);
        let again = cache
            .verify(&codec, &token, NOW + Duration::seconds(1))
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "a hit, not a second verification"
        );
        // One byte off: a miss, verified, and refused.
        let mut forged = token.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(cache.verify(&codec, &forged, NOW).is_err());
        assert_eq!(cache.len(), 1, "failures are not cached");
        // One byte off in the payload, the signature (the hashed tail) kept:
        // the same hash, but not the same token, so a miss, and refused.
        let mut forged = token.clone().into_bytes();
        let at = token.find('.').unwrap() + 2;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(tail(&forged), tail(&token));
        assert_eq!(
            cache.verify(&codec, &forged, NOW).unwrap_err(),
            TokenError::BadSignature
        );
        assert_eq!(cache.len(), 1, "failures are not cached");
        // Past exp: refused on the hit, and dropped.
        assert_eq!(
            cache
                .verify(&codec, &token, NOW + Duration::seconds(600))
                .unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(cache.len(), 0);
        // A clock read before iat (a test, or a host whose clock stepped
        // back) is refused as without the cache.
        cache.verify(&codec, &token, NOW).unwrap();
        assert_eq!(
            cache
                .verify(&codec, &token, NOW - Duration::seconds(60))
                .unwrap_err(),
            TokenError::IssuedInFuture
        );
    }

    #[test]
    fn bounded_in_entries_and_off_when_asked() {
        let codec = codec();
        let limits = LimitSettings {
            token_cache_bytes: 64 * 1024,
            token_cache_entries: 16,
            ..LimitSettings::default()
        };
        let cache = TokenCache::new(&limits).unwrap();
        for _ in 0..200 {
            let token = codec
                .encode(&SessionKey::generate(), &Map::new(), NOW, None)
                .unwrap();
            cache.verify(&codec, &token, NOW).unwrap();
        }
        assert!(cache.len() <= 16, "{} entries", cache.len());
        let off = LimitSettings {
            token_cache_bytes: 0,
            ..LimitSettings::default()
        };
        assert!(TokenCache::new(&off).is_none());
    }
}
