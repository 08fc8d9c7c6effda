//! [`MemcachedStore`]: the [`SessionStore`] implementation.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sessions_core::{
    Loaded, SessionKey, SessionStore, StoreError, Stored, Version, create_with_fresh_key,
};

use crate::error::OpError;
use crate::item::WriteOutcome;
use crate::key::memcached_key;
use crate::nodes::{Nodes, Pick};
use crate::retry::with_retry;
use crate::transport::Server;
use crate::ttl::expiration;

/// A session store backed by one or more memcached servers. Made by
/// [`MemcachedStore::builder`] (a [`MemcachedStoreBuilder`](crate::MemcachedStoreBuilder)) or
/// [`MemcachedStore::new`].
///
/// Each session is one memcached item under `<prefix><session key>`; its [`Version`] is the
/// item's CAS value, so [`update`](SessionStore::update) is a server-side compare-and-set.
/// With several servers, a consistent-hash ring (ketama) picks each key's server, and a
/// server that keeps failing is ejected from the ring for a while.
/// Speaks the text protocol (meta commands) or the binary protocol with SASL, per server URL;
/// see the [crate documentation](crate) for URLs, authentication and the TTL rules.
///
/// Cloning is cheap and shares the connections.
///
/// ```no_run
/// use sessions_memcached::MemcachedStore;
///
/// # async fn run() -> Result<(), sessions_memcached::MemcachedBuildError> {
/// let store = MemcachedStore::builder("memcache://127.0.0.1:11211").connect().await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemcachedStore {
    inner: Arc<Inner>,
}

struct Inner {
    nodes: Nodes,
    key_prefix: String,
    max_value_size: usize,
}

impl MemcachedStore {
    pub(crate) fn from_parts(nodes: Nodes, key_prefix: String, max_value_size: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                nodes,
                key_prefix,
                max_value_size,
            }),
        }
    }

    pub(crate) fn servers(&self) -> &[Server] {
        self.inner.nodes.servers()
    }

    /// The nodes, and the index of the server for `key` with the server: the result of the
    /// request is to be given to [`Nodes::record`]. A probe of an ejected server flushes it
    /// first, and the request goes to another server if that fails.
    ///
    /// # Errors
    ///
    /// [`StoreError::unavailable`] when every server is ejected and no probe is due.
    async fn route(&self, key: &str) -> Result<(&Nodes, usize, &Server), StoreError> {
        let nodes = &self.inner.nodes;
        // Ends: a probe whose flush failed is ejected for another interval, so the next pick
        // skips it; at worst every server is probed once.
        loop {
            match nodes.pick(key) {
                Pick::Use(index) => return Ok((nodes, index, nodes.server(index))),
                // Boxed: the flush runs once per retry interval, and its future should not
                // weigh on every store call's.
                Pick::Probe(index) if Box::pin(self.flush(index)).await => {
                    return Ok((nodes, index, nodes.server(index)));
                }
                Pick::Probe(_) => {}
                Pick::NoServer { owner } => {
                    return Err(StoreError::unavailable(format!(
                        "every memcached server is ejected (the key's is {}); the next probe is due within {:?}",
                        nodes.server(owner),
                        nodes.retry_interval()
                    )));
                }
            }
        }
    }

    /// Flushes the ejected server `index` before it rejoins (see [`crate::nodes`] for why);
    /// whether it did.
    async fn flush(&self, index: usize) -> bool {
        let nodes = &self.inner.nodes;
        let server = nodes.server(index);
        nodes.flushed(index, with_retry(server, || server.flush()).await)
    }

    fn key(&self, key: &SessionKey) -> Result<String, StoreError> {
        memcached_key(&self.inner.key_prefix, key)
    }

    fn check_size(&self, payload: &[u8]) -> Result<(), StoreError> {
        if payload.len() > self.inner.max_value_size {
            return Err(StoreError::too_large(
                payload.len(),
                self.inner.max_value_size,
            ));
        }
        Ok(())
    }
}

