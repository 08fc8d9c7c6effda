//! Scale figures: what a live memstore session costs in memory, what the sweeper costs when most
//! sessions have expired, and how big the cookie store's cookies are.
//!
//! ```text
//! cargo run --release -p bench-scale -- [--quick] [--out PATH]
//! ```
//!
//! Memory is counted by a counting global allocator (bytes requested and not yet freed), so the
//! figures exclude the system allocator's own overhead (glibc adds 8 to 16 bytes to each live
//! allocation; their number is printed too).

use std::alloc::System;
use std::time::{Duration, Instant};

use actix_web::dev::Service as _;
use actix_web::http::header::SET_COOKIE;
use actix_web::test::{TestRequest, init_service};
use actix_web::{App, HttpResponse, web};
use bench_micro::{Realistic, counter_payload};
use serde_json::{Value, json};
use sessions_core::testing::{Payload, encode_value};
use sessions_core::{
    CookieSecurity, Key, MAX_COOKIE_SIZE, MsgPack, Session, SessionConfig, SessionMiddleware,
    SessionStore as _,
};
use sessions_memstore::MemoryStore;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const HOUR: Duration = Duration::from_secs(3600);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1).cloned());
    let system = actix_web::rt::System::new();
    let results = system.block_on(async {
        json!({
            "memstore": memstore(quick).await,
            "sweeper": sweeper(if quick { 100_000 } else { 1_000_000 }).await,
            "cookie": cookie().await,
        })
    });
    let text = serde_json::to_string_pretty(&results).expect("json") + "\n";
    match out {
        Some(path) => {
            std::fs::write(&path, text).expect("write the results file");
            println!("results: {path}");
        }
        None => print!("{text}"),
    }
}

/// Net bytes and net allocations (not freed) while `region` was open.
fn net(region: &Region<'_, System>) -> (i64, i64) {
    let change = region.change();
    let bytes = change.bytes_allocated as i64 - change.bytes_deallocated as i64
        + change.bytes_reallocated as i64;
    let allocations = change.allocations as i64 - change.deallocations as i64;
    (bytes, allocations)
}

/// Bytes per live session at several counts, for the `/incr` payload and a realistic one.
async fn memstore(quick: bool) -> Value {
    let counts: &[usize] = if quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    let incr = counter_payload(&MsgPack, 41);
    let realistic = Realistic::default().encode(&MsgPack);
    let mut rows = Vec::new();
    for (label, payload) in [("incr", &incr), ("realistic", &realistic)] {
        for &n in counts {
            let row = bytes_per_session(label, payload, n).await;
            println!(
                "memstore {label:<9} payload {:>3} B  {n:>8} sessions: {row}",
                payload.len()
            );
            rows.push(row);
        }
    }
    Value::Array(rows)
}

async fn bytes_per_session(label: &str, payload: &[u8], n: usize) -> Value {
    let store = MemoryStore::builder().sweep_interval(HOUR).build();
    let region = Region::new(GLOBAL);
    for _ in 0..n {
        store.create(payload, HOUR).await.expect("memstore create");
    }
    let (bytes, allocations) = net(&region);
    json!({
        "payload": label,
        "payload_bytes": payload.len(),
        "sessions": n,
        "bytes_per_session": bytes as f64 / n as f64,
        "allocations_per_session": allocations as f64 / n as f64,
    })
}

/// One sweep over `n` sessions of which 90 % have expired, and one over `n` live sessions.
async fn sweeper(n: usize) -> Value {
    let payload = counter_payload(&MsgPack, 41);
    let store = MemoryStore::builder().sweep_interval(HOUR).build();
    for i in 0..n {
        let ttl = if i % 10 == 0 {
            HOUR
        } else {
            Duration::from_millis(1)
        };
        store.create(&payload, ttl).await.expect("memstore create");
    }
    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let removed = store.sweep();
    let expired_sweep = started.elapsed();
    let started = Instant::now();
    let none = store.sweep();
    let live_sweep = started.elapsed();
    assert_eq!(none, 0);
    let result = json!({
        "sessions": n,
        "expired": removed,
        "sweep_ms_90pct_expired": expired_sweep.as_secs_f64() * 1e3,
        "sweep_ns_per_entry_90pct_expired": expired_sweep.as_secs_f64() * 1e9 / n as f64,
        "sweep_ms_all_live": live_sweep.as_secs_f64() * 1e3,
        "live_after": store.len(),
    });
    println!("sweeper: {result}");
    result
}

