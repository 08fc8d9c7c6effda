//! [`MemcachedStoreBuilder`] and [`BuildError`].

use std::fmt;
use std::time::Duration;

use sessions_core::StoreError;

use crate::config::{DEFAULT_KEY_PREFIX, Settings};
use crate::key::check_prefix;
use crate::nodes::Nodes;
use crate::server::{Credentials, Protocol, ServerConfig};
use crate::socket::Tls;
use crate::store::{MemcachedStore, with_retry};
use crate::transport::Server;

/// Configures a [`MemcachedStore`]. Made by [`MemcachedStore::builder`].
///
/// Server URLs are `memcache://[user:password@]host[:port]` for the text protocol (with ASCII
/// authentication when credentials are given) and `memcache+binary://[user:password@]host[:port]`
/// for the binary protocol (with SASL PLAIN when credentials are given). The port defaults to
/// 11211; user and password are percent-decoded. A bare `host:port` means `memcache://host:port`.
///
/// ```
/// use std::time::Duration;
/// use sessions_memcached::MemcachedStore;
///
/// let store = MemcachedStore::builder("memcache+binary://cache-1.internal:11211")
///     .server("memcache+binary://cache-2.internal:11211")
///     .credentials("app", "secret")
///     .key_prefix("shop:session:")
///     .pool_size(8)
///     .connect_timeout(Duration::from_millis(500))
///     .io_timeout(Duration::from_millis(250))
///     .max_value_size(512 * 1024)
///     .build()
///     .unwrap();
/// assert!(!format!("{store:?}").contains("secret"));
/// ```
#[must_use = "a builder does nothing until `build` or `connect` is called"]
pub struct MemcachedStoreBuilder {
    servers: Vec<Result<ServerConfig, BuildError>>,
    credentials: Option<Credentials>,
    key_prefix: String,
    settings: Settings,
    tls: Tls,
}

