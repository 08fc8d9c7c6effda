//! The cases, one async function each. [`suite!`](crate::suite) generates a test per function.

mod concurrency;
mod contract;
mod cookies;
mod lifecycle;
mod named;
mod renewed;
mod security;
mod store;
mod values;

pub use concurrency::{
    a_flash_added_meanwhile_survives, distinct_keys_under_64_parallel_requests_all_survive,
    flashes_added_and_shown_by_two_requests, flashes_shown_by_two_requests_are_not_shown_again,
    lost_replies_are_settled_not_repeated, one_key_under_20_parallel_requests_never_fails,
    purge_racing_a_write_keeps_the_log_out, renew_keeps_a_write_saved_meanwhile,
    renew_racing_purge_keeps_the_log_out, update_under_parallel_requests_counts_exactly,
};
pub use contract::{
    store_delete_is_idempotent, store_round_trips_payloads, store_touch_extends_the_ttl,
    store_update_is_compare_and_set,
};
pub use cookies::{
    browser_session_cookie_has_no_max_age, cookie_attributes_as_configured,
    remember_me_options_persist,
};
pub use lifecycle::{
    max_lifetime_ends_active_sessions, max_lifetime_ends_sessions_written_without_it,
    purge_removes_record_and_cookie, purge_then_flash_starts_a_new_session,
    renew_moves_state_to_a_new_key, rolling_ttl_keeps_active_sessions, ttl_expiry,
};
pub use named::{
    a_failed_session_leaves_the_others_usable,
    a_session_saved_before_another_failed_keeps_its_change,
    no_retry_is_asked_for_after_part_of_a_request_was_saved, two_named_sessions_in_one_request,
    two_stores_in_one_app,
};
pub use renewed::{
    a_log_out_behind_many_renewals_ends_the_live_session, a_read_in_flight_does_not_undo_a_log_in,
    a_reseal_in_flight_does_not_undo_a_log_in, a_write_in_flight_does_not_undo_a_log_in,
    two_log_outs_at_once_both_succeed,
};
pub use security::{
    a_stale_cookie_does_not_hide_the_live_one, cookie_from_another_key_starts_fresh,
    forged_cookies_start_fresh_sessions, key_rotation_drill, key_rotation_reseals_with_the_new_key,
    repeated_cookies_reach_the_store_a_few_times, value_near_the_size_limit,
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