async fn set_incr(session: Session) -> actix_web::Result<HttpResponse> {
    session.insert("count", 41_u64)?;
    Ok(HttpResponse::Ok().finish())
}

async fn set_realistic(session: Session) -> actix_web::Result<HttpResponse> {
    let r = Realistic::default();
    session.insert("counter", r.counter)?;
    session.insert("user_id", r.user_id)?;
    session.insert("profile", r.profile)?;
    session.insert("remember_me", r.remember_me)?;
    for flash in r.flashes {
        session.add_flash(flash)?;
    }
    Ok(HttpResponse::Ok().finish())
}

async fn set_string(session: Session, len: web::Path<usize>) -> actix_web::Result<HttpResponse> {
    session.insert("data", "x".repeat(*len))?;
    Ok(HttpResponse::Ok().finish())
}

/// The `/string/{n}` payload's size: what the store is handed.
fn string_payload_len(len: usize) -> usize {
    let mut payload = Payload::default();
    payload.insert(
        "data",
        encode_value(&MsgPack, &"x".repeat(len)).expect("encodes"),
    );
    payload.encode(1).len()
}

/// Cookie sizes per session size and mode, and the largest session that fits.
async fn cookie() -> Value {
    let mut rows = Vec::new();
    for (mode_name, mode) in [
        ("private", CookieSecurity::Private),
        ("signed", CookieSecurity::Signed),
    ] {
        let config = SessionConfig::new(sessions_cookie::CookieStore::new()).cookie_security(mode);
        let middleware = SessionMiddleware::builder(Key::from([7_u8; 64]).expect("64 bytes"))
            .session(config)
            .build()
            .expect("valid config");
        let app = init_service(
            App::new()
                .wrap(middleware)
                .route("/incr", web::get().to(set_incr))
                .route("/realistic", web::get().to(set_realistic))
                .route("/string/{len}", web::get().to(set_string)),
        )
        .await;
        // An oversized cookie is an error response (500), not a panic of the test service.
        let fetch =
            async |path: String| match app.call(TestRequest::get().uri(&path).to_request()).await {
                Ok(res) => {
                    let header = res
                        .headers()
                        .get(SET_COOKIE)
                        .map(|h| h.to_str().unwrap().to_owned());
                    (res.status().is_success(), header)
                }
                Err(_) => (false, None),
            };
        let sizes = [
            (
                "incr",
                "/incr".to_owned(),
                counter_payload(&MsgPack, 41).len(),
            ),
            (
                "realistic",
                "/realistic".to_owned(),
                Realistic::default().encode(&MsgPack).len(),
            ),
            (
                "string-256",
                "/string/256".to_owned(),
                string_payload_len(256),
            ),
            (
                "string-1024",
                "/string/1024".to_owned(),
                string_payload_len(1024),
            ),
            (
                "string-2048",
                "/string/2048".to_owned(),
                string_payload_len(2048),
            ),
        ];
        for (label, path, payload_bytes) in sizes {
            let (_, header) = fetch(path).await;
            let header = header.expect("a Set-Cookie header");
            let pair = header.split(';').next().unwrap_or_default().len();
            let row = json!({
                "mode": mode_name, "session": label, "payload_bytes": payload_bytes,
                "cookie_bytes": pair, "set_cookie_header_bytes": header.len(),
            });
            println!("cookie: {row}");
            rows.push(row);
        }
        // Binary search: the longest string value whose cookie still fits.
        let (mut fits, mut too_big) = (0_usize, MAX_COOKIE_SIZE);
        while too_big - fits > 1 {
            let mid = usize::midpoint(fits, too_big);
            if fetch(format!("/string/{mid}")).await.0 {
                fits = mid;
            } else {
                too_big = mid;
            }
        }
        let (_, header) = fetch(format!("/string/{fits}")).await;
        let row = json!({
            "mode": mode_name, "session": "largest-that-fits", "string_len": fits,
            "payload_bytes": string_payload_len(fits),
            "cookie_bytes": header.unwrap_or_default().split(';').next().unwrap_or_default().len(),
        });
        println!("cookie: {row}");
        rows.push(row);
    }
    Value::Array(rows)
}
