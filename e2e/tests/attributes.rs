//! Cookie attributes in Chromium over `http://localhost`: every combination our configuration
//! accepts is stored as configured and sent back; every combination Chromium silently drops
//! is one our configuration refuses, and Chromium is shown to drop it.

use std::time::Duration;

use actix_web::http::header::SET_COOKIE;
use actix_web::{HttpRequest, HttpResponse, get, web};
use e2e::{Browser, StoredCookie, TestServer};
use sessions_core::{
    ConfigError, Key, Lifecycle, SameSite, SessionConfig, SessionMiddleware, Sessions,
};
use sessions_memstore::MemoryStore;

const LIMIT: Duration = Duration::from_secs(120);
const PERSISTENT: Duration = Duration::from_secs(3600);

/// A configuration the middleware accepts, and what Chromium should store for it.
struct Accepted {
    name: &'static str,
    configure: fn(SessionConfig) -> SessionConfig,
    secure: bool,
    http_only: bool,
    same_site: &'static str,
    partitioned: bool,
    persistent: bool,
}

impl Accepted {
    /// The defaults: `Secure`, `HttpOnly`, `SameSite=Lax`, ending with the browser.
    const fn default(name: &'static str, configure: fn(SessionConfig) -> SessionConfig) -> Self {
        Self {
            name,
            configure,
            secure: true,
            http_only: true,
            same_site: "Lax",
            partitioned: false,
            persistent: false,
        }
    }
}

const ACCEPTED: &[Accepted] = &[
    Accepted::default("lax", |c| c),
    Accepted {
        same_site: "Strict",
        ..Accepted::default("strict", |c| c.cookie_same_site(SameSite::Strict))
    },
    Accepted {
        same_site: "None",
        ..Accepted::default("none", |c| c.cookie_same_site(SameSite::None))
    },
    Accepted {
        secure: false,
        ..Accepted::default("insecure", |c| c.cookie_secure(false))
    },
    Accepted {
        http_only: false,
        ..Accepted::default("readable", |c| c.cookie_http_only(false))
    },
    Accepted {
        same_site: "None",
        partitioned: true,
        ..Accepted::default("partitioned", |c| {
            c.cookie_same_site(SameSite::None).cookie_partitioned(true)
        })
    },
    Accepted {
        partitioned: true,
        ..Accepted::default("partitioned-lax", |c| c.cookie_partitioned(true))
    },
    Accepted {
        persistent: true,
        ..Accepted::default("persistent", |c| {
            c.lifecycle(Lifecycle::persistent(PERSISTENT))
        })
    },
    Accepted::default("__Secure-id", |c| c),
    Accepted::default("__Host-id", |c| c),
    Accepted::default("__Http-id", |c| c),
    Accepted::default("__Host-Http-id", |c| c),
];

/// A configuration the middleware refuses, and the `Set-Cookie` header it would have sent.
struct Refused {
    name: &'static str,
    configure: fn(SessionConfig) -> SessionConfig,
    set_cookie: &'static str,
}

const REFUSED: &[Refused] = &[
    Refused {
        name: "partitioned-insecure",
        configure: |c| c.cookie_partitioned(true).cookie_secure(false),
        set_cookie: "partitioned-insecure=1; Path=/; HttpOnly; SameSite=Lax; Partitioned",
    },
    Refused {
        name: "none-insecure",
        configure: |c| c.cookie_same_site(SameSite::None).cookie_secure(false),
        set_cookie: "none-insecure=1; Path=/; HttpOnly; SameSite=None",
    },
    Refused {
        name: "__Secure-insecure",
        configure: |c| c.cookie_secure(false),
        set_cookie: "__Secure-insecure=1; Path=/; HttpOnly; SameSite=Lax",
    },
    Refused {
        name: "__secure-lower-case",
        configure: |c| c.cookie_secure(false),
        set_cookie: "__secure-lower-case=1; Path=/; HttpOnly; SameSite=Lax",
    },
    Refused {
        name: "__Host-insecure",
        configure: |c| c.cookie_secure(false),
        set_cookie: "__Host-insecure=1; Path=/; HttpOnly; SameSite=Lax",
    },
    Refused {
        name: "__Host-path",
        configure: |c| c.cookie_path("/raw"),
        set_cookie: "__Host-path=1; Path=/raw; Secure; HttpOnly; SameSite=Lax",
    },
    Refused {
        name: "__Host-domain",
        configure: |c| c.cookie_domain("localhost"),
        set_cookie: "__Host-domain=1; Path=/; Domain=localhost; Secure; HttpOnly; SameSite=Lax",
    },
    Refused {
        name: "__Http-readable",
        configure: |c| c.cookie_http_only(false),
        set_cookie: "__Http-readable=1; Path=/; Secure; SameSite=Lax",
    },
    Refused {
        name: "__Http-insecure",
        configure: |c| c.cookie_secure(false),
        set_cookie: "__Http-insecure=1; Path=/; HttpOnly; SameSite=Lax",
    },
    Refused {
        name: "__Host-Http-readable",
        configure: |c| c.cookie_http_only(false),
        set_cookie: "__Host-Http-readable=1; Path=/; Secure; SameSite=Lax",
    },
];

