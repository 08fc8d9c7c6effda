//! No password, nor any part of one, appears in what the store prints: the builder's `Debug`,
//! and a failed build's error (`Display`, `Debug` and its whole `source()` chain), whatever
//! characters the user name and password hold, raw or percent-encoded. The user name is not
//! shown either.

use sessions_mongo::MongoStore;
use sessions_test::redaction::{PASSWORD_PARTS, USER_PARTS, credentials, encoded, error_chain};

/// Every URL to try: raw and percent-encoded credentials, with and without a path and options;
/// each with whether its credentials are percent-encoded.
fn urls() -> Vec<(String, bool)> {
    let mut urls = Vec::new();
    for (user, password) in credentials() {
        for (user, password, is_encoded) in [
            (user.clone(), password.clone(), false),
            (encoded(&user), encoded(&password), true),
        ] {
            for tail in ["", "/app", "/app?authSource=admin", "/?replicaSet=rs0"] {
                let url = format!("mongodb://{user}:{password}@db.example:27017{tail}");
                urls.push((url, is_encoded));
            }
        }
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
fn builder_debug_hides_user_names_and_passwords() {
    for (url, is_encoded) in urls() {
        let printed = format!("{:?}", MongoStore::builder(&url));
        assert_hidden(&printed, "the builder's Debug", &url);
        // A raw `?` leaves it unclear where the options start, so then nothing is shown.
        if is_encoded {
            assert!(
                printed.contains("db.example:27017"),
                "the host should still show: {printed}"
            );
        }
    }
}

#[test]
fn build_errors_hide_user_names_and_passwords() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (url, _) in urls() {
        // Nothing is contacted: a URL that parses builds a store, lazily connected.
        match runtime.block_on(MongoStore::builder(&url).build()) {
            Ok(store) => assert_hidden(&format!("{store:?}"), "the store's Debug", &url),
            Err(err) => assert_hidden(&error_chain(&err), "the build error", &url),
        }
    }
}
