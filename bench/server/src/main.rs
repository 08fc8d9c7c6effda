//! The `/incr` app of the load benchmark, on one contender chosen by argument.
//!
//! ```text
//! bench-server --list                          one line per contender: name, backend, description
//! bench-server <contender> <port> [<url>]      serve http://127.0.0.1:<port>/incr with one worker
//! ```
//!
//! Every contender answers `GET /incr` with `{"count":N}`, N counting 0, 1, 2, ... per session,
//! except `bare` (no sessions: always `{"count":0}`), the limit the others are measured against.
//! Network stores take their server's URL as the third argument; `bench` starts those servers.
//!
//! To add a store: one entry in [`CONTENDERS`] and one arm in [`serve`].

use std::io;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

/// A server a contender needs besides itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    None,
    Redis,
    RedisCluster,
    Memcached,
    Mongo,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Redis => "redis",
            Self::RedisCluster => "redis-cluster",
            Self::Memcached => "memcached",
            Self::Mongo => "mongo",
        }
    }
}

/// One app to measure.
#[derive(Debug)]
struct Contender {
    name: &'static str,
    backend: Backend,
    about: &'static str,
}

/// Every contender, in the order the benchmark runs and reports them.
const CONTENDERS: &[Contender] = &[
    Contender {
        name: "bare",
        backend: Backend::None,
        about: "actix-web without sessions (the limit)",
    },
    Contender {
        name: "memstore",
        backend: Backend::None,
        about: "sessions-memstore MemoryStore",
    },
    Contender {
        name: "cookie",
        backend: Backend::None,
        about: "sessions-cookie CookieStore (private)",
    },
    Contender {
        name: "redis",
        backend: Backend::Redis,
        about: "sessions-redis RedisStore",
    },
    Contender {
        name: "redis-cluster",
        backend: Backend::RedisCluster,
        about: "sessions-redis RedisStore on a Redis Cluster (3 primaries)",
    },
    Contender {
        name: "memcached",
        backend: Backend::Memcached,
        about: "sessions-memcached MemcachedStore (meta)",
    },
    Contender {
        name: "memcached-binary",
        backend: Backend::Memcached,
        about: "sessions-memcached MemcachedStore (binary)",
    },
    Contender {
        name: "mongo",
        backend: Backend::Mongo,
        about: "sessions-mongo MongoStore",
    },
    Contender {
        name: "actix-cookie",
        backend: Backend::None,
        about: "actix-session 0.11 CookieSessionStore (private)",
    },
    Contender {
        name: "actix-redis",
        backend: Backend::Redis,
        about: "actix-session 0.11 RedisSessionStore",
    },
];

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--list" => {
            for c in CONTENDERS {
                println!("{}\t{}\t{}", c.name, c.backend.name(), c.about);
            }
            Ok(())
        }
        [name, port, rest @ ..] if rest.len() <= 1 => {
            let port: u16 = port.parse().map_err(|_| usage())?;
            let contender = CONTENDERS
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(usage)?;
            let url = rest.first().cloned().unwrap_or_default();
            if contender.backend != Backend::None && url.is_empty() {
                return Err(io::Error::other(format!(
                    "{name} needs the URL of its {} server",
                    contender.backend.name()
                )));
            }
            actix_web::rt::System::new().block_on(serve(contender.name, port, url))
        }
        _ => Err(usage()),
    }
}

fn usage() -> io::Error {
    io::Error::other("usage: bench-server --list | bench-server <contender> <port> [<url>]")
}

async fn serve(name: &str, port: u16, url: String) -> io::Result<()> {
    match name {
        "bare" => run(port, || App::new().route("/incr", web::get().to(bare))).await,
        "memstore" => ours(port, sessions_memstore::MemoryStore::new()).await,
        "cookie" => ours(port, sessions_cookie::CookieStore::new()).await,
        "redis" | "redis-cluster" => {
            ours(
                port,
                sessions_redis::RedisStore::new(url).map_err(io::Error::other)?,
            )
            .await
        }
        "memcached" => {
            let store = sessions_memcached::MemcachedStore::builder(url)
                .connect()
                .await
                .map_err(io::Error::other)?;
            ours(port, store).await
        }
        "memcached-binary" => {
            let url = url.replacen("memcache://", "memcache+binary://", 1);
            let store = sessions_memcached::MemcachedStore::builder(url)
                .connect()
                .await
                .map_err(io::Error::other)?;
            ours(port, store).await
        }
        "mongo" => {
            let store = sessions_mongo::MongoStore::builder(url)
                .build()
                .await
                .map_err(io::Error::other)?;
            store.migrate().await.map_err(io::Error::other)?;
            ours(port, store).await
        }
        "actix-cookie" => actix(port, actix_session::storage::CookieSessionStore::default).await,
        "actix-redis" => {
            let store = actix_session::storage::RedisSessionStore::new(url)
                .await
                .map_err(|e| io::Error::other(e.to_string()))?;
            actix(port, move || store.clone()).await
        }
        _ => Err(usage()),
    }
}

/// Serves `app` on one worker: the benchmark pins the server to one core.
async fn run<F, T, B>(port: u16, app: F) -> io::Result<()>
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    HttpServer::new(app)
        .workers(1)
        .shutdown_timeout(1)
        .bind(("127.0.0.1", port))?
        .run()
        .await
}

/// Our middleware with `store`, every setting at its default.
async fn ours(port: u16, store: impl sessions_core::SessionStore) -> io::Result<()> {
    let sessions = sessions_core::SessionMiddleware::new(store, sessions_core::Key::generate());
    run(port, move || {
        App::new()
            .wrap(sessions.clone())
            .route("/incr", web::get().to(incr_ours))
    })
    .await
}

/// actix-session's middleware with the store `make` returns, every setting at its default.
async fn actix<S, F>(port: u16, make: F) -> io::Result<()>
where
    S: actix_session::storage::SessionStore + 'static,
    F: Fn() -> S + Send + Clone + 'static,
{
    let key = actix_web::cookie::Key::generate();
    run(port, move || {
        App::new()
            .wrap(actix_session::SessionMiddleware::new(make(), key.clone()))
            .route("/incr", web::get().to(incr_actix))
    })
    .await
}

async fn bare() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "count": 0 }))
}

async fn incr_ours(session: sessions_core::Session) -> actix_web::Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |count| count + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}

async fn incr_actix(session: actix_session::Session) -> actix_web::Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |count| count + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}
