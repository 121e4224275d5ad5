//! The JWKS route: the public keys that verify the session cookie, for
//! other services (RFC 7517).

use std::sync::Arc;

use session_jwt_core::SessionJwt;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// `GET /.well-known/jwks.json`, serving `engine`'s JWKS
/// ([`SessionJwt::jwks`]): 200 with the JSON key set when the keys are
/// asymmetric. With HMAC keys (a shared secret is never published) it
/// rejects as no route, so the app answers 404.
///
/// The set is serialized once, here: the engine's keys do not change after
/// it is built. The route never touches the session.
#[must_use]
pub fn jwks(
    engine: &SessionJwt,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + use<> {
    let body: Option<Arc<str>> = engine.jwks().map(|jwks| jwks.to_string().into());
    warp::path!(".well-known" / "jwks.json")
        .and(warp::get())
        .and_then(move || {
            let body = body.clone();
            async move {
                match body {
                    Some(body) => Ok(warp::reply::with_header(
                        body.to_string(),
                        CONTENT_TYPE,
                        "application/json",
                    )
                    .into_response()),
                    None => Err(warp::reject::not_found()),
                }
            }
        })
}
