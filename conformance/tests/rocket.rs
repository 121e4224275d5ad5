//! The conformance suite against the Rocket adapter's reference app.
conformance::suite!("rocket");
