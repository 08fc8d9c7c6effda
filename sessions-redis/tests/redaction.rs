//! No password, nor any part of one, appears in what the store prints: the builder's and the
//! store's `Debug`, a failed build's error and a failed request's error (`Display`, `Debug`
//! and the whole `source()` chain), whatever characters the user name and password hold, raw
//! or percent-encoded, on each topology. The user name is not shown either.

use std::time::Duration;

use sessions_core::{SessionKey, SessionStore};
use sessions_redis::RedisStore;
use sessions_test::redaction::{PASSWORD_PARTS, USER_PARTS, credentials, error_chain, user_infos};

/// Nothing listens there: requests fail at once, and nothing leaves the machine.
const NOWHERE: &str = "127.0.0.1:1";

/// Every URL to try, with whether its credentials are percent-encoded.
fn urls() -> Vec<(String, bool)> {
    let mut urls = Vec::new();
    for (user_info, is_encoded) in user_infos() {
        for tail in ["", "/0"] {
            urls.push((format!("redis://{user_info}@{NOWHERE}{tail}"), is_encoded));
        }
        urls.push((
            format!("redis+sentinel://{user_info}@{NOWHERE}/main"),
            is_encoded,
        ));
        urls.push((format!("redis+cluster://{user_info}@{NOWHERE}"), is_encoded));
    }
    urls
}

fn assert_hidden(printed: &str, what: &str, url: &str) {
    for part in PASSWORD_PARTS.iter().chain(&USER_PARTS) {
        assert!(
            !printed.contains(part),
            "{what} of {url:?} shows {part:?}: {printed}"
        );
    }
}

#[test]
fn debug_and_errors_hide_user_names_and_passwords() {
    sessions_test::run(async {
        let mut requests = 0;
        for (url, is_encoded) in urls() {
            let builder = RedisStore::builder(&url)
                .connect_timeout(Duration::from_millis(500))
                .io_timeout(Duration::from_millis(500));
            assert_hidden(&format!("{builder:?}"), "the builder's Debug", &url);
            let store = match builder.build() {
                Ok(store) => store,
                Err(err) => {
                    assert_hidden(&error_chain(&err), "the build error", &url);
                    continue;
                }
            };
            assert_hidden(&format!("{store:?}"), "the store's Debug", &url);
            // Raw credentials may leave the host part unclear, and a request would then go to
            // whatever the URL seems to name: only the encoded ones are sent.
            if is_encoded {
                let err = store.load(&SessionKey::generate()).await.unwrap_err();
                assert_hidden(&error_chain(&err), "a request's error", &url);
                requests += 1;
            }
        }
        // Every URL with encoded credentials builds, and its request fails.
        assert_eq!(requests, 4 * credentials().len());
    });
}
