//! Ejection on a clock the tests move (milliseconds, as `Nodes::now` counts them): no sleeps.

use std::time::Duration;

use super::*;
use crate::server::ServerConfig;

const INTERVAL: u64 = 1000;

/// Three servers nobody connects to (nothing is sent in these tests).
fn nodes(eject_after: u32) -> Nodes {
    let settings = Settings {
        eject_after,
        retry_interval: Duration::from_millis(INTERVAL),
        ..Settings::default()
    };
    let servers = (1..=3)
        .map(|n| {
            let config = ServerConfig::parse(&format!("memcache://10.0.0.{n}:11211"), n).unwrap();
            Server::new(config, &settings, &crate::socket::Tls::default())
        })
        .collect();
    Nodes::new(servers, &settings)
}

/// A key whose owner is `server`, and the server after it on the ring.
fn key_of(nodes: &Nodes, server: usize) -> (String, usize) {
    let ring = nodes.ring.as_ref().unwrap();
    (0..)
        .map(|n| format!("k{n}"))
        .find_map(|key| {
            let mut order = ring.servers_for(key.as_bytes());
            (order.next() == Some(server)).then(|| {
                let next = order.find(|&s| s != server).unwrap();
                (key, next)
            })
        })
        .unwrap()
}

#[test]
fn a_server_is_ejected_after_the_failures_in_a_row_and_its_keys_move_on() {
    let nodes = nodes(3);
    let (key, next) = key_of(&nodes, 0);
    nodes.failed(0, 10);
    nodes.failed(0, 20);
    assert_eq!(
        nodes.pick_at(&key, || 30),
        Pick::Use(0),
        "two failures are not enough"
    );
    nodes.succeeded(0);
    nodes.failed(0, 40);
    nodes.failed(0, 50);
    assert_eq!(
        nodes.pick_at(&key, || 60),
        Pick::Use(0),
        "a success restarts the count"
    );
    nodes.failed(0, 70);
    assert_eq!(nodes.pick_at(&key, || 80), Pick::Use(next));
    let (other, _) = key_of(&nodes, 1);
    assert_eq!(
        nodes.pick_at(&other, || 80),
        Pick::Use(1),
        "other servers' keys stay put"
    );
}

#[test]
fn after_the_interval_one_probe_goes_through_and_a_flush_rejoins() {
    let nodes = nodes(1);
    let (key, next) = key_of(&nodes, 0);
    nodes.failed(0, 100);
    assert_eq!(nodes.pick_at(&key, || 100 + INTERVAL - 1), Pick::Use(next));
    assert_eq!(
        nodes.pick_at(&key, || 100 + INTERVAL),
        Pick::Probe(0),
        "the probe"
    );
    assert_eq!(
        nodes.pick_at(&key, || 100 + INTERVAL + 1),
        Pick::Use(next),
        "only one probe"
    );
    assert!(nodes.flushed_at(0, Ok(()), 100 + INTERVAL + 2));
    assert_eq!(
        nodes.pick_at(&key, || 100 + INTERVAL + 2),
        Pick::Use(0),
        "rejoined"
    );
}

#[test]
fn a_success_does_not_rejoin_only_a_flush_does() {
    let nodes = nodes(1);
    let (key, next) = key_of(&nodes, 0);
    nodes.failed(0, 100);
    // A request sent before the ejection, answered late.
    let _ = nodes.record(0, Ok(()));
    assert_eq!(nodes.pick_at(&key, || 101), Pick::Use(next));
    assert_eq!(nodes.pick_at(&key, || 100 + INTERVAL), Pick::Probe(0));
}

#[test]
fn a_failed_probe_ejects_for_another_interval() {
    let nodes = nodes(2);
    let (key, next) = key_of(&nodes, 0);
    nodes.failed(0, 0);
    nodes.failed(0, 0);
    assert_eq!(
        nodes.pick_at(&key, || INTERVAL),
        Pick::Probe(0),
        "the probe"
    );
    nodes.failed(0, INTERVAL + 5);
    assert_eq!(nodes.pick_at(&key, || 2 * INTERVAL + 4), Pick::Use(next));
    assert_eq!(
        nodes.pick_at(&key, || 2 * INTERVAL + 5),
        Pick::Probe(0),
        "the next probe"
    );
}

#[test]
fn a_failed_flush_ejects_for_another_interval() {
    let nodes = nodes(1);
    let (key, next) = key_of(&nodes, 0);
    nodes.failed(0, 0);
    assert_eq!(nodes.pick_at(&key, || INTERVAL), Pick::Probe(0));
    let refused = Err(StoreError::other("flush_all not allowed (memcached -F)"));
    assert!(!nodes.flushed_at(0, refused, INTERVAL + 5));
    assert_eq!(nodes.pick_at(&key, || 2 * INTERVAL + 4), Pick::Use(next));
    assert_eq!(nodes.pick_at(&key, || 2 * INTERVAL + 5), Pick::Probe(0));
}

#[test]
fn with_every_server_ejected_none_is_used_until_a_probe_is_due() {
    let nodes = nodes(1);
    let (key, _) = key_of(&nodes, 2);
    for server in 0..3 {
        nodes.failed(server, 0);
    }
    assert_eq!(nodes.pick_at(&key, || 1), Pick::NoServer { owner: 2 });
    assert_eq!(nodes.pick_at(&key, || INTERVAL), Pick::Probe(2));
    assert!(
        matches!(nodes.pick_at(&key, || INTERVAL), Pick::Probe(server) if server != 2),
        "the owner's probe is taken: the next server's is due too"
    );
}

#[test]
fn zero_never_ejects() {
    let nodes = nodes(0);
    let (key, _) = key_of(&nodes, 0);
    for _ in 0..10 {
        let _ = nodes.record::<()>(0, Err(StoreError::unavailable("down")));
    }
    assert_eq!(nodes.pick_at(&key, || 1), Pick::Use(0));
}

#[test]
fn only_server_failures_count() {
    let nodes = nodes(1);
    let (key, _) = key_of(&nodes, 0);
    for err in [
        StoreError::conflict(),
        StoreError::too_large(2, 1),
        StoreError::other("-C"),
    ] {
        let _ = nodes.record::<()>(0, Err(err));
    }
    assert_eq!(nodes.pick_at(&key, || 1), Pick::Use(0));
    let ejected = |nodes: &Nodes| nodes.health[0].ejected_until.load(Ordering::Acquire) != 0;
    assert!(!ejected(&nodes));
    let _ = nodes.record::<()>(0, Err(StoreError::outcome_unknown("lost")));
    assert!(ejected(&nodes), "a lost reply is a server failure");
}
