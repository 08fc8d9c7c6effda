//! The `/incr` counter from gin-contrib/sessions' README, on memcached (text protocol).
//!
//! ```sh
//! MEMCACHED_URL=memcache://127.0.0.1:11211 cargo run -p example-memcached
//! curl -c jar -b jar localhost:8000/incr   # {"count":0}, then 1, 2, ...
//! ```
//!
//! `MEMCACHED_URL` defaults to `memcache://127.0.0.1:11211`; a server with ASCII authentication
//! (`memcached -Y`) takes `memcache://user:password@host:port`. Several servers are separated by
//! commas (`memcache://10.0.0.1:11211,memcache://10.0.0.2:11211`): sessions are spread over
//! them by a consistent-hash ring, and a server that stops answering is ejected for a while
//! (its users' sessions start fresh meanwhile; see the crate README).

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
    let urls =
        std::env::var("MEMCACHED_URL").unwrap_or_else(|_| "memcache://127.0.0.1:11211".to_owned());
    let urls: Vec<&str> = urls.split(',').map(str::trim).collect();
    for url in &urls {
        println!("using memcached at {}", without_password(url));
    }
    let (first, others) = urls.split_first().expect("split yields at least one URL");
    let builder = others
        .iter()
        .fold(MemcachedStore::builder(first), |builder, url| {
            builder.server(url)
        });
    // `connect` fails now if a server does not answer, instead of on the first request.
    let store = builder.connect().await.map_err(std::io::Error::other)?;
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
