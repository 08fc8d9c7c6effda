//! Users of an actix-session 0.11 app on Redis keep their sessions when it moves to this
//! library: records written by actix-session's own `RedisSessionStore` (private and signed
//! cookies) are read once and continue as sessions of ours. Needs REDIS_URL.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_http::Request;
use actix_session::config::CookieContentSecurity;
use actix_session::storage::{RedisSessionStore, SessionKey, SessionStore as _};
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, CookieJar, Key as ActixKey};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};
use sessions_actix_migration::{ActixSessionMigration, LegacyRecords};
use sessions_core::{
    CookieSecurity, Key, KeyRing, Session, SessionConfig, SessionMiddleware, StoreError,
};
use sessions_redis::{ActixSessionRecords, RedisStore};

mod common;

fn cookie_pair<B>(res: &ServiceResponse<B>) -> String {
    let header = res.headers().get(SET_COOKIE).expect("a session cookie");
    header
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Logs in on an actix-session 0.11 app with its Redis store; the cookie it sets.
async fn actix_session_cookie(
    key: &ActixKey,
    security: CookieContentSecurity,
    prefix: &str,
) -> String {
    actix_session_visit(key, security, prefix, false).await
}

/// Logs in on an actix-session 0.11 app with its Redis store, then, if `log_out`, logs out
/// (actix-session deletes the record); the cookie set at the log-in.
async fn actix_session_visit(
    key: &ActixKey,
    security: CookieContentSecurity,
    prefix: &str,
    log_out: bool,
) -> String {
    let middleware =
        actix_session::SessionMiddleware::builder(legacy_store(prefix).await, key.clone())
            .cookie_content_security(security)
            .cookie_secure(false)
            .build();
    let app = init_service(
        App::new()
            .wrap(middleware)
            .route(
                "/login",
                web::get().to(|session: actix_session::Session| async move {
                    session.insert("user_id", 42_u64)?;
                    session.insert("roles", vec!["admin"])?;
                    Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
                }),
            )
            .route(
                "/logout",
                web::get().to(|session: actix_session::Session| async move {
                    session.purge();
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let res = call_service(&app, TestRequest::get().uri("/login").to_request()).await;
    assert_eq!(res.status(), 200);
    let cookie = cookie_pair(&res);
    if log_out {
        let req = TestRequest::get()
            .uri("/logout")
            .insert_header((COOKIE, cookie.clone()));
        assert_eq!(call_service(&app, req.to_request()).await.status(), 200);
    }
    cookie
}

/// actix-session's Redis store, with its records under `prefix`.
async fn legacy_store(prefix: &str) -> RedisSessionStore {
    let prefix = prefix.to_owned();
    RedisSessionStore::builder(common::env("REDIS_URL"))
        .cache_keygen(move |key| format!("{prefix}{key}"))
        .build()
        .await
        .expect("actix-session connects to REDIS_URL")
}

async fn whoami(session: Session) -> actix_web::Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({
        "user_id": session.get::<u64>("user_id")?,
        "roles": session.get::<Vec<String>>("roles")?,
    })))
}

async fn moves_over(actix: CookieContentSecurity, ours: CookieSecurity) {
    let key = ActixKey::generate();
    let legacy_prefix = common::unique_prefix("actix-session");
    let legacy = actix_session_cookie(&key, actix, &legacy_prefix).await;
    let store = RedisStore::builder(common::env("REDIS_URL"))
        .key_prefix(common::unique_prefix("migrated"))
        .build()
        .unwrap();
    let records =
        ActixSessionRecords::new(&store).cache_keygen(move |key| format!("{legacy_prefix}{key}"));
    let migration = ActixSessionMigration::store(&key, ours, records);
    let sessions = SessionMiddleware::builder(KeyRing::new(Key::from(key.master()).unwrap()))
        .session(SessionConfig::new(store).fallback_loader(migration))
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(sessions)
            .route("/whoami", web::get().to(whoami)),
    )
    .await;
    let expected = json!({"user_id": 42, "roles": ["admin"]});

    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, legacy));
    let res = call_service(&app, req.to_request()).await;
    let ours_cookie = cookie_pair(&res);
    let body: Value = serde_json::from_slice(&read_body(res).await).unwrap();
    assert_eq!(body, expected, "{actix:?}: the state did not move over");

    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, ours_cookie));
    let body: Value =
        serde_json::from_slice(&read_body(call_service(&app, req.to_request()).await).await)
            .unwrap();
    assert_eq!(
        body, expected,
        "our cookie does not carry the moved session"
    );

    // A cookie of another deployment's key names nothing here: a fresh session.
    let stranger = actix_session_cookie(&ActixKey::generate(), actix, "stranger:").await;
    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, stranger));
    let body: Value =
        serde_json::from_slice(&read_body(call_service(&app, req.to_request()).await).await)
            .unwrap();
    assert_eq!(body, json!({"user_id": null, "roles": null}));
}

#[actix_web::test]
async fn private_cookies_naming_redis_records_move_over() {
    moves_over(CookieContentSecurity::Private, CookieSecurity::Private).await;
}

#[actix_web::test]
async fn signed_cookies_naming_redis_records_move_over() {
    moves_over(CookieContentSecurity::Signed, CookieSecurity::Signed).await;
}

/// Counts the calls to actix-session's records.
#[derive(Clone)]
struct Counted {
    records: ActixSessionRecords,
    calls: Arc<AtomicUsize>,
}

impl LegacyRecords for Counted {
    fn take<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.records.take(key)
    }
}