impl MemcachedStoreBuilder {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            servers: vec![ServerConfig::parse(url, 1)],
            credentials: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            settings: Settings::default(),
            tls: Tls::default(),
        }
    }

    /// Adds another server. Sessions are spread over the servers by a consistent-hash ring
    /// (ketama, as libmemcached builds it), so adding or removing one of N servers moves
    /// about 1/N of the sessions. Defaults to only the server given to
    /// [`MemcachedStore::builder`].
    ///
    /// ```
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://10.0.0.1")
    ///     .server("memcache://10.0.0.2");
    /// # builder.build().unwrap();
    /// ```
    pub fn server(mut self, url: impl AsRef<str>) -> Self {
        let position = self.servers.len() + 1;
        self.servers
            .push(ServerConfig::parse(url.as_ref(), position));
        self
    }

    /// The share of the ring of the server added last (by [`MemcachedStore::builder`] or
    /// [`server`](Self::server)), relative to the other servers' weights: a server of weight 2
    /// keeps about twice as many sessions as one of weight 1. Defaults to 1.
    ///
    /// Weights are libmemcached's (`memcached_server_add_with_weight` with
    /// `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`): another client with the same servers and weights
    /// finds the same server for a key.
    ///
    /// ```
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://10.0.0.1")
    ///     .weight(2)
    ///     .server("memcache://10.0.0.2");
    /// # builder.build().unwrap();
    /// ```
    pub fn weight(mut self, weight: u32) -> Self {
        if let Some(Ok(server)) = self.servers.last_mut() {
            server.weight = weight;
        }
        self
    }

    /// How many requests in a row a server may fail (unreachable, timed out, connection
    /// broken) before it is ejected from the ring for the [retry
    /// interval](Self::retry_interval); 0 never ejects. Defaults to
    /// [`DEFAULT_EJECT_AFTER`](crate::DEFAULT_EJECT_AFTER) (3). Only used with several
    /// servers.
    ///
    /// While a server is ejected its keys go to the next server on the ring: its users' sessions
    /// are not found there, so they start fresh (signed out). Before it rejoins it is flushed,
    /// so nothing written before its ejection (a session logged out meanwhile) comes back; the
    /// sessions created elsewhere meanwhile are not found any more either.
    ///
    /// ```
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://10.0.0.1")
    ///     .server("memcache://10.0.0.2")
    ///     .eject_after(5);
    /// # builder.build().unwrap();
    /// ```
    pub fn eject_after(mut self, failures: u32) -> Self {
        self.settings.eject_after = failures;
        self
    }

    /// How long an ejected server stays out of the ring; then one request flushes it, and it
    /// rejoins if the flush succeeds (or stays out for another interval, and the request goes
    /// to the next server). Defaults to
    /// [`DEFAULT_RETRY_INTERVAL`](crate::DEFAULT_RETRY_INTERVAL) (5 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://10.0.0.1")
    ///     .server("memcache://10.0.0.2")
    ///     .retry_interval(Duration::from_secs(30));
    /// # builder.build().unwrap();
    /// ```
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.settings.retry_interval = interval;
        self
    }

    /// Speaks TLS to every server (memcached's `-Z`), with `config`: its root certificates
    /// (a private certificate authority, the platform's, or Mozilla's), client certificate and
    /// crypto provider are the application's choice. The server's certificate must be valid for
    /// the host in its URL (a name or an IP address). Defaults to plain TCP.
    ///
    /// Credentials, when given, are sent inside the TLS session: SASL PLAIN (binary protocol)
    /// and ASCII authentication (text protocol) both send the password as it is.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sessions_memcached::rustls::{ClientConfig, RootCertStore};
    /// # let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// // `provider`: the application's rustls crypto provider (ring or aws-lc-rs).
    /// let roots = RootCertStore::empty(); // add the certificate authority of the servers
    /// let config = ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache+binary://cache.internal")
    ///     .tls(Arc::new(config));
    /// # builder.build().unwrap();
    /// ```
    #[cfg(feature = "tls-rustls")]
    pub fn tls(mut self, config: std::sync::Arc<crate::rustls::ClientConfig>) -> Self {
        self.tls = Tls::new(config);
        self
    }

    /// Authenticates to every server as `username` with `password`, replacing any credentials
    /// in the URLs: SASL PLAIN on the binary protocol, ASCII authentication (memcached `-Y`) on
    /// the text protocol. Defaults to the URLs' user info, and to no authentication without it.
    ///
    /// The password never appears in `Debug` output, errors or logs.
    ///
    /// ```
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache+binary://mc.example.com")
    ///     .credentials("app", std::env::var("MEMCACHED_PASSWORD").unwrap_or_default());
    /// # let _ = builder;
    /// ```
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// The prefix put before session keys, to share a memcached with other data. Defaults to
    /// [`DEFAULT_KEY_PREFIX`] (`"session:"`).
    ///
    /// Printable ASCII only, and at most 207 bytes (memcached keys are at most 250 bytes).
    ///
    /// ```
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1").key_prefix("");
    /// # builder.build().unwrap();
    /// ```
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The most connections kept open to each server by the text transport. Defaults to
    /// [`DEFAULT_POOL_SIZE`](crate::DEFAULT_POOL_SIZE) (16).
    ///
    /// Over the text protocol this is the size of a pool that lends each connection to one
    /// request at a time. The binary protocol ignores it: each thread (each actix-web worker)
    /// has one connection per server for all its requests, which share its system calls; no
    /// more connections open than there are threads using the store.
    ///
    /// ```
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1").pool_size(4);
    /// # builder.build().unwrap();
    /// ```
    pub fn pool_size(mut self, size: usize) -> Self {
        self.settings.pool_size = size;
        self
    }

    /// How long opening a connection may take, authentication included (for the binary
    /// protocol, also the wait for a connection another request is opening). Defaults to
    /// [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT) (2 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1")
    ///     .connect_timeout(Duration::from_secs(1));
    /// # builder.build().unwrap();
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long a request may wait for its reply, and (text protocol) for a free connection
    /// when all of a server's pooled connections are busy. Defaults to
    /// [`DEFAULT_IO_TIMEOUT`](crate::DEFAULT_IO_TIMEOUT) (1 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1")
    ///     .io_timeout(Duration::from_millis(300));
    /// # builder.build().unwrap();
    /// ```
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.settings.io_timeout = timeout;
        self
    }

    /// A connection unused for this long is checked with a no-op (binary `NOOP`, text `mn` or
    /// `version`, bounded by the [I/O timeout](Self::io_timeout)) before its next request, and
    /// replaced if the check fails: a NAT, a firewall or a load balancer may have dropped it
    /// silently meanwhile, and a request sent on it would wait for the I/O timeout and fail (a
    /// write with an unknown outcome). Connections in steady use are not checked, which saves a
    /// round trip per request. [`Duration::ZERO`] checks before every request. Defaults to
    /// [`DEFAULT_PING_AFTER_IDLE`](crate::DEFAULT_PING_AFTER_IDLE) (30 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1")
    ///     .ping_after_idle(Duration::from_secs(10));
    /// # builder.build().unwrap();
    /// ```
    pub fn ping_after_idle(mut self, idle: Duration) -> Self {
        self.settings.ping_after_idle = idle;
        self
    }

    /// The largest session payload, in bytes; larger ones fail with
    /// [`StoreError::too_large`] before anything is sent. Defaults to
    /// [`DEFAULT_MAX_VALUE_SIZE`](crate::DEFAULT_MAX_VALUE_SIZE) (1 MiB, memcached's default
    /// item size). Raise it together with memcached's `-I`.
    ///
    /// ```
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1")
    ///     .max_value_size(64 * 1024);
    /// # builder.build().unwrap();
    /// ```
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.settings.max_value_size = bytes;
        self
    }

    /// Builds the store without contacting the servers: connections open on first use.
    ///
    /// ```
    /// let store = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1:11211").build();
    /// assert!(store.is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// [`BuildError`] for an invalid URL, credentials, key prefix, pool size or timeout.
    pub fn build(self) -> Result<MemcachedStore, BuildError> {
        self.validate_settings()?;
        let servers = self
            .servers
            .into_iter()
            .enumerate()
            .map(|(index, server)| {
                let mut server = server?;
                if server.weight == 0 {
                    return Err(BuildError::ZeroWeight {
                        position: index + 1,
                    });
                }
                if let Some(credentials) = &self.credentials {
                    server.credentials = Some(credentials.clone());
                }
                check_credentials(&server)?;
                Server::new(server, &self.settings, &self.tls).map_err(BuildError::Pool)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MemcachedStore::from_parts(
            Nodes::new(servers, &self.settings),
            self.key_prefix,
            self.settings.max_value_size,
        ))
    }

    /// Builds the store and checks every server now: one connection each is opened,
    /// authenticated and asked for its version. Wrong credentials or an unreachable server fail
    /// here, at startup, instead of on the first request.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sessions_memcached::BuildError> {
    /// let store = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1:11211")
    ///     .connect()
    ///     .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`build`](Self::build), and [`BuildError::Unreachable`] when a server cannot be
    /// reached, does not answer in time or refuses the credentials.
    pub async fn connect(self) -> Result<MemcachedStore, BuildError> {
        let store = self.build()?;
        for server in store.servers() {
            let version = with_retry(server, || server.version())
                .await
                .map_err(|source| BuildError::Unreachable {
                    server: server.to_string(),
                    source,
                })?;
            tracing::debug!(server = %server, version, "memcached server reachable");
        }
        Ok(store)
    }

    fn validate_settings(&self) -> Result<(), BuildError> {
        check_prefix(&self.key_prefix).map_err(|problem| BuildError::InvalidKeyPrefix {
            reason: problem.to_string(),
        })?;
        if self.settings.pool_size == 0 {
            return Err(BuildError::ZeroPoolSize);
        }
        if self.settings.connect_timeout.is_zero() {
            return Err(BuildError::ZeroTimeout { which: "connect" });
        }
        if self.settings.io_timeout.is_zero() {
            return Err(BuildError::ZeroTimeout { which: "I/O" });
        }
        if self.settings.retry_interval.is_zero() {
            return Err(BuildError::ZeroTimeout {
                which: "retry interval",
            });
        }
        Ok(())
    }
}

