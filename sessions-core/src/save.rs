//! Saving a session when the response goes out: one function per outcome.

use std::time::Duration;

use actix_web::http::header::{HeaderMap, SET_COOKIE};

use crate::SessionKey;
use crate::config::{SessionConfig, TtlExtensionPolicy};
use crate::cookie_header::{removal_cookie, set_cookie};
use crate::error::SessionError;
use crate::key::KeyRing;
use crate::options::Lifecycle;
use crate::payload::State;
use crate::seal::{seal_into, sealed_len};
use crate::session::{Session, SessionData};
use crate::store::{StoreError, StoreErrorKind, Stored, Version};

/// How many times a save is attempted when concurrent requests keep changing the session.
pub const MAX_SAVE_ATTEMPTS: usize = 5;

/// Where the response's cookies go, and the keys to seal them with.
pub(crate) struct CookieJar<'a> {
    pub(crate) keys: &'a KeyRing,
    pub(crate) headers: &'a mut HeaderMap,
}

/// Saves one loaded session: store writes first, then the cookie.
pub(crate) async fn save(session: &Session, jar: &mut CookieJar<'_>) -> Result<(), SessionError> {
    let config = session.config();
    let data = std::mem::take(&mut *session.data_mut());
    let ctx = Ctx { config, jar };
    if let Some(key) = &data.purged {
        ctx.store_result(config.store.delete(key).await)?;
    }
    let changed = !data.changes.is_empty();
    match &data.origin {
        None if changed => create(ctx, &data).await,
        None => remove(ctx, &data),
        Some((key, _)) if data.renew => renew(ctx, &data, key).await,
        Some((key, version)) if changed => update(ctx, &data, key, *version).await,
        Some((key, _)) if config.ttl_extension == TtlExtensionPolicy::OnEveryRequest => {
            touch(ctx, &data, key).await
        }
        Some((key, _)) if data.by_old_key => ctx.set_cookie(key, &data.state),
        Some(_) => Ok(()),
    }
}

/// A new session (or what a request stored after a purge).
async fn create(ctx: Ctx<'_, '_>, data: &SessionData) -> Result<(), SessionError> {
    let stored = ctx.create(&data.state).await?;
    ctx.set_cookie(stored.key(), &data.state)
}

/// A purged session that nothing was stored in since: drop the cookie.
fn remove(ctx: Ctx<'_, '_>, data: &SessionData) -> Result<(), SessionError> {
    if let Some(settings) = &data.remove_cookie {
        ctx.jar
            .headers
            .append(SET_COOKIE, removal_cookie(&ctx.config.name, settings));
    }
    Ok(())
}

/// The state moves to a new key; the old record goes only once the new one is stored.
async fn renew(ctx: Ctx<'_, '_>, data: &SessionData, old: &SessionKey) -> Result<(), SessionError> {
    let stored = ctx.create(&data.state).await?;
    ctx.store_result(ctx.config.store.delete(old).await)?;
    ctx.set_cookie(stored.key(), &data.state)
}

/// Compare-and-set; on a conflict, [`merge`].
async fn update(
    ctx: Ctx<'_, '_>,
    data: &SessionData,
    key: &SessionKey,
    version: Version,
) -> Result<(), SessionError> {
    match ctx.write(key, &data.state, version).await {
        Ok(stored) => ctx.cookie_after_write(key, &stored, &data.state, data),
        // Boxed: the middleware allocates its response future, this one inside it, on every
        // request; the rare merge loop inline would make it larger than glibc malloc's fast
        // path (about 1 KB), at about 1,000 instructions per request.
        Err(err) if err.is_conflict() => Box::pin(merge(ctx, data, key)).await,
        Err(err) => Err(ctx.store_error(err)),
    }
}

