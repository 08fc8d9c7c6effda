//! A session cookie's attributes ([`CookieSettings`], with a session's overrides applied by
//! [`CookieSettings::with`]) and what browsers accept in them: the checks shared by
//! [`SessionConfig`](crate::SessionConfig) (at `build()`) and
//! [`Session::set_options`](crate::Session::set_options) (when a handler overrides them).
//!
//! Each rule stands for a cookie a browser would otherwise drop without a word, so the
//! session would silently never stick.

use std::borrow::Cow;

use actix_web::cookie::SameSite;

use crate::error::ConfigError;
use crate::options::{Lifecycle, SessionOptions};

/// The cookie attributes of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CookieSettings {
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) partitioned: bool,
}

impl CookieSettings {
    /// These settings with a session's overrides applied: what a `Set-Cookie` header is
    /// written from, and what a removal cookie repeats. Without overrides (the usual case)
    /// they are these settings themselves, and nothing is copied.
    pub(crate) fn with<'a>(&'a self, options: Option<&SessionOptions>) -> Cow<'a, Self> {
        let Some(o) = options else {
            return Cow::Borrowed(self);
        };
        Cow::Owned(Self {
            path: o.path.clone().unwrap_or_else(|| self.path.clone()),
            domain: o.domain.clone().or_else(|| self.domain.clone()),
            secure: o.secure.unwrap_or(self.secure),
            http_only: o.http_only.unwrap_or(self.http_only),
            same_site: o.same_site.unwrap_or(self.same_site),
            partitioned: o.partitioned.unwrap_or(self.partitioned),
        })
    }
}

/// Checks the cookie `name` would be written with.
///
/// # Errors
///
/// The first rule the cookie breaks.
pub(crate) fn check(
    name: &str,
    cookie: &CookieSettings,
    lifecycle: Lifecycle,
) -> Result<(), ConfigError> {
    let session = || name.to_owned();
    let insecure = |attribute| ConfigError::InsecureAttribute {
        session: session(),
        attribute,
    };
    if cookie.partitioned && !cookie.secure {
        return Err(insecure("Partitioned"));
    }
    if cookie.same_site == SameSite::None && !cookie.secure {
        return Err(insecure("SameSite=None"));
    }
    if !is_path(&cookie.path) {
        return Err(ConfigError::InvalidPath {
            session: session(),
            path: cookie.path.to_owned(),
        });
    }
    if let Some(domain) = cookie.domain.as_deref().filter(|d| !is_domain(d)) {
        return Err(ConfigError::InvalidDomain {
            session: session(),
            domain: domain.to_owned(),
        });
    }
    if let Some(requirement) = prefix_requirement_missing(name, cookie) {
        return Err(ConfigError::CookiePrefix {
            session: session(),
            requirement,
        });
    }
    if lifecycle.ttl().as_secs() == 0 {
        return Err(ConfigError::ZeroTtl(session()));
    }
    Ok(())
}

/// RFC 6265 `token`: visible ASCII except separators.
pub(crate) fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// A `Path` browsers use as given: absolute (otherwise they replace it with the request's
/// directory), visible ASCII without `;`.
fn is_path(path: &str) -> bool {
    path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic() && b != b';')
}

