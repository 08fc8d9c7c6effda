//! [`TestServer`]: an actix-web app on a free loopback port, for the browser to visit.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use sessions_core::SessionMiddleware;

/// An app wrapped in `sessions`, serving on `127.0.0.1` on a port the OS picked, in this
/// process: it stops with the test.
///
/// ```no_run
/// # async fn demo() {
/// use sessions_core::{Key, SessionMiddleware};
/// let sessions = SessionMiddleware::new(sessions_memstore::MemoryStore::new(), Key::generate());
/// let server = e2e::TestServer::start(sessions, |_routes| {});
/// assert!(server.url("/").starts_with("http://localhost:"));
/// server.stop().await;
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    port: u16,
    handle: ServerHandle,
}

impl TestServer {
    /// Serves `routes` behind `sessions`. Call it inside the actix runtime
    /// (`#[actix_web::test]`).
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub fn start(sessions: SessionMiddleware, routes: fn(&mut web::ServiceConfig)) -> Self {
        let server = HttpServer::new(move || App::new().wrap(sessions.clone()).configure(routes))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .expect("a free loopback port");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { port, handle }
    }

    /// The URL of `path` on this server. The host is `localhost`, which browsers treat as a
    /// secure origin: `Secure` cookies work over plain HTTP.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// The URL of `path` on this server under another name for loopback, such as `127.0.0.1`:
    /// a different site from `localhost` to the browser, as an embedding page would be.
    #[must_use]
    pub fn url_on(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
