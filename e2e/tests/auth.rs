//! `examples/auth` in Chromium, on a server-side store (memstore) and on the cookie store:
//! what the page shows and what the browser stored at each step.

use std::time::Duration;

use e2e::{Browser, StoredCookie, TestServer};
use example_auth::{PASSWORD, REMEMBER_ME, routes};
use sessions_cookie::CookieStore;
use sessions_core::{Key, SessionMiddleware};
use sessions_memstore::MemoryStore;

/// A scenario that takes longer has hung: fail it rather than stall the run.
const LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Memory,
    Cookie,
}

fn server(store: Store) -> TestServer {
    let sessions = match store {
        Store::Memory => SessionMiddleware::new(MemoryStore::new(), Key::generate()),
        Store::Cookie => SessionMiddleware::new(CookieStore::new(), Key::generate()),
    };
    TestServer::start(sessions, routes)
}

#[actix_web::test]
async fn memstore_remember_me_survives_a_restart_and_log_out_ends_it() {
    within_limit(remember_me_then_log_out(Store::Memory)).await;
}

#[actix_web::test]
async fn cookie_store_remember_me_survives_a_restart_and_log_out_ends_it() {
    within_limit(remember_me_then_log_out(Store::Cookie)).await;
}

#[actix_web::test]
async fn memstore_log_in_without_remember_me_ends_with_the_browser() {
    within_limit(log_in_until_the_browser_closes(Store::Memory)).await;
}

#[actix_web::test]
async fn cookie_store_log_in_without_remember_me_ends_with_the_browser() {
    within_limit(log_in_until_the_browser_closes(Store::Cookie)).await;
}

async fn within_limit(scenario: impl Future<Output = ()>) {
    actix_web::rt::time::timeout(LIMIT, scenario)
        .await
        .expect("the scenario finishes within its time limit");
}

/// Wrong password, log-in with "remember me", browser restart, log-out, old cookie replayed.
async fn remember_me_then_log_out(store: Store) {
    let server = server(store);
    let browser = Browser::launch().await;
    let anonymous = wrong_password(&browser, &server).await;

    let logged_in = log_in(&browser, &server, true).await;
    let remaining = logged_in
        .expires_in()
        .expect("remember me: a persistent cookie");
    assert!(
        REMEMBER_ME - Duration::from_secs(60) < remaining && remaining <= REMEMBER_ME,
        "the cookie lasts as long as REMEMBER_ME, {REMEMBER_ME:?}, not {remaining:?}"
    );
    if store == Store::Memory {
        save_screenshot(&browser).await;
    }
    // Session fixation: log-in renews the session, so the cookie from before it, which a
    // third party might have planted or seen, does not carry the log-in.
    let before_log_in = replay(&browser, &server, &anonymous).await;
    assert_eq!(
        before_log_in, None,
        "the cookie from before log-in is not logged in"
    );
    browser.set_cookie(&server.url("/"), &logged_in).await;

    let browser = browser.restart().await;
    browser.open(&server.url("/")).await;
    assert_eq!(
        greeting(&browser).await,
        Some("alice".into()),
        "still logged in after a restart"
    );
    assert_eq!(
        browser.texts(".notice").await,
        Vec::<String>::new(),
        "the welcome was shown once"
    );
    let restored = browser
        .cookie("id")
        .await
        .expect("the cookie survived the restart");
    assert_eq!(restored.value, logged_in.value);

    log_out(&browser, &logged_in).await;
    let after_log_out = replay(&browser, &server, &logged_in).await;
    match store {
        // The record was deleted: the cookie names nothing, and the user gets a fresh session.
        Store::Memory => assert_eq!(after_log_out, None, "a purged session stays logged out"),
        // The cookie store keeps nothing on the server, so a copy of a cookie stays valid
        // until it expires: the limit its README states under "Revocation".
        Store::Cookie => assert_eq!(after_log_out, Some("alice".into())),
    }
    browser.close().await;
    server.stop().await;
}

/// The form, a wrong password, its error flash shown once. Returns the anonymous cookie.
async fn wrong_password(browser: &Browser, server: &TestServer) -> StoredCookie {
    browser.open(&server.url("/")).await;
    assert!(
        browser.has("form[action='/login']").await,
        "the log-in form"
    );
    assert_eq!(
        browser.cookie("id").await,
        None,
        "reading an empty session sets no cookie"
    );

    browser.fill("input[name=username]", "alice").await;
    browser
        .fill("input[name=password]", "not the password")
        .await;
    browser.submit("form[action='/login'] button").await;
    assert_eq!(browser.texts(".error").await, ["Wrong name or password."]);
    assert!(browser.has("form[action='/login']").await, "the form again");
    assert_eq!(greeting(browser).await, None);
    let cookie = browser
        .cookie("id")
        .await
        .expect("the flash's session has a cookie");
    assert_default_attributes(&cookie);
    assert_eq!(
        cookie.expires_in(),
        None,
        "without remember me, the cookie ends with the browser"
    );

    browser.open(&server.url("/")).await;
    assert_eq!(
        browser.texts(".error").await,
        Vec::<String>::new(),
        "a flash is shown once"
    );
    cookie
}

