//! Getting sessions in handlers and middleware: the [`Session`] and [`Sessions`] extractors and
//! [`SessionExt`].

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::error::SessionError;
use crate::request::{Pick, RequestSessions, load};
use crate::session::Session;

/// Loads the primary session (the first configured) on extraction.
///
/// Fails with [`SessionError`] (an empty 500) when the store is unavailable or the route is not
/// wrapped in [`SessionMiddleware`](crate::SessionMiddleware). A forged, expired or missing
/// cookie is not a failure: the handler gets a fresh, empty session.
impl FromRequest for Session {
    type Error = SessionError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        req.session()
    }
}

/// All sessions of a request, loaded one by one when asked for by name
/// (gin's `DefaultMany`). With nested middleware (one on the app, one on a scope), the
/// sessions of both are reachable by name.
///
/// ```no_run
/// use actix_web::{HttpResponse, Result};
/// use sessions_core::Sessions;
///
/// async fn dashboard(sessions: Sessions) -> Result<HttpResponse> {
///     let visitor = sessions.get("visitor").await?;
///     let admin = sessions.get("admin").await?;
///     let name = visitor.get::<String>("name")?.unwrap_or_default();
///     let is_admin = admin.get::<bool>("elevated")?.unwrap_or(false);
///     Ok(HttpResponse::Ok().body(format!("{name} admin={is_admin}")))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Sessions {
    req: HttpRequest,
    names: Vec<String>,
}

impl Sessions {
    /// Loads (once per request) and returns the session named `name`.
    ///
    /// ```no_run
    /// # async fn f(sessions: sessions_core::Sessions) -> Result<(), sessions_core::SessionError> {
    /// let admin = sessions.get("admin").await?;
    /// # let _ = admin; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownSession`] for a name that is not configured, or a store failure.
    pub async fn get(&self, name: &str) -> Result<Session, SessionError> {
        load(&self.req, Pick::Named(name)).await
    }

    /// The names of the configured sessions, primary first (the innermost middleware's, then
    /// those of enclosing middleware).
    ///
    /// ```no_run
    /// # fn f(sessions: sessions_core::Sessions) {
    /// for name in sessions.names() {
    ///     println!("{name}");
    /// }
    /// # }
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

impl FromRequest for Sessions {
    type Error = SessionError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let names = req
            .extensions()
            .get::<RequestSessions>()
            .map(|sessions| sessions.names().into_iter().map(str::to_owned).collect());
        std::future::ready(
            names
                .ok_or(SessionError::MiddlewareMissing)
                .map(|names| Self {
                    req: req.clone(),
                    names,
                }),
        )
    }
}

/// Sessions from a request outside an extractor: in middleware (`ServiceRequest`) or code
/// holding an `HttpRequest`.
///
/// ```no_run
/// use actix_web::HttpRequest;
/// use sessions_core::{SessionError, SessionExt as _};
///
/// async fn user_id(req: &HttpRequest) -> Result<Option<u64>, SessionError> {
///     let session = req.session().await?;
///     Ok(session.get::<u64>("user_id").ok().flatten())
/// }
/// ```
pub trait SessionExt {
    /// Loads (once per request) and returns the primary session.
    ///
    /// ```no_run
    /// # use sessions_core::SessionExt as _;
    /// # async fn f(req: actix_web::HttpRequest) -> Result<(), sessions_core::SessionError> {
    /// let session = req.session().await?;
    /// # let _ = session; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError`] when the middleware is missing or the store fails.
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, SessionError>>;

    /// Loads (once per request) and returns the session named `name`.
    ///
    /// ```no_run
    /// # use sessions_core::SessionExt as _;
    /// # async fn f(req: actix_web::HttpRequest) -> Result<(), sessions_core::SessionError> {
    /// let admin = req.session_named("admin").await?;
    /// # let _ = admin; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError`] when the middleware is missing, the name unknown, or the store fails.
    fn session_named(&self, name: &str) -> LocalBoxFuture<'static, Result<Session, SessionError>>;
}

impl SessionExt for HttpRequest {
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        let req = self.clone();
        Box::pin(async move { load(&req, Pick::Primary).await })
    }

    fn session_named(&self, name: &str) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        let (req, name) = (self.clone(), name.to_owned());
        Box::pin(async move { load(&req, Pick::Named(&name)).await })
    }
}

impl SessionExt for ServiceRequest {
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        self.request().session()
    }

    fn session_named(&self, name: &str) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        self.request().session_named(name)
    }
}