/// Sent with the refused headers: shows that the route's cookies reach Chromium at all.
const CONTROL: &str = "control=1; Path=/; Secure; HttpOnly; SameSite=Lax";

fn config(name: &str, configure: fn(SessionConfig) -> SessionConfig) -> SessionConfig {
    configure(SessionConfig::new(MemoryStore::new()).cookie_name(name))
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .service(set)
        .service(read)
        .service(raw)
        .service(embed);
}

/// A page embedding `/{page}` of this server on `localhost`: cross-site when this page is
/// opened on `127.0.0.1`.
#[get("/embed/{page}")]
async fn embed(request: HttpRequest, page: web::Path<String>) -> HttpResponse {
    let port = request.app_config().local_addr().port();
    HttpResponse::Ok().content_type("text/html").body(format!(
        "<iframe src='http://localhost:{port}/{page}'></iframe>"
    ))
}

/// Writes every configured session.
#[get("/set")]
async fn set(sessions: Sessions) -> actix_web::Result<HttpResponse> {
    for name in sessions.names() {
        sessions.get(name).await?.insert("name", name)?;
    }
    Ok(HttpResponse::Ok().body("set"))
}

/// Lists the sessions whose value came back: those whose cookie the browser sent.
#[get("/read")]
async fn read(sessions: Sessions) -> actix_web::Result<HttpResponse> {
    let mut read = Vec::new();
    for name in sessions.names() {
        if let Some(value) = sessions.get(name).await?.get::<String>("name")? {
            read.push(value);
        }
    }
    Ok(HttpResponse::Ok().body(format!("<p id=read>{}</p>", read.join(" "))))
}

/// Sends the headers of the refused configurations, as a server without our checks would.
#[get("/raw")]
async fn raw() -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for refused in REFUSED {
        response.append_header((SET_COOKIE, refused.set_cookie));
    }
    response.append_header((SET_COOKIE, CONTROL));
    response.body("raw")
}

#[actix_web::test]
async fn accepted_attributes_are_stored_as_configured_and_sent_back() {
    actix_web::rt::time::timeout(LIMIT, accepted_attributes())
        .await
        .expect("the scenario finishes within its time limit");
}

async fn accepted_attributes() {
    let mut builder = SessionMiddleware::builder(Key::generate());
    for accepted in ACCEPTED {
        builder = builder.session(config(accepted.name, accepted.configure));
    }
    let server = TestServer::start(builder.build().expect("accepted"), routes);
    let browser = Browser::launch().await;

    browser.open(&server.url("/set")).await;
    let cookies = browser.cookies().await;
    for accepted in ACCEPTED {
        let stored = cookies.iter().find(|c| c.name == accepted.name);
        let stored = stored.unwrap_or_else(|| panic!("Chromium dropped {}", accepted.name));
        assert_stored_as_configured(stored, accepted);
    }
    assert_eq!(cookies.len(), ACCEPTED.len(), "{cookies:#?}");

    browser.open(&server.url("/read")).await;
    let names: Vec<&str> = ACCEPTED.iter().map(|a| a.name).collect();
    assert_eq!(
        browser.texts("#read").await,
        [names.join(" ")],
        "every cookie came back"
    );
    browser.close().await;
    server.stop().await;
}

