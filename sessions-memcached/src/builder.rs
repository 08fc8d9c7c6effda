//! [`MemcachedStoreBuilder`], and the constructors of [`MemcachedStore`] that use it.

use std::fmt;
use std::time::Duration;

use sessions_net::{DEFAULT_KEY_PREFIX, ZeroTimeout};

use crate::build_error::MemcachedBuildError;
use crate::config::Settings;
use crate::key::check_prefix;
use crate::nodes::Nodes;
use crate::retry::with_retry;
use crate::server::{Credentials, Protocol, ServerConfig};
use crate::socket::Tls;
use crate::store::MemcachedStore;
use crate::transport::Server;

impl MemcachedStore {
    /// A builder for a store on the server at `url`; see [`MemcachedStoreBuilder`].
    ///
    /// ```
    /// let store = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1:11211")
    ///     .key_prefix("myapp:session:")
    ///     .build()
    ///     .unwrap();
    /// # let _ = store;
    /// ```
    pub fn builder(url: impl AsRef<str>) -> MemcachedStoreBuilder {
        MemcachedStoreBuilder::new(url.as_ref())
    }

    /// A store on the server at `url` with default settings, connecting lazily.
    ///
    /// ```
    /// let store = sessions_memcached::MemcachedStore::new("memcache://127.0.0.1:11211").unwrap();
    /// # let _ = store;
    /// ```
    ///
    /// # Errors
    ///
    /// [`MemcachedBuildError`] when the URL is invalid.
    pub fn new(url: impl AsRef<str>) -> Result<Self, MemcachedBuildError> {
        Self::builder(url).build()
    }
}

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
///     .connect_timeout(Duration::from_millis(500))
///     .io_timeout(Duration::from_millis(250))
///     .max_value_size(512 * 1024)
///     .build()
///     .unwrap();
/// assert!(!format!("{store:?}").contains("secret"));
/// ```
#[must_use = "a builder does nothing until `build` or `connect` is called"]
pub struct MemcachedStoreBuilder {
    servers: Vec<Result<ServerConfig, MemcachedBuildError>>,
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

