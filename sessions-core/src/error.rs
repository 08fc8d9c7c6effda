//! [`SessionError`]: what can fail while loading or saving a session, and how it is answered.

use std::error::Error as StdError;
use std::fmt;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpResponse, ResponseError};

use crate::codec::CodecError;
use crate::store::StoreError;

/// A session could not be loaded or saved.
///
/// As an actix-web error it becomes a `500 Internal Server Error` (or, for
/// [`Contention`](Self::Contention), a `503 Service Unavailable` with `Retry-After: 1`, and for
/// [`RenewedAway`](Self::RenewedAway) a `409 Conflict`: both say "nothing was saved, a retry is
/// safe") with an **empty body**: the details (store addresses, driver messages) go to the log with their
/// whole cause chain, never to the client. Bad data from the client is not an error: a forged
/// or garbled cookie gets a fresh session and a `warn` log instead.
///
/// ```
/// use sessions_core::SessionError;
///
/// let err = SessionError::CookieTooLarge { session: "id".into(), size: 5000, limit: 4096 };
/// assert!(err.to_string().contains("5000 bytes"));
/// let response = actix_web::ResponseError::error_response(&err);
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed (unreachable, timed out, rejected the write).
    Store {
        /// The session's name.
        session: String,
        /// What the store reported.
        source: StoreError,
    },
    /// The session's cookie would exceed what browsers keep: the session holds too much for
    /// a cookie-based store. Store less, or use a server-side store.
    CookieTooLarge {
        /// The session's name.
        session: String,
        /// The cookie's `name=value` size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Concurrent requests of the same session kept saving first for longer than the
    /// session's [retry budget](crate::SessionConfig::retry_budget); this request's changes
    /// were not saved. Answered with `503 Service Unavailable` and `Retry-After: 1`, logged at
    /// `warn` (the client's own requests caused it).
    Contention {
        /// The session's name.
        session: String,
        /// How many times the save was attempted.
        attempts: usize,
        /// How long the save retried.
        waited: Duration,
    },
    /// Another request renewed the session (a log-in) while this one ran on its old key: this
    /// request's changes were not saved and no cookie is sent, so the client keeps the renewed
    /// session's cookie, and nothing done on the old key lands in the renewed session (an
    /// attacker who planted the old cookie cannot write into the victim's session). Answered
    /// with an empty `409 Conflict`; a retry (with the renewed cookie) is safe. Logged at
    /// `warn`.
    RenewedAway {
        /// The session's name.
        session: String,
    },
    /// A log-out could not be confirmed: the record it should end was gone, and it was read so
    /// long ago that a renewal since (whose forward pointer has expired) cannot be ruled out,
    /// or the chain of renewals did not end. The session may live on; an empty 500, logged at
    /// `error`, rather than a quiet success.
    LogOutUnconfirmed {
        /// The session's name.
        session: String,
    },
    /// A session of the request failed with a retryable error after another session of the
    /// same request was saved: the client is not told to retry, since a retry would apply the
    /// saved changes twice. An empty 500.
    PartlySaved(Box<SessionError>),
    /// A read-modify-write ([`Session::update`](crate::Session::update)) could not be applied
    /// to the value a concurrent request stored: that value is not of the type the update
    /// reads, or the result cannot be encoded.
    Codec {
        /// The session's name.
        session: String,
        /// What the codec reported.
        source: CodecError,
    },
    /// Two nested [`SessionMiddleware`](crate::SessionMiddleware)s (one on the app, one on a
    /// scope) both configure a session with this name; each name may be used by one of them.
    NestedName(String),
    /// A `Session` was requested but [`SessionMiddleware`](crate::SessionMiddleware) does not
    /// wrap this route.
    MiddlewareMissing,
    /// No session with this name is configured.
    UnknownSession(String),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store { session, source } => write!(f, "session {session:?}: {source}"),
            Self::CookieTooLarge {
                session,
                size,
                limit,
            } => write!(
                f,
                "session {session:?}: the cookie would be {size} bytes, over the {limit}-byte limit \
                 browsers keep; store less in the session or use a server-side store"
            ),
            Self::Contention {
                session,
                attempts,
                waited,
            } => write!(
                f,
                "session {session:?}: gave up saving after {attempts} attempts in {waited:?}, \
                 each lost to a concurrent request of the same session"
            ),
            Self::RenewedAway { session } => write!(
                f,
                "session {session:?}: renewed by another request while this one ran; its changes were not saved"
            ),
            Self::LogOutUnconfirmed { session } => write!(
                f,
                "session {session:?}: the log-out could not be confirmed (the session it should end may have been renewed, and cannot be traced)"
            ),
            Self::PartlySaved(inner) => write!(
                f,
                "{inner} (after another session of the request was saved, so no retry is asked for)"
            ),
            Self::Codec { session, source } => write!(
                f,
                "session {session:?}: an update cannot be applied to the value stored meanwhile: {source}"
            ),
            Self::NestedName(name) => write!(
                f,
                "nested SessionMiddleware: both configure a session named {name:?}"
            ),
            Self::MiddlewareMissing => {
                f.write_str("no session here: wrap the app or scope in SessionMiddleware")
            }
            Self::UnknownSession(name) => write!(f, "no session named {name:?} is configured"),
        }
    }
}

impl StdError for SessionError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Store { source, .. } => Some(source),
            Self::Codec { source, .. } => Some(source),
            Self::PartlySaved(inner) => Some(&**inner),
            _ => None,
        }
    }
}

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Contention { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::RenewedAway { .. } => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Contention { .. } => {
                tracing::warn!(error = %self, "session save gave up under contention");
                HttpResponse::ServiceUnavailable()
                    .insert_header((RETRY_AFTER, "1"))
                    .finish()
            }
            Self::RenewedAway { .. } => {
                tracing::warn!(error = %self, "a request on a renewed-away session key saved nothing");
                HttpResponse::Conflict().finish()
            }
            _ => log_and_respond(self),
        }
    }
}

