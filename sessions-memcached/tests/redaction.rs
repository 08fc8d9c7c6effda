//! No password, nor any part of one, appears in what the store prints: the builder's and the
//! store's `Debug`, a failed build's or connect's error (`Display`, `Debug` and the whole
//! `source()` chain) and server URLs in messages, whatever characters the user name and
//! password hold, raw or percent-encoded, on both transports. The user name is shown, as the
//! server URLs in messages and logs show it (`memcache://user:<redacted>@host:port`), to tell
//! which credentials a server was given.

use std::time::Duration;

use sessions_memcached::MemcachedStore;
use sessions_test::redaction::{PASSWORD_PARTS, credentials, error_chain, user_infos};

/// Nothing listens there: connecting fails at once, and nothing leaves the machine.
const NOWHERE: &str = "127.0.0.1:1";
const SCHEMES: [&str; 2] = ["memcache", "memcache+binary"];

fn assert_hidden(printed: &str, what: &str, url: &str) {
    for part in PASSWORD_PARTS {
        assert!(
            !printed.contains(part),
            "{what} of {url:?} shows {part:?}: {printed}"
        );
    }
}

/// Checks the builder's `Debug`, then the built store's or the build error, then (when
/// `connect`) the error of connecting to a server that is not there.
async fn check(builder: sessions_memcached::MemcachedStoreBuilder, url: &str, connect: bool) {
    let builder = builder
        .connect_timeout(Duration::from_millis(500))
        .io_timeout(Duration::from_millis(500));
    assert_hidden(&format!("{builder:?}"), "the builder's Debug", url);
    if connect {
        let err = builder.connect().await.unwrap_err();
        let printed = error_chain(&err);
        assert_hidden(&printed, "the connect error", url);
        assert!(printed.contains(NOWHERE), "names the server: {printed}");
        return;
    }
    match builder.build() {
        Ok(store) => assert_hidden(&format!("{store:?}"), "the store's Debug", url),
        Err(err) => assert_hidden(&error_chain(&err), "the build error", url),
    }
}

#[test]
fn debug_and_errors_hide_passwords_in_urls() {
    sessions_test::run(async {
        for scheme in SCHEMES {
            for (user_info, is_encoded) in user_infos() {
                let url = format!("{scheme}://{user_info}@{NOWHERE}");
                check(MemcachedStore::builder(&url), &url, false).await;
                // Raw credentials may leave the host unclear: only encoded ones connect.
                if is_encoded {
                    check(MemcachedStore::builder(&url), &url, true).await;
                }
            }
        }
    });
}

#[test]
fn debug_and_errors_hide_passwords_given_apart() {
    sessions_test::run(async {
        for scheme in SCHEMES {
            let url = format!("{scheme}://{NOWHERE}");
            for (user, password) in credentials() {
                let builder = || MemcachedStore::builder(&url).credentials(&user, &password);
                check(builder(), &url, false).await;
                check(builder(), &url, true).await;
            }
        }
    });
}
