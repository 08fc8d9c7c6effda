//! A worker blocked in a synchronous handler delays only its own requests, on the binary
//! transport (whose connections belong to the worker threads that use them).

mod common;

#[test]
fn blocked_workers_do_not_stall_the_others() {
    let store = common::builder(&common::plain_binary_url())
        .build()
        .unwrap();
    sessions_test::check_blocked_workers_do_not_stall_others(store);
}
