//! The middleware's cost per request, in-process (`actix_web::test`), per store: no session
//! middleware at all, session untouched by the handler, read only, and read plus write.
//!
//! Network stores run when their URL is set (`scripts/services.sh start && source
//! .services/env`); their figures include the round trips to the local server.

use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::rt::SystemRunner;
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use sessions_core::{Key, Session, SessionMiddleware, SessionStore};

async fn untouched() -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn read(session: Session) -> actix_web::Result<HttpResponse> {
    let count = session.get::<u64>("count")?.unwrap_or(0);
    Ok(HttpResponse::Ok().body(count.to_string()))
}

async fn write(session: Session) -> actix_web::Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |n| n + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().body(count.to_string()))
}

fn routes() -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .route("/untouched", web::get().to(untouched))
        .route("/read", web::get().to(read))
        .route("/write", web::get().to(write))
}

/// Times `iters` requests to `path`, one after the other.
fn run<S, B>(
    system: &SystemRunner,
    app: &S,
    path: &str,
    cookie: Option<&str>,
    iters: u64,
) -> Duration
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    system.block_on(async {
        let started = Instant::now();
        for _ in 0..iters {
            let mut req = TestRequest::get().uri(path);
            if let Some(cookie) = cookie {
                req = req.insert_header((COOKIE, cookie));
            }
            let res = call_service(app, req.to_request()).await;
            assert!(res.status().is_success(), "{path}: {}", res.status());
        }
        started.elapsed()
    })
}

fn no_session(group: &mut BenchmarkGroup<'_, WallTime>, system: &SystemRunner) {
    let app = system.block_on(init_service(routes()));
    group.bench_function("no-session", |b| {
        b.iter_custom(|iters| run(system, &app, "/untouched", None, iters));
    });
}

/// The three cases for one store, with a cookie from a first write, as a returning browser.
fn store(
    group: &mut BenchmarkGroup<'_, WallTime>,
    system: &SystemRunner,
    name: &str,
    store: impl SessionStore,
) {
    let sessions = SessionMiddleware::new(store, Key::from([7_u8; 64]).expect("64 bytes"));
    let app = system.block_on(init_service(routes().wrap(sessions)));
    let cookie = system.block_on(async {
        let res = call_service(&app, TestRequest::get().uri("/write").to_request()).await;
        let header = res
            .headers()
            .get(SET_COOKIE)
            .expect("a new session sets its cookie");
        header
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    });
    for (case, path) in [
        ("untouched", "/untouched"),
        ("read", "/read"),
        ("read+write", "/write"),
    ] {
        group.bench_function(format!("{name}/{case}"), |b| {
            b.iter_custom(|iters| run(system, &app, path, Some(&cookie), iters));
        });
    }
}

/// A server URL from the environment; unset or empty means the store is skipped.
fn url(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|url| !url.is_empty())
}

fn skipped(name: &str, var: &str) {
    eprintln!(
        "middleware/{name}: skipped, {var} is unset (scripts/services.sh start && source .services/env)"
    );
}

fn middleware(c: &mut Criterion) {
    let system = actix_web::rt::System::new();
    let mut group = c.benchmark_group("middleware");
    no_session(&mut group, &system);
    store(
        &mut group,
        &system,
        "memstore",
        sessions_memstore::MemoryStore::new(),
    );
    store(
        &mut group,
        &system,
        "cookie",
        sessions_cookie::CookieStore::new(),
    );
    match url("REDIS_URL") {
        Some(url) => store(
            &mut group,
            &system,
            "redis",
            sessions_redis::RedisStore::new(url).expect("REDIS_URL"),
        ),
        None => skipped("redis", "REDIS_URL"),
    }
    match url("MEMCACHED_URL") {
        Some(url) => {
            let memcached = system
                .block_on(sessions_memcached::MemcachedStore::builder(url).connect())
                .expect("memcached at MEMCACHED_URL");
            store(&mut group, &system, "memcached", memcached);
        }
        None => skipped("memcached", "MEMCACHED_URL"),
    }
    match url("MONGODB_URL") {
        Some(url) => {
            let mongo = system.block_on(async {
                let mongo = sessions_mongo::MongoStore::builder(url)
                    .build()
                    .await
                    .expect("MONGODB_URL");
                mongo.migrate().await.expect("mongo migrate");
                mongo
            });
            store(&mut group, &system, "mongo", mongo);
        }
        None => skipped("mongo", "MONGODB_URL"),
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = middleware
}
criterion_main!(benches);