/// After a conflict: reload, replay this request's changes on the fresh state and retry, up
/// to [`MAX_SAVE_ATTEMPTS`] writes in all.
async fn merge(ctx: Ctx<'_, '_>, data: &SessionData, key: &SessionKey) -> Result<(), SessionError> {
    let mut attempts = 1;
    loop {
        tracing::debug!(session = %ctx.config.name, "session changed concurrently; merging");
        let Some((fresh, version)) = ctx.reload(key).await? else {
            // The record is gone (expired or purged meanwhile): keep this request's changes in a new one.
            let state = data.changes.replay(&data.state, State::default());
            let stored = ctx.create(&state).await?;
            return ctx.set_cookie(stored.key(), &state);
        };
        if attempts == MAX_SAVE_ATTEMPTS {
            return Err(SessionError::TooManyConflicts {
                session: ctx.config.name.clone(),
                attempts,
            });
        }
        attempts += 1;
        let merged = data.changes.replay(&data.state, fresh);
        match ctx.write(key, &merged, version).await {
            Ok(stored) => return ctx.cookie_after_write(key, &stored, &merged, data),
            Err(err) if err.is_conflict() => {}
            Err(err) => return Err(ctx.store_error(err)),
        }
    }
}

/// Rolling sessions: push the TTL back without rewriting the state.
async fn touch(ctx: Ctx<'_, '_>, data: &SessionData, key: &SessionKey) -> Result<(), SessionError> {
    let life = lifecycle(ctx.config, &data.state);
    let new_key = ctx.store_result(ctx.config.store.touch(key, life.ttl()).await)?;
    if new_key != *key || life.max_age().is_some() || data.by_old_key {
        ctx.set_cookie(&new_key, &data.state)?;
    }
    Ok(())
}

/// The session's effective lifecycle: its own override, or the configured one.
fn lifecycle(config: &SessionConfig, state: &State) -> Lifecycle {
    state
        .options
        .as_ref()
        .and_then(|o| o.lifecycle)
        .unwrap_or(config.lifecycle)
}

/// The configuration and response of the session being saved.
struct Ctx<'c, 'j> {
    config: &'c SessionConfig,
    jar: &'c mut CookieJar<'j>,
}

impl Ctx<'_, '_> {
    async fn create(&self, state: &State) -> Result<Stored, SessionError> {
        let payload = state.encode(self.config.codec.id());
        let ttl = lifecycle(self.config, state).ttl();
        self.store_result(self.config.store.create(&payload, ttl).await)
    }

    /// Compare-and-set of `state` under `key`, expecting `version`.
    async fn write(
        &self,
        key: &SessionKey,
        state: &State,
        version: Version,
    ) -> Result<Stored, StoreError> {
        let payload = state.encode(self.config.codec.id());
        let ttl = lifecycle(self.config, state).ttl();
        self.config.store.update(key, &payload, ttl, version).await
    }

    /// The current state under `key`, or `None` if it is gone or unreadable.
    async fn reload(&self, key: &SessionKey) -> Result<Option<(State, Version)>, SessionError> {
        let loaded = match self.config.store.load(key).await {
            Ok(loaded) => loaded,
            Err(err) if err.kind() == StoreErrorKind::Corrupt => None,
            Err(err) => return Err(self.store_error(err)),
        };
        Ok(loaded.and_then(|loaded| {
            let (payload, version) = loaded.into_parts();
            State::decode(&payload, self.config.codec.id())
                .ok()
                .map(|state| (state, version))
        }))
    }

    /// After an update: the cookie is rewritten only when something in it changes.
    fn cookie_after_write(
        self,
        old: &SessionKey,
        stored: &Stored,
        state: &State,
        data: &SessionData,
    ) -> Result<(), SessionError> {
        let options_changed = data.changes.options_changed();
        let persistent = lifecycle(self.config, state).max_age().is_some();
        if stored.key() != old || persistent || data.by_old_key || options_changed {
            self.set_cookie(stored.key(), state)?;
        }
        Ok(())
    }

