//! Reading the session cookie from a request and writing `Set-Cookie` headers.
//!
//! actix-web's cookie crate (0.16) has no `Partitioned` attribute, so headers are written here;
//! session cookie values are base64url and need no escaping.

use std::time::Duration;

use actix_web::cookie::SameSite;
use actix_web::http::header::{self, HeaderMap, HeaderValue};

use crate::cookie_rules::CookieSettings;
use crate::error::SessionError;

/// The largest `name=value` browsers are required to keep (RFC 6265 §6.1).
pub const MAX_COOKIE_SIZE: usize = 4096;

/// The values of every cookie named `name` in the request's `Cookie` headers, in order.
///
/// A client may send several (cookies set for different paths or by a sibling domain); the
/// caller tries each until one opens. Values are bytes: opening checks they are base64url.
pub(crate) fn request_cookies<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    // Bytes, not `HeaderValue::to_str`: that checks every byte of the whole header on each
    // request, and a non-ASCII cookie of another application would hide ours.
    headers
        .get_all(header::COOKIE)
        .flat_map(|line| Pairs(Some(line.as_bytes())))
        .filter_map(move |pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            if key.trim_ascii() != name.as_bytes() {
                return None;
            }
            Some(trim_quotes(value.trim_ascii()))
        })
}

/// A `Cookie` header's bytes split at each `;`, as `<[u8]>::split` splits them, but searching
/// with `memchr` (several bytes at a time): the session cookie is most of a typical header.
/// Saves 2 % of a memory-store request over `split` (callgrind).
struct Pairs<'a>(Option<&'a [u8]>);

impl<'a> Iterator for Pairs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0?;
        match memchr::memchr(b';', rest) {
            Some(i) => {
                self.0 = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.0 = None;
                Some(rest)
            }
        }
    }
}

/// `value` without the double quotes around it (RFC 6265 allows a quoted cookie value).
fn trim_quotes(mut value: &[u8]) -> &[u8] {
    while let [b'"', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b'"'] = value {
        value = rest;
    }
    value
}

/// A `Set-Cookie` header for the session cookie `name=value` and its attributes.
///
/// # Errors
///
/// [`SessionError::CookieTooLarge`] when `name=value` exceeds [`MAX_COOKIE_SIZE`].
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    attributes: &CookieSettings,
    max_age: Option<Duration>,
) -> Result<HeaderValue, SessionError> {
    let size = name.len() + 1 + value.len();
    if size > MAX_COOKIE_SIZE {
        return Err(SessionError::CookieTooLarge {
            session: name.to_owned(),
            size,
            limit: MAX_COOKIE_SIZE,
        });
    }
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
    write_attributes(&mut out, attributes, max_age.map(|age| age.as_secs()));
    Ok(to_header(out))
}

/// A `Set-Cookie` header that makes the browser drop the cookie set with `settings`.
pub(crate) fn removal_cookie(name: &str, settings: &CookieSettings) -> HeaderValue {
    let mut out = format!("{name}=").into_bytes();
    write_attributes(&mut out, settings, Some(0));
    out.extend_from_slice(b"; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    to_header(out)
}

fn write_attributes(out: &mut Vec<u8>, attributes: &CookieSettings, max_age: Option<u64>) {
    if is_attribute_value(&attributes.path) {
        out.extend_from_slice(b"; Path=");
        out.extend_from_slice(attributes.path.as_bytes());
    }
    if let Some(domain) = attributes
        .domain
        .as_deref()
        .filter(|d| is_attribute_value(d))
    {
        out.extend_from_slice(b"; Domain=");
        out.extend_from_slice(domain.as_bytes());
    }
    if let Some(seconds) = max_age {
        out.extend_from_slice(b"; Max-Age=");
        out.extend_from_slice(seconds.to_string().as_bytes());
    }
    if attributes.secure {
        out.extend_from_slice(b"; Secure");
    }
    if attributes.http_only {
        out.extend_from_slice(b"; HttpOnly");
    }
    out.extend_from_slice(match attributes.same_site {
        SameSite::Strict => b"; SameSite=Strict",
        SameSite::Lax => b"; SameSite=Lax",
        SameSite::None => b"; SameSite=None",
    });
    if attributes.partitioned {
        out.extend_from_slice(b"; Partitioned");
    }
}

/// Whether `value` can be a `Path` or `Domain` value without breaking the header.
pub(crate) fn is_attribute_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b';')
}

