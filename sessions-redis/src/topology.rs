//! Where the store's Redis is: one server, a Sentinel-watched primary, or a Cluster; parsed
//! from the URL, and how a connection to it is opened.
//!
//! ```text
//! redis://[[user]:password@]host[:port][/db]                       one server (rediss: TLS)
//! redis+sentinel://[[user]:password@]host:port[,host:port…]/name[/db]   the primary named `name`
//! redis+cluster://[[user]:password@]host:port[,host:port…]         a Cluster, from seed nodes
//! ```
//!
//! Neither the URL nor anything taken from it but the node count and the Sentinel service
//! name is kept for `Debug` or errors: it may carry a password.

use std::fmt;

use deadpool_redis::redis::cluster::{ClusterClient, ClusterClientBuilder};
use deadpool_redis::redis::sentinel::{SentinelClientBuilder, SentinelServerType};
use deadpool_redis::redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisError,
    TlsMode,
};

use crate::config::Config;
use crate::connection::Conn;

/// The deployment a store talks to.
#[allow(
    clippy::large_enum_variant,
    reason = "one per store, read only when a connection opens"
)]
pub(crate) enum Topology {
    /// One server (or a proxy in front of several).
    Standalone(Client),
    /// The primary that Sentinel names, asked again at every connection opening.
    Sentinel(Box<Sentinel>),
    /// A Redis Cluster, discovered from its seed nodes.
    Cluster(ClusterClient),
}

/// What is needed to ask the sentinels for the primary, and to connect to it.
pub(crate) struct Sentinel {
    sentinels: Vec<ConnectionAddr>,
    service: String,
    username: Option<String>,
    password: Option<String>,
    db: i64,
    tls: bool,
    #[cfg(feature = "tls-rustls")]
    certificates: Option<deadpool_redis::redis::TlsCertificates>,
}

impl Topology {
    /// Parses `url` (see the [module documentation](self)).
    pub(crate) fn parse(url: &str, config: &Config) -> Result<Self, RedisError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            invalid("a Redis URL starts with redis://, redis+sentinel:// or redis+cluster://")
        })?;
        match scheme {
            "redis+sentinel" | "rediss+sentinel" => {
                Sentinel::parse(scheme.starts_with("rediss"), rest, config)
                    .map(|sentinel| Self::Sentinel(Box::new(sentinel)))
            }
            "redis+cluster" | "rediss+cluster" => {
                cluster(scheme.starts_with("rediss"), rest, config).map(Self::Cluster)
            }
            _ => standalone(url, config).map(Self::Standalone),
        }
    }

    /// Opens a connection: to the server, to the primary the sentinels name now, or to the
    /// Cluster (one connection per node, made by the client). Unbounded: the caller applies the
    /// connection timeout (which the clients also apply to each TCP connect).
    pub(crate) async fn open(&self, config: &AsyncConnectionConfig) -> Result<Conn, RedisError> {
        match self {
            Self::Standalone(client) => client
                .get_multiplexed_async_connection_with_config(config)
                .await
                .map(Conn::Single),
            Self::Sentinel(sentinel) => sentinel.open(config).await.map(Conn::Single),
            Self::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        }
    }

    /// Whether `READONLY` (a demoted primary) should drop the connection: not for a Cluster,
    /// whose client refreshes its slot map and routes to the new primary by itself.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standalone(_) => f.write_str("Standalone"),
            Self::Sentinel(sentinel) => f
                .debug_struct("Sentinel")
                .field("service", &sentinel.service)
                .field("sentinels", &sentinel.sentinels.len())
                .finish_non_exhaustive(),
            Self::Cluster(_) => f.write_str("Cluster"),
        }
    }
}

/// An error about the URL that does not quote it.
fn invalid(reason: &'static str) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, reason))
}

fn standalone(url: &str, config: &Config) -> Result<Client, RedisError> {
    #[cfg(feature = "tls-rustls")]
    if let Some(certificates) = &config.tls {
        return Client::build_with_tls(url, certificates.clone());
    }
    #[cfg(not(feature = "tls-rustls"))]
    let _ = config;
    Client::open(url)
}

/// A URL's parts after the scheme: `[userinfo@]host:port[,host:port…][/path][?query]`.
struct Parts<'a> {
    userinfo: Option<&'a str>,
    hosts: Vec<&'a str>,
    path: &'a str,
    query: &'a str,
}

impl<'a> Parts<'a> {
    fn parse(rest: &'a str) -> Result<Self, RedisError> {
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let hosts: Vec<&str> = hosts.split(',').filter(|host| !host.is_empty()).collect();
        if hosts.is_empty() {
            return Err(invalid("the Redis URL names no host"));
        }
        Ok(Self {
            userinfo,
            hosts,
            path,
            query,
        })
    }

    /// `scheme://[userinfo@]host[/path][?query]` for one of the hosts.
    fn node_url(&self, scheme: &str, host: &str, path: &str) -> String {
        let mut url = format!("{scheme}://");
        if let Some(userinfo) = self.userinfo {
            url.push_str(userinfo);
            url.push('@');
        }
        url.push_str(host);
        if !path.is_empty() {
            url.push('/');
            url.push_str(path);
        }
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(self.query);
        }
        url
    }
}

