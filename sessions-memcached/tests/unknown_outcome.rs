//! Writes whose reply is lost, on both transports: the server applied the write, then the
//! connection broke before the reply came back. The store must not replay such a write (a
//! replayed `add` looks like a key collision, a replayed compare-and-set like a conflict, and a
//! replayed change would be applied twice): it reports the outcome as unknown, and a create
//! settles it by reading the key back.
//!
//! Also servers started with `-C` (no CAS values): both transports refuse them with the same
//! clear error instead of conflicting forever.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sessions_core::{SessionKey, SessionStore, StoreErrorKind, Version};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const HOUR: Duration = Duration::from_secs(3600);
const SCHEMES: [&str; 2] = ["memcache", "memcache+binary"];

/// A proxy to the plain server. Once armed, the next write request it sees (text `ms`, binary
/// SET or ADD) is forwarded, and then its connection is cut before the reply comes back.
struct ReplyDropper {
    port: u16,
    armed: Arc<AtomicBool>,
    /// Write requests seen.
    writes: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl ReplyDropper {
    async fn start() -> Self {
        let upstream = common::address(common::PLAIN);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicUsize::new(0));
        let (shared_armed, shared_writes) = (Arc::clone(&armed), Arc::clone(&writes));
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                let counters = (Arc::clone(&shared_armed), Arc::clone(&shared_writes));
                tokio::spawn(relay(client, server, counters));
            }
        });
        Self {
            port,
            armed,
            writes,
            accept,
        }
    }

    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

impl Drop for ReplyDropper {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Whether `request` starts with a write: a text `ms`, or a binary SET (0x01) or ADD (0x02).
fn is_write(request: &[u8]) -> bool {
    request.starts_with(b"ms ") || matches!(request, [0x80, 0x01 | 0x02, ..])
}

async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    (armed, writes): (Arc<AtomicBool>, Arc<AtomicUsize>),
) {
    let mut request = vec![0; 64 * 1024];
    let mut reply = vec![0; 64 * 1024];
    let mut cut = false;
    loop {
        tokio::select! {
            read = client.read(&mut request) => {
                let Ok(n @ 1..) = read else { return };
                if is_write(&request[..n]) {
                    writes.fetch_add(1, Ordering::SeqCst);
                    cut |= armed.swap(false, Ordering::SeqCst);
                }
                if server.write_all(&request[..n]).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut reply) => {
                let Ok(n @ 1..) = read else { return };
                if cut {
                    // The write was applied; its reply is dropped with both connections.
                    return;
                }
                if client.write_all(&reply[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the request hung")
}

#[tokio::test]
async fn a_compare_and_set_whose_reply_is_lost_is_not_replayed() {
    for scheme in SCHEMES {
        let proxy = ReplyDropper::start().await;
        let store = common::builder(&proxy.url(scheme)).build().unwrap();
        let created = store.create(b"one", HOUR).await.unwrap();
        proxy.arm();
        let err = bounded(store.update(created.key(), b"two", HOUR, created.version()))
            .await
            .unwrap_err();
        // A replay would have found the CAS moved on, and reported a conflict.
        assert_eq!(
            err.kind(),
            StoreErrorKind::OutcomeUnknown,
            "{scheme}: {err:?}"
        );
        let loaded = store.load(created.key()).await.unwrap().unwrap();
        assert_eq!(
            loaded.payload(),
            b"two",
            "{scheme}: the write was applied once"
        );
        assert_ne!(loaded.version(), created.version(), "{scheme}");
    }
}

#[tokio::test]
async fn a_create_whose_reply_is_lost_is_settled_by_reading_back() {
    for scheme in SCHEMES {
        let proxy = ReplyDropper::start().await;
        let store = common::builder(&proxy.url(scheme)).build().unwrap();
        proxy.arm();
        let payload = common::unique_payload();
        // A replayed add would find its own record and report a collision: the create would
        // then go to a new key and leave the first record behind.
        let created = bounded(store.create(&payload, HOUR)).await.unwrap();
        assert!(
            !proxy.armed.load(Ordering::SeqCst),
            "{scheme}: no write was cut"
        );
        let writes = proxy.writes.load(Ordering::SeqCst);
        assert_eq!(writes, 1, "{scheme}: the add was replayed");
        let loaded = store.load(created.key()).await.unwrap().unwrap();
        assert_eq!(loaded.payload(), payload, "{scheme}");
        assert_eq!(
            loaded.version(),
            created.version(),
            "{scheme}: the version read back"
        );
    }
}

/// The `-C` server's URL with `scheme`.
fn nocas_url(scheme: &str) -> String {
    let url = common::url("MEMCACHED_NOCAS_URL");
    let (_, rest) = url.split_once("://").unwrap();
    format!("{scheme}://{rest}")
}

#[tokio::test]
async fn a_server_without_cas_is_refused_the_same_way_by_both_transports() {
    let key = SessionKey::generate();
    let item = format!("test:{}", key.as_str().unwrap());
    let mut raw = common::RawClient::connect(&common::address("MEMCACHED_NOCAS_URL")).await;
    raw.set(&item, b"written elsewhere", 0, 0).await;
    for scheme in SCHEMES {
        let store = common::builder(&nocas_url(scheme)).build().unwrap();
        let err = store.create(b"x", HOUR).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Other, "{scheme}: {err:?}");
        assert!(err.to_string().contains("-C"), "{scheme}: {err}");
        let err = store.load(&key).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Other, "{scheme}: {err:?}");
        // A version of 0 never reaches the server: with CAS 0, a binary SET is unconditional.
        let err = store
            .update(&key, b"y", HOUR, Version::new(0))
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{scheme}: {err:?}");
    }
    let kept = raw.get(&item).await.unwrap();
    assert_eq!(kept, b"written elsewhere");
}