fn to_header(text: Vec<u8>) -> HeaderValue {
    // Every part is visible ASCII (checked names, base64url values, checked attributes).
    HeaderValue::try_from(text).expect("Set-Cookie header is visible ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::cookie::Cookie;
    use actix_web::http::header::HeaderName;

    fn settings() -> CookieSettings {
        CookieSettings {
            path: "/".into(),
            domain: Some("example.com".into()),
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            partitioned: true,
        }
    }

    fn header(value: &str, max_age: Option<Duration>) -> Result<HeaderValue, SessionError> {
        let settings = settings();
        set_cookie("id", value, &settings, max_age)
    }

    #[test]
    fn set_cookie_parses_back_with_every_attribute() {
        let header = header("abc", Some(Duration::from_secs(60))).unwrap();
        let text = header.to_str().unwrap();
        let cookie = Cookie::parse(text).unwrap();
        assert_eq!((cookie.name(), cookie.value()), ("id", "abc"));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), Some("example.com"));
        assert_eq!(cookie.max_age().map(|d| d.whole_seconds()), Some(60));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert!(text.split("; ").any(|attr| attr == "Partitioned"), "{text}");
    }

    #[test]
    fn oversized_cookies_are_an_error() {
        let fits = "a".repeat(MAX_COOKIE_SIZE - 3);
        assert!(header(&fits, None).is_ok());
        let too_big = "a".repeat(MAX_COOKIE_SIZE - 2);
        let err = header(&too_big, None).unwrap_err();
        assert!(
            matches!(err, SessionError::CookieTooLarge { size: 4097, .. }),
            "{err}"
        );
    }

    #[test]
    fn max_age_in_decimal() {
        for seconds in [0, 7, 10, 34_560_000, u64::MAX] {
            let text = header("abc", Some(Duration::from_secs(seconds))).unwrap();
            let expected = format!("; Max-Age={seconds};");
            assert!(text.to_str().unwrap().contains(&expected), "{text:?}");
        }
    }

    #[test]
    fn removal_cookie_expires_with_same_path_and_domain() {
        let text = removal_cookie("id", &settings())
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = Cookie::parse(text).unwrap();
        assert_eq!(cookie.value(), "");
        assert_eq!(cookie.max_age().map(|d| d.whole_seconds()), Some(0));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), Some("example.com"));
    }

    #[test]
    fn finds_every_cookie_with_the_name() {
        let mut headers = HeaderMap::new();
        let cookie = HeaderName::from_static("cookie");
        headers.append(
            cookie.clone(),
            HeaderValue::from_static("a=1; id=first; idx=no"),
        );
        headers.append(cookie, HeaderValue::from_static("id=\"second\""));
        assert_eq!(
            request_cookies(&headers, "id").collect::<Vec<_>>(),
            [b"first".as_slice(), b"second"]
        );
        assert_eq!(request_cookies(&headers, "b").count(), 0);
    }

    #[test]
    fn pairs_split_as_slice_split_does() {
        // Every position of a few separators, among bytes close to `;` and high bytes.
        let alphabet = [b';', b'a', b':', b'<', 0x00, 0xbb, 0xff, b'='];
        for len in 0..40 {
            for seed in 0..64_usize {
                let line: Vec<u8> = (0..len)
                    .map(|i| alphabet[(i * 7 + seed * 13 + i * i * seed) % alphabet.len()])
                    .collect();
                let ours: Vec<&[u8]> = Pairs(Some(&line)).collect();
                let std: Vec<&[u8]> = line.split(|&b| b == b';').collect();
                assert_eq!(ours, std, "{line:?}");
            }
        }
        for at in 0..40 {
            let mut line = vec![b'x'; 40];
            line[at] = b';';
            let pairs: Vec<&[u8]> = Pairs(Some(&line)).collect();
            assert_eq!(pairs, [&line[..at], &line[at + 1..]]);
        }
        let line = [b'x'; 40];
        assert_eq!(Pairs(Some(&line)).collect::<Vec<_>>(), [&line[..]]);
    }

    #[test]
    fn another_cookie_with_non_ascii_bytes_does_not_hide_ours() {
        let mut headers = HeaderMap::new();
        let line = HeaderValue::from_bytes("pref=caf\u{e9}; id=abc".as_bytes()).unwrap();
        headers.append(HeaderName::from_static("cookie"), line);
        assert_eq!(
            request_cookies(&headers, "id").collect::<Vec<_>>(),
            [b"abc".as_slice()]
        );
        assert_eq!(
            request_cookies(&headers, "pref").collect::<Vec<_>>(),
            ["caf\u{e9}".as_bytes()]
        );
    }
}
