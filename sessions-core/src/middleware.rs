//! [`SessionMiddleware`]: the actix-web `Transform` that gives each request its sessions and
//! saves them when the response goes out.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage as _};
use futures_util::future::LocalBoxFuture;

use crate::config::{ConfigError, SessionConfig};
use crate::key::KeyRing;
use crate::request::{RequestSessions, Shared};
use crate::save::{CookieJar, save};
use crate::store::SessionStore;

/// Session middleware: wrap an `App` or a `scope` in it, then extract
/// [`Session`](crate::Session) in handlers.
///
/// Sessions are **lazy**: a request that never extracts its session costs no store round trip
/// and no cookie work. A session that was read but not changed is not written back (unless
/// the TTL policy is rolling).
///
/// Built once, it is cheap to clone and `Send`, so it can be made outside
/// `HttpServer::new` and cloned into each worker.
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use sessions_core::{Key, Session, SessionMiddleware};
/// use sessions_memstore::MemoryStore;
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let sessions = SessionMiddleware::new(MemoryStore::new(), Key::generate());
///     HttpServer::new(move || {
///         App::new().wrap(sessions.clone()).route(
///             "/",
///             web::get().to(|session: Session| async move {
///                 let visits = session.get::<u32>("visits")?.unwrap_or(0) + 1;
///                 session.insert("visits", visits)?;
///                 Ok::<_, actix_web::Error>(format!("visit #{visits}"))
///             }),
///         )
///     })
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SessionMiddleware {
    shared: Arc<Shared>,
}

impl SessionMiddleware {
    /// One session kept in `store`, with every setting at its default (see [`SessionConfig`]),
    /// sealed with `keys`.
    ///
    /// ```
    /// use sessions_core::{Key, SessionMiddleware};
    /// let middleware = SessionMiddleware::new(sessions_memstore::MemoryStore::new(), Key::generate());
    /// # let _ = middleware;
    /// ```
    #[must_use]
    pub fn new(store: impl SessionStore, keys: impl Into<KeyRing>) -> Self {
        let config = Arc::new(SessionConfig::new(store));
        Self {
            shared: Arc::new(Shared {
                keys: keys.into(),
                sessions: vec![config],
            }),
        }
    }

    /// A builder for one or more configured sessions.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sessions_core::{Key, Lifecycle, SessionConfig, SessionMiddleware};
    /// use sessions_memstore::MemoryStore;
    ///
    /// let store = MemoryStore::new();
    /// let middleware = SessionMiddleware::builder(Key::generate())
    ///     // The first session is the one a plain `Session` extractor returns.
    ///     .session(SessionConfig::new(store.clone()).cookie_name("visitor")
    ///         .lifecycle(Lifecycle::persistent(Duration::from_secs(30 * 24 * 3600))))
    ///     .session(SessionConfig::new(store).cookie_name("admin")
    ///         .lifecycle(Lifecycle::browser_session(Duration::from_secs(15 * 60))))
    ///     .build()?;
    /// # Ok::<(), sessions_core::ConfigError>(())
    /// ```
    pub fn builder(keys: impl Into<KeyRing>) -> SessionMiddlewareBuilder {
        SessionMiddlewareBuilder {
            keys: keys.into(),
            sessions: Vec::new(),
        }
    }
}

/// Builds a [`SessionMiddleware`] with several sessions (gin's `SessionsMany`), each with its
/// own cookie name and optionally its own store.
///
/// ```
/// use sessions_core::{Key, SessionConfig, SessionMiddleware};
/// let middleware = SessionMiddleware::builder(Key::generate())
///     .session(SessionConfig::new(sessions_memstore::MemoryStore::new()))
///     .build()?;
/// # Ok::<(), sessions_core::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct SessionMiddlewareBuilder {
    keys: KeyRing,
    sessions: Vec<SessionConfig>,
}

impl SessionMiddlewareBuilder {
    /// Adds a session. The first one added is the primary session, returned by the
    /// [`Session`](crate::Session) extractor; all are reachable by name through
    /// [`Sessions`](crate::Sessions). No sessions by default: at least one is required.
    ///
    /// ```
    /// use sessions_core::{Key, SessionConfig, SessionMiddleware};
    /// let builder = SessionMiddleware::builder(Key::generate())
    ///     .session(SessionConfig::new(sessions_memstore::MemoryStore::new()).cookie_name("sid"));
    /// # let _ = builder;
    /// ```
    pub fn session(mut self, config: SessionConfig) -> Self {
        self.sessions.push(config);
        self
    }

    /// Checks the configuration and builds the middleware.
    ///
    /// ```
    /// use sessions_core::{ConfigError, Key, SessionConfig, SessionMiddleware};
    /// use sessions_memstore::MemoryStore;
    ///
    /// let err = SessionMiddleware::builder(Key::generate())
    ///     .session(SessionConfig::new(MemoryStore::new()))
    ///     .session(SessionConfig::new(MemoryStore::new()))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err, ConfigError::DuplicateName("id".into()));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when no session was added, two share a name, or a session's settings
    /// would be rejected by browsers (see [`ConfigError`]'s variants).
    pub fn build(self) -> Result<SessionMiddleware, ConfigError> {
        if self.sessions.is_empty() {
            return Err(ConfigError::NoSessions);
        }
        for (i, config) in self.sessions.iter().enumerate() {
            config.validate()?;
            if self.sessions[..i]
                .iter()
                .any(|other| other.name == config.name)
            {
                return Err(ConfigError::DuplicateName(config.name.clone()));
            }
        }
        let sessions = self.sessions.into_iter().map(Arc::new).collect();
        Ok(SessionMiddleware {
            shared: Arc::new(Shared {
                keys: self.keys,
                sessions,
            }),
        })
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            shared: Arc::clone(&self.shared),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around the app (actix-web's `Transform::Transform`).
#[derive(Debug)]
pub struct SessionService<S> {
    service: Rc<S>,
    shared: Arc<Shared>,
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let sessions = RequestSessions::new(Arc::clone(&self.shared));
        req.extensions_mut().insert(sessions);
        let response = self.service.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            let sessions = response
                .request()
                .extensions_mut()
                .remove::<RequestSessions>();
            if let Some(sessions) = sessions {
                let keys = &sessions.shared().keys;
                let mut jar = CookieJar {
                    keys,
                    headers: response.headers_mut(),
                };
                for session in sessions.loaded() {
                    save(session, &mut jar).await?;
                }
            }
            Ok(response)
        })
    }
}

/// A built middleware can be cloned into every `HttpServer` worker.
const _: () = {
    const fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<SessionMiddleware>();
};
