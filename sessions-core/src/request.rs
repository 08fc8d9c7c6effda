//! A request's sessions: created empty by the middleware, loaded on first use.

use std::cell::OnceCell;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpMessage as _, HttpRequest};

use crate::SessionKey;
use crate::config::SessionConfig;
use crate::cookie_header::request_cookies;
use crate::error::SessionError;
use crate::key::KeyRing;
use crate::lifetime;
use crate::payload::State;
use crate::seal::open;
use crate::session::{Origin, Session, SessionData};
use crate::store::{Loaded, StoreErrorKind};

/// What every request of one middleware shares: keys and session configurations.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) keys: KeyRing,
    pub(crate) sessions: Vec<Arc<SessionConfig>>,
}

impl Shared {
    /// The position of the session named `name`, if this middleware configures it.
    fn position(&self, name: &str) -> Option<usize> {
        self.sessions.iter().position(|config| config.name == name)
    }

    /// The names of all configured sessions, primary first.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.sessions.iter().map(|config| config.name.as_str())
    }
}

/// Which session a handler asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pick<'a> {
    /// The innermost middleware's first session.
    Primary,
    /// The session with this name, in whichever middleware configures it.
    Named(&'a str),
}

/// The sessions of one request, each loaded at most once and only when asked for: one layer
/// per [`SessionMiddleware`](crate::SessionMiddleware) wrapping the request, innermost first.
/// The middleware keeps it in the request's extensions (by value: one allocation per request).
#[derive(Debug)]
pub(crate) struct RequestSessions {
    shared: Arc<Shared>,
    slots: Slots,
    /// The sessions of an enclosing middleware (one on the app, this one on a scope).
    outer: Option<Box<RequestSessions>>,
}

/// One slot per configured session; inline for the common single session (saves 1.7 % of a
/// memory-store request, callgrind).
#[derive(Debug)]
enum Slots {
    One(OnceCell<Session>),
    Many(Box<[OnceCell<Session>]>),
}

impl RequestSessions {
    fn new(shared: Arc<Shared>, outer: Option<Box<RequestSessions>>) -> Self {
        let slots = match shared.sessions.len() {
            1 => Slots::One(OnceCell::new()),
            n => Slots::Many((0..n).map(|_| OnceCell::new()).collect()),
        };
        Self {
            shared,
            slots,
            outer,
        }
    }

    /// Gives `req` the sessions of the middleware sharing `shared`, inside those of any
    /// enclosing middleware.
    ///
    /// # Errors
    ///
    /// [`SessionError::NestedName`] when an enclosing middleware configures a session of the
    /// same name (both would set the same cookie).
    pub(crate) fn enter(req: &HttpRequest, shared: &Arc<Shared>) -> Result<(), SessionError> {
        let mut extensions = req.extensions_mut();
        // One map operation in the usual case: no enclosing middleware.
        let Some(outer) = extensions.insert(Self::new(Arc::clone(shared), None)) else {
            return Ok(());
        };
        let mut names = shared.names();
        if let Some(name) = names.find(|name| outer.find(name).is_some()) {
            let name = name.to_owned();
            extensions.insert(outer);
            return Err(SessionError::NestedName(name));
        }
        if let Some(mine) = extensions.get_mut::<RequestSessions>() {
            mine.outer = Some(Box::new(outer));
        }
        Ok(())
    }

    /// Takes the sessions of the middleware sharing `shared` out of `req`, leaving those of
    /// enclosing middleware in place.
    pub(crate) fn leave(req: &HttpRequest, shared: &Arc<Shared>) -> Option<Self> {
        let mut extensions = req.extensions_mut();
        let mut mine = extensions.remove::<RequestSessions>()?;
        if !Arc::ptr_eq(&mine.shared, shared) {
            // Not ours (an inner middleware did not put its own back): leave it alone.
            extensions.insert(mine);
            return None;
        }
        if let Some(outer) = mine.outer.take() {
            extensions.insert(*outer);
        }
        Some(mine)
    }

