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

/// Rendezvous points for the concurrency cases: a request to `/parked?do=<op>` parks between
/// loading its session and running `<op>` until the test lets it go.
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
    for op in OPS {
        cfg.route(
            &format!("/{op}"),
            web::get().to(move |s: Session, q: Query| run(s, op, q)),
        );
    }
    cfg.route("/set_long", web::get().to(set_long))
        .route("/untouched", web::get().to(untouched))
        .route("/named/get", web::get().to(named_get))
        .route("/named/set", web::get().to(named_set))
        .route("/named/renew_and_set", web::get().to(named_renew_and_set))
        .route("/parked", web::get().to(parked));
}

/// The operations on the primary session, each at `/<name>`, and at `/parked?do=<name>`.
const OPS: [&str; 13] = [
    "get",
    "set",
    "update",
    "remove",
    "clear",
    "keys",
    "flash",
    "flashes",
    "renew",
    "purge",
    "remember",
    "id",
    "renew_and_set",
];

async fn run(session: Session, op: &'static str, q: Query) -> Result<HttpResponse, Error> {
    apply(&session, op, &q).map(|value| HttpResponse::Ok().json(value))
}

/// Runs `op` on `session` with the query's arguments; what the route answers, as JSON.
fn apply(session: &Session, op: &str, q: &Query) -> Result<serde_json::Value, Error> {
    let key = param(q, "key");
    let value = param(q, "value");
    let json = match op {
        "get" => serde_json::json!(session.get::<String>(key)?),
        "set" => {
            session.insert(key, value)?;
            serde_json::json!(true)
        }
        // A counter incremented with a read-modify-write that survives concurrency.
        "update" => serde_json::json!(session.update(key, |n: Option<u64>| n.unwrap_or(0) + 1)?),
        "remove" => serde_json::json!(session.remove(key)),
        "clear" => {
            session.clear();
            serde_json::json!(true)
        }
        "keys" => serde_json::json!(session.keys()),
        "flash" => {
            match q.get("to") {
                Some(to) => session.add_flash_to(to.clone(), value)?,
                None => session.add_flash(value)?,
            }
            serde_json::json!(true)
        }
        // Shows (and so removes) the flashes, then adds `then_add` if given.
        "flashes" => {
            let shown = match q.get("from") {
                Some(from) => session.flashes_from::<String>(from)?,
                None => session.flashes::<String>()?,
            };
            if let Some(added) = q.get("then_add") {
                session.add_flash(added)?;
            }
            serde_json::json!(shown)
        }
        "renew" => {
            session.renew();
            serde_json::json!(true)
        }
        // Purges, then optionally stores a flash (the "you have been logged out" pattern).
        "purge" => {
            session.purge();
            if let Some(message) = q.get("flash") {
                session.add_flash(message)?;
            }
            serde_json::json!(true)
        }
        "remember" => {
            let secs = param(q, "secs").parse().unwrap_or(0);
            let options = SessionOptions::new().max_age(std::time::Duration::from_secs(secs));
            serde_json::json!(session.set_options(options).is_ok())
        }
        "id" => serde_json::json!(session.id()),
        // A log-in: a new key, then the user.
        "renew_and_set" => {
            session.renew();
            session.insert(key, value)?;
            serde_json::json!(true)
        }
        other => {
            return Err(actix_web::error::ErrorBadRequest(format!(
                "unknown op {other}"
            )));
        }
    };
    Ok(json)
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

async fn untouched() -> HttpResponse {
    HttpResponse::Ok().json("no session here")
}

async fn named_get(sessions: Sessions, q: Query) -> Result<HttpResponse, Error> {
    let session = sessions.get(param(&q, "session")).await?;
    Ok(HttpResponse::Ok().json(session.get::<String>(param(&q, "key"))?))
}

/// Sets `key=value` in each `session=` listed (comma separated), all in one request; with
/// `park`, waits for the test's go-ahead between loading them and changing them.
async fn named_set(
    sessions: Sessions,
    q: Query,
    barriers: web::Data<Barriers>,
) -> Result<HttpResponse, Error> {
    let mut loaded = Vec::new();
    for name in param(&q, "session").split(',') {
        loaded.push((name, sessions.get(name).await?));
    }
    park_if_asked(&q, &barriers).await;
    for (name, session) in loaded {
        session.insert(param(&q, "key"), format!("{}@{name}", param(&q, "value")))?;
    }
    Ok(HttpResponse::Ok().json(true))
}

/// Renews the session `renew=` and sets `key=value@<set>` in the session `set=`, in one
/// request; with `park`, as [`named_set`].
async fn named_renew_and_set(
    sessions: Sessions,
    q: Query,
    barriers: web::Data<Barriers>,
) -> Result<HttpResponse, Error> {
    let renewed = sessions.get(param(&q, "renew")).await?;
    let set = sessions.get(param(&q, "set")).await?;
    park_if_asked(&q, &barriers).await;
    renewed.renew();
    set.insert(
        param(&q, "key"),
        format!("{}@{}", param(&q, "value"), param(&q, "set")),
    )?;
    Ok(HttpResponse::Ok().json(true))
}

async fn park_if_asked(q: &Query, barriers: &Barriers) {
    if q.contains_key("park") {
        barriers.loaded.notify_one();
        barriers.proceed.notified().await;
    }
}

/// Loads the session, waits for the test's go-ahead, then runs the operation `do=` names.
async fn parked(
    session: Session,
    q: Query,
    barriers: web::Data<Barriers>,
) -> Result<HttpResponse, Error> {
    barriers.loaded.notify_one();
    barriers.proceed.notified().await;
    apply(&session, param(&q, "do"), &q).map(|value| HttpResponse::Ok().json(value))
}
