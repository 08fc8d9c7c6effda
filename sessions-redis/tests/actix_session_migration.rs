//! Users of an actix-session 0.11 app on Redis keep their sessions when it moves to this
//! library: records written by actix-session's own `RedisSessionStore` (private and signed
//! cookies) are read once and continue as sessions of ours. Needs REDIS_URL.

mod common;

use actix_session::config::CookieContentSecurity;
use actix_session::storage::RedisSessionStore;
use actix_web::cookie::Key as ActixKey;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use serde_json::{Value, json};
use sessions_core::{
    ActixSessionMigration, CookieSecurity, KeyRing, Session, SessionConfig, SessionMiddleware,
};
use sessions_redis::{ActixSessionRecords, RedisStore};

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
    let prefix = prefix.to_owned();
    let store = RedisSessionStore::builder(common::env("REDIS_URL"))
        .cache_keygen(move |key| format!("{prefix}{key}"))
        .build()
        .await
        .expect("actix-session connects to REDIS_URL");
    let middleware = actix_session::SessionMiddleware::builder(store, key.clone())
        .cookie_content_security(security)
        .cookie_secure(false)
        .build();
    let app = init_service(App::new().wrap(middleware).route(
        "/login",
        web::get().to(|session: actix_session::Session| async move {
            session.insert("user_id", 42_u64)?;
            session.insert("roles", vec!["admin"])?;
            Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
        }),
    ))
    .await;
    let res = call_service(&app, TestRequest::get().uri("/login").to_request()).await;
    assert_eq!(res.status(), 200);
    cookie_pair(&res)
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
    let sessions = SessionMiddleware::builder(KeyRing::from(key.clone()))
        .session(SessionConfig::new(store).migrate_from_actix_session(migration))
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
