//! [`Browser`]: a headless Chromium with a profile of its own, driven through ChromeDriver.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::cookie::StoredCookie;

/// How to get ChromeDriver and Chromium, for the messages of a test that finds neither.
const INSTALL: &str = "The browser tests need Debian's `chromium` and `chromium-driver` \
    (`apt-get install chromium chromium-driver`) and a running ChromeDriver: \
    `scripts/services.sh start && source .services/env` installs and starts both \
    (`scripts/test.sh` does it for you).";

/// How long [`Browser::submit`] waits for the next page.
pub const WAIT: Duration = Duration::from_secs(10);

/// Chromium's flags. `--no-sandbox` because the tests may run as root. The rest keep Chromium
/// from reaching out to Google's servers (sync, component updates, field trials, QUIC
/// probes): on a machine without internet those connections are refused and slow the start.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A headless Chromium on a profile of its own, quit by [`Browser::close`] (or, should a
/// test panic first, when dropped).
///
/// ```no_run
/// # async fn demo() {
/// let browser = e2e::Browser::launch().await;
/// browser.open("http://localhost:8000/").await;
/// let cookies = browser.cookies().await;
/// let browser = browser.restart().await; // same profile: persistent cookies survive
/// browser.close().await;
/// # let _ = cookies;
/// # }
/// ```
#[derive(Debug)]
pub struct Browser {
    client: Client,
    // Dropped before `profile`: Chromium quits before its profile is deleted.
    quit_on_drop: QuitOnDrop,
    profile: Arc<Profile>,
}

impl Browser {
    /// Starts Chromium on a fresh profile.
    ///
    /// # Panics
    ///
    /// If `CHROMEDRIVER_URL` is not set, Chromium is not installed or ChromeDriver cannot
    /// start it; the message says how to install them.
    pub async fn launch() -> Self {
        Self::start(Arc::new(Profile::new())).await
    }

    /// Quits Chromium and starts it again on the same profile, as a user reopening the
    /// browser: persistent cookies stay, cookies that end with the browser are gone.
    ///
    /// # Panics
    ///
    /// As [`Browser::launch`].
    pub async fn restart(self) -> Self {
        let profile = Arc::clone(&self.profile);
        self.close().await;
        Self::start(profile).await
    }

    /// Quits Chromium. Chromium writes its cookies to the profile as it quits.
    ///
    /// # Panics
    ///
    /// If ChromeDriver fails to end the session.
    pub async fn close(self) {
        let Self {
            client,
            mut quit_on_drop,
            profile: _,
        } = self;
        client.close().await.expect("ChromeDriver ends the session");
        quit_on_drop.session = None;
    }

