//! Running one store command: which failures are retried, and how the rest become
//! [`StoreError`]s.
//!
//! A command is sent again only when that cannot apply it twice:
//!
//! - **The server refused it without running it**: `MOVED` and `ASK` (sent again to the node
//!   named, on a Cluster), `READONLY` (a primary demoted by a failover: the connection is dropped
//!   and the next one goes to the new primary), `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN` and
//!   `LOADING` (sent again after a short pause), `NOSCRIPT` (sent as `EVAL`). Any command, writes
//!   included, is retried so until the response timeout has passed since the first attempt.
//! - **The connection broke** (reset, closed, garbled reply) under an idempotent command
//!   (`GET`, `PEXPIRE`, `DEL`): the connection is dropped and the command sent once more on a
//!   new one. A write (`SET NX`, the compare-and-set script) that may have reached Redis is not
//!   sent again: it is [`StoreError::outcome_unknown`], for the caller to settle by reading back.
//!
//! A reply that does not come within the response timeout drops the connection (the server may
//! be stalled; the next call opens a new one rather than queueing behind it) and is not retried
//! (that would double the wait): `Unavailable` for a read, outcome unknown for a write.

use std::io;
use std::time::{Duration, Instant};

use deadpool_redis::redis::{Cmd, ErrorKind, FromRedisValue, RedisError, ServerErrorKind, Value};
use sessions_core::StoreError;

use crate::backend::Backend;
use crate::connection::{Node, Redirect};

/// The first pause before sending again a command the server could not run yet (`TRYAGAIN`,
/// `CLUSTERDOWN`, ...); each further pause doubles, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(160);

/// Whether a command may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Sending it twice gives the same result as once: `GET`, `PEXPIRE`, `DEL`.
    Idempotent,
    /// A write whose second sending could differ: `SET NX`, the compare-and-set script.
    Write,
}

/// A command as the store sends it.
pub(crate) struct Command {
    /// The command's name, for errors and logs.
    pub(crate) name: &'static str,
    pub(crate) cmd: Cmd,
    /// The same command as `EVAL`, for an `EVALSHA` that meets `NOSCRIPT`.
    pub(crate) eval: Option<Cmd>,
    pub(crate) effect: Effect,
}

impl Command {
    pub(crate) fn new(name: &'static str, cmd: Cmd, effect: Effect) -> Self {
        Self {
            name,
            cmd,
            eval: None,
            effect,
        }
    }

    /// Runs the command and converts its reply (see the [module documentation](self)).
    ///
    /// # Errors
    ///
    /// `Unavailable` when no connection could be had or Redis failed, `OutcomeUnknown` for a
    /// write that may have been applied, `Corrupt` for a key of another type.
    pub(crate) async fn run<T: FromRedisValue>(&self, backend: &Backend) -> Result<T, StoreError> {
        let value = self.send(backend).await?;
        T::from_redis_value(value).map_err(|err| {
            StoreError::unavailable(RedisError::from(err))
                .with_message(format!("unexpected reply to Redis {}", self.name))
        })
    }

    async fn send(&self, backend: &Backend) -> Result<Value, StoreError> {
        let io_timeout = backend.io_timeout();
        let give_up = Instant::now() + io_timeout;
        let mut attempt = Attempt {
            cmd: &self.cmd,
            redirect: None,
            pause: FIRST_PAUSE,
            resent_after_loss: false,
        };
        loop {
            let mut conn = backend.lease().await?;
            let sent = conn.send(attempt.cmd, attempt.redirect.as_ref());
            let err = match tokio::time::timeout(io_timeout, sent).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => err,
                Err(_) => {
                    conn.discard();
                    return Err(self.lost(timed_out(io_timeout)));
                }
            };
            match Failure::of(&err, backend.is_cluster()) {
                Failure::Refused(next) if Instant::now() < give_up => {
                    tracing::debug!(command = self.name, error = %err, "Redis refused a command; sending it again");
                    match next {
                        Next::Reconnect => conn.discard(),
                        Next::Redirect(redirect) => attempt.redirect = Some(redirect),
                        Next::Eval => attempt.cmd = self.eval.as_ref().unwrap_or(&self.cmd),
                        Next::Pause => attempt.pause(give_up).await,
                    }
                }
                Failure::Refused(_) => return Err(unavailable(self.name, err)),
                Failure::Lost => {
                    tracing::debug!(command = self.name, error = %err, "dropping a Redis connection after a failure");
                    conn.discard();
                    if self.effect == Effect::Idempotent && !attempt.resent_after_loss {
                        attempt.resent_after_loss = true;
                        continue;
                    }
                    return Err(self.lost(err));
                }
                Failure::Rejected => return Err(rejected(self.name, err)),
            }
        }
    }

    /// The error for a command that may or may not have reached Redis.
    fn lost(&self, err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        let message = format!("Redis {} failed", self.name);
        match self.effect {
            Effect::Idempotent => StoreError::unavailable(err).with_message(message),
            Effect::Write => StoreError::outcome_unknown(err).with_message(message),
        }
    }
}

/// What the next attempt sends, and where.
struct Attempt<'a> {
    cmd: &'a Cmd,
    redirect: Option<Redirect>,
    pause: Duration,
    resent_after_loss: bool,
}

