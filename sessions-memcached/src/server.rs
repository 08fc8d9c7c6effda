//! Server addresses: the URL format, the wire protocol it selects and the credentials it carries.

use std::fmt;

use percent_encoding::percent_decode_str;

use crate::build_error::MemcachedBuildError;

/// The port memcached listens on unless a URL names another.
pub const DEFAULT_PORT: u16 = 11211;

/// The wire protocol spoken to a server, chosen by its URL's scheme.
///
/// ```
/// use sessions_memcached::Protocol;
///
/// assert_eq!(Protocol::from_scheme("memcache"), Some(Protocol::Text));
/// assert_eq!(Protocol::from_scheme("memcache+binary"), Some(Protocol::Binary));
/// assert_eq!(Protocol::from_scheme("redis"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// The text protocol, using its meta commands (`mg`, `ms`, `md`) for compare-and-set, with
    /// optional ASCII authentication (memcached's `-Y`). Scheme `memcache` (or `memcached`).
    Text,
    /// The binary protocol, with optional SASL PLAIN authentication (memcached's `-S`, and what
    /// hosted memcached services speak). Scheme `memcache+binary` (or `memcached+binary`).
    Binary,
}

impl Protocol {
    /// The protocol a URL scheme selects, if it is one of ours.
    ///
    /// ```
    /// assert_eq!(
    ///     sessions_memcached::Protocol::from_scheme("memcached+binary"),
    ///     Some(sessions_memcached::Protocol::Binary),
    /// );
    /// ```
    #[must_use]
    pub fn from_scheme(scheme: &str) -> Option<Self> {
        match scheme {
            "memcache" | "memcached" => Some(Self::Text),
            "memcache+binary" | "memcached+binary" => Some(Self::Binary),
            _ => None,
        }
    }

    /// The canonical URL scheme of this protocol.
    ///
    /// ```
    /// assert_eq!(sessions_memcached::Protocol::Binary.scheme(), "memcache+binary");
    /// ```
    #[must_use]
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Text => "memcache",
            Self::Binary => "memcache+binary",
        }
    }
}

/// A user name and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// One server, parsed from its URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ServerConfig {
    pub(crate) protocol: Protocol,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<Credentials>,
    /// The server's share of the ring, relative to the others' (see `crate::ring`).
    pub(crate) weight: u32,
}

impl ServerConfig {
    /// Parses `memcache[+binary]://[user:password@]host[:port]`, or a bare `host:port`.
    ///
    /// `position` (1-based) names the URL in errors: a URL may carry a password, so it never
    /// appears in an error message.
    pub(crate) fn parse(url: &str, position: usize) -> Result<Self, MemcachedBuildError> {
        let with_scheme;
        let url = if url.contains("://") {
            url
        } else {
            with_scheme = format!("memcache://{url}");
            &with_scheme
        };
        let parsed = url::Url::parse(url)
            .map_err(|source| MemcachedBuildError::InvalidUrl { position, source })?;
        let protocol = Protocol::from_scheme(parsed.scheme()).ok_or_else(|| {
            MemcachedBuildError::UnsupportedScheme {
                position,
                scheme: parsed.scheme().to_owned(),
            }
        })?;
        let host = match parsed.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(MemcachedBuildError::MissingHost { position }),
        };
        if !matches!(parsed.path(), "" | "/")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(MemcachedBuildError::UnexpectedUrlPart { position });
        }
        let credentials = url_credentials(&parsed, position)?;
        Ok(Self {
            protocol,
            host,
            port: parsed.port().unwrap_or(DEFAULT_PORT),
            credentials,
            weight: 1,
        })
    }

    /// `host:port`, with IPv6 hosts in brackets.
    pub(crate) fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The user info of a URL, percent-decoded.
fn url_credentials(
    parsed: &url::Url,
    position: usize,
) -> Result<Option<Credentials>, MemcachedBuildError> {
    if parsed.username().is_empty() && parsed.password().is_none() {
        return Ok(None);
    }
    let decode = |text: &str| {
        percent_decode_str(text)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| MemcachedBuildError::InvalidCredentials {
                reason: format!("the user info of server URL #{position} is not UTF-8"),
            })
    };
    Ok(Some(Credentials {
        username: decode(parsed.username())?,
        password: decode(parsed.password().unwrap_or_default())?,
    }))
}

/// Shows the URL with the password replaced, for logs and `Debug`.
impl fmt::Display for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.protocol.scheme())?;
        if let Some(credentials) = &self.credentials {
            write!(f, "{}:<redacted>@", credentials.username)?;
        }
        f.write_str(&self.address())
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scheme_host_port_and_credentials() {
        let server =
            ServerConfig::parse("memcache+binary://app%40corp:p%3Ass@cache.example:21212", 1)
                .unwrap();
        assert_eq!(server.protocol, Protocol::Binary);
        assert_eq!(server.address(), "cache.example:21212");
        let credentials = server.credentials.unwrap();
        assert_eq!(
            (credentials.username.as_str(), credentials.password.as_str()),
            ("app@corp", "p:ss")
        );
    }

    #[test]
    fn bare_host_port_is_text_protocol_and_port_defaults() {
        let server = ServerConfig::parse("127.0.0.1:21211", 1).unwrap();
        assert_eq!(
            (server.protocol, server.address()),
            (Protocol::Text, "127.0.0.1:21211".to_owned())
        );
        assert_eq!(
            ServerConfig::parse("memcached://localhost", 1)
                .unwrap()
                .port,
            DEFAULT_PORT
        );
        assert_eq!(
            ServerConfig::parse("memcache://[::1]:5", 1)
                .unwrap()
                .address(),
            "[::1]:5"
        );
    }

    #[test]
    fn rejects_other_schemes_paths_and_missing_hosts() {
        assert!(matches!(
            ServerConfig::parse("redis://h", 2),
            Err(MemcachedBuildError::UnsupportedScheme { position: 2, .. })
        ));
        assert!(matches!(
            ServerConfig::parse("memcache://h/db", 1),
            Err(MemcachedBuildError::UnexpectedUrlPart { .. })
        ));
        assert!(matches!(
            ServerConfig::parse("memcache://", 1),
            Err(MemcachedBuildError::InvalidUrl { .. } | MemcachedBuildError::MissingHost { .. })
        ));
        assert!(matches!(
            ServerConfig::parse("memcache://h:99999", 1),
            Err(MemcachedBuildError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let server = ServerConfig::parse("memcache://user:hunter2@h:1", 1).unwrap();
        assert_eq!(server.to_string(), "memcache://user:<redacted>@h:1");
        assert!(!format!("{server:?} {:?}", server.credentials).contains("hunter2"));
    }

    #[test]
    fn errors_never_echo_the_url() {
        let err = ServerConfig::parse("memcache://user:hunter2@h:99999", 3).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("#3"), "{err}");
    }
}