/// The error of a write that ran once. A write is not idempotent (a retried `add` that went
/// through would look like a collision, a retried CAS like a conflict), so a connection that
/// broke, or a reply that timed out, after the request may have been sent is reported as
/// [`StoreError::outcome_unknown`] for the caller to settle by reading back.
///
/// A function of the result rather than an `async fn` wrapping the write: an `async fn` keeps
/// its argument (the write's future) and the future it awaits side by side, which doubled the
/// `update` future to 1.3 KB, past glibc's per-thread cache (see "Small futures" in
/// docs/DESIGN.md).
fn write_error(err: OpError) -> StoreError {
    match err {
        OpError::Retriable(err) => StoreError::outcome_unknown(err),
        OpError::Final(err) if is_timeout(&err) => StoreError::outcome_unknown(err),
        OpError::Final(err) => err,
    }
}

/// The version of an item whose CAS value is `cas`.
///
/// # Errors
///
/// [`StoreError::other`] for CAS 0, which memcached sends for every item when started with
/// `-C`: without CAS values every update would conflict, so such a server is refused, with
/// the same error on both transports.
fn version(cas: u64, server: &Server) -> Result<Version, StoreError> {
    if cas == 0 {
        return Err(StoreError::other(format!(
            "memcached on {server} keeps no CAS values (started with -C); the session store needs them"
        )));
    }
    Ok(Version::new(cas))
}

/// Whether `err` is a reply that did not come in time (see [`crate::error::timed_out`]).
fn is_timeout(err: &StoreError) -> bool {
    std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
}

impl SessionStore for MemcachedStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        let key = self.key(key)?;
        let (nodes, index, server) = self.route(&key).await?;
        let item = nodes.record(index, with_retry(server, || server.get(&key)).await)?;
        item.map(|item| Ok(Loaded::new(item.value, version(item.cas, server)?)))
            .transpose()
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        self.check_size(payload)?;
        let expiration = expiration(ttl, SystemTime::now());
        let insert = |session_key| async move {
            let key = self.key(&session_key)?;
            let (nodes, index, server) = self.route(&key).await?;
            let added = server
                .add(&key, payload, expiration)
                .await
                .map_err(write_error);
            match nodes.record(index, added)? {
                WriteOutcome::Stored { cas } => Ok(Some(version(cas, server)?)),
                WriteOutcome::NotStored => Ok(None),
            }
        };
        create_with_fresh_key(payload, insert, |key| async move { self.load(&key).await }).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        self.check_size(payload)?;
        let expiration = expiration(ttl, SystemTime::now());
        let memcached_key = self.key(key)?;
        let cas = expected.get();
        if cas == 0 {
            // Never a version this store hands out (see `version`); and to a binary SET, CAS 0
            // would mean "unconditional".
            return Err(StoreError::conflict());
        }
        let (nodes, index, server) = self.route(&memcached_key).await?;
        let set = server
            .compare_and_set(&memcached_key, payload, expiration, cas)
            .await
            .map_err(write_error);
        match nodes.record(index, set)? {
            WriteOutcome::Stored { cas } => Ok(Stored::new(key.clone(), version(cas, server)?)),
            WriteOutcome::NotStored => Err(StoreError::conflict()),
        }
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        let expiration = expiration(ttl, SystemTime::now());
        let memcached_key = self.key(key)?;
        let (nodes, index, server) = self.route(&memcached_key).await?;
        let touched = with_retry(server, || server.touch(&memcached_key, expiration)).await;
        nodes.record(index, touched)?;
        Ok(key.clone())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let key = self.key(key)?;
        let (nodes, index, server) = self.route(&key).await?;
        let deleted = with_retry(server, || server.delete(&key)).await;
        nodes.record(index, deleted)
    }
}

impl fmt::Debug for MemcachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedStore")
            .field("servers", &self.inner.nodes)
            .field("key_prefix", &self.inner.key_prefix)
            .field("max_value_size", &self.inner.max_value_size)
            .finish_non_exhaustive()
    }
}
