//! The `/incr` counter from gin-contrib/sessions' README, on Redis.
//!
//! ```sh
//! REDIS_URL=redis://127.0.0.1:6379 cargo run -p example-redis   # the default URL
//! curl -c jar -b jar localhost:8000/incr          # {"count":0}, then 1, 2, ...
//! curl -c jar -b jar localhost:8000/incr-atomic   # the same, with no increment lost under concurrency
//! ```

use actix_web::{App, HttpResponse, HttpServer, Result, get};
use serde_json::json;
use sessions_core::{Key, Session, SessionMiddleware};
use sessions_redis::RedisStore;

/// The Redis of the original example: localhost's default port.
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Counts requests per browser: 0, 1, 2, ...
#[get("/incr")]
async fn incr(session: Session) -> Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |count| count + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}

/// The same counter as a read-modify-write that survives concurrency: when several requests of
/// one browser increment at once, each increment is kept (with `/incr`, two requests that read
/// 5 both write 6). The response shows what this request computed.
#[get("/incr-atomic")]
async fn incr_atomic(session: Session) -> Result<HttpResponse> {
    let count = session.update("atomic", |count: Option<u64>| count.map_or(0, |n| n + 1))?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    println!("sessions in Redis at {}", without_password(&url));
    // Connections open on first use, so the app starts even while Redis is down.
    let store = RedisStore::new(url).map_err(std::io::Error::other)?;
    // One middleware shared by every worker; each worker opens its own Redis connection. A random key means
    // sessions end with the process; load a fixed secret (at least 32 bytes) with `Key::from`
    // to keep them across restarts.
    let sessions = SessionMiddleware::new(store, Key::generate());
    // PORT picks another port than 8000.
    let port: u16 = std::env::var("PORT")
        .map_or(Ok(8000), |p| p.parse())
        .expect("PORT is a port number");
    println!("listening on http://127.0.0.1:{port}/incr");
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .service(incr)
            .service(incr_atomic)
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}

/// `url` fit to print: the user name and password become `***`, and the query (where a Unix
/// socket URL may carry `pass=`) is left out.
fn without_password(url: &str) -> String {
    let url = url.split('?').next().unwrap_or_default();
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
    match rest.rsplit_once('@') {
        Some((_credentials, host)) => format!("{scheme}://***@{host}"),
        None => url.to_owned(),
    }
}
