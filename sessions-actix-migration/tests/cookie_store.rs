//! Users of an actix-session 0.11 app keep their sessions when it moves to this library:
//! cookies written by actix-session itself (cookie store, private and signed) are opened once
//! and continue as sessions of ours.

use std::time::{Duration, SystemTime};

use actix_http::Request;
use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::Key as ActixKey;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use serde_json::{Value, json};
use sessions_actix_migration::ActixSessionMigration;
use sessions_core::{CookieSecurity, Key, KeyRing, Session, SessionConfig, SessionMiddleware};
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
    let sessions = SessionMiddleware::builder(KeyRing::new(Key::from(key.master()).unwrap()))
        .session(SessionConfig::new(MemoryStore::new()).fallback_loader(migration))
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

/// A browser's cookie jar, as far as these tests need one: `Set-Cookie` headers replace or
/// (with `Max-Age=0`) remove cookies by name; paths and domains are all `/` and the host.
#[derive(Debug, Default)]
struct Browser(Vec<(String, String)>);

impl Browser {
    fn with(name: &str, value: &str) -> Self {
        Self(vec![(name.to_owned(), value.to_owned())])
    }

    fn pair(pair: &str) -> Self {
        let (name, value) = pair.split_once('=').unwrap();
        Self::with(name, value)
    }

    fn receive<B>(&mut self, res: &ServiceResponse<B>) {
        for header in res.headers().get_all(SET_COOKIE) {
            let header = header.to_str().unwrap();
            let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != name);
            if !attributes.contains("Max-Age=0") {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }
}

/// Our session named `ours`, moving actix-session's default cookie (`id`) over.
async fn app_with(
    migration: ActixSessionMigration,
    ours: &str,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    let sessions = SessionMiddleware::builder(KeyRing::new(Key::generate()))
        .session(
            SessionConfig::new(MemoryStore::new())
                .cookie_name(ours)
                .cookie_secure(false)
                .fallback_loader(migration),
        )
        .build()
        .unwrap();
    init_service(
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
    .await
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

const LOGGED_IN: fn() -> Value = || json!({"user_id": 42, "name": "ann", "cart": [3, 5]});
const LOGGED_OUT: fn() -> Value = || json!({"user_id": null, "name": null, "cart": null});

/// The `Set-Cookie` headers of `res`, as text.
fn set_cookies<B>(res: &ServiceResponse<B>) -> Vec<String> {
    let headers = res.headers().get_all(SET_COOKIE);
    headers.map(|h| h.to_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn a_log_out_is_not_undone_by_the_legacy_cookie_of_another_name() {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private).await;
    let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private);
    let app = app_with(migration, "sid").await;

    let mut browser = Browser::pair(&legacy);
    let res = get(&app, "/whoami", &browser.header()).await;
    browser.receive(&res);
    assert_eq!(body_of(res).await, LOGGED_IN());

    let res = get(&app, "/logout", &browser.header()).await;
    browser.receive(&res);
    let res = get(&app, "/whoami", &browser.header()).await;
    assert_eq!(
        body_of(res).await,
        LOGGED_OUT(),
        "the browser's next request after the log-out is logged in: {:?}",
        browser.0
    );
}

#[actix_web::test]
async fn a_log_out_is_not_undone_by_a_legacy_cookie_sent_beside_ours() {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private).await;
    let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private);
    let app = app_with(migration, "sid").await;

    let res = get(&app, "/whoami", &legacy).await;
    let ours = cookie_pair(&res);
    assert_eq!(body_of(res).await, LOGGED_IN());
    // A client that ignores removals: it keeps sending every cookie it was ever given.
    let kept = format!("{ours}; {legacy}");
    get(&app, "/logout", &kept).await;
    assert_eq!(
        body_of(get(&app, "/whoami", &kept).await).await,
        LOGGED_OUT(),
        "the legacy cookie beside our logged-out cookie logs the user back in"
    );
}

#[actix_web::test]
async fn the_migrating_response_removes_a_legacy_cookie_of_another_name() {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Signed).await;
    let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Signed);
    let app = app_with(migration, "sid").await;

    let res = get(&app, "/whoami", &legacy).await;
    let headers = set_cookies(&res);
    assert_eq!(body_of(res).await, LOGGED_IN());
    assert_eq!(headers.len(), 2, "ours and the removal: {headers:?}");
    assert!(headers[0].starts_with("sid="), "{headers:?}");
    let removal = &headers[1];
    assert!(removal.starts_with("id=;"), "{headers:?}");
    for attribute in ["; Path=/", "; Max-Age=0"] {
        assert!(
            removal.contains(attribute),
            "{attribute} missing: {removal}"
        );
    }
    assert!(!removal.contains("Domain="), "actix-session set no domain");
}

