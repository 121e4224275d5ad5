//! Federated services (`docs/verifying-elsewhere.md`): Python (PyJWT), Node
//! (`jose`), Go (golang-jwt) and Rust (the verify-only API) verify the live
//! cookie of the Poem reference app with a shared secret, a public key file
//! and the JWKS URL: see `conformance::federated`.

use conformance::federated::{Consumer, cookie_is_verified_by, docs_show_the_tested_snippets};

#[test]
fn python_pyjwt_verifies_the_live_cookie() {
    cookie_is_verified_by(Consumer::Python);
}

#[test]
fn node_jose_verifies_the_live_cookie() {
    cookie_is_verified_by(Consumer::Node);
}

#[test]
fn go_golang_jwt_verifies_the_live_cookie() {
    cookie_is_verified_by(Consumer::Go);
}

#[test]
fn rust_verify_only_api_verifies_the_live_cookie() {
    cookie_is_verified_by(Consumer::Rust);
}

#[test]
fn the_page_shows_the_tested_snippets_verbatim() {
    docs_show_the_tested_snippets();
}
