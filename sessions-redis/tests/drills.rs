//! Failover drills against real servers, each on servers of its own (the services script
//! starts them): the app under load while a replica is promoted (Cluster: `CLUSTER FAILOVER`
//! on the replica; Sentinel: `SENTINEL FAILOVER`) or a standalone Redis with AOF is killed and
//! restarted. Requests may fail only while there is no primary (and up to 2 s after the new
//! one answers); no session written before the drill is lost. Each prints its figures (run
//! with `--nocapture` to see them).

mod common;

use std::time::Duration;

use common::drill::{self, connect, is_primary, replicate, until};
use sessions_redis::RedisStore;
use sessions_redis::redis::{self, Value};

/// How long a server may take to change roles before the drill calls it broken.
const ROLE_CHANGE: Duration = Duration::from_secs(30);

/// The `host:port` of each node of a `redis+…://host:port,…/…` URL.
fn nodes(url: &str) -> Vec<String> {
    let rest = url.split_once("://").unwrap().1;
    let hosts = rest.split('/').next().unwrap();
    hosts
        .rsplit('@')
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect()
}

#[test]
fn cluster_failover_promotes_a_replica_without_losing_sessions() {
    let url = common::env("REDIS_CLUSTER_DRILL_URL");
    // A hash tag puts every session of the drill in one slot, so one shard's failover
    // concerns them all.
    let prefix = format!("{{{}}}:", common::unique_prefix("drill"));
    actix_web::rt::System::new().block_on(async {
        let seed = &nodes(&url)[0];
        let (primary, replica) = shard_of(seed, &format!("{prefix}x")).await;
        let store = RedisStore::builder(&url)
            .key_prefix(&prefix)
            .build()
            .unwrap();
        let report = drill::run(
            store,
            replicate(&primary, &format!("{prefix}marker")),
            async {
                let mut conn = connect(&replica).await;
                let () = redis::cmd("CLUSTER")
                    .arg("FAILOVER")
                    .query_async(&mut conn)
                    .await
                    .expect("CLUSTER FAILOVER");
                until("the replica is primary", ROLE_CHANGE, || {
                    is_primary(&replica)
                })
                .await;
            },
        )
        .await;
        report.check("cluster CLUSTER FAILOVER");
    });
}

/// The primary that holds `key`'s slot and one of its replicas, from `CLUSTER NODES`.
async fn shard_of(seed: &str, key: &str) -> (String, String) {
    let mut conn = connect(seed).await;
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut conn)
        .await
        .unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|line| line.split(' ').collect()).collect();
    let address = |fields: &[&str]| fields[1].split('@').next().unwrap().to_owned();
    let owns = |fields: &[&str]| {
        fields[8..].iter().any(|range| {
            let (low, high) = range.split_once('-').unwrap_or((range, range));
            matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(low), Ok(high)) if (low..=high).contains(&slot))
        })
    };
    let primary = lines
        .iter()
        .find(|fields| fields[2].contains("master") && owns(fields))
        .expect("a primary owns the slot");
    let replica = lines
        .iter()
        .find(|fields| fields[3] == primary[0] && !fields[2].contains("fail"))
        .expect("the primary has a replica");
    (address(primary), address(replica))
}

#[test]
fn sentinel_failover_promotes_the_replica_without_losing_sessions() {
    let url = common::env("REDIS_SENTINEL_DRILL_URL");
    let service = url.rsplit('/').next().unwrap().to_owned();
    let sentinel = nodes(&url)[0].clone();
    actix_web::rt::System::new().block_on(async {
        let mut sentinel_conn = connect(&sentinel).await;
        // A replica the sentinels would promote: connected, and in sync.
        until("Sentinel knows a healthy replica", ROLE_CHANGE, || {
            healthy_replica(&sentinel, &service)
        })
        .await;
        let primary = primary_of(&mut sentinel_conn, &service).await;
        let store = RedisStore::builder(&url)
            .key_prefix(common::unique_prefix("drill"))
            .build()
            .unwrap();
        let report = drill::run(
            store,
            replicate(&primary, &common::unique_prefix("marker")),
            async {
                let () = redis::cmd("SENTINEL")
                    .arg("FAILOVER")
                    .arg(&service)
                    .query_async(&mut sentinel_conn)
                    .await
                    .expect("SENTINEL FAILOVER");
                until("Sentinel names a new primary", ROLE_CHANGE, || async {
                    let mut conn = connect(&sentinel).await;
                    let now = primary_of(&mut conn, &service).await;
                    now != primary && is_primary(&now).await
                })
                .await;
            },
        )
        .await;
        report.check("sentinel SENTINEL FAILOVER");
    });
}

async fn primary_of(
    sentinel: &mut sessions_redis::redis::aio::MultiplexedConnection,
    service: &str,
) -> String {
    let (host, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(service)
        .query_async(sentinel)
        .await
        .expect("the sentinel knows the service");
    format!("{host}:{port}")
}

/// Whether a sentinel lists a replica of `service` that is up and linked to its primary.
async fn healthy_replica(sentinel: &str, service: &str) -> bool {
    let mut conn = connect(sentinel).await;
    let replicas: Vec<Vec<(String, String)>> = match redis::cmd("SENTINEL")
        .arg("REPLICAS")
        .arg(service)
        .query_async::<Value>(&mut conn)
        .await
    {
        Ok(Value::Array(replicas)) => replicas
            .into_iter()
            .filter_map(|replica| redis::from_redis_value(replica).ok())
            .collect(),
        _ => return false,
    };
    replicas.iter().any(|fields| {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        field("flags") == Some("slave") && field("master-link-status") == Some("ok")
    })
}

#[test]
fn standalone_restart_with_aof_loses_no_acknowledged_session() {
    let url = common::env("REDIS_DRILL_URL");
    let restart = common::env("REDIS_DRILL_RESTART");
    let address = nodes(&url)[0].clone();
    actix_web::rt::System::new().block_on(async {
        let store = RedisStore::builder(&url)
            .key_prefix(common::unique_prefix("drill"))
            .build()
            .unwrap();
        // appendfsync always: a write is on disk before Redis acknowledges it.
        let report = drill::run(store, async {}, async {
            let status = actix_web::rt::task::spawn_blocking(move || {
                std::process::Command::new(restart).status()
            })
            .await
            .expect("the restart thread")
            .expect("run the restart script");
            assert!(status.success(), "the restart script failed");
            until("the restarted Redis answers", ROLE_CHANGE, || {
                is_primary(&address)
            })
            .await;
        })
        .await;
        report.check("standalone kill -9 and restart with AOF");
    });
}
