use super::*;

mod vectors;

const WEIGHTS: [u32; 8] = [600, 300, 200, 350, 1000, 800, 950, 100];

/// The eight hosts of the published vectors, named `prefix{host}{suffix}`.
fn hosts(prefix: &str, suffix: &str) -> Vec<String> {
    (1..=8)
        .map(|n| format!("{prefix}10.0.1.{n}{suffix}"))
        .collect()
}

fn check_vectors(names: &[String], cases: &[vectors::Case]) {
    let ring = Ring::new(names.iter().map(String::as_str).zip(WEIGHTS));
    for &(key, position, _, host) in cases {
        assert_eq!(key_position(key.as_bytes()), position, "{key}");
        let owner = ring.servers_for(key.as_bytes()).next().unwrap();
        assert!(
            names[owner].contains(&format!("{host}:")) || names[owner] == host,
            "{key}: {} instead of {host}",
            names[owner]
        );
    }
}

#[test]
fn matches_libmemcached_weighted_ketama() {
    check_vectors(&hosts("", ""), &vectors::LIBMEMCACHED);
}

#[test]
fn matches_spymemcached_ketama() {
    check_vectors(&hosts("/", ":11211"), &vectors::SPYMEMCACHED);
}

/// Servers of keys `session:00000000`, `session:00000100`, … `session:00001900` on a ring of
/// `127.0.0.1:21216`, `:21217` and `:21218`, as Python's `uhashring` 2.5 (`hash_fn="ketama"`)
/// places them; `uhashring` also agrees with all of libmemcached's weighted vectors above.
const UHASHRING: [usize; 20] = [1, 0, 0, 2, 1, 2, 1, 2, 0, 0, 2, 0, 2, 1, 2, 1, 2, 2, 0, 0];

#[test]
fn matches_uhashring() {
    let ring = Ring::new(NODES[..3].iter().copied().zip([1; 3]));
    for (n, &expected) in (0..).step_by(100).zip(&UHASHRING) {
        let key = format!("session:{n:08}");
        assert_eq!(
            ring.servers_for(key.as_bytes()).next(),
            Some(expected),
            "{key}"
        );
    }
}

#[test]
fn names_follow_libmemcached() {
    let name = |url| ring_name(&ServerConfig::parse(url, 1).unwrap());
    assert_eq!(name("memcache://10.0.1.1:11211"), "10.0.1.1");
    assert_eq!(name("memcache://10.0.1.1:21211"), "10.0.1.1:21211");
    assert_eq!(name("memcache+binary://cache.internal"), "cache.internal");
}

#[test]
fn equal_weights_give_160_points_each() {
    let names = ["a:1", "b:1", "c:1"];
    let ring = Ring::new(names.into_iter().zip([1, 1, 1]));
    assert_eq!(ring.points.len(), 3 * 160);
    let ring = Ring::new(names.into_iter().zip([7, 7, 7]));
    assert_eq!(ring.points.len(), 3 * 160);
}

/// The servers keys `0..count` belong to.
fn owners(ring: &Ring, count: u32) -> Vec<usize> {
    (0..count)
        .map(|n| {
            let key = format!("session:{n:08}");
            ring.servers_for(key.as_bytes()).next().unwrap()
        })
        .collect()
}

const NODES: [&str; 4] = [
    "127.0.0.1:21216",
    "127.0.0.1:21217",
    "127.0.0.1:21218",
    "127.0.0.1:21219",
];
const KEYS: u32 = 100_000;

#[test]
fn adding_a_fourth_node_moves_about_a_quarter_of_the_keys_all_to_it() {
    let three = owners(&Ring::new(NODES[..3].iter().copied().zip([1; 3])), KEYS);
    let four = owners(&Ring::new(NODES.iter().copied().zip([1; 4])), KEYS);
    let moved: Vec<_> = three.iter().zip(&four).filter(|(a, b)| a != b).collect();
    assert!(
        moved.iter().all(|&(_, &to)| to == 3),
        "a key moved between old nodes"
    );
    let share = moved.len() as f64 / f64::from(KEYS);
    println!("adding a 4th node moved {:.1} % of the keys", share * 100.0);
    assert!((0.15..0.35).contains(&share), "{share}");
}

#[test]
fn removing_a_node_moves_only_its_keys() {
    let four = owners(&Ring::new(NODES.iter().copied().zip([1; 4])), KEYS);
    // The second node leaves: the ring of the other three.
    let rest = [NODES[0], NODES[2], NODES[3]];
    let three: Vec<_> = owners(&Ring::new(rest.into_iter().zip([1; 3])), KEYS)
        .into_iter()
        .map(|index| [0, 2, 3][index])
        .collect();
    let moved = four.iter().zip(&three).filter(|(a, b)| a != b).count();
    let removed_share = four.iter().filter(|&&owner| owner == 1).count();
    assert_eq!(moved, removed_share, "only the removed node's keys move");
    let share = moved as f64 / f64::from(KEYS);
    println!(
        "removing 1 of 4 nodes moved {:.1} % of the keys",
        share * 100.0
    );
    assert!((0.15..0.35).contains(&share), "{share}");
}

#[test]
fn skipping_an_ejected_node_is_the_ring_without_it() {
    // With equal weights, a node's points do not depend on the others, so walking past an
    // ejected node's points lands where the ring without that node would.
    let four = Ring::new(NODES.iter().copied().zip([1; 4]));
    let rest = [NODES[0], NODES[1], NODES[3]];
    let three = Ring::new(rest.into_iter().zip([1; 3]));
    for n in 0..10_000 {
        let key = format!("k{n}");
        let skipped = four.servers_for(key.as_bytes()).find(|&s| s != 2).unwrap();
        let without = [0, 1, 3][three.servers_for(key.as_bytes()).next().unwrap()];
        assert_eq!(skipped, without, "{key}");
    }
}

#[test]
fn a_key_visits_every_point_once() {
    let ring = Ring::new(NODES[..2].iter().copied().zip([1; 2]));
    assert_eq!(ring.servers_for(b"x").count(), 320);
    let single = Ring::new(std::iter::once(("only", 1)));
    assert!(single.servers_for(b"y").all(|server| server == 0));
}
