//! A connection dropped silently while idle (by a NAT, a firewall, a load balancer) is found by
//! the no-op check after `ping_after_idle` and replaced, so the next request succeeds; without
//! the check that request times out. Both transports, through a proxy that stops forwarding a
//! connection's traffic (in both directions, without closing it) once it has been idle.

mod common;

use std::time::{Duration, Instant};

use sessions_core::{SessionStore, StoreErrorKind};
use sessions_memcached::MemcachedStore;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const SCHEMES: [&str; 2] = ["memcache", "memcache+binary"];
const HOUR: Duration = Duration::from_secs(3600);
/// How long a connection may stay quiet before the proxy drops it.
const DROP_AFTER_IDLE: Duration = Duration::from_millis(300);
/// The pause that makes connections idle for longer than that.
const PAUSE: Duration = Duration::from_millis(600);
const TIMEOUT: Duration = Duration::from_millis(500);

/// A proxy to the plain server that silently drops a connection quiet for [`DROP_AFTER_IDLE`]:
/// what either side sends afterwards is read and discarded, and the sockets stay open.
struct IdleDropper {
    port: u16,
    accept: JoinHandle<()>,
}

impl IdleDropper {
    async fn start() -> Self {
        let upstream = common::address(common::PLAIN);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                tokio::spawn(relay(client, server));
            }
        });
        Self { port, accept }
    }
}

impl Drop for IdleDropper {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn relay(mut client: TcpStream, mut server: TcpStream) {
    let (mut up, mut down) = (vec![0; 64 * 1024], vec![0; 64 * 1024]);
    let mut last_traffic = Instant::now();
    let mut dropped = false;
    loop {
        let (read, to_server) = tokio::select! {
            read = client.read(&mut up) => (read.map(|n| &up[..n]), true),
            read = server.read(&mut down) => (read.map(|n| &down[..n]), false),
        };
        let Ok(bytes @ [_, ..]) = read else { return };
        dropped |= last_traffic.elapsed() >= DROP_AFTER_IDLE;
        last_traffic = Instant::now();
        if dropped {
            continue;
        }
        let target = if to_server { &mut server } else { &mut client };
        if target.write_all(bytes).await.is_err() {
            return;
        }
    }
}

fn store(scheme: &str, port: u16, ping_after_idle: Duration) -> MemcachedStore {
    common::builder(&format!("{scheme}://127.0.0.1:{port}"))
        .io_timeout(TIMEOUT)
        .ping_after_idle(ping_after_idle)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_idle_connection_dropped_silently_is_replaced_before_the_next_request() {
    for scheme in SCHEMES {
        let proxy = IdleDropper::start().await;
        let store = store(scheme, proxy.port, Duration::from_millis(200));
        let created = store.create(b"kept", HOUR).await.unwrap();
        tokio::time::sleep(PAUSE).await;
        let loaded = store.load(created.key()).await.unwrap().unwrap();
        assert_eq!(loaded.payload(), b"kept", "{scheme}");
        tokio::time::sleep(PAUSE).await;
        let updated = store
            .update(created.key(), b"changed", HOUR, loaded.version())
            .await
            .unwrap_or_else(|err| panic!("{scheme}: a write after idle failed: {err:?}"));
        assert_ne!(updated.version(), loaded.version(), "{scheme}");
    }
}

/// The same requests without the check (it would run after an hour) fail: the proxy does drop
/// idle connections, so the test above can fail.
#[tokio::test]
async fn without_the_check_the_request_after_idle_fails() {
    for scheme in SCHEMES {
        let proxy = IdleDropper::start().await;
        let store = store(scheme, proxy.port, HOUR);
        let created = store.create(b"kept", HOUR).await.unwrap();
        tokio::time::sleep(PAUSE).await;
        let err = store.load(created.key()).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{scheme}: {err:?}");
    }
}
