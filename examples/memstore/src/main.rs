//! The `/incr` counter from gin-contrib/sessions' README, on the in-memory store.
//!
//! ```sh
//! cargo run -p example-memstore
//! curl -c jar -b jar localhost:8000/incr          # {"count":0}, then 1, 2, ...
//! curl -c jar -b jar localhost:8000/incr-atomic   # the same, with no increment lost under concurrency
//! ```

use actix_web::{App, HttpResponse, HttpServer, Result, get};
use serde_json::json;
use sessions_core::{Key, Session, SessionMiddleware};
use sessions_memstore::MemoryStore;

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
    // One store shared by every worker. A random key means sessions end with the process;
    // load a fixed secret (at least 32 bytes) with `Key::from` to keep them across restarts.
    let store = MemoryStore::new();
    let key = Key::generate();
    // PORT picks another port than 8000.
    let port: u16 = std::env::var("PORT")
        .map_or(Ok(8000), |p| p.parse())
        .expect("PORT is a port number");
    println!("listening on http://127.0.0.1:{port}/incr");
    HttpServer::new(move || {
        App::new()
            .wrap(SessionMiddleware::new(store.clone(), key.clone()))
            .service(incr)
            .service(incr_atomic)
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