    /// Does nothing: no transport pools connections any more. Each thread (each actix-web
    /// worker) has one connection per server for all its requests, which share its system
    /// calls; no more connections open than there are threads using the store.
    ///
    /// ```
    /// #[allow(deprecated)]
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1").pool_size(4);
    /// # builder.build().unwrap();
    /// ```
    #[deprecated(
        since = "0.1.1",
        note = "no transport pools connections: each worker thread shares one connection per server"
    )]
    pub fn pool_size(self, _size: usize) -> Self {
        self
    }

    /// How long opening a connection may take, authentication included (and the wait for a
    /// connection another request on the same thread is opening). Defaults to
    /// [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT) (2 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1")
    ///     .connect_timeout(Duration::from_secs(1));
    /// # builder.build().unwrap();
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeouts = self.settings.timeouts.with_connect(timeout);
        self
    }

    /// How long a request may wait for its reply. Defaults to
    /// [`DEFAULT_IO_TIMEOUT`](crate::DEFAULT_IO_TIMEOUT) (1 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1")
    ///     .io_timeout(Duration::from_millis(300));
    /// # builder.build().unwrap();
    /// ```
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeouts = self.settings.timeouts.with_io(timeout);
        self
    }

    /// A connection unused for this long is checked with a no-op (binary `NOOP`, text `mn`,
    /// bounded by the [I/O timeout](Self::io_timeout)) before its next request, and
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
    /// [`StoreError::too_large`](sessions_core::StoreError::too_large) before anything is sent. Defaults to
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
    /// [`MemcachedBuildError`] for an invalid URL, credentials, key prefix or timeout.
    pub fn build(self) -> Result<MemcachedStore, MemcachedBuildError> {
        self.validate_settings()?;
        let servers = self
            .servers
            .into_iter()
            .enumerate()
            .map(|(index, server)| {
                let mut server = server?;
                if server.weight == 0 {
                    return Err(MemcachedBuildError::ZeroWeight {
                        position: index + 1,
                    });
                }
                if let Some(credentials) = &self.credentials {
                    server.credentials = Some(credentials.clone());
                }
                check_credentials(&server)?;
                Ok(Server::new(server, &self.settings, &self.tls))
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
    /// # async fn run() -> Result<(), sessions_memcached::MemcachedBuildError> {
    /// let store = sessions_memcached::MemcachedStore::builder("memcache://127.0.0.1:11211")
    ///     .connect()
    ///     .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`build`](Self::build), and [`MemcachedBuildError::Unreachable`] when a server
    /// cannot be reached, does not answer in time or refuses the credentials.
    pub async fn connect(self) -> Result<MemcachedStore, MemcachedBuildError> {
        let store = self.build()?;
        for server in store.servers() {
            let version = with_retry(server, || server.version())
                .await
                .map_err(|source| MemcachedBuildError::Unreachable {
                    server: server.to_string(),
                    source,
                })?;
            tracing::debug!(server = %server, version, "memcached server reachable");
        }
        Ok(store)
    }

    fn validate_settings(&self) -> Result<(), MemcachedBuildError> {
        check_prefix(&self.key_prefix).map_err(|problem| {
            MemcachedBuildError::InvalidKeyPrefix {
                reason: problem.to_string(),
            }
        })?;
        self.settings.timeouts.validate()?;
        ZeroTimeout::check("retry_interval", self.settings.retry_interval)?;
        Ok(())
    }
}

/// Credentials must fit the authentication they are sent with.
fn check_credentials(server: &ServerConfig) -> Result<(), MemcachedBuildError> {
    let Some(credentials) = &server.credentials else {
        return Ok(());
    };
    let invalid = |reason: &str| {
        Err(MemcachedBuildError::InvalidCredentials {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemcachedStore;

    #[test]
    fn rejects_invalid_settings() {
        let builder = || MemcachedStore::builder("memcache://127.0.0.1");
        assert!(matches!(
            builder().io_timeout(Duration::ZERO).build(),
            Err(MemcachedBuildError::ZeroTimeout {
                setting: "io_timeout"
            })
        ));
        assert!(matches!(
            builder().connect_timeout(Duration::ZERO).build(),
            Err(MemcachedBuildError::ZeroTimeout {
                setting: "connect_timeout"
            })
        ));
        assert!(matches!(
            builder().retry_interval(Duration::ZERO).build(),
            Err(MemcachedBuildError::ZeroTimeout {
                setting: "retry_interval"
            })
        ));
        assert!(matches!(
            builder().key_prefix("a b").build(),
            Err(MemcachedBuildError::InvalidKeyPrefix { .. })
        ));
        assert!(matches!(
            builder().server("ftp://x").build(),
            Err(MemcachedBuildError::UnsupportedScheme { position: 2, .. })
        ));
    }

    #[test]
    fn rejects_credentials_the_protocol_cannot_carry() {
        let text = MemcachedStore::builder("memcache://127.0.0.1")
            .credentials("app", "two words")
            .build();
        assert!(matches!(
            text,
            Err(MemcachedBuildError::InvalidCredentials { .. })
        ));
        let binary = MemcachedStore::builder("memcache+binary://127.0.0.1")
            .credentials("app", "nul\0")
            .build();
        assert!(matches!(
            binary,
            Err(MemcachedBuildError::InvalidCredentials { .. })
        ));
        let binary = MemcachedStore::builder("memcache+binary://127.0.0.1")
            .credentials("app", "two words")
            .build();
        assert!(binary.is_ok());
        let empty_user = MemcachedStore::builder("memcache://:pw@127.0.0.1").build();
        assert!(matches!(
            empty_user,
            Err(MemcachedBuildError::InvalidCredentials { .. })
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
