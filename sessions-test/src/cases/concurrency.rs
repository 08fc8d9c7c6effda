//! Overlapping requests of one user: renewals, purges, writes and flashes racing each other,
//! many writers at once, and writes whose replies were lost.
//!
//! Races are made deterministic with `/parked?do=<op>`: that request loads its session and
//! waits; the test runs another request to completion; then the parked one goes on.

use std::sync::Arc;

use actix_web::http::StatusCode;
use futures_util::future::join_all;
use sessions_core::{Key, SessionConfig, SessionMiddleware, SessionStore};

use crate::cases::{single, skip};
use crate::{Capabilities, LoseReplies, Reply, StoreFactory, client};

/// How many times the contention cases run, so that a failure one run in three shows.
const ROUNDS: usize = 3;

/// The session cookie a reply set (not a removal).
fn new_cookie(reply: &Reply) -> Option<String> {
    reply
        .set_cookie("id")
        .filter(|set| !set.is_removal())
        .map(|set| set.cookie.value().to_owned())
}

/// A log-out is never undone by a renewal running at the same time, whichever lands first:
/// a renewal that finds the session purged keeps only its own changes; a purge that finds the
/// session renewed ends the renewed session too.
pub async fn renew_racing_purge_keeps_the_log_out<F: StoreFactory>(factory: F, caps: Capabilities) {
    if !caps.server_side {
        return skip(
            "renew_racing_purge_keeps_the_log_out",
            "client-side state cannot be revoked",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;

    // The purge lands first, while the renewing request waits.
    c.ok("/set?key=user&value=ann").await;
    let logged_in = c.cookie("id").unwrap();
    let renewing = c.ok("/parked?do=renew_and_set&key=step&value=up");
    let purging = async {
        barriers.loaded.notified().await;
        c.ok("/purge").await;
        barriers.proceed.notify_one();
    };
    let (renewed, ()) = futures_util::future::join(renewing, purging).await;
    if let Some(cookie) = new_cookie(&renewed) {
        c.set_cookie("id", Some(&cookie));
        let user = c.ok("/get?key=user").await.json::<Option<String>>();
        assert_eq!(user, None, "the renewal brought the purged user back");
        let step = c.ok("/get?key=step").await.json::<Option<String>>();
        assert_eq!(
            step.as_deref(),
            Some("up"),
            "the renewal's own change was lost"
        );
    }
    c.set_cookie("id", Some(&logged_in));
    assert_eq!(c.ok("/get?key=user").await.json::<Option<String>>(), None);

    // The renewal lands first, while a purge that loaded the session before waits.
    c.set_cookie("id", None);
    c.ok("/set?key=user&value=bob").await;
    let purging = c.ok("/parked?do=purge");
    let renewing = async {
        barriers.loaded.notified().await;
        let reply = c.ok("/renew_and_set?key=step&value=up").await;
        barriers.proceed.notify_one();
        reply
    };
    let (_, renewed) = futures_util::future::join(purging, renewing).await;
    let cookie = new_cookie(&renewed).expect("the renewal set a cookie");
    c.set_cookie("id", Some(&cookie));
    assert_eq!(
        c.ok("/get?key=user").await.json::<Option<String>>(),
        None,
        "the purge did not end the session it was renewed into"
    );
}

/// A value another request saved while a renewing request ran survives the renewal.
pub async fn renew_keeps_a_write_saved_meanwhile<F: StoreFactory>(factory: F, caps: Capabilities) {
    if !caps.compare_and_set {
        return skip(
            "renew_keeps_a_write_saved_meanwhile",
            "the store has no compare-and-set",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let renewing = c.ok("/parked?do=renew_and_set&key=step&value=up");
    let writing = async {
        barriers.loaded.notified().await;
        c.ok("/set?key=cart&value=pear").await;
        barriers.proceed.notify_one();
    };
    let (renewed, ()) = futures_util::future::join(renewing, writing).await;
    let cookie = new_cookie(&renewed).expect("the renewal set a cookie");
    c.set_cookie("id", Some(&cookie));
    for (key, value) in [("user", "ann"), ("step", "up"), ("cart", "pear")] {
        let got = c
            .ok(&format!("/get?key={key}"))
            .await
            .json::<Option<String>>();
        assert_eq!(
            got.as_deref(),
            Some(value),
            "the renewed session lost {key}"
        );
    }
}

/// A request that loaded the session before a log-out and saves after it keeps only its own
/// change, in a new session: the logged-out state does not come back.
pub async fn purge_racing_a_write_keeps_the_log_out<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.server_side {
        return skip(
            "purge_racing_a_write_keeps_the_log_out",
            "client-side state cannot be revoked",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let writing = c.ok("/parked?do=set&key=cart&value=pear");
    let purging = async {
        barriers.loaded.notified().await;
        c.ok("/purge").await;
        barriers.proceed.notify_one();
    };
    let (written, ()) = futures_util::future::join(writing, purging).await;
    if let Some(cookie) = new_cookie(&written) {
        c.set_cookie("id", Some(&cookie));
        assert_eq!(c.ok("/get?key=user").await.json::<Option<String>>(), None);
        let cart = c.ok("/get?key=cart").await.json::<Option<String>>();
        assert_eq!(cart.as_deref(), Some("pear"));
    }
}

/// Two middleware over one store, as two processes of one application would be: each has its
/// own queue of saves, so their saves of one session meet only at the store's compare-and-set.
fn twins(store: impl SessionStore) -> [SessionMiddleware; 2] {
    let store = Arc::new(store);
    let key = Key::generate();
    [(); 2].map(|()| {
        SessionMiddleware::builder(key.clone())
            .session(SessionConfig::new(Arc::clone(&store)))
            .build()
            .expect("valid test configuration")
    })
}

/// Sends `count` requests for `path(i)` at once, alternating between `clients` (which hold the
/// same cookie), and requires every one to answer 200.
async fn all_at_once<S, B>(
    clients: &[&crate::Client<S>],
    count: usize,
    path: impl Fn(usize) -> String,
) where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let cookie = clients[0].cookie("id");
    for c in clients {
        c.set_cookie("id", cookie.as_deref());
    }
    let paths: Vec<String> = (0..count).map(path).collect();
    let requests = paths
        .iter()
        .enumerate()
        .map(|(i, p)| clients[i % clients.len()].get(p));
    let replies = join_all(requests).await;
    let failed: Vec<_> = replies
        .iter()
        .filter(|r| r.status != StatusCode::OK)
        .map(|r| r.status)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {count} requests failed: {failed:?}",
        failed.len()
    );
}

/// 64 requests of one session at once, each writing its own key, spread over two instances of
/// the app: every one answers 200, and every key is kept.
pub async fn distinct_keys_under_64_parallel_requests_all_survive<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.compare_and_set {
        return skip(
            "distinct_keys_under_64_parallel_requests_all_survive",
            "the store has no compare-and-set",
        );
    }
    let [one, two] = twins(factory.make().await);
    let ((c, _), (c2, _)) = (client(one).await, client(two).await);
    for round in 0..ROUNDS {
        c.set_cookie("id", None);
        c.ok("/set?key=start&value=0").await;
        all_at_once(&[&c, &c2], 64, |i| format!("/set?key=k{i}&value={round}")).await;
        let mut keys = c.ok("/keys").await.json::<Vec<String>>();
        keys.retain(|key| key != "start");
        assert_eq!(
            keys.len(),
            64,
            "round {round}: kept only {} keys of 64",
            keys.len()
        );
    }
}

/// 20 requests of one session at once, each writing the same key, spread over two instances
/// of the app: none fails (the last writer wins).
pub async fn one_key_under_20_parallel_requests_never_fails<F: StoreFactory>(
    factory: F,
    _: Capabilities,
) {
    let [one, two] = twins(factory.make().await);
    let ((c, _), (c2, _)) = (client(one).await, client(two).await);
    for round in 0..ROUNDS {
        c.set_cookie("id", None);
        c.ok("/set?key=start&value=0").await;
        all_at_once(&[&c, &c2], 20, |i| format!("/set?key=one&value={i}")).await;
        let value = c.ok("/get?key=one").await.json::<Option<String>>();
        assert!(value.is_some(), "round {round}: the key was lost");
    }
}

/// 20 concurrent `Session::update` increments of one counter, spread over two instances of the
/// app, end at exactly 20.
pub async fn update_under_parallel_requests_counts_exactly<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.compare_and_set {
        return skip(
            "update_under_parallel_requests_counts_exactly",
            "the store has no compare-and-set",
        );
    }
    let [one, two] = twins(factory.make().await);
    let ((c, _), (c2, _)) = (client(one).await, client(two).await);
    for round in 0..ROUNDS {
        c.set_cookie("id", None);
        c.ok("/set?key=start&value=0").await;
        all_at_once(&[&c, &c2], 20, |_| "/update?key=n".to_owned()).await;
        let next = c.ok("/update?key=n").await.json::<u64>();
        assert_eq!(
            next,
            21,
            "round {round}: 20 concurrent increments gave {}",
            next - 1
        );
    }
}

/// Writes whose replies were lost (after or before they were applied) are settled by reading
/// back: concurrent and sequential increments are each applied exactly once. (Eight at once:
/// a payload remembers its last 8 writes, and a request can tell whether its lost write
/// landed while fewer writes than that happened since it loaded the session.)
pub async fn lost_replies_are_settled_not_repeated<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.compare_and_set {
        return skip(
            "lost_replies_are_settled_not_repeated",
            "the store has no compare-and-set",
        );
    }
    let [one, two] = twins(LoseReplies::new(factory.make().await, 3));
    let ((c, _), (c2, _)) = (client(one).await, client(two).await);
    c.ok("/set?key=start&value=0").await;
    for expected in 1..=6_u64 {
        let count = c.ok("/update?key=n").await.json::<u64>();
        assert_eq!(count, expected);
    }
    all_at_once(&[&c, &c2], 8, |_| "/update?key=n".to_owned()).await;
    let next = c.ok("/update?key=n").await.json::<u64>();
    assert_eq!(
        next,
        15,
        "14 increments with lost replies gave {}",
        next - 1
    );
}

