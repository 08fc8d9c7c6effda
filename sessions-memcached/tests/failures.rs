//! Failures: unreachable and silent servers, garbage replies, broken pooled connections.
//! Every one ends in a prompt `Unavailable` error (or a successful retry), never a hang.

mod common;

use std::error::Error as _;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sessions_core::{SessionKey, SessionStore, StoreError, StoreErrorKind};
use sessions_memcached::{MemcachedBuildError, MemcachedStore};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const SCHEMES: [&str; 2] = ["memcache", "memcache+binary"];

/// Fails the test instead of hanging if `future` runs far past every configured timeout.
async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the request hung")
}

fn has_io_error(err: &StoreError, kind: io::ErrorKind) -> bool {
    let mut source = err.source();
    while let Some(err) = source {
        if err
            .downcast_ref::<io::Error>()
            .is_some_and(|err| err.kind() == kind)
        {
            return true;
        }
        source = err.source();
    }
    false
}

fn quick_store(url: &str) -> MemcachedStore {
    MemcachedStore::builder(url)
        .connect_timeout(Duration::from_millis(500))
        .io_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// A server that accepts connections and then never answers; it keeps them open.
async fn silent_server() -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    (port, task)
}

/// A server that answers every request with the same bytes.
async fn garbage_server(reply: &'static [u8]) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0; 4096];
                while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {
                    if stream.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn unreachable_port_is_unavailable() {
    let port = closed_port().await;
    for scheme in SCHEMES {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let err = bounded(quick_store(&url).load(&SessionKey::generate()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{scheme}: {err:?}");
        let err = bounded(quick_store(&url).create(b"x", Duration::from_secs(60)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{scheme}: {err:?}");
        let err = bounded(MemcachedStore::builder(&url).connect())
            .await
            .unwrap_err();
        assert!(
            matches!(err, MemcachedBuildError::Unreachable { .. }),
            "{scheme}: {err:?}"
        );
    }
}

#[tokio::test]
async fn silent_server_times_out() {
    let (port, server) = silent_server().await;
    for scheme in SCHEMES {
        let store = quick_store(&format!("{scheme}://127.0.0.1:{port}"));
        let err = bounded(store.load(&SessionKey::generate()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{scheme}: {err:?}");
        assert!(
            has_io_error(&err, io::ErrorKind::TimedOut),
            "{scheme}: {err:?}"
        );
        // The timed-out connection is not reused: the next request times out the same way
        // instead of reading a stale reply.
        let err = bounded(store.delete(&SessionKey::generate()))
            .await
            .unwrap_err();
        assert!(
            has_io_error(&err, io::ErrorKind::TimedOut),
            "{scheme}: {err:?}"
        );
    }
    // Authentication is part of connecting: bounded by the connect timeout.
    let store = quick_store(&format!("memcache+binary://u:p@127.0.0.1:{port}"));
    let err = bounded(store.load(&SessionKey::generate()))
        .await
        .unwrap_err();
    assert!(has_io_error(&err, io::ErrorKind::TimedOut), "{err:?}");
    server.abort();
}

#[tokio::test]
async fn garbage_replies_are_unavailable() {
    for reply in [
        &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..],
        &[0x81; 64],
        &[0; 24],
    ] {
        let (port, server) = garbage_server(reply).await;
        for scheme in SCHEMES {
            let store = quick_store(&format!("{scheme}://127.0.0.1:{port}"));
            let err = bounded(store.load(&SessionKey::generate()))
                .await
                .unwrap_err();
            assert_eq!(
                err.kind(),
                StoreErrorKind::Unavailable,
                "{scheme} {reply:?}: {err:?}"
            );
        }
        server.abort();
    }
}

/// A TCP proxy to the plain server that can cut every open connection, as a server restart does.
struct Proxy {
    port: u16,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Self {
        let upstream = common::address(common::PLAIN);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let tracked = Arc::clone(&connections);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tracked.lock().unwrap().push(relay);
            }
        });
        Self {
            port,
            connections,
            accept,
        }
    }

    /// Closes every relayed connection (dropping both sockets).
    fn cut(&self) {
        for relay in self.connections.lock().unwrap().drain(..) {
            relay.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test]
async fn broken_pooled_connection_is_retried_once() {
    for scheme in SCHEMES {
        let proxy = Proxy::start().await;
        let store = common::builder(&format!("{scheme}://127.0.0.1:{}", proxy.port))
            .build()
            .unwrap();
        let created = store
            .create(b"survives", Duration::from_secs(60))
            .await
            .unwrap();
        proxy.cut();
        tokio::task::yield_now().await;
        let loaded = bounded(store.load(created.key()))
            .await
            .expect("retried on a new connection");
        assert_eq!(
            loaded.expect("the record is still there").payload(),
            b"survives",
            "{scheme}"
        );
    }
}

/// A proxy to the plain server whose first connection is accepted and then never answered.
async fn first_connection_silent_proxy() -> (u16, JoinHandle<()>) {
    let upstream = common::address(common::PLAIN);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let Ok((silent, _)) = listener.accept().await else {
            return;
        };
        let mut relays = Vec::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            relays.push(tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            }));
        }
        drop(silent);
    });
    (port, task)
}

#[tokio::test]
async fn a_timed_out_connection_is_replaced() {
    for scheme in SCHEMES {
        let (port, proxy) = first_connection_silent_proxy().await;
        let store = common::builder(&format!("{scheme}://127.0.0.1:{port}"))
            .io_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let err = bounded(store.load(&SessionKey::generate()))
            .await
            .unwrap_err();
        assert!(
            has_io_error(&err, io::ErrorKind::TimedOut),
            "{scheme}: {err:?}"
        );
        // The next call does not queue behind the silent connection: it opens a new one.
        let loaded = bounded(store.load(&SessionKey::generate())).await;
        assert_eq!(loaded.expect("a new connection"), None, "{scheme}");
        proxy.abort();
    }
}
