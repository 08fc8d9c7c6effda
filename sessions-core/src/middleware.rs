//! [`SessionMiddleware`]: the actix-web `Transform` that gives each request its sessions and
//! saves them when the response goes out.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::{Error, HttpResponse};
use futures_util::future::LocalBoxFuture;

use crate::config::SessionConfig;
use crate::error::ConfigError;
use crate::key::KeyRing;
use crate::request::{RequestSessions, Shared};
use crate::save::{Failed, save_all};
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
/// Middleware can be nested (one on the app, another on a scope): each keeps its own sessions,
/// a plain [`Session`](crate::Session) extractor gets the innermost middleware's first session,
/// and [`Sessions::get`](crate::Sessions::get) finds any by name. Two nested middleware may not
/// configure sessions of the same name (both would set that cookie): such a request is answered
/// with [`SessionError::NestedName`](crate::SessionError::NestedName), an empty 500.
///
/// When saving a session fails, the response is replaced by the error's (an empty 500, or 503
/// under contention), carrying the cookies of the request's other sessions that were saved.
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
    type Response = ServiceResponse<EitherBody<B>>;
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
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Err(err) = RequestSessions::enter(req.request(), &self.shared) {
            let response = req.into_response(HttpResponse::from_error(err));
            return Box::pin(async move { Ok(response.map_into_right_body()) });
        }
        let response = self.service.call(req);
        let shared = Arc::clone(&self.shared);
        let fut = async move {
            let response = response.await?;
            let Some(sessions) = RequestSessions::leave(response.request(), &shared) else {
                return Ok(response.map_into_left_body());
            };
            if sessions.loaded().next().is_none() {
                return Ok(response.map_into_left_body());
            }
            let saved = save_all(sessions.loaded(), &shared.keys).await;
            Ok(respond(response, saved))
        };
        Box::pin(fut)
    }
}

/// The response with the saved sessions' cookies, or, when a save failed, the error's response
/// with the cookies of the sessions saved before it.
fn respond<B>(
    mut response: ServiceResponse<B>,
    saved: Result<Vec<HeaderValue>, Failed>,
) -> ServiceResponse<EitherBody<B>> {
    match saved {
        Ok(cookies) => {
            append_cookies(response.headers_mut(), cookies);
            response.map_into_left_body()
        }
        Err(Failed { error, cookies }) => {
            // `from_error` keeps the error in the response, for logging middleware to see.
            let mut failed = HttpResponse::from_error(error);
            append_cookies(failed.headers_mut(), cookies);
            response.into_response(failed).map_into_right_body()
        }
    }
}

fn append_cookies(headers: &mut actix_web::http::header::HeaderMap, cookies: Vec<HeaderValue>) {
    for cookie in cookies {
        headers.append(SET_COOKIE, cookie);
    }
}

/// A built middleware can be cloned into every `HttpServer` worker.
const _: () = {
    const fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<SessionMiddleware>();
};
