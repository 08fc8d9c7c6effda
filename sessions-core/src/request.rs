//! A request's sessions: created empty by the middleware, loaded on first use.

use std::cell::OnceCell;
use std::sync::Arc;

use actix_web::{HttpMessage as _, HttpRequest};

use crate::SessionKey;
use crate::config::SessionConfig;
use crate::cookie_header::request_cookies;
use crate::error::SessionError;
use crate::key::KeyRing;
use crate::payload::State;
use crate::seal::open;
use crate::session::{Session, SessionData};
use crate::store::{Loaded, StoreErrorKind};

/// What every request of one middleware shares: keys and session configurations.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) keys: KeyRing,
    pub(crate) sessions: Vec<Arc<SessionConfig>>,
}

impl Shared {
    /// The position of the session named `name`.
    pub(crate) fn index_of(&self, name: &str) -> Result<usize, SessionError> {
        self.sessions
            .iter()
            .position(|config| config.name == name)
            .ok_or_else(|| SessionError::UnknownSession(name.to_owned()))
    }

    /// The names of all configured sessions, primary first.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.sessions.iter().map(|config| config.name.as_str())
    }
}

/// The sessions of one request, each loaded at most once and only when asked for. The
/// middleware keeps it in the request's extensions (by value: one allocation per request).
#[derive(Debug)]
pub(crate) struct RequestSessions {
    shared: Arc<Shared>,
    slots: Slots,
}

/// One slot per configured session; inline for the common single session.
#[derive(Debug)]
enum Slots {
    One(OnceCell<Session>),
    Many(Box<[OnceCell<Session>]>),
}

impl RequestSessions {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let slots = match shared.sessions.len() {
            1 => Slots::One(OnceCell::new()),
            n => Slots::Many((0..n).map(|_| OnceCell::new()).collect()),
        };
        Self { shared, slots }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn slot(&self, index: usize) -> &OnceCell<Session> {
        match &self.slots {
            Slots::One(slot) => slot,
            Slots::Many(slots) => &slots[index],
        }
    }

    /// The sessions this request loaded.
    pub(crate) fn loaded(&self) -> impl Iterator<Item = &Session> {
        let slots = match &self.slots {
            Slots::One(slot) => std::slice::from_ref(slot),
            Slots::Many(slots) => slots,
        };
        slots.iter().filter_map(OnceCell::get)
    }
}

/// The request's session at the position `index` picks, loading it on first use.
pub(crate) async fn load(
    req: &HttpRequest,
    index: impl FnOnce(&Shared) -> Result<usize, SessionError>,
) -> Result<Session, SessionError> {
    // Extensions are borrowed only briefly: never across the store call.
    let (shared, index) = {
        let extensions = req.extensions();
        let sessions = extensions
            .get::<RequestSessions>()
            .ok_or(SessionError::MiddlewareMissing)?;
        let index = index(&sessions.shared)?;
        if let Some(session) = sessions.slot(index).get() {
            return Ok(session.clone());
        }
        (Arc::clone(&sessions.shared), index)
    };
    let config = &shared.sessions[index];
    let data = load_data(config, &shared.keys, req).await?;
    let extensions = req.extensions();
    let sessions = extensions
        .get::<RequestSessions>()
        .ok_or(SessionError::MiddlewareMissing)?;
    // Two extractors of one handler may load concurrently; the first to finish wins.
    Ok(sessions
        .slot(index)
        .get_or_init(|| Session::new(Arc::clone(config), data))
        .clone())
}

/// Opens the cookie and loads the state it points to. Anything the client could have caused
/// (no cookie, forged cookie, expired or corrupt record) gives a fresh session; only store
/// failures are errors.
async fn load_data(
    config: &SessionConfig,
    keys: &KeyRing,
    req: &HttpRequest,
) -> Result<SessionData, SessionError> {
    let Some((key, by_old_key)) = open_cookie(config, keys, req) else {
        return Ok(SessionData::default());
    };
    let loaded = match config.store.load(&key).await {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return Ok(SessionData::default()),
        Err(err) if err.kind() == StoreErrorKind::Corrupt => {
            tracing::warn!(session = %config.name, error = %err, "unreadable session record; starting a fresh session");
            return Ok(SessionData::default());
        }
        Err(source) => {
            return Err(SessionError::Store {
                session: config.name.clone(),
                source,
            });
        }
    };
    Ok(decode_loaded(config, key, loaded, by_old_key))
}

/// Finds the request's cookie for this session and opens it.
fn open_cookie(
    config: &SessionConfig,
    keys: &KeyRing,
    req: &HttpRequest,
) -> Option<(SessionKey, bool)> {
    let mut seen = false;
    for value in request_cookies(req.headers(), &config.name) {
        seen = true;
        let Some(opened) = open(config.security, keys, &config.name, value) else {
            continue;
        };
        if let Ok(key) = SessionKey::from_bytes(opened.plaintext) {
            return Some((key, opened.by_old_key));
        }
    }
    if seen {
        tracing::warn!(
            session = %config.name,
            peer = ?req.peer_addr(),
            "session cookie failed authentication (forged, damaged or sealed with an unknown key); starting a fresh session"
        );
    }
    None
}

fn decode_loaded(
    config: &SessionConfig,
    key: SessionKey,
    loaded: Loaded,
    by_old_key: bool,
) -> SessionData {
    let (payload, version) = loaded.into_parts();
    match State::decode(&payload, config.codec.id()) {
        Ok(state) => SessionData {
            state,
            origin: Some((key, version)),
            by_old_key,
            ..SessionData::default()
        },
        Err(err) => {
            tracing::warn!(session = %config.name, error = %err, "undecodable session payload; starting a fresh session");
            SessionData::default()
        }
    }
}
