//! The binary transport's shared connections across threads: each actix-web worker runs its
//! own runtime, a connection is driven by tasks on the runtime of the thread that opened it,
//! and other threads share it. When that runtime shuts down, the others must open a new
//! connection on their next call instead of failing (or hanging until the I/O timeout).

mod common;

#[test]
fn threads_share_connections_and_survive_the_runtime_that_opened_one() {
    // One connection for all threads: the second thread uses the connection the first opened,
    // after the first thread's runtime (which ran that connection's tasks) is gone.
    let store = common::builder(&common::plain_binary_url())
        .pool_size(1)
        .build()
        .unwrap();
    sessions_test::check_connections_survive_their_runtime(store);
}

#[test]
fn calls_from_many_threads_all_succeed_on_fewer_connections() {
    let store = common::builder(&common::plain_binary_url())
        .pool_size(2)
        .build()
        .unwrap();
    sessions_test::check_threads_share_connections(store, |n| format!("open_connections: {n}"));
}