fn assert_stored_as_configured(stored: &StoredCookie, expected: &Accepted) {
    let name = expected.name;
    assert_eq!(stored.secure, expected.secure, "{name}: Secure");
    assert_eq!(stored.http_only, expected.http_only, "{name}: HttpOnly");
    assert_eq!(
        stored.same_site.as_deref(),
        Some(expected.same_site),
        "{name}"
    );
    let partition = stored
        .partition_key
        .as_ref()
        .map(|p| p.top_level_site.as_str());
    let expected_partition = expected.partitioned.then_some("http://localhost");
    assert_eq!(partition, expected_partition, "{name}: Partitioned");
    assert_eq!(
        (stored.domain.as_str(), stored.path.as_str()),
        ("localhost", "/"),
        "{name}"
    );
    match stored.expires_in() {
        None => assert!(!expected.persistent, "{name}: ends with the browser"),
        Some(left) => {
            assert!(expected.persistent, "{name}: persistent");
            assert!(
                PERSISTENT - Duration::from_secs(60) < left && left <= PERSISTENT,
                "{name}: {left:?}"
            );
        }
    }
}

#[actix_web::test]
async fn what_chromium_drops_the_configuration_refuses() {
    actix_web::rt::time::timeout(LIMIT, refused_attributes())
        .await
        .expect("the scenario finishes within its time limit");
}

async fn refused_attributes() {
    for refused in REFUSED {
        let built = SessionMiddleware::builder(Key::generate())
            .session(config(refused.name, refused.configure))
            .build();
        match built {
            Err(ConfigError::CookiePrefix { .. } | ConfigError::InsecureAttribute { .. }) => {}
            other => panic!("{}: the configuration accepted it: {other:?}", refused.name),
        }
    }

    let sessions = SessionMiddleware::new(MemoryStore::new(), Key::generate());
    let server = TestServer::start(sessions, routes);
    let browser = Browser::launch().await;
    browser.open(&server.url("/raw")).await;
    let stored: Vec<String> = browser
        .cookies()
        .await
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        stored,
        ["control"],
        "Chromium keeps only the control cookie"
    );
    browser.close().await;
    server.stop().await;
}

#[actix_web::test]
async fn a_partitioned_session_works_in_a_cross_site_frame() {
    actix_web::rt::time::timeout(LIMIT, partitioned_in_a_frame())
        .await
        .expect("the scenario finishes within its time limit");
}

/// CHIPS, what `Partitioned` is for: a session inside a third-party iframe, kept apart for
/// each embedding site. The default `SameSite=Lax` cookie is not set in a cross-site frame.
async fn partitioned_in_a_frame() {
    let sessions = SessionMiddleware::builder(Key::generate())
        .session(config("embedded", |c| {
            c.cookie_same_site(SameSite::None).cookie_partitioned(true)
        }))
        .session(config("lax", |c| c))
        .build()
        .expect("accepted");
    let server = TestServer::start(sessions, routes);
    let browser = Browser::launch().await;

    // The frame loads before the page's load event, which `open` waits for.
    browser
        .open(&server.url_on("127.0.0.1", "/embed/set"))
        .await;
    let cookies = browser.cookies().await;
    let names: Vec<&str> = cookies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["embedded"],
        "the Lax cookie is not set in a cross-site frame"
    );
    let partition = cookies[0]
        .partition_key
        .as_ref()
        .expect("a partitioned cookie");
    assert_eq!(
        partition.top_level_site, "http://127.0.0.1",
        "the embedding site's partition"
    );
    assert!(partition.has_cross_site_ancestor);

    browser
        .open(&server.url_on("127.0.0.1", "/embed/read"))
        .await;
    browser.enter_frame("iframe").await;
    assert_eq!(
        browser.texts("#read").await,
        ["embedded"],
        "the frame's session came back"
    );

    browser.open(&server.url("/read")).await;
    assert_eq!(
        browser.texts("#read").await,
        [""],
        "another site's partition is not sent"
    );
    browser.close().await;
    server.stop().await;
}
