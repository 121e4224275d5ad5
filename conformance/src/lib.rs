//! The conformance suite: one set of black-box tests, run against the
//! reference app (`demo` example) of every adapter over real HTTP. The
//! contract they check is `docs/reference-app.md`.
//!
//! Each adapter has a test file that expands [`suite!`] with its name:
//!
//! ```text
//! conformance::suite!("poem");
//! ```
//!
//! The harness builds `session-jwt-<adapter>`'s `demo` example with cargo
//! (once per test binary), starts it as a child process on a free loopback
//! port with the environment of each case, waits for its `listening on` line,
//! and drives it with reqwest. An adapter whose example cannot be built fails
//! every test; nothing is skipped.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod browser;
pub mod cases;
pub mod federated;
pub mod keys;
pub mod python;

pub use app::{App, Reply};

/// Expands to one `#[test]` per conformance case, run against `$adapter`'s
/// reference app.
#[macro_export]
macro_rules! suite {
    ($adapter:literal) => {
        $crate::suite!(@cases $adapter;
            login_page_has_the_form,
            login_sets_the_cookie_with_djangos_attributes,
            login_redirects_only_to_local_next,
            failed_login_is_401_and_keeps_the_visitors_session,
            failed_login_keeps_a_logged_in_visitor_logged_in,
            login_without_a_form_is_a_failed_login,
            login_cycles_the_session_key_and_keeps_items,
            login_as_another_user_flushes_the_session,
            session_fixation_is_prevented,
            logout_deletes_the_session_and_revokes_the_cookie,
            set_and_get_store_strings,
            set_cannot_forge_the_user_or_the_tokens_claims,
            anonymous_get_is_empty_without_a_cookie,
            unchanged_session_sends_no_cookie,
            claims_carry_short_and_long_names,
            token_layout_matches_the_contract,
            me_requires_login_and_redirects_with_next,
            password_change_logs_out_other_sessions,
            jwks_is_404_with_an_hmac_key,
            asymmetric_keys_sign_and_jwks_verifies_the_cookie,
            public_key_pair_must_match,
            algorithm_and_kid_overrides,
            algorithm_overrides_sign_and_verify,
            expires_zero_leaves_exp_out,
            cookie_settings_from_the_environment,
            browser_close_cookies_have_no_expiry,
            save_every_request_reissues_the_cookie,
            token_past_half_life_is_refreshed,
            bad_cookies_are_anonymous_never_an_error,
            oversized_and_non_utf8_headers_are_never_a_500,
            several_session_cookies,
            more_than_three_session_cookies_are_anonymous,
            password_change_stops_other_sessions_from_getting_tokens,
            vary_and_cache_control_keep_shared_caches_out,
            oversized_bodies_are_refused_with_413,
            bad_configuration_stops_at_start_naming_the_variable,
            missing_key_warns_and_uses_a_random_secret,
            stops_cleanly_on_sigterm_and_sigint,
            pyjwt_verifies_the_cookie,
            django_session_jwt_verifies_the_cookie,
            redis_instances_share_sessions_and_logout,
            redis_app_restart_loses_no_session,
            redis_record_is_the_cores_format,
            redis_outage_answers_503_and_recovers,
            redis_hung_server_answers_503_not_a_hang,
        );
    };
    (@cases $adapter:literal; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::cases::$case($adapter);
            }
        )*
    };
}
