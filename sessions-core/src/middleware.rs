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

use crate::config::{ConfigError, SessionConfig};
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::http::header::{COOKIE, RETRY_AFTER};
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, HttpResponse, web};

    use super::*;
    use crate::store::{Loaded, StoreError, Stored, Version};
    use crate::test_store::MapStore;
    use crate::{Key, Session, SessionKey, SessionStore, Sessions};

    fn sessions(names: &[&str], key: &Key) -> SessionMiddleware {
        names
            .iter()
            .fold(SessionMiddleware::builder(key.clone()), |builder, name| {
                builder.session(SessionConfig::new(MapStore::default()).cookie_name(*name))
            })
            .build()
            .unwrap()
    }

    fn cookie_pairs(response: &ServiceResponse<impl actix_web::body::MessageBody>) -> String {
        response
            .headers()
            .get_all(SET_COOKIE)
            .map(|h| h.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A middleware on the app and another on a scope keep separate sessions: the plain
    /// extractor gets the inner one, and both are reachable by name.
    #[actix_web::test]
    async fn nested_middleware_keep_separate_sessions() {
        let key = Key::generate();
        let app = init_service(App::new().wrap(sessions(&["visitor"], &key)).service(
            web::scope("/admin").wrap(sessions(&["admin"], &key)).route(
                "/",
                web::get().to(|session: Session, all: Sessions| async move {
                    session.insert("who", "inner")?;
                    all.get("visitor").await?.insert("who", "outer")?;
                    let names: Vec<String> = all.names().map(str::to_owned).collect();
                    Ok::<_, actix_web::Error>(HttpResponse::Ok().json(names))
                }),
            ),
        ))
        .await;
        let response = call_service(&app, TestRequest::get().uri("/admin/").to_request()).await;
        assert_eq!(response.status(), 200);
        let cookies = cookie_pairs(&response);
        assert!(
            cookies.contains("visitor=") && cookies.contains("admin="),
            "{cookies}"
        );
        let names: Vec<String> = serde_json::from_slice(&read_body(response).await).unwrap();
        assert_eq!(names, ["admin", "visitor"]);
    }

    /// Nested middleware that both configure a name would fight over its cookie: refused.
    #[actix_web::test]
    async fn nested_middleware_with_one_name_answer_500() {
        let key = Key::generate();
        let app = init_service(
            App::new().wrap(sessions(&["id"], &key)).service(
                web::scope("/inner")
                    .wrap(sessions(&["id"], &key))
                    .route("/", web::get().to(|| async { HttpResponse::Ok().finish() })),
            ),
        )
        .await;
        let response = call_service(&app, TestRequest::get().uri("/inner/").to_request()).await;
        assert_eq!(response.status(), 500);
        assert!(read_body(response).await.is_empty());
    }

    /// A store where every update conflicts, as if other instances always saved first.
    #[derive(Debug, Default, Clone)]
    struct AlwaysConflicts(std::sync::Arc<std::sync::atomic::AtomicU64>);

    impl SessionStore for AlwaysConflicts {
        async fn load(&self, _: &SessionKey) -> Result<Option<Loaded>, StoreError> {
            let version = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let payload = crate::payload::State::default().encode(1);
            Ok(Some(Loaded::new(payload, Version::new(version))))
        }
        async fn create(&self, _: &[u8], _: Duration) -> Result<Stored, StoreError> {
            Ok(Stored::new(SessionKey::generate(), Version::new(0)))
        }
        async fn update(
            &self,
            _: &SessionKey,
            _: &[u8],
            _: Duration,
            _: Version,
        ) -> Result<Stored, StoreError> {
            Err(StoreError::conflict())
        }
        async fn touch(&self, key: &SessionKey, _: Duration) -> Result<SessionKey, StoreError> {
            Ok(key.clone())
        }
        async fn delete(&self, _: &SessionKey) -> Result<(), StoreError> {
            Ok(())
        }
    }

    /// Contention that outlasts the retry budget answers an empty 503 with `Retry-After`,
    /// after retrying for about the budget (not a fixed number of immediate attempts).
    #[actix_web::test]
    async fn contention_past_the_budget_answers_503() {
        let store = AlwaysConflicts::default();
        let loads = std::sync::Arc::clone(&store.0);
        let budget = Duration::from_millis(100);
        let middleware = SessionMiddleware::builder(Key::generate())
            .session(SessionConfig::new(store).retry_budget(budget))
            .build()
            .unwrap();
        let app = init_service(App::new().wrap(middleware).route(
            "/",
            web::get().to(|session: Session| async move {
                session.insert("n", 1)?;
                Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
            }),
        ))
        .await;
        let created = call_service(&app, TestRequest::get().uri("/").to_request()).await;
        let cookie = cookie_pairs(&created);
        let started = std::time::Instant::now();
        let req = TestRequest::get().uri("/").insert_header((COOKIE, cookie));
        let response = call_service(&app, req.to_request()).await;
        assert!(
            started.elapsed() >= budget,
            "gave up before the budget was spent"
        );
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "1");
        assert!(response.headers().get(SET_COOKIE).is_none());
        assert!(read_body(response).await.is_empty());
        let attempts = loads.load(std::sync::atomic::Ordering::Relaxed);
        assert!(attempts > 5, "only {attempts} loads: retried too little");
    }

    /// A session past its absolute lifetime reads as a fresh one even where the store keeps
    /// it (this store ignores TTLs).
    #[actix_web::test]
    async fn a_session_past_its_absolute_lifetime_reads_as_fresh() {
        let middleware = SessionMiddleware::builder(Key::generate())
            .session(SessionConfig::new(MapStore::default()).max_lifetime(Duration::from_secs(1)))
            .build()
            .unwrap();
        let app = init_service(App::new().wrap(middleware).route(
            "/",
            web::get().to(|session: Session| async move {
                let seen = session.get::<u32>("n")?.is_some();
                session.insert("n", 1)?;
                Ok::<_, actix_web::Error>(HttpResponse::Ok().body(if seen { "old" } else { "new" }))
            }),
        ))
        .await;
        let created = call_service(&app, TestRequest::get().uri("/").to_request()).await;
        let cookie = cookie_pairs(&created);
        let again = |cookie: String| {
            let req = TestRequest::get().uri("/").insert_header((COOKIE, cookie));
            call_service(&app, req.to_request())
        };
        assert_eq!(read_body(again(cookie.clone()).await).await, "old");
        // The creation time is kept in whole seconds.
        actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(read_body(again(cookie).await).await, "new");
    }
}
