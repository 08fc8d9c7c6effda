//! The app every case drives: small handlers over the session API, plus [`client`] to start it.

use std::collections::HashMap;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, Error, HttpResponse, web};
use serde::Deserialize;
use sessions_core::{Session, SessionMiddleware, SessionOptions, Sessions};
use tokio::sync::Notify;

use crate::client::Client;

/// Rendezvous points for the concurrency case: a request parks between loading and changing
/// its session until the test lets it go.
#[derive(Debug, Default)]
pub struct Barriers {
    /// Notified when the parked request has loaded its session.
    pub loaded: Notify,
    /// Notify to let the parked request continue.
    pub proceed: Notify,
}

/// Starts the test app behind `middleware` and returns a client for it.
pub async fn client(
    middleware: SessionMiddleware,
) -> (
    Client<impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = Error>>,
    web::Data<Barriers>,
) {
    let barriers = web::Data::new(Barriers::default());
    let app = App::new()
        .app_data(barriers.clone())
        .wrap(middleware)
        .configure(routes);
    (
        Client::new(actix_web::test::init_service(app).await),
        barriers,
    )
}

type Query = web::Query<HashMap<String, String>>;

fn param<'a>(query: &'a Query, name: &str) -> &'a str {
    query.get(name).map_or("", String::as_str)
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/get", web::get().to(get))
        .route("/set", web::get().to(set))
        .route("/set_long", web::get().to(set_long))
        .route("/remove", web::get().to(remove))
        .route("/clear", web::get().to(clear))
        .route("/keys", web::get().to(keys))
        .route("/flash", web::get().to(flash))
        .route("/flashes", web::get().to(flashes))
        .route("/renew", web::get().to(renew))
        .route("/purge", web::get().to(purge))
        .route("/remember", web::get().to(remember))
        .route("/id", web::get().to(id))
        .route("/untouched", web::get().to(untouched))
        .route("/named/get", web::get().to(named_get))
        .route("/named/set", web::get().to(named_set))
        .route("/parked_set", web::get().to(parked_set));
}

async fn get(session: Session, q: Query) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(session.get::<String>(param(&q, "key"))?))
}

async fn set(session: Session, q: Query) -> Result<HttpResponse, Error> {
    session.insert(param(&q, "key"), param(&q, "value"))?;
    Ok(HttpResponse::Ok().json(true))
}

#[derive(Deserialize)]
struct Long {
    key: String,
    len: usize,
}

/// Sets `key` to a string of `len` letters (too long to pass in a URL).
async fn set_long(session: Session, q: web::Query<Long>) -> Result<HttpResponse, Error> {
    session.insert(q.key.as_str(), "v".repeat(q.len))?;
    Ok(HttpResponse::Ok().json(true))
}

async fn remove(session: Session, q: Query) -> HttpResponse {
    HttpResponse::Ok().json(session.remove(param(&q, "key")))
}

async fn clear(session: Session) -> HttpResponse {
    session.clear();
    HttpResponse::Ok().json(true)
}

async fn keys(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(session.keys())
}

async fn flash(session: Session, q: Query) -> Result<HttpResponse, Error> {
    match q.get("to") {
        Some(key) => session.add_flash_to(key.clone(), param(&q, "value"))?,
        None => session.add_flash(param(&q, "value"))?,
    }
    Ok(HttpResponse::Ok().json(true))
}

async fn flashes(session: Session, q: Query) -> Result<HttpResponse, Error> {
    let values: Vec<String> = match q.get("from") {
        Some(key) => session.flashes_from(key)?,
        None => session.flashes()?,
    };
    Ok(HttpResponse::Ok().json(values))
}

async fn renew(session: Session) -> HttpResponse {
    session.renew();
    HttpResponse::Ok().json(true)
}

/// Purges, then optionally stores a flash (the "you have been logged out" pattern).
async fn purge(session: Session, q: Query) -> Result<HttpResponse, Error> {
    session.purge();
    if let Some(message) = q.get("flash") {
        session.add_flash(message)?;
    }
    Ok(HttpResponse::Ok().json(true))
}

#[derive(Deserialize)]
struct Remember {
    secs: u64,
}

async fn remember(session: Session, q: web::Query<Remember>) -> HttpResponse {
    session.set_options(SessionOptions::new().max_age(std::time::Duration::from_secs(q.secs)));
    HttpResponse::Ok().json(true)
}

async fn id(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(session.id())
}

async fn untouched() -> HttpResponse {
    HttpResponse::Ok().json("no session here")
}

async fn named_get(sessions: Sessions, q: Query) -> Result<HttpResponse, Error> {
    let session = sessions.get(param(&q, "session")).await?;
    Ok(HttpResponse::Ok().json(session.get::<String>(param(&q, "key"))?))
}

/// Sets `key=value` in each `session=` listed (comma separated), all in one request.
async fn named_set(sessions: Sessions, q: Query) -> Result<HttpResponse, Error> {
    for name in param(&q, "session").split(',') {
        sessions
            .get(name)
            .await?
            .insert(param(&q, "key"), format!("{}@{name}", param(&q, "value")))?;
    }
    Ok(HttpResponse::Ok().json(true))
}

/// Loads the session, waits for the test's go-ahead, then sets `key=value`.
async fn parked_set(
    session: Session,
    q: Query,
    barriers: web::Data<Barriers>,
) -> Result<HttpResponse, Error> {
    barriers.loaded.notify_one();
    barriers.proceed.notified().await;
    session.insert(param(&q, "key"), param(&q, "value"))?;
    Ok(HttpResponse::Ok().json(true))
}
