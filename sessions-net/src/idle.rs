//! [`IdleCheck`]: a connection that sat unused for long is checked before a call uses it.

use std::fmt;
use std::time::Duration;

use crate::{Lease, OpenError, PerThread, ThreadConnection};

/// Checks a thread's connection with a no-op (`PING`, `mn`, `NOOP`) before a call uses it,
/// when the connection sat unused for longer than `after`, and replaces it if the check fails
/// or takes longer than `within`.
///
/// Why: a NAT, a firewall, a load balancer or a server-side idle timeout may drop a
/// connection silently. A request sent on such a connection waits for its I/O timeout and
/// fails, and a write that fails that way has an unknown outcome. A connection in steady use
/// is never checked, which saves a round trip per request. This is the check rather than TCP
/// keepalive because a no-op also proves the server still answers on that connection, and
/// because not every client exposes its socket.
///
/// ```
/// use std::time::Duration;
/// use sessions_net::IdleCheck;
///
/// let check = IdleCheck::new(Duration::from_secs(30), Duration::from_secs(1));
/// assert_eq!(check.after(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleCheck {
    after: Duration,
    within: Duration,
}

impl IdleCheck {
    /// Checks connections unused for `after` ([`Duration::ZERO`]: before every call), each
    /// check bounded by `within` (a store's I/O timeout).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let every_call = sessions_net::IdleCheck::new(Duration::ZERO, Duration::from_millis(500));
    /// assert_eq!(every_call.within(), Duration::from_millis(500));
    /// ```
    #[must_use]
    pub const fn new(after: Duration, within: Duration) -> Self {
        Self { after, within }
    }

    /// How long a connection may sit unused before it is checked.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let check = sessions_net::IdleCheck::new(Duration::from_secs(5), Duration::from_secs(1));
    /// assert_eq!(check.after(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub const fn after(&self) -> Duration {
        self.after
    }

    /// How long a check may take.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let check = sessions_net::IdleCheck::new(Duration::from_secs(5), Duration::from_secs(1));
    /// assert_eq!(check.within(), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub const fn within(&self) -> Duration {
        self.within
    }

    /// Whether `lease`'s connection is due a check: it sat unused for at least
    /// [`after`](Self::after), and this call did not just open it.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sessions_net::{IdleCheck, PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// # actix_web::rt::System::new().block_on(async {
    /// let connections = PerThread::<Conn>::new(Duration::from_secs(1));
    /// let lease = connections.get(|| async { Ok::<_, std::io::Error>(Conn) }).await?;
    /// // A connection this call opened has nothing to prove.
    /// assert!(!IdleCheck::new(Duration::ZERO, Duration::from_secs(1)).is_due(&lease));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn is_due<C: ThreadConnection + Clone>(&self, lease: &Lease<C>) -> bool {
        !lease.is_fresh() && lease.idle() >= self.after
    }

    /// The calling thread's connection from `connections` (opened with `open` if need be, as
    /// [`PerThread::get`] does); one that is [due](Self::is_due) a check is first given to
    /// `check`, which says whether it answered. One that did not answer within
    /// [`within`](Self::within) is discarded, logged at `debug` with `server`, and replaced by a
    /// newly opened one.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sessions_net::{IdleCheck, PerThread, ThreadConnection};
    /// #[derive(Clone)]
    /// struct Conn(u32);
    /// impl ThreadConnection for Conn {}
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let connections = PerThread::<Conn>::new(Duration::from_secs(1));
    /// let opened = std::sync::atomic::AtomicU32::new(0);
    /// let open = || async {
    ///     Ok::<_, std::io::Error>(Conn(opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst)))
    /// };
    /// let check = IdleCheck::new(Duration::ZERO, Duration::from_secs(1));
    /// connections.get(open).await?;
    /// // Checked before every call; this check fails, so a second connection opens.
    /// let lease = check.lease(&connections, open, |_conn| async { false }, &"example").await?;
    /// assert_eq!(lease.connection().0, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`PerThread::get`], for the first opening or for the replacement.
    pub async fn lease<C, E, F, Fut, K, KFut>(
        &self,
        connections: &PerThread<C>,
        open: F,
        check: K,
        server: &dyn fmt::Display,
    ) -> Result<Lease<C>, OpenError<E>>
    where
        C: ThreadConnection + Clone,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<C, E>>,
        K: FnOnce(C) -> KFut,
        KFut: Future<Output = bool>,
    {
        let lease = connections.get(&open).await?;
        if !self.is_due(&lease) {
            return Ok(lease);
        }
        // Boxed: a check runs at most once per idle period, and inline its future and the
        // replacement's would make every call's future (which callers box and move) larger.
        Box::pin(self.check_or_replace(connections, lease, open, check, server)).await
    }

    async fn check_or_replace<C, E, F, Fut, K, KFut>(
        &self,
        connections: &PerThread<C>,
        lease: Lease<C>,
        open: F,
        check: K,
        server: &dyn fmt::Display,
    ) -> Result<Lease<C>, OpenError<E>>
    where
        C: ThreadConnection + Clone,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<C, E>>,
        K: FnOnce(C) -> KFut,
        KFut: Future<Output = bool>,
    {
        let checked = check(lease.connection().clone());
        if matches!(tokio::time::timeout(self.within, checked).await, Ok(true)) {
            return Ok(lease);
        }
        tracing::debug!(%server, idle = ?lease.idle(), "replacing an idle connection that failed its check");
        lease.discard();
        connections.get(open).await
    }
}
