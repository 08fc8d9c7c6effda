//! What the migration from actix-session decodes: an actix-session cookie value (opened with
//! the old key), and the state it or its Redis record carries (JSON strings by name).

use std::collections::HashMap;
use std::sync::LazyLock;

use actix_web::cookie::{Cookie, CookieJar, Key as ActixKey};
use sessions_actix_migration::fuzz_internals::{convert, unseal};
use sessions_core::testing::decode_value;
use sessions_core::{CookieSecurity, MsgPack};

/// actix-session's default cookie name, which the migration reads by default.
const NAME: &str = "id";

/// The old application's key.
fn old_key() -> &'static ActixKey {
    static KEY: LazyLock<ActixKey> = LazyLock::new(|| ActixKey::from(&[9; 64]));
    &KEY
}

/// A key the old application never had: what forged cookies are sealed with.
pub(crate) fn foreign_key() -> ActixKey {
    ActixKey::from(&[8; 64])
}

/// `data` is a cookie value as a client sends it. It never opens with the old key (the fuzzer
/// does not hold it), in either mode; and `data` as content, sealed by actix-web's own cookie
/// jar with that key and percent-encoded as actix-session sends it, opens to exactly `data`.
pub fn actix_session_cookie(data: &[u8]) {
    let content = String::from_utf8_lossy(data);
    for security in [CookieSecurity::Private, CookieSecurity::Signed] {
        assert_eq!(unseal(old_key(), security, data), None);
        let sealed = sealed_by_actix_session(old_key(), security, &content);
        assert_eq!(
            unseal(old_key(), security, sealed.as_bytes()).as_deref(),
            Some(&*content),
        );
    }
}

/// The value of the cookie actix-session 0.11's cookie store sets for `content` with `key`.
pub(crate) fn sealed_by_actix_session(
    key: &ActixKey,
    security: CookieSecurity,
    content: &str,
) -> String {
    let mut jar = CookieJar::new();
    let cookie = Cookie::new(NAME, content.to_owned());
    match security {
        CookieSecurity::Private => jar.private_mut(key).add(cookie),
        CookieSecurity::Signed => jar.signed_mut(key).add(cookie),
        _ => unreachable!("actix-session has these two modes"),
    }
    let sealed = jar.get(NAME).expect("just added");
    let pair = sealed.encoded().stripped().to_string();
    pair.split_once('=')
        .expect("a name=value pair")
        .1
        .to_owned()
}

/// `data` is an actix-session state: a JSON object of names to JSON texts. When the migration
/// converts it, it keeps every name, and each value reads back (as a session value of ours)
/// as the JSON its text held.
pub fn actix_session_state(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Some(values) = convert(json, &MsgPack) else {
        return;
    };
    let state: HashMap<String, String> = serde_json::from_str(json).expect("it was converted");
    assert_eq!(values.len(), state.len());
    for (name, bytes) in values {
        let expected: serde_json::Value =
            serde_json::from_str(&state[&name]).expect("it was converted");
        let read: serde_json::Value =
            decode_value(&MsgPack, &bytes).expect("a converted value reads back");
        assert_eq!(read, expected, "{name}");
    }
}
