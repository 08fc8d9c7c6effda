//! The binary transport's connections across threads: each actix-web worker runs its own
//! runtime, and a connection is driven by tasks on the runtime of the thread that opened it, so
//! each worker thread has its own, and a thread whose runtime was replaced opens a new one on
//! its next call instead of failing (or hanging until the I/O timeout).

mod common;

#[test]
fn a_thread_whose_runtime_was_replaced_reconnects() {
    let store = common::builder(&common::plain_binary_url())
        .build()
        .unwrap();
    sessions_test::check_a_new_runtime_on_a_thread_reconnects(store);
}

#[test]
fn each_worker_has_its_own_connection() {
    // The binary transport ignores the text transport's pool size.
    let store = common::builder(&common::plain_binary_url())
        .build()
        .unwrap();
    sessions_test::check_each_worker_has_its_own_connection(store, |n| {
        format!("open_connections: {n}")
    });
}