/// A host name for `Domain` (a leading dot is allowed and ignored, as browsers do): labels of
/// letters, digits and `-`, at most 253 characters. Browsers also refuse a domain the request's
/// host is not within; that is only known per request, so it is not checked here.
fn is_domain(domain: &str) -> bool {
    let domain = domain.strip_prefix('.').unwrap_or(domain);
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The first requirement of the cookie-name prefixes (RFC 6265bis §4.1.3: `__Secure-`,
/// `__Host-`, `__Http-`, `__Host-Http-`) that `cookie` misses. Browsers drop such a cookie
/// without a word, and Chromium matches the prefixes without regard to case
/// (`e2e/tests/attributes.rs` shows both).
fn prefix_requirement_missing(name: &str, cookie: &CookieSettings) -> Option<&'static str> {
    let starts = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    let host = starts("__Host-");
    let http = starts("__Http-") || starts("__Host-Http-");
    let secure = host || http || starts("__Secure-");
    if secure && !cookie.secure {
        Some("Secure")
    } else if http && !cookie.http_only {
        Some("HttpOnly")
    } else if host && cookie.path != "/" {
        Some("Path=/")
    } else if host && cookie.domain.is_some() {
        Some("no Domain")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::codec::{CodecError, MsgPack};
    use crate::detached::DetachedStore;
    use crate::session::{Session, SessionData};
    use crate::{Codec, SessionConfig, SessionOptions};

    fn session(config: SessionConfig) -> Session {
        Session::new(Arc::new(config), SessionData::default())
    }

    #[test]
    fn set_options_refuses_each_rule_and_keeps_the_options() {
        let session = session(SessionConfig::new(DetachedStore));
        let month = SessionOptions::new().max_age(Duration::from_secs(30 * 86_400));
        session.set_options(month.clone()).unwrap();
        let refused = [
            SessionOptions::new().partitioned(true).secure(false),
            SessionOptions::new()
                .same_site(SameSite::None)
                .secure(false),
            SessionOptions::new().max_age(Duration::from_millis(500)),
            SessionOptions::new().path("app"),
            SessionOptions::new().path("/a;b"),
            SessionOptions::new().domain("exa mple.com"),
            SessionOptions::new().domain(""),
        ];
        for options in refused {
            let err = session.set_options(options.clone()).unwrap_err();
            let expected = match err {
                ConfigError::InsecureAttribute { .. } => options.secure == Some(false),
                ConfigError::ZeroTtl(_) => options.lifecycle.is_some(),
                ConfigError::InvalidPath { .. } => options.path.is_some(),
                ConfigError::InvalidDomain { .. } => options.domain.is_some(),
                _ => false,
            };
            assert!(expected, "{options:?} gave {err:?}");
            let kept = session.snapshot().options.map(|o| *o);
            assert_eq!(
                kept.as_ref(),
                Some(&month),
                "a refused {options:?} changed the session"
            );
        }
        // What the browser accepts still goes through.
        let partitioned = SessionOptions::new().partitioned(true).path("/app");
        session.set_options(partitioned).unwrap();
    }

    #[test]
    fn set_options_honours_the_cookie_name_prefix() {
        let session = session(SessionConfig::new(DetachedStore).cookie_name("__Host-id"));
        let err = session
            .set_options(SessionOptions::new().domain("example.com"))
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::CookiePrefix {
                requirement: "no Domain",
                ..
            }
        ));
        let err = session
            .set_options(SessionOptions::new().secure(false))
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::CookiePrefix {
                requirement: "Secure",
                ..
            }
        ));
    }

    #[test]
    fn the_config_refuses_bad_paths_and_domains() {
        let path = SessionConfig::new(DetachedStore)
            .cookie_path("app")
            .validate();
        assert!(
            matches!(path, Err(ConfigError::InvalidPath { .. })),
            "{path:?}"
        );
        let domain = SessionConfig::new(DetachedStore)
            .cookie_domain("a..b")
            .validate();
        assert!(
            matches!(domain, Err(ConfigError::InvalidDomain { .. })),
            "{domain:?}"
        );
    }

    /// A user codec that claims one of the built-in codecs' ids.
    #[derive(Debug)]
    struct Impostor(u8);

    impl Codec for Impostor {
        fn id(&self) -> u8 {
            self.0
        }
        fn name(&self) -> &'static str {
            "impostor"
        }
        fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, CodecError> {
            MsgPack.encode(value)
        }
        fn decode(
            &self,
            bytes: &[u8],
            visit: &mut dyn FnMut(
                &mut dyn erased_serde::Deserializer<'_>,
            ) -> Result<(), erased_serde::Error>,
        ) -> Result<(), CodecError> {
            MsgPack.decode(bytes, visit)
        }
    }

    #[test]
    fn user_codecs_take_ids_from_128() {
        for id in [0, 1, 127] {
            let config = SessionConfig::new(DetachedStore).codec(Impostor(id));
            assert_eq!(
                config.validate(),
                Err(ConfigError::ReservedCodecId {
                    session: "id".into(),
                    id
                })
            );
        }
        let config = SessionConfig::new(DetachedStore).codec(Impostor(128));
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(
            SessionConfig::new(DetachedStore).codec(MsgPack).validate(),
            Ok(())
        );
    }

    #[test]
    fn paths_must_be_absolute_header_safe_text() {
        for good in ["/", "/app", "/a/b-c_d.e"] {
            assert!(is_path(good), "{good}");
        }
        for bad in ["", "app", "./x", "/a;b", "/a b", "/é"] {
            assert!(!is_path(bad), "{bad}");
        }
    }

    #[test]
    fn domains_must_be_host_names() {
        for good in ["localhost", "example.com", ".example.com", "a-b.c0.io"] {
            assert!(is_domain(good), "{good}");
        }
        let long = format!("{}.com", "a".repeat(64));
        for bad in [
            "",
            ".",
            "a..b",
            "-a.com",
            "a-.com",
            "ex ample.com",
            "a;b",
            "é.fr",
            &long,
        ] {
            assert!(!is_domain(bad), "{bad}");
        }
    }
}