    async fn start(profile: Arc<Profile>) -> Self {
        let driver = std::env::var("CHROMEDRIVER_URL")
            .unwrap_or_else(|_| panic!("CHROMEDRIVER_URL is not set. {INSTALL}"));
        let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            Path::new(&chromium).exists(),
            "no Chromium at {chromium}. {INSTALL}"
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(&chromium, &profile.path))
            .connect(&driver)
            .await
            .unwrap_or_else(|e| {
                panic!("ChromeDriver at {driver} did not start Chromium: {e}. {INSTALL}")
            });
        let session = client
            .session_id()
            .await
            .expect("a session")
            .expect("a session id");
        Self {
            client,
            quit_on_drop: QuitOnDrop {
                driver,
                session: Some(session),
            },
            profile,
        }
    }

    /// Loads `url` and waits until the page has loaded.
    ///
    /// # Panics
    ///
    /// If the page does not load.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The text of every element matching the CSS selector, in page order.
    ///
    /// # Panics
    ///
    /// If the browser does not answer.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
        {
            texts.push(element.text().await.expect("element text"));
        }
        texts
    }

    /// Whether the page has an element matching the CSS selector.
    ///
    /// # Panics
    ///
    /// If the browser does not answer.
    pub async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .is_empty()
    }

    /// Types `text` into the element matching the CSS selector.
    ///
    /// # Panics
    ///
    /// If there is no such element.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.send_keys(text).await.expect("typing");
    }

    /// Clicks the element matching the CSS selector.
    ///
    /// # Panics
    ///
    /// If there is no such element.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks the button matching the CSS selector and waits until the page it leads to has
    /// loaded.
    ///
    /// # Panics
    ///
    /// If there is no such button, or no new page loads within [`WAIT`].
    pub async fn submit(&self, css: &str) {
        let old_page = self.find("html").await;
        self.click(css).await;
        // A click may return before the navigation it starts has begun: wait until the old
        // document is gone, then until the new one has loaded.
        self.wait_until(&format!("a new page after clicking {css}"), async || {
            old_page
                .tag_name()
                .await
                .is_err_and(|e| e.is_stale_element_reference() || e.is_no_such_element())
        })
        .await;
        self.wait_until("the page to load", async || {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await;
            state.is_ok_and(|s| s == "complete")
        })
        .await;
    }

    async fn wait_until(&self, what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done().await {
            assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Looks inside the frame matching the CSS selector from now on, until the next
    /// [`Browser::open`].
    ///
    /// # Panics
    ///
    /// If there is no such frame.
    pub async fn enter_frame(&self, css: &str) {
        self.find(css)
            .await
            .enter_frame()
            .await
            .expect("entering the frame");
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css:?} on the page: {e}"))
    }

    /// Every cookie Chromium stored, with the attributes it kept.
    ///
    /// # Panics
    ///
    /// If the browser does not answer.
    pub async fn cookies(&self) -> Vec<StoredCookie> {
        let reply = self.devtools("Storage.getCookies", json!({})).await;
        serde_json::from_value(reply["cookies"].clone()).expect("DevTools cookies")
    }

    /// The stored cookie named `name`, if Chromium kept one.
    ///
    /// # Panics
    ///
    /// If the browser does not answer, or stored more than one cookie of that name.
    pub async fn cookie(&self, name: &str) -> Option<StoredCookie> {
        let mut found = self.cookies().await.into_iter().filter(|c| c.name == name);
        let cookie = found.next();
        assert!(found.next().is_none(), "several cookies named {name}");
        cookie
    }

    /// Stores `cookie` for `url` as if that site had set it: how a test replays an old cookie.
    ///
    /// # Panics
    ///
    /// If Chromium refuses the cookie.
    pub async fn set_cookie(&self, url: &str, cookie: &StoredCookie) {
        let mut params = json!({
            "name": cookie.name, "value": cookie.value, "url": url, "path": cookie.path,
            "secure": cookie.secure, "httpOnly": cookie.http_only,
        });
        if !cookie.session {
            params["expires"] = json!(cookie.expires);
        }
        let reply = self.devtools("Network.setCookie", params).await;
        // Chromium answers `success: false` for a cookie it would not store.
        assert_ne!(
            reply["success"],
            json!(false),
            "Chromium refused {cookie:?}"
        );
    }

    /// A PNG of the page in a viewport of `width` × `height` CSS pixels, one device pixel
    /// each (the window's own size in headless mode depends on the Chromium version).
    ///
    /// # Panics
    ///
    /// If the browser does not answer.
    pub async fn screenshot(&self, width: u32, height: u32) -> Vec<u8> {
        let viewport = json!({
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
        });
        self.devtools("Emulation.setDeviceMetricsOverride", viewport)
            .await;
        let png = self.client.screenshot().await.expect("screenshot");
        self.devtools("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
        png
    }

    /// Sends a DevTools protocol command through ChromeDriver and returns its result.
    async fn devtools(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(DevTools { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"))
    }
}

/// What ChromeDriver starts: Chromium at `chromium`, on the profile at `profile`.
fn capabilities(chromium: &str, profile: &Path) -> serde_json::Map<String, Value> {
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
        // Bounded waits: a hung page fails its test instead of stalling the run.
        "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

/// ChromeDriver's command for the DevTools protocol (`POST /session/{id}/goog/cdp/execute`):
/// cookies with every attribute, including the partition of a `Partitioned` one, which the
/// WebDriver cookie commands do not show.
#[derive(Debug)]
struct DevTools {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.expect("a DevTools command runs in a session");
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Ends the WebDriver session, and with it Chromium, when a test panics before
/// [`Browser::close`]: the session would otherwise outlive the test. A blocking request,
/// since `Drop` cannot wait for the async client.
#[derive(Debug)]
struct QuitOnDrop {
    driver: String,
    session: Option<String>,
}

impl Drop for QuitOnDrop {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let host = self
            .driver
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let Ok(mut stream) = TcpStream::connect(host) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            // The reply starts once Chromium has quit. Its first bytes are enough: ChromeDriver
            // may keep the connection open regardless of `Connection: close`.
            let _ = stream.read(&mut [0; 256]);
        }
    }
}

/// A Chromium profile directory, deleted when the last browser using it is gone.
#[derive(Debug)]
struct Profile {
    path: PathBuf,
}

impl Profile {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sessions-e2e-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a profile directory");
        Self { path }
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
