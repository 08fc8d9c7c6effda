//! Runs N in-process `/incr` requests through the middleware, for profilers:
//!
//! ```text
//! cargo build --release -p bench-micro --bin middleware-loop
//! valgrind --tool=callgrind target/release/middleware-loop memstore 20000
//! perf record -g target/release/middleware-loop cookie 2000000
//! ```
//!
//! Stores: `none` (no middleware), `memstore`, `cookie`. Each request carries the cookie of the
//! previous response, as a browser would, so the counter goes 0, 1, 2, ... (checked at the end).

use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use sessions_core::{Key, Session, SessionMiddleware, SessionStore};

async fn incr(session: Session) -> actix_web::Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |count| count + 1);
    session.insert("count", count)?;
    Ok(HttpResponse::Ok().body(count.to_string()))
}

async fn bare() -> HttpResponse {
    HttpResponse::Ok().body("0")
}

async fn drive(store: Option<impl SessionStore>, n: u64) {
    let app = App::new();
    let last = match store {
        None => {
            let app = init_service(app.route("/incr", web::get().to(bare))).await;
            for _ in 0..n {
                call_service(&app, TestRequest::get().uri("/incr").to_request()).await;
            }
            return;
        }
        Some(store) => {
            let sessions = SessionMiddleware::new(store, Key::from([7_u8; 64]).expect("64 bytes"));
            let app = init_service(app.wrap(sessions).route("/incr", web::get().to(incr))).await;
            let mut cookie: Option<String> = None;
            let mut last = Vec::new();
            for _ in 0..n {
                let mut req = TestRequest::get().uri("/incr");
                if let Some(cookie) = &cookie {
                    req = req.insert_header((COOKIE, cookie.as_str()));
                }
                let res = call_service(&app, req.to_request()).await;
                if let Some(set) = res.headers().get(SET_COOKIE) {
                    let pair = set
                        .to_str()
                        .expect("ASCII")
                        .split(';')
                        .next()
                        .expect("pair");
                    cookie = Some(pair.to_owned());
                }
                last = read_body(res).await.to_vec();
            }
            last
        }
    };
    assert_eq!(String::from_utf8(last).expect("UTF-8"), (n - 1).to_string());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (store, n) = match args.as_slice() {
        [store, n] => (store.as_str(), n.parse::<u64>().expect("a request count")),
        _ => panic!("usage: middleware-loop none|memstore|cookie <requests>"),
    };
    actix_web::rt::System::new().block_on(async move {
        match store {
            "none" => drive(None::<sessions_memstore::MemoryStore>, n).await,
            "memstore" => drive(Some(sessions_memstore::MemoryStore::new()), n).await,
            "cookie" => drive(Some(sessions_cookie::CookieStore::new()), n).await,
            other => panic!("no store named {other}"),
        }
    });
}
