//! The cases, one async function each. [`suite!`](crate::suite) generates a test per function.

mod contract;
mod cookies;
mod lifecycle;
mod named;
mod security;
mod store;
mod values;

pub use contract::{
    store_delete_is_idempotent, store_round_trips_payloads, store_touch_extends_the_ttl,
    store_update_is_compare_and_set,
};
pub use cookies::{
    browser_session_cookie_has_no_max_age, cookie_attributes_as_configured,
    remember_me_options_persist,
};
pub use lifecycle::{
    purge_removes_record_and_cookie, purge_then_flash_starts_a_new_session,
    renew_moves_state_to_a_new_key, rolling_ttl_keeps_active_sessions, ttl_expiry,
};
pub use named::{two_named_sessions_in_one_request, two_stores_in_one_app};
pub use security::{
    cookie_from_another_key_starts_fresh, forged_cookies_start_fresh_sessions,
    key_rotation_reseals_with_the_new_key, value_near_the_size_limit,
};
pub use store::{
    concurrent_changes_to_different_keys_all_survive, create_never_overwrites,
    read_only_request_writes_nothing, store_outage_answers_empty_500_and_recovers,
    untouched_request_makes_no_store_call,
};
pub use values::{
    clear_removes_all_values, flashes_by_key, flashes_drain_on_read, get_set_round_trip,
    remove_deletes_one_value, unicode_and_empty_values_round_trip,
};

use sessions_core::{Key, SessionConfig, SessionMiddleware};

/// The middleware with one session in `config` and a fresh key.
pub(crate) fn single(config: SessionConfig) -> SessionMiddleware {
    SessionMiddleware::builder(Key::generate())
        .session(config)
        .build()
        .expect("valid test configuration")
}

/// Prints why a case checks less for this store, so a skipped check is visible.
pub(crate) fn skip(case: &str, why: &str) {
    eprintln!("{case}: skipped part of the case: {why}");
}