    /// All names a handler can ask for, innermost middleware first.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.shared.names().collect();
        if let Some(outer) = &self.outer {
            names.extend(outer.names());
        }
        names
    }

    /// The layer and position of the session named `name`.
    fn find(&self, name: &str) -> Option<(&Self, usize)> {
        match self.shared.position(name) {
            Some(index) => Some((self, index)),
            None => self.outer.as_deref()?.find(name),
        }
    }

    fn pick(&self, pick: Pick<'_>) -> Result<(&Self, usize), SessionError> {
        match pick {
            Pick::Primary => Ok((self, 0)),
            Pick::Named(name) => self
                .find(name)
                .ok_or_else(|| SessionError::UnknownSession(name.to_owned())),
        }
    }

    fn slot(&self, index: usize) -> &OnceCell<Session> {
        match &self.slots {
            Slots::One(slot) => slot,
            Slots::Many(slots) => &slots[index],
        }
    }

    /// The sessions of this layer that the request loaded.
    pub(crate) fn loaded(&self) -> impl Iterator<Item = &Session> {
        let slots = match &self.slots {
            Slots::One(slot) => std::slice::from_ref(slot),
            Slots::Many(slots) => slots,
        };
        slots.iter().filter_map(OnceCell::get)
    }
}

/// The request's session that `pick` names, loading it on first use.
pub(crate) async fn load(req: &HttpRequest, pick: Pick<'_>) -> Result<Session, SessionError> {
    // Extensions are borrowed only briefly: never across the store call.
    let (shared, index) = {
        let extensions = req.extensions();
        let sessions = extensions
            .get::<RequestSessions>()
            .ok_or(SessionError::MiddlewareMissing)?;
        let (layer, index) = sessions.pick(pick)?;
        if let Some(session) = layer.slot(index).get() {
            return Ok(session.clone());
        }
        (Arc::clone(&layer.shared), index)
    };
    let config = &shared.sessions[index];
    let data = load_data(config, &shared.keys, req).await?;
    let extensions = req.extensions();
    let sessions = extensions
        .get::<RequestSessions>()
        .ok_or(SessionError::MiddlewareMissing)?;
    let layer = layer_of(sessions, &shared).ok_or(SessionError::MiddlewareMissing)?;
    // Two extractors of one handler may load concurrently; the first to finish wins.
    Ok(layer
        .slot(index)
        .get_or_init(|| Session::new(Arc::clone(config), data))
        .clone())
}

/// The layer of the middleware sharing `shared`.
fn layer_of<'a>(
    sessions: &'a RequestSessions,
    shared: &Arc<Shared>,
) -> Option<&'a RequestSessions> {
    if Arc::ptr_eq(&sessions.shared, shared) {
        return Some(sessions);
    }
    layer_of(sessions.outer.as_deref()?, shared)
}

/// How many of a request's cookies for one session reach the store at most. A browser sends
/// one per path and domain that matches (rarely more than two); any more come from a client
/// that wants to multiply store calls.
const MAX_CANDIDATES: usize = 3;
/// How many distinct cookie values of one session are opened at most (each costs a decryption
/// per key of the ring).
const MAX_DISTINCT: usize = 8;

/// Opens the request's cookies for this session and loads the state the first live one points
/// to. Anything the client could have caused (no cookie, forged cookie, expired or corrupt
/// record) gives a fresh session; only store failures are errors.
///
/// A browser may send several cookies of the same name (set for different paths, or a stale
/// one from a sibling domain), most specific first; each distinct one is tried, up to
/// [`MAX_CANDIDATES`], until one loads a live record, so a stale cookie cannot hide the live
/// one.
async fn load_data(
    config: &SessionConfig,
    keys: &KeyRing,
    req: &HttpRequest,
) -> Result<SessionData, SessionError> {
    // At most MAX_DISTINCT values are examined, so the ones seen fit in an array.
    let (mut seen, mut distinct, mut opened) = ([&[][..]; MAX_DISTINCT], 0, 0);
    for value in request_cookies(req.headers(), &config.name) {
        if seen[..distinct].contains(&value) {
            continue;
        }
        if distinct == MAX_DISTINCT {
            break;
        }
        seen[distinct] = value;
        distinct += 1;
        let Some((key, by_old_key)) = open_cookie(config, keys, value) else {
            continue;
        };
        opened += 1;
        let loaded = match config.store.load(&key).await {
            Ok(Some(loaded)) => Some(loaded),
            Ok(None) => None,
            Err(err) if err.kind() == StoreErrorKind::Corrupt => {
                unreadable(config, &err);
                None
            }
            Err(source) => {
                return Err(SessionError::Store {
                    session: config.name.clone(),
                    source,
                });
            }
        };
        if let Some(data) = loaded.and_then(|l| decode_loaded(config, key, l, by_old_key)) {
            return Ok(data);
        }
        if opened == MAX_CANDIDATES {
            break;
        }
    }
    if let Some(data) = fallen_back(config, req, opened > 0).await? {
        return Ok(data);
    }
    if distinct > 0 && opened == 0 {
        crate::observe::count(crate::observe::Event::ForgedCookie, &config.name);
        // Any client can send these at will: logged at most once per interval.
        if let Some(suppressed) = config.forged_cookies.admit() {
            tracing::warn!(
                session = %config.name,
                peer = ?req.peer_addr(),
                suppressed,
                "session cookie failed authentication (forged, damaged or sealed with an unknown key); starting a fresh session"
            );
        }
    }
    Ok(SessionData::default())
}