/// Logs in as alice; returns the session cookie.
async fn log_in(browser: &Browser, server: &TestServer, remember: bool) -> StoredCookie {
    browser.open(&server.url("/")).await;
    browser.fill("input[name=username]", "alice").await;
    browser.fill("input[name=password]", PASSWORD).await;
    if remember {
        browser.click("input[name=remember]").await;
    }
    browser.submit("form[action='/login'] button").await;
    assert_eq!(browser.texts(".notice").await, ["Welcome, alice!"]);
    assert_eq!(greeting(browser).await, Some("alice".into()));
    assert!(
        browser.has("form[action='/logout']").await,
        "the log-out button"
    );
    let cookie = browser.cookie("id").await.expect("a session cookie");
    assert_default_attributes(&cookie);
    cookie
}

/// Logs out: the flash, the form, and a new cookie that ends with the browser.
async fn log_out(browser: &Browser, logged_in: &StoredCookie) {
    browser.submit("form[action='/logout'] button").await;
    assert_eq!(
        browser.texts(".notice").await,
        ["You have been logged out."]
    );
    assert!(
        browser.has("form[action='/login']").await,
        "the log-in form"
    );
    assert_eq!(greeting(browser).await, None);
    let after = browser
        .cookie("id")
        .await
        .expect("the flash's new session has a cookie");
    assert_ne!(after.value, logged_in.value, "log-out replaces the cookie");
    assert_default_attributes(&after);
    assert_eq!(
        after.expires_in(),
        None,
        "remember me ended with the purged session"
    );
}

/// Puts an old cookie back by hand, as someone who copied it would, and opens the page:
/// whom it greets, if anyone.
async fn replay(browser: &Browser, server: &TestServer, old: &StoredCookie) -> Option<String> {
    browser.set_cookie(&server.url("/"), old).await;
    let stored = browser.cookie("id").await.map(|c| c.value);
    assert_eq!(stored.as_ref(), Some(&old.value), "the old cookie is back");
    browser.open(&server.url("/")).await;
    let greeting = greeting(browser).await;
    assert_eq!(
        greeting.is_none(),
        browser.has("form[action='/login']").await,
        "a greeting or the form"
    );
    greeting
}

/// Log-in without "remember me": a cookie that ends with the browser, so a restart logs out.
async fn log_in_until_the_browser_closes(store: Store) {
    let server = server(store);
    let browser = Browser::launch().await;
    let cookie = log_in(&browser, &server, false).await;
    assert_eq!(cookie.expires_in(), None, "no Max-Age without remember me");

    let browser = browser.restart().await;
    assert_eq!(
        browser.cookie("id").await,
        None,
        "Chromium dropped the cookie as it quit"
    );
    browser.open(&server.url("/")).await;
    assert_eq!(greeting(&browser).await, None, "logged out by the restart");
    assert!(
        browser.has("form[action='/login']").await,
        "the log-in form"
    );
    browser.close().await;
    server.stop().await;
}

/// The name the page greets, if someone is logged in.
async fn greeting(browser: &Browser) -> Option<String> {
    browser.texts("p > b").await.into_iter().next()
}

/// The middleware's defaults, as Chromium stored them over `http://localhost`.
fn assert_default_attributes(cookie: &StoredCookie) {
    assert!(
        cookie.secure,
        "Secure, kept over http://localhost: {cookie:?}"
    );
    assert!(cookie.http_only, "HttpOnly: {cookie:?}");
    assert_eq!(cookie.same_site.as_deref(), Some("Lax"), "{cookie:?}");
    assert_eq!(
        (cookie.domain.as_str(), cookie.path.as_str()),
        ("localhost", "/")
    );
    assert_eq!(cookie.partition_key, None);
}

/// Writes what the logged-in page looks like to the test's scratch directory, and with
/// `UPDATE_SCREENSHOT=1` over the README's picture.
async fn save_screenshot(browser: &Browser) {
    let png = browser.screenshot(480, 250).await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("example-auth.png");
    std::fs::write(&scratch, &png).expect("writing the screenshot");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/example-auth.png");
        std::fs::write(readme, &png).expect("writing docs/example-auth.png");
    }
}
