//! The JWKS endpoint: the public keys that verify the session cookie, for
//! other services (RFC 7517).

use poem::http::StatusCode;
use poem::http::header::CONTENT_TYPE;
use poem::{Endpoint, IntoResponse, Request, Response};
use session_jwt_core::SessionJwt;

/// An endpoint serving `engine`'s JWKS ([`SessionJwt::jwks`]): 200 with the
/// JSON key set when the keys are asymmetric, 404 with HMAC keys (a shared
/// secret is never published). Mount it at `/.well-known/jwks.json`, for
/// example with `poem::get(jwks_endpoint(&engine))`.
///
/// The set is serialized once, here: the engine's keys do not change after
/// it is built.
#[must_use]
pub fn jwks_endpoint(engine: &SessionJwt) -> JwksEndpoint {
    JwksEndpoint {
        body: engine.jwks().map(|jwks| jwks.to_string()),
    }
}

/// The endpoint made by [`jwks_endpoint`].
#[derive(Debug, Clone)]
pub struct JwksEndpoint {
    body: Option<String>,
}

impl Endpoint for JwksEndpoint {
    type Output = Response;

    async fn call(&self, _req: Request) -> poem::Result<Response> {
        Ok(match &self.body {
            Some(body) => Response::builder()
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            None => StatusCode::NOT_FOUND.into_response(),
        })
    }
}
