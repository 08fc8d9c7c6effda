//! The `/incr` counter from gin-contrib/sessions' README, on MongoDB.
//!
//! ```sh
//! MONGODB_URL=mongodb://127.0.0.1:27017 cargo run -p example-mongo   # the default URL
//! curl -c jar -b jar localhost:8000/incr   # {"count":0}, then 1, 2, ...
//! ```
//!
//! Sessions go to the `sessions` collection of the `sessions` database.

use actix_web::{App, HttpResponse, HttpServer, Result, get};
use serde_json::json;
use sessions_core::{Key, Session, SessionMiddleware};
use sessions_mongo::MongoStore;

/// The MongoDB of the original example: localhost's default port.
const DEFAULT_MONGODB_URL: &str = "mongodb://127.0.0.1:27017";

/// Counts requests per browser: 0, 1, 2, ...
#[get("/incr")]
async fn incr(session: Session) -> Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |count| count + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("MONGODB_URL").unwrap_or_else(|_| DEFAULT_MONGODB_URL.to_owned());
    println!("sessions in MongoDB at {}", without_secrets(&url));
    let store = MongoStore::builder(url)
        .build()
        .await
        .map_err(std::io::Error::other)?;
    // The TTL index that lets MongoDB delete expired sessions; idempotent, so at every start.
    // It is also the first request, so the app stops here if MongoDB does not answer.
    store.migrate().await.map_err(std::io::Error::other)?;
    // One middleware, and so one connection pool, shared by every worker. A random key means
    // sessions end with the process; load a fixed secret (at least 32 bytes) with `Key::from`
    // to keep them across restarts.
    let sessions = SessionMiddleware::new(store, Key::generate());
    // PORT picks another port than 8000.
    let port: u16 = std::env::var("PORT")
        .map_or(Ok(8000), |p| p.parse())
        .expect("PORT is a port number");
    println!("listening on http://127.0.0.1:{port}/incr");
    HttpServer::new(move || App::new().wrap(sessions.clone()).service(incr))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}

/// `url` fit to print: the user name and password become `***`, and the options (where
/// `tlsCertificateKeyFilePassword` or `authMechanismProperties` may carry secrets) are left out.
fn without_secrets(url: &str) -> String {
    let (url, options) = url
        .split_once('?')
        .map_or((url, ""), |(url, _)| (url, "?…"));
    let (scheme, rest) = url.split_once("://").unwrap_or(("mongodb", url));
    // Hosts end at the first `/`; a `/` or `@` in the credentials must be percent-encoded.
    let (hosts, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match hosts.rsplit_once('@') {
        Some((_credentials, hosts)) => format!("{scheme}://***@{hosts}{path}{options}"),
        None => format!("{scheme}://{hosts}{path}{options}"),
    }
}

#[cfg(test)]
mod tests {
    use super::without_secrets;

    #[test]
    fn secrets_are_never_printed() {
        assert_eq!(
            without_secrets("mongodb://127.0.0.1:27017"),
            "mongodb://127.0.0.1:27017"
        );
        assert_eq!(
            without_secrets("mongodb+srv://app:s3cret@cluster0.example.net/app?retryWrites=true"),
            "mongodb+srv://***@cluster0.example.net/app?…"
        );
        assert_eq!(
            without_secrets("mongodb://app:p%40ss@a:1,b:2/?tlsCertificateKeyFilePassword=s3cret"),
            "mongodb://***@a:1,b:2/?…"
        );
    }
}
