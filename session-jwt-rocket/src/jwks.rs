//! The JWKS route: the public keys that verify the session cookie, for other
//! services (RFC 7517).

use rocket::http::{ContentType, Method, Status};
use rocket::outcome::Outcome;
use rocket::route::{self, Handler, Route};
use rocket::{Data, Request};

use crate::fairing::Sessions;

/// The path of [`jwks_route`]: `/.well-known/jwks.json`.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// A `GET /.well-known/jwks.json` route serving the engine's JWKS
/// ([`SessionJwt::jwks`](session_jwt_core::SessionJwt::jwks)): 200 with the
/// JSON key set when the keys are asymmetric; with HMAC keys (a shared
/// secret is never published) it forwards, so Rocket answers 404 unless
/// another route serves the path. Mount it with
/// `.mount("/", vec![jwks_route()])`; mounted at a base (`/auth`), it serves
/// `/auth/.well-known/jwks.json`.
///
/// It reads the engine that [`SessionFairing`](crate::SessionFairing)
/// manages, so it also works with an engine read from `Rocket.toml`.
#[must_use]
pub fn jwks_route() -> Route {
    Route::new(Method::Get, JWKS_PATH, Jwks)
}

#[derive(Clone, Copy)]
struct Jwks;

#[rocket::async_trait]
impl Handler for Jwks {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        match Sessions::of(req) {
            Ok(Sessions {
                jwks: Some(body), ..
            }) => route::Outcome::from(req, (ContentType::JSON, body.as_str())),
            Ok(_) => Outcome::Forward((data, Status::NotFound)),
            Err(_) => Outcome::Error(Status::InternalServerError),
        }
    }
}
