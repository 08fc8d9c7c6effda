//! The fallback seam on its own, with a loader that knows nothing of actix-session: when it is
//! asked, what its state becomes, when the foreign cookie's removal is sent, and what its
//! error does. (`sessions-actix-migration`'s tests run the real migration through it.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use sessions_core::{
    Codec, Fallback, FallbackLoader, Key, Loaded, Session, SessionConfig, SessionKey,
    SessionMiddleware, SessionStore, StoreError, Stored, Version,
};
use sessions_memstore::MemoryStore;

/// Adopts `old=<user>` cookies as a session holding `user`, asking for their removal; an
/// `old=fail` cookie is a backend failure. Counts its calls.
#[derive(Debug, Clone, Default)]
struct OldCookie(Arc<AtomicUsize>);

impl FallbackLoader for OldCookie {
    fn load<'a>(
        &'a self,
        req: &'a HttpRequest,
        codec: &'a dyn Codec,
    ) -> LocalBoxFuture<'a, Result<Option<Fallback>, StoreError>> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            let Some(user) = req.cookie("old").map(|c| c.value().to_owned()) else {
                return Ok(None);
            };
            if user == "fail" {
                return Err(StoreError::unavailable("the old store is down"));
            }
            let value = codec.encode(&user).expect("a string encodes");
            let fallback = Fallback::new(vec![("user".to_owned(), value)]);
            Ok(Some(fallback.remove_cookie("old", "/", None)))
        })
    }
}

async fn whoami(session: Session) -> actix_web::Result<HttpResponse> {
    let user = session.get::<String>("user")?.unwrap_or_default();
    Ok(HttpResponse::Ok().body(user))
}

async fn logout(session: Session) -> HttpResponse {
    session.purge();
    HttpResponse::Ok().finish()
}

macro_rules! app {
    ($loader:expr) => {
        app!(MemoryStore::new(), $loader)
    };
    ($store:expr, $loader:expr) => {
        init_service(
            App::new()
                .wrap(
                    SessionMiddleware::builder(Key::generate())
                        .session(
                            SessionConfig::new($store)
                                .cookie_secure(false)
                                .fallback_loader($loader),
                        )
                        .build()
                        .unwrap(),
                )
                .route("/whoami", web::get().to(whoami))
                .route("/logout", web::get().to(logout)),
        )
        .await
    };
}

fn set_cookies<B>(res: &actix_web::dev::ServiceResponse<B>) -> Vec<String> {
    let headers = res.headers().get_all(SET_COOKIE);
    headers.map(|h| h.to_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn the_loaders_state_starts_the_session_and_its_cookie_goes_after_the_save() {
    let app = app!(OldCookie::default());
    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, "old=ann"));
    let res = call_service(&app, req.to_request()).await;
    let headers = set_cookies(&res);
    assert_eq!(read_body(res).await, "ann");
    assert_eq!(headers.len(), 2, "ours, then the removal: {headers:?}");
    assert!(headers[0].starts_with("id="), "{headers:?}");
    assert!(
        headers[1].starts_with("old=;") && headers[1].contains("; Max-Age=0"),
        "{headers:?}"
    );

    // Nothing to adopt: an empty session, no cookie.
    let res = call_service(&app, TestRequest::get().uri("/whoami").to_request()).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(read_body(res).await, "");
}

#[actix_web::test]
async fn a_client_with_a_cookie_of_ours_is_never_asked_even_after_its_log_out() {
    let loader = OldCookie::default();
    let app = app!(loader.clone());
    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, "old=ann"));
    let res = call_service(&app, req.to_request()).await;
    let ours = set_cookies(&res)[0].split(';').next().unwrap().to_owned();
    assert_eq!(loader.0.load(Ordering::SeqCst), 1);

    // A client that keeps every cookie it was ever given, through a log-out.
    let kept = format!("{ours}; old=ann");
    let req = TestRequest::get()
        .uri("/logout")
        .insert_header((COOKIE, kept.clone()));
    call_service(&app, req.to_request()).await;
    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, kept));
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(read_body(res).await, "", "the log-out was undone");
    assert_eq!(
        loader.0.load(Ordering::SeqCst),
        1,
        "the loader was asked again"
    );
}

#[actix_web::test]
async fn a_failing_loader_is_an_empty_500_that_removes_nothing() {
    let app = app!(OldCookie::default());
    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, "old=fail"));
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res).is_empty(), "{:?}", set_cookies(&res));
    assert_eq!(read_body(res).await, "");
}

/// A store that cannot create records.
#[derive(Debug, Clone, Default)]
struct CreateFails(MemoryStore);

impl SessionStore for CreateFails {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.0.load(key).await
    }
    async fn create(&self, _: &[u8], _: Duration) -> Result<Stored, StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        self.0.update(key, payload, ttl, expected).await
    }
    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        self.0.touch(key, ttl).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
}

#[actix_web::test]
async fn the_foreign_cookie_stays_when_the_save_fails() {
    let app = app!(CreateFails::default(), OldCookie::default());
    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, "old=ann"));
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        set_cookies(&res).is_empty(),
        "the client lost its only session: {:?}",
        set_cookies(&res)
    );
}
