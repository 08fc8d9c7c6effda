//! Log-in, log-out, flash messages and "remember me" (the pages are in `lib.rs`).
//!
//! ```sh
//! cargo run -p example-auth               # then open http://127.0.0.1:8000 (password: "correct horse")
//! STORE=cookie cargo run -p example-auth  # the same app with the session in the cookie
//! ```

use actix_web::{App, HttpServer};
use example_auth::{PASSWORD, routes};
use sessions_cookie::CookieStore;
use sessions_core::{Key, SessionMiddleware};
use sessions_memstore::MemoryStore;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // A random key means sessions end with the process.
    let key = Key::generate();
    // STORE picks where sessions live: `memory` (the default) or `cookie`.
    let sessions = match std::env::var("STORE").as_deref() {
        Ok("memory") | Err(_) => SessionMiddleware::new(MemoryStore::new(), key),
        Ok("cookie") => SessionMiddleware::new(CookieStore::new(), key),
        Ok(other) => panic!("STORE is `memory` or `cookie`, not {other:?}"),
    };
    // PORT picks another port than 8000.
    let port: u16 = std::env::var("PORT")
        .map_or(Ok(8000), |p| p.parse())
        .expect("PORT is a port number");
    println!("listening on http://127.0.0.1:{port} (password: {PASSWORD:?})");
    HttpServer::new(move || App::new().wrap(sessions.clone()).configure(routes))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
