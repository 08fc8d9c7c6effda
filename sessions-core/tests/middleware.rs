//! The middleware as an application sees it: nested middleware, contention past the budget,
//! the absolute lifetime.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{COOKIE, RETRY_AFTER, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use sessions_core::{
    Key, Loaded, Session, SessionConfig, SessionKey, SessionMiddleware, SessionStore, Sessions,
    StoreError, Stored, Version,
};
use sessions_memstore::MemoryStore;
use sessions_test::{Counting, Switchable};

fn sessions(names: &[&str], key: &Key) -> SessionMiddleware {
    names
        .iter()
        .fold(SessionMiddleware::builder(key.clone()), |builder, name| {
            builder.session(SessionConfig::new(MemoryStore::new()).cookie_name(*name))
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

/// Contention that outlasts the retry budget answers an empty 503 with `Retry-After`,
/// after retrying for about the budget (not a fixed number of immediate attempts).
#[actix_web::test]
async fn contention_past_the_budget_answers_503() {
    // Every update conflicts once switched, as if other instances always saved first.
    let counting = Counting::new(MemoryStore::new());
    let counts = counting.counts();
    let store = Switchable::new(counting);
    let conflicts = store.conflicts();
    let budget = Duration::from_millis(100);
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(store).retry_budget(budget))
        .build()
        .unwrap();
    let app = init_service(App::new().wrap(middleware).route(
        "/",
        web::get().to(|session: Session| async move {
            session.update("n", |n: Option<u32>| n.unwrap_or(0) + 1)?;
            Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
        }),
    ))
    .await;
    let created = call_service(&app, TestRequest::get().uri("/").to_request()).await;
    let cookie = cookie_pairs(&created);
    conflicts.store(true, Ordering::Relaxed);
    let loads = counts.reads();
    let started = std::time::Instant::now();
    let req = TestRequest::get().uri("/").insert_header((COOKIE, cookie));
    let response = call_service(&app, req.to_request()).await;
    assert!(
        started.elapsed() >= budget,
        "gave up before the budget was spent: {}",
        response.status()
    );
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "1");
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert!(read_body(response).await.is_empty());
    let attempts = counts.reads() - loads;
    assert!(attempts > 5, "only {attempts} loads: retried too little");
}

/// A store that keeps every record a day, whatever TTL it is given.
#[derive(Debug, Default)]
struct KeepsADay(MemoryStore);

const DAY: Duration = Duration::from_secs(86_400);

impl SessionStore for KeepsADay {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.0.load(key).await
    }
    async fn create(&self, payload: &[u8], _: Duration) -> Result<Stored, StoreError> {
        self.0.create(payload, DAY).await
    }
    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        _: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        self.0.update(key, payload, DAY, expected).await
    }
    async fn touch(&self, key: &SessionKey, _: Duration) -> Result<SessionKey, StoreError> {
        self.0.touch(key, DAY).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
}

/// A session past its absolute lifetime reads as a fresh one even where the store still
/// keeps it.
#[actix_web::test]
async fn a_session_past_its_absolute_lifetime_reads_as_fresh() {
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(KeepsADay::default()).max_lifetime(Duration::from_secs(1)))
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
