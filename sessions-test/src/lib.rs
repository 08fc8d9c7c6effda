#![doc = include_str!("../README.md")]

mod app;
mod capabilities;
pub mod cases;
mod client;
mod factory;
mod outage;
pub mod redaction;
mod stall;
mod stress;
mod threads;
mod wire;
mod wrappers;

pub use app::{Barriers, client};
pub use capabilities::Capabilities;
pub use client::{Client, Reply, SetCookie};
pub use factory::StoreFactory;
pub use outage::{Outage, Sigstop, check_outage};
pub use stall::check_blocked_workers_do_not_stall_others;
pub use stress::{StressReport, stress};
pub use threads::{
    check_a_new_runtime_on_a_thread_reconnects, check_each_worker_has_its_own_connection,
};
pub use wrappers::{Counting, Counts, LoseReplies, Slow, Switchable};

/// Runs one case to completion on a fresh actix system (what `#[actix_web::test]` does).
///
/// ```
/// sessions_test::run(async { assert_eq!(1 + 1, 2) });
/// ```
pub fn run(case: impl Future<Output = ()>) {
    actix_web::rt::System::new().block_on(case);
}

/// Generates one `#[test]` per conformance case for a store.
///
/// `$factory` is a closure returning a future of a fresh store (it is called once or twice per
/// case); `$caps` is the store's [`Capabilities`]. Put the call in `tests/suite.rs`:
///
/// ```ignore
/// sessions_test::suite!(|| async { MemoryStore::new() }, sessions_test::Capabilities::server_side());
/// ```
///
/// Each case becomes a test named after it, so a failure names its case and
/// `cargo nextest run -E 'test(rolling)'` picks cases.
#[macro_export]
macro_rules! suite {
    ($factory:expr, $caps:expr $(,)?) => {
        $crate::suite!(@cases ($factory) ($caps)
            browser_session_cookie_has_no_max_age,
            cookie_attributes_as_configured,
            remember_me_options_persist,
            purge_removes_record_and_cookie,
            purge_then_flash_starts_a_new_session,
            renew_moves_state_to_a_new_key,
            rolling_ttl_keeps_active_sessions,
            ttl_expiry,
            max_lifetime_ends_active_sessions,
            two_named_sessions_in_one_request,
            two_stores_in_one_app,
            cookie_from_another_key_starts_fresh,
            forged_cookies_start_fresh_sessions,
            key_rotation_reseals_with_the_new_key,
            key_rotation_drill,
            value_near_the_size_limit,
            concurrent_changes_to_different_keys_all_survive,
            create_never_overwrites,
            read_only_request_writes_nothing,
            store_outage_answers_empty_500_and_recovers,
            untouched_request_makes_no_store_call,
            clear_removes_all_values,
            store_delete_is_idempotent,
            store_round_trips_payloads,
            store_touch_extends_the_ttl,
            store_update_is_compare_and_set,
            flashes_drain_on_read,
            flashes_by_key,
            get_set_round_trip,
            remove_deletes_one_value,
            unicode_and_empty_values_round_trip,
            renew_racing_purge_keeps_the_log_out,
            renew_keeps_a_write_saved_meanwhile,
            purge_racing_a_write_keeps_the_log_out,
            distinct_keys_under_64_parallel_requests_all_survive,
            one_key_under_20_parallel_requests_never_fails,
            update_under_parallel_requests_counts_exactly,
            lost_replies_are_settled_not_repeated,
            flashes_shown_by_two_requests_are_not_shown_again,
            a_flash_added_meanwhile_survives,
            flashes_added_and_shown_by_two_requests,
            a_failed_session_leaves_the_others_usable,
            a_session_saved_before_another_failed_keeps_its_change,
            a_stale_cookie_does_not_hide_the_live_one,
            a_write_in_flight_does_not_undo_a_log_in,
            a_read_in_flight_does_not_undo_a_log_in,
            a_reseal_in_flight_does_not_undo_a_log_in,
            a_log_out_behind_many_renewals_ends_the_live_session,
            two_log_outs_at_once_both_succeed,
            repeated_cookies_reach_the_store_a_few_times,
            max_lifetime_ends_sessions_written_without_it,
            no_retry_is_asked_for_after_part_of_a_request_was_saved
        );
    };
    (@cases ($factory:expr) ($caps:expr) $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::run($crate::cases::$case($factory, $caps));
            }
        )*
    };
}
