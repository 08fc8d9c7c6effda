//! Finding actix-session's cookie in a request and opening it as actix-session sealed it.

use actix_web::cookie::{Cookie, CookieJar, Key};
use actix_web::http::header::{COOKIE, HeaderMap};
use sessions_core::CookieSecurity;

/// The values of every cookie named `name` in the `Cookie` headers, as sent (percent-encoded).
///
/// Bytes, not `HeaderValue::to_str`: a non-ASCII cookie of another application in the same
/// header must not hide this one.
pub(crate) fn cookie_values<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .get_all(COOKIE)
        .flat_map(|line| line.as_bytes().split(|&b| b == b';'))
        .filter_map(move |pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            (key.trim_ascii() == name.as_bytes()).then(|| value.trim_ascii())
        })
}

/// The content of the cookie `name=raw`, opened by actix-web's own private or signed jar with
/// `key`, exactly as actix-session's middleware opens it; `None` when it does not open.
pub(crate) fn unseal(
    key: &Key,
    security: CookieSecurity,
    name: &str,
    raw: &[u8],
) -> Option<String> {
    let raw = std::str::from_utf8(raw).ok()?;
    // actix-session percent-encodes the value it sets.
    let cookie = Cookie::parse_encoded(format!("{name}={raw}")).ok()?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie.into_owned());
    let opened = match security {
        CookieSecurity::Private => jar.private(key).get(name),
        CookieSecurity::Signed => jar.signed(key).get(name),
        // actix-session's `CookieContentSecurity` has only the two modes above.
        _ => None,
    };
    opened.map(|cookie| cookie.value().to_owned())
}
