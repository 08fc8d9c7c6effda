//! [`Client`]: drives an app through `actix_web::test` with a browser-like cookie jar.

use std::cell::RefCell;
use std::collections::BTreeMap;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::{Error, test};

/// A response as the suite inspects it.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The body as text.
    pub body: String,
    /// The `Set-Cookie` headers, parsed.
    pub set_cookies: Vec<SetCookie>,
}

impl Reply {
    /// The body parsed as JSON.
    ///
    /// # Panics
    ///
    /// Panics (failing the case) when the body is not JSON of type `T`.
    #[must_use]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|err| {
            panic!(
                "expected JSON, got {:?} ({err}), status {}",
                self.body, self.status
            )
        })
    }

    /// The `Set-Cookie` header for `name`, if any.
    #[must_use]
    pub fn set_cookie(&self, name: &str) -> Option<&SetCookie> {
        self.set_cookies.iter().find(|c| c.cookie.name() == name)
    }
}

/// A `Set-Cookie` header: parsed with actix-web's cookie parser, plus the raw attribute names
/// (for `Partitioned`, which that parser predates).
#[derive(Debug, Clone)]
pub struct SetCookie {
    /// The parsed cookie.
    pub cookie: Cookie<'static>,
    /// Attribute names in lower case, such as `partitioned`.
    pub flags: Vec<String>,
}

impl SetCookie {
    fn parse(header: &str) -> Self {
        let cookie = Cookie::parse(header.to_owned())
            .unwrap_or_else(|e| panic!("bad Set-Cookie {header:?}: {e}"));
        let flags = header
            .split(';')
            .skip(1)
            .map(|attr| {
                attr.split('=')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .collect();
        Self { cookie, flags }
    }

    /// Whether the cookie is a removal (`Max-Age=0`).
    #[must_use]
    pub fn is_removal(&self) -> bool {
        self.cookie.max_age().is_some_and(|age| age.is_zero())
    }
}

/// Sends requests to a test app and keeps cookies like a browser.
pub struct Client<S> {
    app: S,
    jar: RefCell<BTreeMap<String, String>>,
}

impl<S> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cookies", &self.jar.borrow().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<S, B> Client<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    /// A client with an empty jar.
    pub fn new(app: S) -> Self {
        Self {
            app,
            jar: RefCell::default(),
        }
    }

    /// `GET path`, sending the jar's cookies and storing the response's.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_with_cookies(path, &self.cookie_header()).await
    }

    /// `GET path` with `cookies` as the `Cookie` header instead of the jar's (to send what a
    /// browser may, such as two cookies of one name), storing the response's cookies.
    pub async fn get_with_cookies(&self, path: &str, cookies: &str) -> Reply {
        let mut req = test::TestRequest::get().uri(path);
        if !cookies.is_empty() {
            req = req.insert_header((COOKIE, cookies.to_owned()));
        }
        // An error from the service becomes its error response, as the HTTP server does it.
        let (status, headers, body) =
            match test::try_call_service(&self.app, req.to_request()).await {
                Ok(response) => (
                    response.status(),
                    response.headers().clone(),
                    test::read_body(response).await,
                ),
                Err(err) => {
                    let response = err.error_response();
                    let (status, headers) = (response.status(), response.headers().clone());
                    let body = actix_web::body::to_bytes(response.into_body())
                        .await
                        .unwrap_or_default();
                    (status, headers, body)
                }
            };
        let set_cookies: Vec<SetCookie> = headers
            .get_all(SET_COOKIE)
            .map(|value| SetCookie::parse(value.to_str().expect("Set-Cookie is ASCII")))
            .collect();
        self.store(&set_cookies);
        Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            set_cookies,
        }
    }

    /// `GET path` and require a 200.
    pub async fn ok(&self, path: &str) -> Reply {
        let reply = self.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.body);
        reply
    }

    /// The jar's value for `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.borrow().get(name).cloned()
    }

    /// Puts a cookie in the jar (or removes it, with `None`), as a client may.
    pub fn set_cookie(&self, name: &str, value: Option<&str>) {
        let mut jar = self.jar.borrow_mut();
        match value {
            Some(value) => jar.insert(name.to_owned(), value.to_owned()),
            None => jar.remove(name),
        };
    }

    fn cookie_header(&self) -> String {
        let jar = self.jar.borrow();
        jar.iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn store(&self, set_cookies: &[SetCookie]) {
        let mut jar = self.jar.borrow_mut();
        for set in set_cookies {
            let name = set.cookie.name().to_owned();
            if set.is_removal() {
                jar.remove(&name);
            } else {
                jar.insert(name, set.cookie.value().to_owned());
            }
        }
    }
}
