//! Saving a request's sessions when the response goes out: one function per outcome.
//!
//! Sessions are saved one after the other, in two phases. The first writes each session
//! (renewals write only their new record); the second ends the old records of renewed
//! sessions, and runs only when every session's first phase succeeded. So when one session's
//! save fails, no other session's client is left pointing at a record that no longer exists:
//! sessions already saved keep their cookies (sent with the error response), and a renewal that
//! did not finish leaves its client on its old record, which still exists.

use std::borrow::Cow;

use actix_web::http::header::HeaderValue;

use crate::SessionKey;
use crate::cas::{self, Done, Seen, Step, Write};
use crate::config::{SessionConfig, TtlExtensionPolicy};
use crate::cookie_header::removal_cookie;
use crate::cookie_rules::CookieSettings;
use crate::ctx::Ctx;
use crate::error::SessionError;
use crate::key::KeyRing;
use crate::lifetime;
use crate::observe::{self, Event};
use crate::purge;
use crate::renew::Renewal;
use crate::session::{Origin, Session, SessionData};

/// A failed save: the error, and the cookies of the sessions that were saved before it.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: SessionError,
    pub(crate) cookies: Vec<HeaderValue>,
}

impl Failed {
    /// Once a change of the request was saved, no error may tell the client to retry: the
    /// retry would apply that change twice.
    fn new(error: SessionError, saved: bool, cookies: Vec<HeaderValue>) -> Self {
        let error = match saved && error.invites_retry() {
            true => SessionError::PartlySaved(Box::new(error)),
            false => error,
        };
        Self { error, cookies }
    }
}

/// Saves the sessions a request loaded; returns the `Set-Cookie` headers to send.
pub(crate) async fn save_all<'s>(
    sessions: impl Iterator<Item = &'s Session>,
    keys: &KeyRing,
) -> Result<Vec<HeaderValue>, Failed> {
    let mut cookies = Vec::new();
    let mut renewals = Vec::new();
    // Whether a change that a retry would apply again has been saved.
    let mut saved = false;
    for session in sessions {
        let ctx = Ctx {
            config: session.config(),
            keys,
        };
        // A session a fallback loader started: its foreign cookie goes once the save succeeded.
        let foreign = ForeignRemoval::before_save(ctx.config, &mut session.data_mut(), &cookies);
        // Boxed, like the rare outcomes' futures: see "Small futures" in docs/DESIGN.md.
        let data = Box::new(std::mem::take(&mut *session.data_mut()));
        let writes = data.changed();
        match save(&ctx, data, &mut cookies).await {
            Ok(None) => saved |= writes,
            Ok(Some(renewal)) => renewals.push((ctx, renewal, writes)),
            Err(error) => return Err(Failed::new(error, saved, cookies)),
        }
        if let Some(foreign) = foreign {
            foreign.after_save(&mut cookies);
        }
    }
    for (ctx, renewal, writes) in renewals {
        match renewal.finish(&ctx, &mut cookies).await {
            Ok(()) => saved |= writes,
            Err(error) => return Err(Failed::new(error, saved, cookies)),
        }
    }
    Ok(cookies)
}

/// The removal of the foreign cookie a session was started from (see `Fallback::remove_cookie`),
/// decided before the session is saved and sent after it saved.
#[derive(Debug)]
struct ForeignRemoval {
    name: String,
    settings: CookieSettings,
    /// Our cookie has the foreign cookie's name, path and domain, so setting (or removing) it
    /// replaces the foreign one in the browser.
    replaced_by_ours: bool,
    /// How many `Set-Cookie` headers the response had before this session's save.
    before: usize,
}

impl ForeignRemoval {
    /// Takes the foreign cookie out of `data`; `None` for a session no fallback loader started.
    /// Boxed: it is held across the save, inside the response future (see "Small futures" in
    /// docs/DESIGN.md).
    fn before_save(
        config: &SessionConfig,
        data: &mut SessionData,
        cookies: &[HeaderValue],
    ) -> Option<Box<Self>> {
        let foreign = data.remove_foreign.take()?;
        let ours = config.cookie.with(data.state.options.as_deref());
        let replaced_by_ours = foreign.name == config.name
            && foreign.path == ours.path
            && foreign.domain == ours.domain
            // A partitioned cookie lives in a jar of its own and replaces nothing.
            && !ours.partitioned;
        let settings = CookieSettings {
            path: foreign.path,
            domain: foreign.domain,
            // Set outside our jar; a `Partitioned` removal would miss an unpartitioned cookie.
            partitioned: false,
            ..config.cookie.clone()
        };
        Some(Box::new(Self {
            name: foreign.name,
            settings,
            replaced_by_ours,
            before: cookies.len(),
        }))
    }

    /// After the session saved: the removal, unless a cookie of ours just replaced the foreign
    /// one. (Two `Set-Cookie` headers for one cookie in one response are left to the browser's
    /// order of processing, which RFC 6265 advises against.) Not sent when the save failed: the
    /// client keeps the foreign cookie, and its state can be taken over on its next request.
    fn after_save(self, cookies: &mut Vec<HeaderValue>) {
        if self.replaced_by_ours && cookies.len() > self.before {
            return;
        }
        cookies.push(removal_cookie(&self.name, &self.settings));
    }
}