/// Credentials must fit the authentication they are sent with.
fn check_credentials(server: &ServerConfig) -> Result<(), BuildError> {
    let Some(credentials) = &server.credentials else {
        return Ok(());
    };
    let invalid = |reason: &str| {
        Err(BuildError::InvalidCredentials {
            reason: format!("{reason} (server {server})"),
        })
    };
    if credentials.username.is_empty() {
        return invalid("the user name is empty");
    }
    let fields = [&credentials.username, &credentials.password];
    match server.protocol {
        // ASCII authentication sends `<user> <password>` as one line.
        Protocol::Text
            if fields
                .iter()
                .any(|field| field.chars().any(|c| c.is_whitespace() || c.is_control())) =>
        {
            invalid(
                "ASCII authentication cannot carry whitespace or control characters in the user name or password",
            )
        }
        // SASL PLAIN separates the fields with NUL bytes.
        Protocol::Binary if fields.iter().any(|field| field.contains('\0')) => {
            invalid("SASL PLAIN cannot carry NUL characters in the user name or password")
        }
        _ => Ok(()),
    }
}

impl fmt::Debug for MemcachedStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedStoreBuilder")
            .field("servers", &self.servers)
            .field("credentials", &self.credentials)
            .field("key_prefix", &self.key_prefix)
            .field("settings", &self.settings)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Why a [`MemcachedStore`] could not be built.
