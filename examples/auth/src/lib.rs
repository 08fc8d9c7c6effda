//! Log-in, log-out, flash messages and "remember me": the handlers of `example-auth`, so that
//! the browser tests in `e2e/` drive the same pages on any store.
//!
//! - Logging in calls [`Session::renew`] so a session key seen before log-in is worthless after.
//! - "Remember me" makes this one session persistent for 30 days with [`Session::set_options`].
//! - Logging out calls [`Session::purge`], then adds a flash that lands in a fresh session.

use std::time::Duration;

use actix_web::http::header::{ContentType, LOCATION};
use actix_web::{HttpResponse, Result, get, post, web};
use serde::Deserialize;
use sessions_core::{Session, SessionOptions};

/// The demo's only password. A real application checks a password hash.
pub const PASSWORD: &str = "correct horse";
/// How long "remember me" keeps a user logged in.
pub const REMEMBER_ME: Duration = Duration::from_secs(30 * 24 * 3600);

/// Registers the pages: `GET /`, `POST /login`, `POST /logout`. The app wraps them in a
/// session middleware.
///
/// ```
/// use actix_web::App;
/// use sessions_core::{Key, SessionMiddleware};
///
/// let app = App::new()
///     .wrap(SessionMiddleware::new(sessions_memstore::MemoryStore::new(), Key::generate()))
///     .configure(example_auth::routes);
/// # let _ = app;
/// ```
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(index).service(login).service(logout);
}

/// The log-in form.
#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
    remember: Option<String>,
}

/// The page: a greeting and log-out button, or the log-in form; flashes on top.
#[get("/")]
async fn index(session: Session) -> Result<HttpResponse> {
    let errors: Vec<String> = session.flashes_from("error")?;
    let notices: Vec<String> = session.flashes()?;
    let body = match session.get::<String>("user")? {
        Some(user) => format!(
            "<p>Hello, <b>{}</b>.</p>\
             <form method=post action=/logout><button>Log out</button></form>",
            escape(&user)
        ),
        None => "<form method=post action=/login>\
                 <input name=username placeholder=Name required> \
                 <input name=password type=password placeholder=Password required> \
                 <label><input type=checkbox name=remember> Remember me</label> \
                 <button>Log in</button></form>"
            .to_owned(),
    };
    let flashes: String = errors
        .iter()
        .map(|e| format!("<p class=error>{}</p>", escape(e)))
        .chain(
            notices
                .iter()
                .map(|n| format!("<p class=notice>{}</p>", escape(n))),
        )
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(page(&flashes, &body)))
}

/// Checks the password; on success renews the session and stores the user.
#[post("/login")]
async fn login(session: Session, form: web::Form<Login>) -> Result<HttpResponse> {
    if form.password != PASSWORD || form.username.trim().is_empty() {
        session.add_flash_to("error", "Wrong name or password.")?;
        return Ok(see_other("/"));
    }
    session.renew();
    session.insert("user", form.username.trim())?;
    if form.remember.is_some() {
        session.set_options(SessionOptions::new().max_age(REMEMBER_ME))?;
    }
    session.add_flash(format!("Welcome, {}!", form.username.trim()))?;
    Ok(see_other("/"))
}

/// Ends the session, then leaves a message in a new one.
#[post("/logout")]
async fn logout(session: Session) -> Result<HttpResponse> {
    session.purge();
    session.add_flash("You have been logged out.")?;
    Ok(see_other("/"))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}

fn page(flashes: &str, body: &str) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><title>sessions demo</title>\
         <style>body{{font:16px system-ui;margin:3em}}.error{{color:#b00}}.notice{{color:#070}}</style>\
         <h1>sessions demo</h1>{flashes}{body}"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