/// A middleware configuration that cannot work.
///
/// ```
/// use sessions_core::{ConfigError, Key, SessionMiddleware};
///
/// let err = SessionMiddleware::builder(Key::generate()).build().unwrap_err();
/// assert_eq!(err, ConfigError::NoSessions);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The builder was given no session.
    NoSessions,
    /// Two sessions share a cookie name.
    DuplicateName(String),
    /// A cookie name is empty or has characters a cookie name cannot have.
    InvalidCookieName(String),
    /// An attribute that browsers accept only on `Secure` cookies, on a cookie that is not.
    InsecureAttribute {
        /// The session's name.
        session: String,
        /// The attribute, such as `Partitioned`.
        attribute: &'static str,
    },
    /// A cookie whose name has a prefix (`__Secure-`, `__Host-`, `__Http-`, `__Host-Http-`)
    /// and attributes that prefix forbids.
    CookiePrefix {
        /// The session's name.
        session: String,
        /// What the prefix requires and the cookie lacks: `Secure`, `HttpOnly`, `Path=/` or
        /// `no Domain`.
        requirement: &'static str,
    },
    /// A lifecycle with a TTL, or an absolute lifetime, under one second.
    ZeroTtl(String),
    /// A `Path` that is not absolute or would break the header; browsers would not use it.
    InvalidPath {
        /// The session's name.
        session: String,
        /// The path given.
        path: String,
    },
    /// A `Domain` that is not a host name.
    InvalidDomain {
        /// The session's name.
        session: String,
        /// The domain given.
        domain: String,
    },
    /// A user codec with an id under 128, the range kept for built-in codecs.
    ReservedCodecId {
        /// The session's name.
        session: String,
        /// The codec's id.
        id: u8,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSessions => f.write_str("the session middleware needs at least one session"),
            Self::DuplicateName(name) => write!(f, "two sessions are named {name:?}"),
            Self::InvalidCookieName(name) => write!(f, "{name:?} is not a valid cookie name"),
            Self::InsecureAttribute { session, attribute } => {
                write!(
                    f,
                    "session {session:?}: browsers reject {attribute} on cookies without Secure"
                )
            }
            Self::CookiePrefix {
                session,
                requirement,
            } => write!(
                f,
                "session {session:?}: browsers drop a cookie with this name prefix unless it has {requirement}"
            ),
            Self::ZeroTtl(name) => {
                write!(
                    f,
                    "session {name:?}: the TTL and the absolute lifetime must be at least one second"
                )
            }
            Self::InvalidPath { session, path } => write!(
                f,
                "session {session:?}: the cookie path {path:?} must start with `/` and be visible ASCII without `;`"
            ),
            Self::InvalidDomain { session, domain } => write!(
                f,
                "session {session:?}: the cookie domain {domain:?} is not a host name"
            ),
            Self::ReservedCodecId { session, id } => write!(
                f,
                "session {session:?}: codec id {id} is reserved for built-in codecs; user codecs take 128 or more"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// From a handler (an invalid [`Session::set_options`](crate::Session::set_options)): logged at
/// `error` level, answered with an empty 500.
impl actix_web::ResponseError for ConfigError {
    fn error_response(&self) -> actix_web::HttpResponse {
        crate::error::log_and_respond(self)
    }
}

impl SessionError {
    /// Whether the answer tells the client that nothing was saved and a retry is safe.
    pub(crate) fn invites_retry(&self) -> bool {
        matches!(self, Self::Contention { .. } | Self::RenewedAway { .. })
    }
}

/// A value that cannot be encoded or decoded fails the handler that asked: an empty 500, the
/// cause logged.
impl ResponseError for CodecError {
    fn error_response(&self) -> HttpResponse {
        log_and_respond(self)
    }
}

/// Logs `err` with its cause chain at `error` level and answers an empty 500.
pub(crate) fn log_and_respond(err: &(dyn StdError + 'static)) -> HttpResponse {
    tracing::error!(error = %err, cause = %CauseChain(err), "session failure");
    HttpResponse::InternalServerError().finish()
}

/// Displays an error's sources, outermost first, separated by `: `.
struct CauseChain<'a>(&'a (dyn StdError + 'static));

impl fmt::Display for CauseChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut source = self.0.source();
        let mut first = true;
        while let Some(err) = source {
            if !first {
                f.write_str(": ")?;
            }
            write!(f, "{err}")?;
            first = false;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody as _;

    #[test]
    fn store_errors_answer_an_empty_500() {
        let err = SessionError::Store {
            session: "id".into(),
            source: StoreError::unavailable(std::io::Error::other("redis://10.0.0.7:6379 refused")),
        };
        let response = err.error_response();
        assert_eq!(response.status(), 500);
        assert_eq!(response.into_body().try_into_bytes().unwrap().len(), 0);
    }

    #[test]
    fn contention_answers_an_empty_503_with_retry_after() {
        let err = SessionError::Contention {
            session: "id".into(),
            attempts: 9,
            waited: Duration::from_millis(500),
        };
        let response = err.error_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "1");
        assert_eq!(response.into_body().try_into_bytes().unwrap().len(), 0);
    }

    #[test]
    fn cause_chain_lists_sources() {
        let err = SessionError::Store {
            session: "id".into(),
            source: StoreError::unavailable(std::io::Error::other("refused")),
        };
        assert_eq!(
            CauseChain(&err).to_string(),
            "the session store is unavailable: refused"
        );
    }
}
