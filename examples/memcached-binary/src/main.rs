//! The `/incr` counter from gin-contrib/sessions' README, on memcached over the binary protocol
//! with SASL authentication, as hosted memcached services (MemCachier and others) offer it.
//!
//! ```sh
//! MEMCACHED_SASL_URL=memcache+binary://user:password@127.0.0.1:11211 cargo run -p example-memcached-binary
//! curl -c jar -b jar localhost:8000/incr   # {"count":0}, then 1, 2, ...
//! ```
//!
//! `MEMCACHED_SASL_URL` defaults to `memcache+binary://127.0.0.1:11211` (no credentials); the
//! user name and password come inside the URL, percent-encoded where they contain `:`, `@` or
//! `/`. The password is never printed.

use actix_web::{App, HttpResponse, HttpServer, Result, get};
use serde_json::json;
use sessions_core::{Key, Session, SessionMiddleware};
use sessions_memcached::MemcachedStore;

/// Counts requests per browser: 0, 1, 2, ...
#[get("/incr")]
async fn incr(session: Session) -> Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |count| count + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("MEMCACHED_SASL_URL")
        .unwrap_or_else(|_| "memcache+binary://127.0.0.1:11211".to_owned());
    println!("using memcached at {}", without_password(&url));
    // `connect` fails now if the server does not answer or refuses the credentials, instead of
    // on the first request.
    let store = MemcachedStore::builder(&url)
        .connect()
        .await
        .map_err(std::io::Error::other)?;
    // A random key means sessions end with the process;
    // load a fixed secret (at least 32 bytes) with `Key::from` to keep them across restarts.
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

/// `url` with the password in its user info, if any, replaced by `<redacted>`, for printing.
fn without_password(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[authority..].rfind('@').map(|i| authority + i) else {
        return url.to_owned();
    };
    match url[authority..at].find(':') {
        Some(colon) => format!("{}<redacted>{}", &url[..=authority + colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn the_password_is_never_printed() {
        assert_eq!(
            without_password("memcache+binary://app:s3cret@cache.example:11211"),
            "memcache+binary://app:<redacted>@cache.example:11211"
        );
        assert_eq!(
            without_password("app:s3cret@cache.example:11211"),
            "app:<redacted>@cache.example:11211"
        );
        assert_eq!(
            without_password("memcache://127.0.0.1:11211"),
            "memcache://127.0.0.1:11211"
        );
        assert_eq!(
            without_password("memcache://app@cache.example"),
            "memcache://app@cache.example"
        );
    }
}