///
/// Messages name servers by position or by their URL with the password redacted; they never
/// contain a password.
///
/// ```
/// use sessions_memcached::{BuildError, MemcachedStore};
///
/// let err = MemcachedStore::builder("redis://user:hunter2@127.0.0.1").build().unwrap_err();
/// assert!(matches!(err, BuildError::UnsupportedScheme { position: 1, .. }));
/// assert!(!err.to_string().contains("hunter2"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A server URL does not parse.
    InvalidUrl {
        /// The URL's position among the servers, from 1.
        position: usize,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// A server URL's scheme is not `memcache`, `memcached`, `memcache+binary` or `memcached+binary`.
    UnsupportedScheme {
        /// The URL's position among the servers, from 1.
        position: usize,
        /// The scheme found.
        scheme: String,
    },
    /// A server URL has no host.
    MissingHost {
        /// The URL's position among the servers, from 1.
        position: usize,
    },
    /// A server URL has a path, query or fragment, which would be ignored.
    UnexpectedUrlPart {
        /// The URL's position among the servers, from 1.
        position: usize,
    },
    /// Credentials that the server's authentication cannot carry.
    InvalidCredentials {
        /// What is wrong with them (never the password itself).
        reason: String,
    },
    /// A key prefix that cannot be part of a memcached key.
    InvalidKeyPrefix {
        /// What is wrong with it.
        reason: String,
    },
    /// A pool size of zero.
    ZeroPoolSize,
    /// A server of weight zero, which would keep no sessions.
    ZeroWeight {
        /// The server's position, from 1.
        position: usize,
    },
    /// A zero timeout, which would fail every request.
    ZeroTimeout {
        /// Which timeout: `"connect"`, `"I/O"` or `"retry interval"`.
        which: &'static str,
    },
    /// The connection pool could not be created.
    Pool(deadpool::managed::BuildError),
    /// [`MemcachedStoreBuilder::connect`] could not use a server.
    Unreachable {
        /// The server's URL, password redacted.
        server: String,
        /// What failed: connecting, authenticating or the version request.
        source: StoreError,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { position, .. } => {
                write!(f, "memcached server URL #{position} is not a valid URL")
            }
            Self::UnsupportedScheme { position, scheme } => write!(
                f,
                "memcached server URL #{position} has the scheme `{scheme}`; expected `memcache` (text protocol) \
                 or `memcache+binary` (binary protocol)"
            ),
            Self::MissingHost { position } => {
                write!(f, "memcached server URL #{position} has no host")
            }
            Self::UnexpectedUrlPart { position } => {
                write!(
                    f,
                    "memcached server URL #{position} has a path, query or fragment; only user info, host and port are used"
                )
            }
            Self::InvalidCredentials { reason } => {
                write!(f, "invalid memcached credentials: {reason}")
            }
            Self::InvalidKeyPrefix { reason } => {
                write!(f, "invalid memcached key prefix: {reason}")
            }
            Self::ZeroPoolSize => f.write_str("the memcached pool size must be at least 1"),
            Self::ZeroWeight { position } => {
                write!(
                    f,
                    "the weight of memcached server #{position} must be at least 1"
                )
            }
            Self::ZeroTimeout { which } => {
                write!(f, "the memcached {which} timeout must be longer than zero")
            }
            Self::Pool(_) => f.write_str("the memcached connection pool could not be created"),
            Self::Unreachable { server, .. } => write!(f, "memcached on {server} cannot be used"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidUrl { source, .. } => Some(source),
            Self::Pool(source) => Some(source),
            Self::Unreachable { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemcachedStore;

    #[test]
    fn rejects_invalid_settings() {
        let builder = || MemcachedStore::builder("memcache://127.0.0.1");
        assert!(matches!(
            builder().pool_size(0).build(),
            Err(BuildError::ZeroPoolSize)
        ));
        assert!(matches!(
            builder().io_timeout(Duration::ZERO).build(),
            Err(BuildError::ZeroTimeout { .. })
        ));
        assert!(matches!(
            builder().key_prefix("a b").build(),
            Err(BuildError::InvalidKeyPrefix { .. })
        ));
        assert!(matches!(
            builder().server("ftp://x").build(),
            Err(BuildError::UnsupportedScheme { position: 2, .. })
        ));
    }

    #[test]
    fn rejects_credentials_the_protocol_cannot_carry() {
        let text = MemcachedStore::builder("memcache://127.0.0.1")
            .credentials("app", "two words")
            .build();
        assert!(matches!(text, Err(BuildError::InvalidCredentials { .. })));
        let binary = MemcachedStore::builder("memcache+binary://127.0.0.1")
            .credentials("app", "nul\0")
            .build();
        assert!(matches!(binary, Err(BuildError::InvalidCredentials { .. })));
        let binary = MemcachedStore::builder("memcache+binary://127.0.0.1")
            .credentials("app", "two words")
            .build();
        assert!(binary.is_ok());
        let empty_user = MemcachedStore::builder("memcache://:pw@127.0.0.1").build();
        assert!(matches!(
            empty_user,
            Err(BuildError::InvalidCredentials { .. })
        ));
    }

    #[test]
    fn debug_never_shows_passwords() {
        let builder = MemcachedStore::builder("memcache+binary://u:url-secret@h")
            .credentials("u", "given-secret");
        let printed = format!("{builder:?}");
        assert!(
            !printed.contains("url-secret") && !printed.contains("given-secret"),
            "{printed}"
        );
        let store = builder.build().unwrap();
        let printed = format!("{store:?}");
        assert!(
            !printed.contains("given-secret") && printed.contains("u:<redacted>@h:11211"),
            "{printed}"
        );
    }
}
