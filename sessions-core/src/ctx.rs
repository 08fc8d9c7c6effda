//! The session being saved ([`Ctx`]): its configuration and keys, and what every write path
//! (`save.rs`, `cas.rs`, `renew.rs`, `purge.rs`) does with them: encode and write a state,
//! reload a record, merge this request's changes, write a cookie, name an error.

use std::time::Duration;

use actix_web::http::header::HeaderValue;

use crate::SessionKey;
use crate::config::SessionConfig;
use crate::cookie_header::set_cookie;
use crate::error::SessionError;
use crate::key::KeyRing;
use crate::lifetime;
use crate::payload::State;
use crate::seal::seal;
use crate::session::SessionData;
use crate::store::{StoreError, StoreErrorKind, Stored, Version};
use crate::token;

/// The session being saved: its configuration and the keys its cookie is sealed with.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a SessionConfig,
    pub(crate) keys: &'a KeyRing,
}

impl Ctx<'_> {
    /// The record under `replaced` is gone (purged or expired while this request ran): this
    /// request's own changes, and nothing of the state it loaded, go into a new session. A
    /// log-out is never undone.
    pub(crate) async fn keep_own_changes(
        &self,
        data: &SessionData,
        replaced: &SessionKey,
        cookies: &mut Vec<HeaderValue>,
    ) -> Result<(), SessionError> {
        let mut state = self.merge_new(data, State::default())?;
        if state.is_empty() {
            return Ok(());
        }
        let stored = self.create(&mut state, Some(replaced)).await?;
        cookies.push(self.cookie(stored.key(), &state)?);
        Ok(())
    }

    /// Stores `state` under a new key (stamping its creation time and write token); the
    /// session continues the one under `replaced`, if given (see
    /// [`SessionStore::create_replacing`](crate::SessionStore::create_replacing)).
    pub(crate) async fn create(
        &self,
        state: &mut State,
        replaced: Option<&SessionKey>,
    ) -> Result<Stored, SessionError> {
        self.stamp(state);
        let payload = state.encode(self.config.codec.id());
        let ttl = lifetime::ttl(self.config, state);
        let store = &self.config.store;
        let created = match replaced {
            Some(replaced) => store.create_replacing(replaced, &payload, ttl).await,
            None => store.create(&payload, ttl).await,
        };
        self.store_result(created)
    }

    /// Compare-and-set of `state` under `key`, expecting `version`.
    pub(crate) async fn write(
        &self,
        key: &SessionKey,
        state: &State,
        version: Version,
    ) -> Result<Stored, StoreError> {
        let ttl = match state.tombstone {
            Some(_) => TOMBSTONE_TTL,
            None => lifetime::ttl(self.config, state),
        };
        let payload = state.encode(self.config.codec.id());
        self.config.store.update(key, &payload, ttl, version).await
    }

    /// The record under `key` (a tombstone included), or `None` if it is gone or unreadable.
    pub(crate) async fn reload(
        &self,
        key: &SessionKey,
    ) -> Result<Option<(State, Version)>, SessionError> {
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

    /// Gives `state` a new write token, if the store merges concurrent saves (see
    /// [`SessionStore::compares_versions`](crate::SessionStore::compares_versions)), and its
    /// creation time if it needs one and has none.
    pub(crate) fn stamp(&self, state: &mut State) {
        lifetime::stamp_created(self.config, state);
        if self.config.store.compares_versions() {
            state.push_write(token::unique());
        }
    }

    /// This request's changes replayed on `fresh`, with a new write token.
    pub(crate) fn merge(&self, data: &SessionData, fresh: State) -> Result<State, SessionError> {
        tracing::debug!(session = %self.config.name, "session changed concurrently; merging");
        let mut merged = self.merge_new(data, fresh)?;
        self.stamp(&mut merged);
        Ok(merged)
    }

    /// This request's changes replayed on `base`.
    pub(crate) fn merge_new(&self, data: &SessionData, base: State) -> Result<State, SessionError> {
        data.changes
            .replay(&*self.config.codec, &data.state, base)
            .map_err(|source| SessionError::Codec {
                session: self.config.name.clone(),
                source,
            })
    }

    /// After an update: the cookie is rewritten only when something in it changes.
    pub(crate) fn cookie_changes(&self, data: &SessionData, state: &State) -> bool {
        let persistent = lifetime::max_age(self.config, state).is_some();
        persistent || data.by_old_key || data.changes.options_changed()
    }

    /// A `Set-Cookie` sealing `key`, with the attributes and lifecycle `state` asks for.
    pub(crate) fn cookie(
        &self,
        key: &SessionKey,
        state: &State,
    ) -> Result<HeaderValue, SessionError> {
        let (config, keys) = (self.config, self.keys);
        let attributes = config.cookie.with(state.options.as_deref());
        let max_age = lifetime::max_age(config, state);
        let value = seal(config.security, keys, &config.name, key.as_bytes());
        set_cookie(&config.name, &value, &attributes, max_age)
    }

    pub(crate) fn store_result<T>(&self, result: Result<T, StoreError>) -> Result<T, SessionError> {
        result.map_err(|err| self.store_error(err))
    }

    pub(crate) fn renewed_away(&self) -> SessionError {
        SessionError::RenewedAway {
            session: self.config.name.clone(),
        }
    }

    pub(crate) fn store_error(&self, source: StoreError) -> SessionError {
        SessionError::Store {
            session: self.config.name.clone(),
            source,
        }
    }
}

/// How long the record a purge or a renewal ended stays as a tombstone: long enough for every
/// request that loaded it before to notice (their saves conflict and reload it).
pub(crate) const TOMBSTONE_TTL: Duration = Duration::from_secs(60);