#[actix_web::test]
async fn the_migrating_response_replaces_a_legacy_cookie_of_the_same_name() {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private).await;
    let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private);
    let app = app_with(migration, "id").await;

    let res = get(&app, "/whoami", &legacy).await;
    let headers = set_cookies(&res);
    assert_eq!(body_of(res).await, LOGGED_IN());
    assert_eq!(
        headers.len(),
        1,
        "one cookie, replacing the old one: {headers:?}"
    );
    assert!(headers[0].starts_with("id=") && !headers[0].contains("Max-Age=0"));
    assert!(!headers[0].starts_with(&legacy));
}

/// A cookie `id=…` sealed with `key` by actix-web's cookie jar, as actix-session seals (and
/// percent-encodes) its cookies, holding `content`.
fn sealed(key: &ActixKey, content: &str) -> String {
    let mut jar = actix_web::cookie::CookieJar::new();
    jar.private_mut(key)
        .add(actix_web::cookie::Cookie::new("id", content.to_owned()));
    jar.get("id").unwrap().encoded().stripped().to_string()
}

#[actix_web::test]
async fn at_most_three_legacy_candidates_are_tried() {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private).await;
    let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private);
    let app = app_with(migration, "sid").await;

    // Values another key sealed open to nothing and cost no attempt: the real one is found.
    let stranger_key = ActixKey::generate();
    let stranger = actix_session_cookie(&stranger_key, CookieContentSecurity::Private).await;
    let header = format!("{stranger}; {stranger}; {stranger}; {stranger}; {legacy}");
    assert_eq!(
        body_of(get(&app, "/whoami", &header).await).await,
        LOGGED_IN()
    );

    // The same value many times is one candidate.
    let copies = vec![legacy.clone(); 200].join("; ");
    assert_eq!(
        body_of(get(&app, "/whoami", &copies).await).await,
        LOGGED_IN()
    );

    // The helper seals as actix-session does: a state it seals moves over.
    let state = sealed(&key, r#"{"user_id":"42","name":"\"ann\"","cart":"[3,5]"}"#);
    assert_eq!(
        body_of(get(&app, "/whoami", &state).await).await,
        LOGGED_IN()
    );

    // Three that open with the old key but hold no state are the last tried.
    let junk: Vec<String> = (0..3).map(|i| sealed(&key, &format!("junk {i}"))).collect();
    let header = format!("{}; {legacy}", junk.join("; "));
    assert_eq!(
        body_of(get(&app, "/whoami", &header).await).await,
        LOGGED_OUT(),
        "a fourth candidate was tried"
    );
}

#[actix_web::test]
async fn legacy_cookies_are_ignored_from_the_cut_off_on() {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private).await;
    let now = SystemTime::now();
    let migration = |until| {
        ActixSessionMigration::cookie_store(&key, CookieSecurity::Private).accept_until(until)
    };

    let before = app_with(migration(now + Duration::from_secs(3600)), "id").await;
    let res = get(&before, "/whoami", &legacy).await;
    assert_eq!(body_of(res).await, LOGGED_IN());

    let after = app_with(migration(now - Duration::from_secs(1)), "id").await;
    let res = get(&after, "/whoami", &legacy).await;
    assert!(
        set_cookies(&res).is_empty(),
        "a cookie for an ignored legacy one"
    );
    assert_eq!(body_of(res).await, LOGGED_OUT());
}

#[actix_web::test]
async fn the_removal_repeats_the_legacy_cookie_path_and_domain() {
    let key = ActixKey::generate();
    let legacy = actix_session_cookie(&key, CookieContentSecurity::Private).await;
    let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private)
        .cookie_path("/app")
        .cookie_domain("example.com");
    // Same name as ours, but another path and domain: a cookie of its own in the browser.
    let app = app_with(migration, "id").await;

    let res = get(&app, "/whoami", &legacy).await;
    let headers = set_cookies(&res);
    assert_eq!(body_of(res).await, LOGGED_IN());
    assert_eq!(headers.len(), 2, "ours and the removal: {headers:?}");
    assert!(!headers[0].contains("Max-Age=0"), "{headers:?}");
    let removal = &headers[1];
    for attribute in ["id=;", "; Path=/app", "; Domain=example.com", "; Max-Age=0"] {
        assert!(
            removal.contains(attribute),
            "{attribute} missing: {removal}"
        );
    }
}