fn cluster(tls: bool, rest: &str, config: &Config) -> Result<ClusterClient, RedisError> {
    let parts = Parts::parse(rest)?;
    if !matches!(parts.path, "" | "0") {
        return Err(invalid(
            "a Redis Cluster has only database 0: a redis+cluster:// URL has no path",
        ));
    }
    let scheme = if tls { "rediss" } else { "redis" };
    let nodes: Vec<String> = parts
        .hosts
        .iter()
        .map(|host| parts.node_url(scheme, host, ""))
        .collect();
    let timeouts = config.timeouts;
    // No retries inside the client: it would send a write again after a broken connection,
    // when the first one may have been applied. The store retries what is safe to retry (see
    // `crate::command`).
    let builder = ClusterClientBuilder::new(nodes)
        .retries(0)
        .connection_timeout(timeouts.connect())
        .response_timeout(timeouts.io());
    #[cfg(feature = "tls-rustls")]
    let builder = match &config.tls {
        Some(certificates) => builder.certs(certificates.clone()),
        None => builder,
    };
    builder.build()
}

impl Sentinel {
    fn parse(tls: bool, rest: &str, config: &Config) -> Result<Self, RedisError> {
        #[cfg(not(feature = "tls-rustls"))]
        let _ = config;
        let parts = Parts::parse(rest)?;
        let (service, db) = parts.path.split_once('/').unwrap_or((parts.path, ""));
        if service.is_empty() {
            return Err(invalid(
                "a redis+sentinel:// URL names the primary after the hosts: /<name>[/<db>]",
            ));
        }
        let db = match db {
            "" => 0,
            db => db
                .parse()
                .map_err(|_| invalid("the database is not a number"))?,
        };
        let sentinels = parts
            .hosts
            .iter()
            .map(|host| {
                let info = format!("redis://{host}").into_connection_info()?;
                Ok(info.addr().clone())
            })
            .collect::<Result<Vec<_>, RedisError>>()?;
        // The credentials are the primary's; parsed by the client, which decodes them.
        let credentials = parts
            .node_url("redis", parts.hosts[0], "")
            .into_connection_info()?;
        let settings = credentials.redis_settings();
        Ok(Self {
            sentinels,
            service: service.to_owned(),
            username: settings.username().map(str::to_owned),
            password: settings.password().map(str::to_owned),
            db,
            tls,
            #[cfg(feature = "tls-rustls")]
            certificates: config.tls.clone(),
        })
    }

    /// Asks the sentinels for the primary (the client checks its `ROLE`), and connects to it.
    /// A new client each time: its connections to the sentinels are driven by the runtime that
    /// opened them, so one kept between threads would couple them again.
    async fn open(
        &self,
        config: &AsyncConnectionConfig,
    ) -> Result<deadpool_redis::redis::aio::MultiplexedConnection, RedisError> {
        let mut builder = SentinelClientBuilder::new(
            self.sentinels.clone(),
            &self.service,
            SentinelServerType::Master,
        )?
        .set_client_to_redis_db(self.db);
        if let Some(username) = &self.username {
            builder = builder.set_client_to_redis_username(username);
        }
        if let Some(password) = &self.password {
            builder = builder.set_client_to_redis_password(password);
        }
        if self.tls {
            builder = builder
                .set_client_to_redis_tls_mode(TlsMode::Secure)
                .set_client_to_sentinel_tls_mode(TlsMode::Secure);
        }
        #[cfg(feature = "tls-rustls")]
        if let Some(certificates) = &self.certificates {
            builder = builder
                .set_client_to_redis_certificates(certificates.clone())
                .set_client_to_sentinel_certificates(certificates.clone());
        }
        builder
            .build()?
            .get_async_connection_with_config(config)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Topology, RedisError> {
        Topology::parse(url, &Config::default())
    }

    #[test]
    fn schemes_pick_the_topology() {
        assert!(matches!(
            parse("redis://127.0.0.1:6379/2"),
            Ok(Topology::Standalone(_))
        ));
        assert!(matches!(
            parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001"),
            Ok(Topology::Cluster(_))
        ));
        let Ok(Topology::Sentinel(sentinel)) =
            parse("redis+sentinel://:pw@127.0.0.1:26379,127.0.0.1:26380/mymaster/3")
        else {
            panic!("a sentinel URL");
        };
        assert_eq!(
            (
                sentinel.service.as_str(),
                sentinel.db,
                sentinel.sentinels.len()
            ),
            ("mymaster", 3, 2)
        );
        assert_eq!(sentinel.password.as_deref(), Some("pw"));
    }

    #[test]
    fn credentials_are_decoded_for_the_primary() {
        let Ok(Topology::Sentinel(sentinel)) =
            parse("redis+sentinel://app%40shop:p%2Fw@127.0.0.1:26379/main")
        else {
            panic!("a sentinel URL");
        };
        assert_eq!(sentinel.username.as_deref(), Some("app@shop"));
        assert_eq!(sentinel.password.as_deref(), Some("p/w"));
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_them() {
        for url in [
            "redis+sentinel://:hunter2@127.0.0.1:26379",
            "redis+sentinel://:hunter2@127.0.0.1:26379/main/x",
            "redis+cluster://:hunter2@127.0.0.1:7000/3",
            "redis+cluster://:hunter2@/",
            "hunter2",
        ] {
            let err = parse(url).err().unwrap_or_else(|| panic!("{url} parsed"));
            assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
        }
    }

    #[test]
    fn debug_shows_the_shape_only() {
        let sentinel = parse("redis+sentinel://:hunter2@127.0.0.1:26379/main").unwrap();
        let cluster = parse("redis+cluster://:hunter2@127.0.0.1:7000").unwrap();
        let printed = format!("{sentinel:?} {cluster:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("main"), "{printed}");
    }
}
