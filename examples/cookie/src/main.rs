//! The `/incr` counter from gin-contrib/sessions' README, on the cookie store: the whole session lives in the (encrypted) cookie.
//!
//! ```sh
//! cargo run -p example-cookie
//! curl -c jar -b jar localhost:8000/incr   # {"count":0}, then 1, 2, ...
//! ```

use actix_web::{App, HttpResponse, HttpServer, Result, get};
use serde_json::json;
use sessions_cookie::CookieStore;
use sessions_core::{Key, Session, SessionMiddleware};

/// Counts requests per browser: 0, 1, 2, ...
#[get("/incr")]
async fn incr(session: Session) -> Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |count| count + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // A random key means sessions end with the process;
    // load a fixed secret (at least 32 bytes) with `Key::from` to keep them across restarts.
    let store = CookieStore::new();
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
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