/// An app of ours on Redis, named `ours`, moving actix-session's records under `legacy_prefix`
/// over; and the count of calls to those records.
async fn migrating_app(
    key: &ActixKey,
    ours: &str,
    legacy_prefix: &str,
) -> (
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
    Arc<AtomicUsize>,
) {
    let store = RedisStore::builder(common::env("REDIS_URL"))
        .key_prefix(common::unique_prefix("migrated"))
        .build()
        .unwrap();
    let legacy_prefix = legacy_prefix.to_owned();
    let records =
        ActixSessionRecords::new(&store).cache_keygen(move |key| format!("{legacy_prefix}{key}"));
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Counted {
        records,
        calls: Arc::clone(&calls),
    };
    let migration = ActixSessionMigration::store(key, CookieSecurity::Private, counted);
    let sessions = SessionMiddleware::builder(KeyRing::new(Key::generate()))
        .session(
            SessionConfig::new(store)
                .cookie_name(ours)
                .cookie_secure(false)
                .fallback_loader(migration),
        )
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(sessions)
            .route("/whoami", web::get().to(whoami))
            .route(
                "/logout",
                web::get().to(|session: Session| async move {
                    session.purge();
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    (app, calls)
}

async fn get<S, B>(app: &S, uri: &str, cookies: &str) -> ServiceResponse<B>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let mut req = TestRequest::get().uri(uri);
    if !cookies.is_empty() {
        req = req.insert_header((COOKIE, cookies.to_owned()));
    }
    call_service(app, req.to_request()).await
}

async fn body_of(res: ServiceResponse<impl MessageBody>) -> Value {
    serde_json::from_slice(&read_body(res).await).unwrap()
}

fn logged_in() -> Value {
    json!({"user_id": 42, "roles": ["admin"]})
}

fn logged_out() -> Value {
    json!({"user_id": null, "roles": null})
}

/// The state actix-session itself reads for its cookie `cookie` (private, sealed with `key`).
async fn legacy_state(
    prefix: &str,
    key: &ActixKey,
    cookie: &str,
) -> Option<HashMap<String, String>> {
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::parse_encoded(cookie.to_owned()).unwrap());
    let session_key = jar.private(key).get("id").expect("the cookie opens");
    let session_key = SessionKey::try_from(session_key.value().to_owned()).unwrap();
    legacy_store(prefix).await.load(&session_key).await.unwrap()
}

#[actix_web::test]
async fn a_log_out_is_not_undone_by_replaying_the_legacy_cookie() {
    let key = ActixKey::generate();
    let prefix = common::unique_prefix("actix-session");
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private, &prefix).await;
    let (app, _) = migrating_app(&key, "id", &prefix).await;

    let res = get(&app, "/whoami", &legacy).await;
    let ours = cookie_pair(&res);
    assert_eq!(body_of(res).await, logged_in());
    get(&app, "/logout", &ours).await;

    // Someone who captured the old cookie before the cut-over replays it.
    let replayed = body_of(get(&app, "/whoami", &legacy).await).await;
    assert_eq!(
        replayed,
        logged_out(),
        "the replayed legacy cookie logged in again"
    );
    assert_eq!(
        legacy_state(&prefix, &key, &legacy).await,
        None,
        "actix-session's record outlived the migration"
    );
}

#[actix_web::test]
async fn parallel_first_requests_with_one_legacy_cookie_end_in_one_session() {
    let key = ActixKey::generate();
    let prefix = common::unique_prefix("actix-session");
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private, &prefix).await;
    let (app, _) = migrating_app(&key, "sid", &prefix).await;

    let (first, second) =
        futures_util::future::join(get(&app, "/whoami", &legacy), get(&app, "/whoami", &legacy))
            .await;
    let mut holders = 0;
    for res in [first, second] {
        let ours: Vec<String> = res
            .headers()
            .get_all(SET_COOKIE)
            .map(|h| h.to_str().unwrap().to_owned())
            .filter(|h| h.starts_with("sid="))
            .collect();
        let body = body_of(res).await;
        assert!(ours.len() <= 1, "{ours:?}");
        if let Some(ours) = ours.first() {
            let pair = ours.split(';').next().unwrap();
            if body_of(get(&app, "/whoami", pair).await).await == logged_in() {
                holders += 1;
            }
        } else {
            assert_eq!(
                body,
                logged_out(),
                "a response shows state it stored nowhere"
            );
        }
    }
    assert_eq!(holders, 1, "sessions holding the migrated state");
}

#[actix_web::test]
async fn the_migrating_response_removes_the_legacy_cookie() {
    let key = ActixKey::generate();
    let prefix = common::unique_prefix("actix-session");
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private, &prefix).await;
    let (app, _) = migrating_app(&key, "sid", &prefix).await;

    let res = get(&app, "/whoami", &legacy).await;
    let headers: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .map(|h| h.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(body_of(res).await, logged_in());
    assert!(headers.iter().any(|h| h.starts_with("sid=")), "{headers:?}");
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("id=;") && h.contains("; Path=/") && h.contains("Max-Age=0")),
        "no removal of the legacy cookie: {headers:?}"
    );
}

#[actix_web::test]
async fn copies_of_one_legacy_cookie_cost_one_lookup() {
    let key = ActixKey::generate();
    let prefix = common::unique_prefix("actix-session");
    // A cookie whose record actix-session already ended: every lookup of it finds nothing.
    let ended = actix_session_visit(&key, CookieContentSecurity::Private, &prefix, true).await;
    let (app, calls) = migrating_app(&key, "sid", &prefix).await;

    let header = vec![ended; 200].join("; ");
    let body = body_of(get(&app, "/whoami", &header).await).await;
    assert_eq!(body, logged_out());
    let calls = calls.load(Ordering::Relaxed);
    assert_eq!(calls, 1, "lookups of actix-session's records");
}