/// Logs a record that does not decode, at most once per interval: a client may point its
/// cookie at one on every request.
fn unreadable(config: &SessionConfig, err: &dyn std::fmt::Display) {
    if let Some(suppressed) = config.unreadable_records.admit() {
        tracing::warn!(session = %config.name, error = %err, suppressed, "unreadable session record; starting a fresh session");
    }
}

/// A new session holding the fallback loader's state, when one is configured and no cookie
/// of ours opened (`ours_opened`).
///
/// A client with a cookie of ours started here, so whatever foreign state it still carries was
/// taken over then: taking it again would undo the log-out or expiry that left our cookie
/// without a live record.
async fn fallen_back(
    config: &SessionConfig,
    req: &HttpRequest,
    ours_opened: bool,
) -> Result<Option<SessionData>, SessionError> {
    let Some(loader) = config.fallback.as_ref().filter(|_| !ours_opened) else {
        return Ok(None);
    };
    let loaded = loader.load(req, &*config.codec).await;
    let loaded = loaded.map_err(|source| SessionError::Store {
        session: config.name.clone(),
        source,
    })?;
    let Some(fallback) = loaded else {
        return Ok(None);
    };
    tracing::info!(session = %config.name, "started a session from its fallback loader's state");
    let mut data = SessionData {
        remove_foreign: fallback.remove,
        ..SessionData::default()
    };
    for (name, value) in fallback.values {
        data.changes.set(&mut data.state, name, value);
    }
    Ok(Some(data))
}

/// Opens one cookie value for this session: its session key, and whether a retired key
/// opened it; `None` when no key of the ring does.
fn open_cookie(config: &SessionConfig, keys: &KeyRing, value: &[u8]) -> Option<(SessionKey, bool)> {
    let opened = open(config.security, keys, &config.name, value)?;
    let key = SessionKey::from_bytes(opened.plaintext).ok()?;
    Some((key, opened.by_old_key))
}

/// A loaded record as session data; `None` for a tombstone (an ended session) or a payload
/// that does not decode.
///
/// A session written before an absolute lifetime was configured has no creation time: it is
/// given one now, and written at save even if nothing changes, so its lifetime counts from
/// this first load under the limit.
fn decode_loaded(
    config: &SessionConfig,
    key: SessionKey,
    loaded: Loaded,
    by_old_key: bool,
) -> Option<SessionData> {
    let (payload, version) = loaded.into_parts();
    let mut state = match State::decode(&payload, config.codec.id()) {
        Ok(state) if state.tombstone.is_some() => return None,
        Ok(state) => state,
        Err(err) => {
            unreadable(config, &err);
            return None;
        }
    };
    if lifetime::is_over(config, &state) {
        tracing::debug!(session = %config.name, "the session outlived its absolute lifetime; starting a fresh session");
        return None;
    }
    let unstamped = lifetime::stamp_created(config, &mut state);
    Some(SessionData {
        state,
        origin: Some(Origin {
            key,
            version,
            read_at: Instant::now(),
        }),
        by_old_key,
        unstamped,
        ..SessionData::default()
    })
}
