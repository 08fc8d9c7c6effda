//! Logs an attacker cannot flood, and reads that survive a store failing to extend a TTL.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use sessions_core::{
    Key, Loaded, Session, SessionConfig, SessionKey, SessionMiddleware, SessionStore, StoreError,
    Stored, TtlExtensionPolicy, Version,
};
use sessions_memstore::MemoryStore;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Counts the `warn` events logged on this thread.
#[derive(Clone, Default)]
struct WarnCounter(Arc<AtomicUsize>);

impl Subscriber for WarnCounter {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::WARN
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::WARN)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

async fn count(session: Session) -> actix_web::Result<HttpResponse> {
    let n = session.get::<u64>("n")?.unwrap_or(0);
    session.insert("n", n + 1)?;
    Ok(HttpResponse::Ok().body((n + 1).to_string()))
}

async fn read(session: Session) -> actix_web::Result<HttpResponse> {
    let n = session.get::<u64>("n")?.unwrap_or(0);
    Ok(HttpResponse::Ok().body(n.to_string()))
}

/// 200 requests with forged cookies: one `warn` line, not 200, and every one a fresh session.
#[actix_web::test]
async fn forged_cookies_log_once_per_interval() {
    let warns = WarnCounter::default();
    let _guard = tracing::subscriber::set_default(warns.clone());
    let app = init_service(
        App::new()
            .wrap(SessionMiddleware::new(MemoryStore::new(), Key::generate()))
            .route("/count", web::get().to(count)),
    )
    .await;
    for i in 0..200 {
        let forged = format!("id=AQ{i:0>60}");
        let req = TestRequest::get()
            .uri("/count")
            .insert_header((COOKIE, forged));
        let res = call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            read_body(res).await,
            "1",
            "a forged cookie did not start fresh"
        );
    }
    assert_eq!(
        warns.0.load(Ordering::SeqCst),
        1,
        "forged cookies flooded the log"
    );
}

/// A memory store whose TTL extension fails, as a store that went down would.
#[derive(Debug, Clone, Default)]
struct TouchFails(MemoryStore);

impl SessionStore for TouchFails {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.0.load(key).await
    }
    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        self.0.create(payload, ttl).await
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
    async fn touch(&self, _: &SessionKey, _: Duration) -> Result<SessionKey, StoreError> {
        Err(StoreError::unavailable("connection refused"))
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    fn compares_versions(&self) -> bool {
        self.0.compares_versions()
    }
}

/// Rolling sessions on a store that cannot extend TTLs: reads are served (no 500), the
/// failure is logged once, and writes still work.
#[actix_web::test]
async fn a_failed_touch_on_a_read_serves_the_response() {
    let warns = WarnCounter::default();
    let _guard = tracing::subscriber::set_default(warns.clone());
    let config =
        SessionConfig::new(TouchFails::default()).ttl_extension(TtlExtensionPolicy::OnEveryRequest);
    let sessions = SessionMiddleware::builder(Key::generate())
        .session(config)
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(sessions)
            .route("/count", web::get().to(count))
            .route("/read", web::get().to(read)),
    )
    .await;
    let res = call_service(&app, TestRequest::get().uri("/count").to_request()).await;
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    for _ in 0..20 {
        let req = TestRequest::get()
            .uri("/read")
            .insert_header((COOKIE, cookie.clone()));
        let res = call_service(&app, req.to_request()).await;
        assert_eq!(
            res.status(),
            200,
            "a read failed because its TTL could not be extended"
        );
        assert!(res.headers().get(SET_COOKIE).is_none());
        assert_eq!(read_body(res).await, "1");
    }
    assert_eq!(
        warns.0.load(Ordering::SeqCst),
        1,
        "one line per interval expected"
    );
    let req = TestRequest::get()
        .uri("/count")
        .insert_header((COOKIE, cookie));
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(read_body(res).await, "2");
}

/// Records every span's fields as text.
#[derive(Clone, Default)]
struct SpanFields(Arc<std::sync::Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl tracing::field::Visit for Text<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl Subscriber for SpanFields {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = format!("{} ", span.metadata().name());
        span.record(&mut Text(&mut text));
        let mut spans = self.0.lock().unwrap();
        spans.push(text);
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut spans = self.0.lock().unwrap();
        let index = usize::try_from(id.into_u64()).unwrap() - 1;
        values.record(&mut Text(&mut spans[index]));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Every store call is a `session_store` span with the store, the operation, the outcome and
/// the latency; neither the session key nor a value appears in it.
#[actix_web::test]
async fn store_calls_are_spans_without_keys_or_values() {
    let spans = SpanFields::default();
    let _guard = tracing::subscriber::set_default(spans.clone());
    let app = init_service(
        App::new()
            .wrap(SessionMiddleware::new(MemoryStore::new(), Key::generate()))
            .route(
                "/secret",
                web::get().to(|session: Session| async move {
                    session.insert("secret", "hunter2")?;
                    Ok::<_, actix_web::Error>(HttpResponse::Ok().json(session.id()))
                }),
            ),
    )
    .await;
    let res = call_service(&app, TestRequest::get().uri("/secret").to_request()).await;
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let req = TestRequest::get()
        .uri("/secret")
        .insert_header((COOKIE, cookie));
    let res = call_service(&app, req.to_request()).await;
    let id: Option<String> = serde_json::from_slice(&read_body(res).await).unwrap();
    let id = id.expect("a server-side session has an id");
    let spans = spans.0.lock().unwrap().join("\n");
    for expected in [
        "op=\"create\" outcome=\"ok\"",
        "op=\"load\" outcome=\"ok\"",
        "store=\"MemoryStore\"",
        "micros=",
    ] {
        assert!(spans.contains(expected), "no {expected} in:\n{spans}");
    }
    assert!(!spans.contains(&id), "a session key in a span:\n{spans}");
    assert!(!spans.contains("hunter2"), "a value in a span:\n{spans}");
}