/// Flashes are removed by identity: both requests show [1, 2, 3] while one of them adds 9;
/// afterwards 9 is there and 1–3 are not shown again.
pub async fn flashes_shown_by_two_requests_are_not_shown_again<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.compare_and_set {
        return skip(
            "flashes_shown_by_two_requests_are_not_shown_again",
            "the store has no compare-and-set",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    for value in ["1", "2", "3"] {
        c.ok(&format!("/flash?value={value}")).await;
    }
    let parked = c.ok("/parked?do=flashes");
    let other = async {
        barriers.loaded.notified().await;
        let shown = c.ok("/flashes?then_add=9").await.json::<Vec<String>>();
        barriers.proceed.notify_one();
        shown
    };
    let (parked, shown) = futures_util::future::join(parked, other).await;
    assert_eq!(shown, ["1", "2", "3"]);
    assert_eq!(parked.json::<Vec<String>>(), ["1", "2", "3"]);
    assert_eq!(c.ok("/flashes").await.json::<Vec<String>>(), ["9"]);
}

/// A flash added while another request showed the list survives that request's save.
pub async fn a_flash_added_meanwhile_survives<F: StoreFactory>(factory: F, caps: Capabilities) {
    if !caps.compare_and_set {
        return skip(
            "a_flash_added_meanwhile_survives",
            "the store has no compare-and-set",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/flash?value=1").await;
    let parked = c.ok("/parked?do=flashes");
    let other = async {
        barriers.loaded.notified().await;
        c.ok("/flash?value=2").await;
        barriers.proceed.notify_one();
    };
    let (parked, ()) = futures_util::future::join(parked, other).await;
    assert_eq!(parked.json::<Vec<String>>(), ["1"]);
    assert_eq!(c.ok("/flashes").await.json::<Vec<String>>(), ["2"]);
}

/// Two requests each show the flashes and add one: both additions survive, and the flash
/// both showed is gone.
pub async fn flashes_added_and_shown_by_two_requests<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.compare_and_set {
        return skip(
            "flashes_added_and_shown_by_two_requests",
            "the store has no compare-and-set",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/flash?value=1").await;
    let parked = c.ok("/parked?do=flashes&then_add=parked");
    let other = async {
        barriers.loaded.notified().await;
        let shown = c.ok("/flashes?then_add=other").await.json::<Vec<String>>();
        barriers.proceed.notify_one();
        shown
    };
    let (parked, shown) = futures_util::future::join(parked, other).await;
    assert_eq!(shown, ["1"]);
    assert_eq!(parked.json::<Vec<String>>(), ["1"]);
    assert_eq!(
        c.ok("/flashes").await.json::<Vec<String>>(),
        ["other", "parked"]
    );
}