/// Saves one session (the first phase of a renewal), adding its cookie to `cookies`.
async fn save(
    ctx: &Ctx<'_>,
    mut data: Box<SessionData>,
    cookies: &mut Vec<HeaderValue>,
) -> Result<Option<Renewal>, SessionError> {
    let mut replaced = None;
    if let Some(purged) = data.purged.take() {
        purge::end(ctx, &purged).await?;
        replaced = Some(purged.key);
    }
    let changed = data.changed();
    let Some(origin) = data.origin.take() else {
        if changed {
            create(ctx, data, replaced.as_ref(), cookies).await?;
        } else {
            remove(ctx, &data, cookies);
        }
        return Ok(None);
    };
    if data.renew {
        return Renewal::begin(ctx, *data, origin).await.map(Some);
    }
    if changed {
        update(ctx, data, &origin, cookies).await?;
    } else if ctx.config.ttl_extension == TtlExtensionPolicy::OnEveryRequest {
        touch(ctx, &data, &origin, cookies).await?;
    } else if data.by_old_key {
        resend(ctx, &data, &origin, &origin.key, cookies).await?;
    }
    Ok(None)
}

/// A new session (or what a request stored after a purge of `replaced`).
async fn create(
    ctx: &Ctx<'_>,
    mut data: Box<SessionData>,
    replaced: Option<&SessionKey>,
    cookies: &mut Vec<HeaderValue>,
) -> Result<(), SessionError> {
    let stored = ctx.create(&mut data.state, replaced).await?;
    observe::count(Event::Created, &ctx.config.name);
    cookies.push(ctx.cookie(stored.key(), &data.state)?);
    Ok(())
}

/// A purged session that nothing was stored in since: drop the cookie.
fn remove(ctx: &Ctx<'_>, data: &SessionData, cookies: &mut Vec<HeaderValue>) {
    if let Some(settings) = &data.remove_cookie {
        cookies.push(removal_cookie(&ctx.config.name, settings));
    }
}

/// Compare-and-set, merging with concurrent saves. A session purged or expired meanwhile
/// gets this request's own changes in a new session; one renewed away (a log-in) gets
/// nothing: the client has, or will get, the renewed cookie, and nothing done on the old key
/// may land in the renewed session.
async fn update(
    ctx: &Ctx<'_>,
    mut data: Box<SessionData>,
    origin: &Origin,
    cookies: &mut Vec<HeaderValue>,
) -> Result<(), SessionError> {
    ctx.stamp(&mut data.state);
    let data = &*data;
    let write = Write {
        key: &origin.key,
        state: Cow::Borrowed(&data.state),
        expected: origin.version,
        read_at: origin.read_at,
        repeatable: data.changes.is_idempotent(),
    };
    let done = cas::write(ctx, write, |seen| match seen {
        Seen::Live(fresh, version) => Ok(Step::Write(ctx.merge(data, fresh)?, version)),
        Seen::Renewed(_) | Seen::Untraced => Err(ctx.renewed_away()),
        Seen::Purged | Seen::Gone => Ok(Step::Stop(())),
    })
    .await?;
    match done {
        // A lost reply that landed, after which a later request ended the session: that
        // request answers with the cookie to keep.
        Done::Written { state, .. } if state.tombstone.is_some() => Ok(()),
        Done::Written { stored, state } => {
            if stored.key() != &origin.key || ctx.cookie_changes(data, &state) {
                cookies.push(ctx.cookie(stored.key(), &state)?);
            }
            Ok(())
        }
        Done::Stopped(()) => ctx.keep_own_changes(data, &origin.key, cookies).await,
    }
}

/// Rolling sessions: push the TTL back without rewriting the state.
///
/// The request changed nothing, so a store that fails to extend the TTL does not fail it: the
/// response is served, the failure logged (at most once per interval, as an outage fails
/// every touch), and the session keeps its current expiry, so neither does its cookie's
/// `Max-Age` move.
async fn touch(
    ctx: &Ctx<'_>,
    data: &SessionData,
    origin: &Origin,
    cookies: &mut Vec<HeaderValue>,
) -> Result<(), SessionError> {
    let ttl = lifetime::ttl(ctx.config, &data.state);
    let key = match ctx.config.store.touch(&origin.key, ttl).await {
        Ok(key) => key,
        Err(err) => {
            if let Some(suppressed) = ctx.config.failed_touches.admit() {
                tracing::warn!(session = %ctx.config.name, error = %err, suppressed, "could not extend a session's TTL; serving the response, the session keeps its expiry");
            }
            return Ok(());
        }
    };
    let persistent = lifetime::max_age(ctx.config, &data.state).is_some();
    if key != origin.key || persistent || data.by_old_key {
        resend(ctx, data, origin, &key, cookies).await?;
    }
    Ok(())
}

/// Sends the cookie of an unchanged session again (a `Max-Age` refresh, a re-seal with the
/// current key, a client-side store's new state), unless another request renewed or purged
/// the session since it was loaded: the client must keep the cookie that request sent.
async fn resend(
    ctx: &Ctx<'_>,
    data: &SessionData,
    origin: &Origin,
    key: &SessionKey,
    cookies: &mut Vec<HeaderValue>,
) -> Result<(), SessionError> {
    // A store without compare-and-set keeps no tombstones: its record cannot have ended.
    if ctx.config.store.compares_versions() {
        let found = match ctx.reload(&origin.key).await {
            Ok(found) => found,
            // Nothing changed, so a failing store does not fail the response; the cookie
            // stays as it is.
            Err(_) => return Ok(()),
        };
        if !matches!(cas::seen(found, origin.read_at), Seen::Live(..)) {
            return Ok(());
        }
    }
    cookies.push(ctx.cookie(key, &data.state)?);
    Ok(())
}