impl Attempt<'_> {
    async fn pause(&mut self, give_up: Instant) {
        let left = give_up.saturating_duration_since(Instant::now());
        tokio::time::sleep(self.pause.min(left)).await;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
    }
}

/// What a failed command tells.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The server did not run the command; it may be sent again after `Next`.
    Refused(Next),
    /// The connection broke: the command may or may not have run.
    Lost,
    /// The server ran or refused it for good (a wrong key type, missing permissions, ...).
    Rejected,
}

#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Drop the connection and open a new one (to the current primary).
    Reconnect,
    /// Send it to the node named.
    Redirect(Redirect),
    /// Send it as `EVAL`.
    Eval,
    /// Wait a little, then send it again.
    Pause,
}

impl Failure {
    fn of(err: &RedisError, cluster: bool) -> Self {
        match err.kind() {
            ErrorKind::Server(ServerErrorKind::Moved) if cluster => Node::of(err)
                .map_or(Self::Refused(Next::Pause), |node| {
                    Self::Refused(Next::Redirect(Redirect::Moved(node)))
                }),
            ErrorKind::Server(ServerErrorKind::Ask) if cluster => Node::of(err)
                .map_or(Self::Refused(Next::Pause), |node| {
                    Self::Refused(Next::Redirect(Redirect::Ask(node)))
                }),
            // A Cluster client refreshes its slot map after READONLY; one server's connection
            // must be replaced to reach the new primary.
            ErrorKind::Server(ServerErrorKind::ReadOnly) if cluster => Self::Refused(Next::Pause),
            ErrorKind::Server(ServerErrorKind::ReadOnly) => Self::Refused(Next::Reconnect),
            ErrorKind::Server(
                ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::BusyLoading,
            ) => Self::Refused(Next::Pause),
            ErrorKind::Server(ServerErrorKind::NoScript) => Self::Refused(Next::Eval),
            // A Cluster client with no connection to the slot's node, or none it could open:
            // nothing was sent.
            ErrorKind::ClusterConnectionNotFound => Self::Refused(Next::Pause),
            _ if cluster && err.is_connection_refusal() => Self::Refused(Next::Pause),
            _ if err.is_io_error() || err.is_unrecoverable_error() => Self::Lost,
            _ => Self::Rejected,
        }
    }
}

/// The source of a reply that did not come in time: an [`io::Error`] of kind `TimedOut`.
fn timed_out(after: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no reply from Redis within {after:?}"),
    )
}

fn unavailable(command: &'static str, err: RedisError) -> StoreError {
    StoreError::unavailable(err).with_message(format!("Redis {command} failed"))
}

fn rejected(command: &'static str, err: RedisError) -> StoreError {
    // The key holds a list, hash or set: not a session this store wrote. The client gets a
    // fresh session rather than an error page.
    if err.code() == Some("WRONGTYPE") {
        return StoreError::corrupt(err).with_message("the Redis key does not hold a session");
    }
    if err.kind() == ErrorKind::Server(ServerErrorKind::Moved) {
        return StoreError::unavailable(err).with_message(format!(
            "Redis {command} answered MOVED: the server is a Cluster node; use a redis+cluster:// URL"
        ));
    }
    unavailable(command, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(text: &str) -> RedisError {
        let value = deadpool_redis::redis::parse_redis_value(format!("-{text}\r\n").as_bytes())
            .expect("an error reply");
        value.extract_error().expect_err("an error reply")
    }

    #[test]
    fn refusals_are_sent_again_and_only_they_are() {
        let moved = server_error("MOVED 3999 127.0.0.1:7002");
        assert!(matches!(
            Failure::of(&moved, true),
            Failure::Refused(Next::Redirect(Redirect::Moved(_)))
        ));
        assert_eq!(Failure::of(&moved, false), Failure::Rejected);
        assert!(matches!(
            Failure::of(&server_error("ASK 3999 127.0.0.1:7002"), true),
            Failure::Refused(Next::Redirect(Redirect::Ask(_)))
        ));
        let readonly = server_error("READONLY You can't write against a read only replica.");
        assert_eq!(
            Failure::of(&readonly, false),
            Failure::Refused(Next::Reconnect)
        );
        assert_eq!(Failure::of(&readonly, true), Failure::Refused(Next::Pause));
        for waiting in ["TRYAGAIN x", "CLUSTERDOWN x", "MASTERDOWN x", "LOADING x"] {
            assert_eq!(
                Failure::of(&server_error(waiting), true),
                Failure::Refused(Next::Pause),
                "{waiting}"
            );
        }
        assert_eq!(
            Failure::of(&server_error("NOSCRIPT No matching script."), false),
            Failure::Refused(Next::Eval)
        );
        let wrongtype = server_error("WRONGTYPE Operation against a key holding the wrong kind");
        assert_eq!(Failure::of(&wrongtype, false), Failure::Rejected);
    }

    #[test]
    fn a_broken_connection_is_lost_but_a_refused_cluster_connection_is_not() {
        let reset = RedisError::from(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(Failure::of(&reset, false), Failure::Lost);
        assert_eq!(Failure::of(&reset, true), Failure::Lost);
        let refused = RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(Failure::of(&refused, true), Failure::Refused(Next::Pause));
    }
}
