//! No password, nor any part of one, appears in what the store prints: the builder's and the
//! store's `Debug`, a failed build's error and a failed request's error (`Display`, `Debug`
//! and the whole `source()` chain), whatever characters the user name and password hold, raw
//! or percent-encoded, on each topology. The user name is not shown either.

use std::time::Duration;

use sessions_core::{SessionKey, SessionStore};
use sessions_redis::RedisStore;

/// The characters that end a URL's user info, path, query or fragment, and so confuse a naive
/// reading of one.
const SPECIALS: [char; 4] = ['?', '#', '@', '/'];

/// Markers that appear nowhere else in the output: each half of the user name and password.
const USER_PARTS: [&str; 2] = ["usrleft", "usrright"];
const PASSWORD_PARTS: [&str; 2] = ["pwdleft", "pwdright"];

/// `(user, password)` pairs: each special character inside both, and all of them at once.
fn credentials() -> Vec<(String, String)> {
    let split = |parts: [&str; 2], c: &str| format!("{}{c}{}", parts[0], parts[1]);
    let mut pairs: Vec<_> = SPECIALS
        .iter()
        .map(|c| {
            let c = c.to_string();
            (split(USER_PARTS, &c), split(PASSWORD_PARTS, &c))
        })
        .collect();
    pairs.push((split(USER_PARTS, "?#@/"), split(PASSWORD_PARTS, "/@#?")));
    pairs
}

/// The same text percent-encoded, as a URL should carry it.
fn encoded(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '?' => "%3F".to_owned(),
            '#' => "%23".to_owned(),
            '@' => "%40".to_owned(),
            '/' => "%2F".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Each pair of [`credentials`] raw and percent-encoded, with whether it is encoded.
fn user_infos() -> Vec<(String, bool)> {
    credentials()
        .into_iter()
        .flat_map(|(user, password)| {
            [
                (format!("{user}:{password}"), false),
                (format!("{}:{}", encoded(&user), encoded(&password)), true),
            ]
        })
        .collect()
}

/// An error, its `Debug` and every error of its `source()` chain, each in both forms.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut printed = format!("{err} {err:?}");
    let mut source = err.source();
    while let Some(err) = source {
        printed.push_str(&format!(" | {err} {err:?}"));
        source = err.source();
    }
    printed
}

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
