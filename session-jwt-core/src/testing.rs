//! Test helpers (feature `testing`): log a user in without a login route, as
//! django-session-jwt's test `Client.login`.

use time::OffsetDateTime;

use crate::auth::AuthUser;
use crate::engine::SessionJwt;
use crate::error::StoreError;
use crate::store::SessionStore;

/// Creates a session logged in as `user` in `store` and returns the cookie
/// as a `Cookie` header value (`name=token`), for a test client to send.
pub async fn login_cookie<U: AuthUser + Clone + Send + Sync + 'static, S: SessionStore + ?Sized>(
    engine: &SessionJwt,
    store: &S,
    user: &U,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let session = engine.new_session();
    session
        .login(user)
        .map_err(|e| StoreError::Other(Box::new(e)))?;
    let headers = engine.save(store, &session, now).await?;
    let set_cookie = headers.set_cookie.expect("a login always sets the cookie");
    let pair = set_cookie.split(';').next().unwrap_or_default();
    Ok(pair.to_string())
}
