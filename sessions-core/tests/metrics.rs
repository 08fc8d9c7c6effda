//! The `metrics` feature: a recorder installed by the application sees each counter move.
#![cfg(feature = "metrics")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpResponse, web};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use sessions_core::{
    Loaded, Session, SessionConfig, SessionKey, SessionMiddleware, SessionStore, StoreError,
    Stored, Version,
};
use sessions_memstore::MemoryStore;
use tokio::sync::Notify;

/// Totals per metric and labels, as `name{label=value,...}`.
#[derive(Debug, Default)]
struct Totals(Mutex<HashMap<String, f64>>);

struct Series(String, &'static Totals);

impl CounterFn for Series {
    fn increment(&self, value: u64) {
        *self.1.0.lock().unwrap().entry(self.0.clone()).or_default() += value as f64;
    }
    fn absolute(&self, value: u64) {
        self.1
            .0
            .lock()
            .unwrap()
            .insert(self.0.clone(), value as f64);
    }
}

impl HistogramFn for Series {
    fn record(&self, _: f64) {
        *self.1.0.lock().unwrap().entry(self.0.clone()).or_default() += 1.0;
    }
}

struct Counting(&'static Totals);

fn series(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Series(series(key), self.0)))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Series(series(key), self.0)))
    }
}

fn totals() -> &'static Totals {
    static TOTALS: OnceLock<&'static Totals> = OnceLock::new();
    TOTALS.get_or_init(|| {
        let totals: &'static Totals = Box::leak(Box::default());
        metrics::set_global_recorder(Counting(totals)).expect("one recorder");
        totals
    })
}

fn total(name: &str) -> f64 {
    totals().0.lock().unwrap().get(name).copied().unwrap_or(0.0)
}

/// A memory store whose updates always conflict, and whose touch always fails.
#[derive(Debug, Clone, Default)]
struct Contended(MemoryStore);

impl SessionStore for Contended {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.0.load(key).await
    }
    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        self.0.create(payload, ttl).await
    }
    async fn update(
        &self,
        _: &SessionKey,
        _: &[u8],
        _: Duration,
        _: Version,
    ) -> Result<Stored, StoreError> {
        Err(StoreError::conflict())
    }
    async fn touch(&self, _: &SessionKey, _: Duration) -> Result<SessionKey, StoreError> {
        Err(StoreError::unavailable("down"))
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
}

fn cookie_of<B>(res: &actix_web::dev::ServiceResponse<B>) -> String {
    let header = res
        .headers()
        .get(SET_COOKIE)
        .expect("a cookie")
        .to_str()
        .unwrap();
    header.split(';').next().unwrap().to_owned()
}

#[derive(Default)]
struct Park {
    loaded: Notify,
    proceed: Notify,
}

#[actix_web::test]
async fn counters_move_with_what_sessions_do() {
    let _ = totals();
    let park = web::Data::new(Park::default());
    let sessions = SessionMiddleware::builder(sessions_core::Key::generate())
        .session(SessionConfig::new(MemoryStore::new()).cookie_name("m"))
        .session(
            SessionConfig::new(Contended::default())
                .cookie_name("c")
                .retry_budget(Duration::from_millis(30)),
        )
        .build()
        .unwrap();
    let app = init_service(
        App::new()
            .app_data(park.clone())
            .wrap(sessions)
            .route("/set", web::get().to(|all: sessions_core::Sessions, q: web::Query<HashMap<String, String>>| async move {
                let session = all.get(&q["s"]).await?;
                session.insert(&q["k"], 1)?;
                Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
            }))
            .route("/parked", web::get().to(|session: Session, park: web::Data<Park>| async move {
                session.get::<u32>("a")?; // loads the session, then waits
                park.loaded.notify_one();
                park.proceed.notified().await;
                session.insert("parked", 1)?;
                Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
            }))
            .route("/renew", web::get().to(|session: Session| async move {
                session.renew();
                HttpResponse::Ok().finish()
            }))
            .route("/purge", web::get().to(|session: Session| async move {
                session.purge();
                HttpResponse::Ok().finish()
            })),
    )
    .await;
    let get = |path: &str, cookie: Option<&str>| {
        let mut req = TestRequest::get().uri(path);
        if let Some(cookie) = cookie {
            req = req.insert_header((COOKIE, cookie.to_owned()));
        }
        req.to_request()
    };

    let res = call_service(&app, get("/set?s=m&k=a", None)).await;
    let cookie = cookie_of(&res);
    assert_eq!(total("sessions_created_total{session=m}"), 1.0);
    assert!(total("sessions_store_call_seconds{store=MemoryStore,op=create}") >= 1.0);

    // A save that meets a concurrent change merges with it.
    let parked = call_service(&app, get("/parked", Some(&cookie)));
    let meanwhile = async {
        park.loaded.notified().await;
        call_service(&app, get("/set?s=m&k=b", Some(&cookie))).await;
        park.proceed.notify_one();
    };
    let (res, ()) = tokio::join!(parked, meanwhile);
    assert_eq!(res.status(), 200);
    assert_eq!(total("sessions_merged_total{session=m}"), 1.0);
    assert!(total("sessions_store_errors_total{store=MemoryStore,op=update,kind=conflict}") >= 1.0);

    let res = call_service(&app, get("/renew", Some(&cookie))).await;
    let cookie = cookie_of(&res);
    assert_eq!(total("sessions_renewed_total{session=m}"), 1.0);
    call_service(&app, get("/purge", Some(&cookie))).await;
    assert_eq!(total("sessions_purged_total{session=m}"), 1.0);

    call_service(&app, get("/set?s=m&k=a", Some("m=forged"))).await;
    assert_eq!(total("sessions_forged_cookies_total{session=m}"), 1.0);

    // A store that always conflicts: the save gives up (503) and says so.
    let res = call_service(&app, get("/set?s=c&k=a", None)).await;
    let contended = cookie_of(&res);
    let res = call_service(&app, get("/set?s=c&k=b", Some(&contended))).await;
    assert_eq!(res.status(), 503);
    assert_eq!(total("sessions_retries_exhausted_total{session=c}"), 1.0);
}
