//! Users of an actix-session 0.11 app keep their sessions when it moves to this library:
//! cookies written by actix-session itself (cookie store, private and signed) are opened once
//! and continue as sessions of ours.
#![cfg(feature = "actix-session")]

use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key as ActixKey;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use serde_json::{Value, json};
use sessions_core::{
    ActixSessionMigration, CookieSecurity, KeyRing, Session, SessionConfig, SessionMiddleware,
};
use sessions_memstore::MemoryStore;

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

/// The cookie actix-session 0.11 sets after a log-in.
async fn actix_session_cookie(key: &ActixKey, security: CookieContentSecurity) -> String {
    let middleware =
        actix_session::SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_content_security(security)
            .cookie_secure(false)
            .build();
    let app = init_service(App::new().wrap(middleware).route(
        "/login",
        web::get().to(|session: actix_session::Session| async move {
            session.insert("user_id", 42_u64)?;
            session.insert("name", "ann")?;
            session.insert("cart", vec![3_u32, 5])?;
            Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
        }),
    ))
    .await;
    let res = call_service(&app, TestRequest::get().uri("/login").to_request()).await;
    cookie_pair(&res)
}

async fn whoami(session: Session) -> actix_web::Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({
        "user_id": session.get::<u64>("user_id")?,
        "name": session.get::<String>("name")?,
        "cart": session.get::<Vec<u32>>("cart")?,
    })))
}

async fn moves_over(actix: CookieContentSecurity, ours: CookieSecurity) {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, actix).await;
    let migration = ActixSessionMigration::cookie_store(&key, ours);
    let sessions = SessionMiddleware::builder(KeyRing::from(key.clone()))
        .session(SessionConfig::new(MemoryStore::new()).migrate_from_actix_session(migration))
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .wrap(sessions)
            .route("/whoami", web::get().to(whoami)),
    )
    .await;
    let expected = json!({"user_id": 42, "name": "ann", "cart": [3, 5]});

    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, legacy.clone()));
    let res = call_service(&app, req.to_request()).await;
    let ours_cookie = cookie_pair(&res);
    assert_ne!(
        ours_cookie, legacy,
        "the client did not get a cookie of ours"
    );
    let body: Value = serde_json::from_slice(&read_body(res).await).unwrap();
    assert_eq!(body, expected, "{actix:?}: the state did not move over");

    // Our cookie carries on (the browser replaced the old one: same name).
    let req = TestRequest::get()
        .uri("/whoami")
        .insert_header((COOKIE, ours_cookie));
    let res = call_service(&app, req.to_request()).await;
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "a read wrote a cookie"
    );
    let body: Value = serde_json::from_slice(&read_body(res).await).unwrap();
    assert_eq!(body, expected);

    // Another key's actix-session cookie, or a damaged one: a fresh session.
    let stranger = actix_session_cookie(&ActixKey::generate(), actix).await;
    let mut damaged = legacy.clone();
    damaged.insert(damaged.len() - 3, 'A');
    for cookie in [stranger, damaged] {
        let req = TestRequest::get()
            .uri("/whoami")
            .insert_header((COOKIE, cookie));
        let res = call_service(&app, req.to_request()).await;
        let body: Value = serde_json::from_slice(&read_body(res).await).unwrap();
        assert_eq!(body, json!({"user_id": null, "name": null, "cart": null}));
    }
}

#[actix_web::test]
async fn private_cookies_of_the_cookie_store_move_over() {
    moves_over(CookieContentSecurity::Private, CookieSecurity::Private).await;
}

#[actix_web::test]
async fn signed_cookies_of_the_cookie_store_move_over() {
    moves_over(CookieContentSecurity::Signed, CookieSecurity::Signed).await;
}
