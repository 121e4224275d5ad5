//! The conformance suite against the Poem adapter's reference app.
conformance::suite!("poem");