    /// Seals `key` into the session cookie, with the attributes and lifecycle `state` asks for.
    fn set_cookie(self, key: &SessionKey, state: &State) -> Result<(), SessionError> {
        let (config, keys) = (self.config, self.jar.keys);
        let attributes = config.cookie.attributes(state.options.as_deref());
        let max_age = lifecycle(config, state).max_age().map(clamp_max_age);
        let header = set_cookie(
            &config.name,
            sealed_len(config.security, key.len()),
            |out| seal_into(config.security, keys, &config.name, key.as_bytes(), out),
            &attributes,
            max_age,
        )?;
        self.jar.headers.append(SET_COOKIE, header);
        Ok(())
    }

    fn store_result<T>(&self, result: Result<T, StoreError>) -> Result<T, SessionError> {
        result.map_err(|err| self.store_error(err))
    }

    fn store_error(&self, source: StoreError) -> SessionError {
        SessionError::Store {
            session: self.config.name.clone(),
            source,
        }
    }
}

/// Max-Age above 400 days is capped by browsers anyway (RFC 6265bis); keep the number sane.
fn clamp_max_age(age: Duration) -> Duration {
    age.min(Duration::from_secs(400 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use actix_web::http::header::COOKIE;
    use actix_web::test::{TestRequest, call_service, init_service, try_call_service};
    use actix_web::{App, HttpResponse, web};

    use super::*;
    use crate::store::Loaded;
    use crate::{Codec as _, Key, MsgPack, SessionMiddleware, SessionStore};

    /// A store where every `update` conflicts, as if another request always saved first.
    #[derive(Debug, Default, Clone)]
    struct Contended {
        loads: Arc<AtomicUsize>,
        updates: Arc<AtomicUsize>,
    }

    impl SessionStore for Contended {
        async fn load(&self, _: &SessionKey) -> Result<Option<Loaded>, StoreError> {
            let version = self.loads.fetch_add(1, Ordering::Relaxed);
            let payload = State::default().encode(MsgPack.id());
            Ok(Some(Loaded::new(payload, Version::new(version as u64))))
        }

        async fn create(&self, _: &[u8], _: Duration) -> Result<Stored, StoreError> {
            Ok(Stored::new(SessionKey::generate(), Version::new(0)))
        }

        async fn update(
            &self,
            _: &SessionKey,
            _: &[u8],
            _: Duration,
            _: Version,
        ) -> Result<Stored, StoreError> {
            self.updates.fetch_add(1, Ordering::Relaxed);
            Err(StoreError::conflict())
        }

        async fn touch(&self, key: &SessionKey, _: Duration) -> Result<SessionKey, StoreError> {
            Ok(key.clone())
        }

        async fn delete(&self, _: &SessionKey) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[actix_web::test]
    async fn a_save_gives_up_after_max_attempts() {
        let store = Contended::default();
        let sessions = SessionMiddleware::new(store.clone(), Key::generate());
        let app = init_service(App::new().wrap(sessions).route(
            "/",
            web::get().to(|session: Session| async move {
                session.insert("n", 1)?;
                Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
            }),
        ))
        .await;
        let created = call_service(&app, TestRequest::get().uri("/").to_request()).await;
        let cookie = created.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
        let pair = cookie.split(';').next().unwrap().to_owned();

        let req = TestRequest::get().uri("/").insert_header((COOKIE, pair));
        let err = try_call_service(&app, req.to_request()).await.unwrap_err();
        assert!(
            matches!(
                err.as_error::<SessionError>(),
                Some(SessionError::TooManyConflicts {
                    attempts: MAX_SAVE_ATTEMPTS,
                    ..
                })
            ),
            "{err:?}"
        );
        assert_eq!(store.updates.load(Ordering::Relaxed), MAX_SAVE_ATTEMPTS);
        // The handler's load, then a reload after each conflicting write.
        assert_eq!(store.loads.load(Ordering::Relaxed), 1 + MAX_SAVE_ATTEMPTS);
    }
}
