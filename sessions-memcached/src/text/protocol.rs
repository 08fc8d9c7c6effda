//! The text protocol's commands and replies, as bytes: pure functions, tested (and fuzzed)
//! without a server.
//!
//! Every meta command carries an opaque number (`O<n>`), which memcached echoes on its reply,
//! hit or miss; the other commands (`mn`, `version`, `flush_all`, the `set` of ASCII
//! authentication) have a reply of their own kind. So each reply is checked against the
//! request it must answer ([`check`]): memcached answers in order, and a reply that does not fit
//! means the stream is out of step.

use std::fmt;
use std::io::Write as _;

use crate::pipeline::Answer;

/// The longest reply line read: a status, a value length and a few short flags. A longer one
/// is not a reply to anything the store sends.
pub(crate) const MAX_LINE: usize = 1024;

/// The key of the `set` that carries ASCII authentication. Its expiration is in the past, so a
/// server that does not require authentication (and so stores it) never serves the credentials.
const AUTH_KEY: &str = "sessions-memcached-auth";

/// A command the store sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Command<'a> {
    /// `mg <key> v c`: the value and its CAS.
    Get { key: &'a str },
    /// `mg <key> T<exp>`: resets the expiration, neither returning the value nor changing the
    /// CAS (memcached 1.6 has no `mt`).
    Touch { key: &'a str, expiration: u32 },
    /// `ms <key> <len> ME T<exp> c`: stores only if the key is free (mode E, memcached's
    /// `add`), and returns the new CAS.
    Add {
        key: &'a str,
        value: &'a [u8],
        expiration: u32,
    },
    /// `ms <key> <len> C<cas> T<exp> c`: stores only if the item's CAS is still `cas`.
    CompareAndSet {
        key: &'a str,
        value: &'a [u8],
        expiration: u32,
        cas: u64,
    },
    /// `md <key>`.
    Delete { key: &'a str },
    /// `mn`, the meta no-op.
    Noop,
    /// `flush_all`: every item stored so far is gone.
    Flush,
    /// `version`.
    Version,
    /// `set <AUTH_KEY> 0 -1 <len>` with `<user> <password>`: ASCII authentication
    /// (memcached `-Y`), an already expired item should the server not require it.
    Authenticate { secret: &'a [u8] },
}

/// What a command's reply must be: its number, for meta commands, and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expect {
    opaque: Option<u32>,
    command: &'static str,
    allowed: &'static [Status],
    /// Whether a value (`VA`) answers it.
    value: bool,
}

impl Command<'_> {
    /// The command's name, for errors.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Get { .. } | Self::Touch { .. } => "mg",
            Self::Add { .. } | Self::CompareAndSet { .. } => "ms",
            Self::Delete { .. } => "md",
            Self::Noop => "mn",
            Self::Flush => "flush_all",
            Self::Version => "version",
            Self::Authenticate { .. } => "set",
        }
    }

    /// The length of the value it sends, if it sends one.
    pub(crate) fn value_len(&self) -> Option<usize> {
        match self {
            Self::Add { value, .. } | Self::CompareAndSet { value, .. } => Some(value.len()),
            Self::Authenticate { secret } => Some(secret.len()),
            _ => None,
        }
    }

    /// Appends the command, numbered `opaque`, to `out`; returns what its reply must be.
    ///
    /// Keys are checked before they get here (`crate::key`): printable ASCII, no spaces.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>, opaque: u32) -> Expect {
        use Status::{Ex, Hd, Miss, Mn, Nf, Ns, Ok, Stored};
        // Writing to a `Vec` cannot fail.
        let (numbered, allowed, value): (bool, &'static [Status], bool) = match *self {
            Self::Get { key } => {
                let _ = write!(out, "mg {key} v c O{opaque}\r\n");
                (true, &[Miss], true)
            }
            Self::Touch { key, expiration } => {
                let _ = write!(out, "mg {key} T{expiration} O{opaque}\r\n");
                (true, &[Hd, Miss], false)
            }
            Self::Add {
                key,
                value,
                expiration,
            } => {
                let _ = write!(
                    out,
                    "ms {key} {} ME T{expiration} c O{opaque}\r\n",
                    value.len()
                );
                push_data(out, value);
                (true, &[Hd, Ns], false)
            }
            Self::CompareAndSet {
                key,
                value,
                expiration,
                cas,
            } => {
                let len = value.len();
                let _ = write!(out, "ms {key} {len} C{cas} T{expiration} c O{opaque}\r\n");
                push_data(out, value);
                (true, &[Hd, Ex, Nf], false)
            }
            Self::Delete { key } => {
                let _ = write!(out, "md {key} O{opaque}\r\n");
                (true, &[Hd, Nf], false)
            }
            Self::Noop => {
                out.extend_from_slice(b"mn\r\n");
                (false, &[Mn], false)
            }
            Self::Flush => {
                out.extend_from_slice(b"flush_all\r\n");
                (false, &[Ok], false)
            }
            Self::Version => {
                out.extend_from_slice(b"version\r\n");
                (false, &[], false)
            }
            Self::Authenticate { secret } => {
                let _ = write!(out, "set {AUTH_KEY} 0 -1 {}\r\n", secret.len());
                push_data(out, secret);
                (false, &[Stored], false)
            }
        };
        Expect {
            opaque: numbered.then_some(opaque),
            command: self.name(),
            allowed,
            value,
        }
    }
}

fn push_data(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// A status line's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// `HD`: done (stored, deleted, touched).
    Hd,
    /// `NS`: not stored (`ME` found the key taken).
    Ns,
    /// `EX`: the CAS moved on.
    Ex,
    /// `NF`: not found.
    Nf,
    /// `EN`: a miss.
    Miss,
    /// `MN`: the no-op's reply.
    Mn,
    /// `OK` (`flush_all`).
    Ok,
    /// `STORED` (the authentication `set`).
    Stored,
}

/// The flags of a reply the store reads: `c<cas>`, `O<opaque>`, `t<ttl>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) cas: Option<u64>,
    pub(crate) opaque: Option<u32>,
    /// The remaining time to live (`t`; -1 for none).
    pub(crate) ttl: Option<i64>,
}

/// A reply.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `VA <len> <flags>` and the value.
    Value { data: Vec<u8>, flags: Flags },
    /// `VA` of a value larger than the client accepts: its bytes are skipped, so the stream
    /// stays in step.
    Oversized {
        len: usize,
        limit: usize,
        flags: Flags,
    },
    /// A status line.
    Status { status: Status, flags: Flags },
    /// `VERSION <version>`.
    Version(String),
    /// `CLIENT_ERROR`, `SERVER_ERROR` or `ERROR`.
    Error(ErrorReply),
}

impl Reply {
    fn opaque(&self) -> Option<u32> {
        match self {
            Self::Value { flags, .. }
            | Self::Oversized { flags, .. }
            | Self::Status { flags, .. } => flags.opaque,
            Self::Version(_) | Self::Error(_) => None,
        }
    }
}

/// Never shows a value: it is a session.
impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value { data, flags } => write!(f, "VA {} {flags:?}", data.len()),
            Self::Oversized { len, flags, .. } => write!(f, "VA {len} (skipped) {flags:?}"),
            Self::Status { status, flags } => write!(f, "{status:?} {flags:?}"),
            Self::Version(version) => write!(f, "VERSION {version}"),
            Self::Error(err) => write!(f, "{err}"),
        }
    }
}

/// An error line: the server refused a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorReply {
    /// `CLIENT_ERROR <message>`: the command was malformed (or not authenticated).
    Client(String),
    /// `SERVER_ERROR <message>`: the server could not run it (a value too large, out of memory).
    Server(String),
    /// `ERROR`: an unknown command.
    Unknown,
}

impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Client(message) => write!(f, "CLIENT_ERROR {message}"),
            Self::Server(message) => write!(f, "SERVER_ERROR {message}"),
            Self::Unknown => f.write_str("ERROR"),
        }
    }
}

impl std::error::Error for ErrorReply {}

/// Bytes that are not a reply: the stream can no longer be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolError(String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a text protocol reply: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn invalid(what: impl Into<String>) -> ProtocolError {
    ProtocolError(what.into())
}

/// Cuts replies out of a byte stream; values over `max_value` bytes are skipped (reported as
/// [`Reply::Oversized`]).
#[derive(Debug)]
pub(crate) struct Decoder {
    max_value: usize,
    /// Bytes of an oversized value (and its line end) still to skip.
    skipping: usize,
}

impl Decoder {
    pub(crate) fn new(max_value: usize) -> Self {
        Self {
            max_value,
            skipping: 0,
        }
    }

    /// How many more bytes the reply at the front of `buf` needs, at least (0 if complete or
    /// unknown).
    pub(crate) fn wants(&self, buf: &[u8]) -> usize {
        if self.skipping > 0 || !buf.starts_with(b"VA ") {
            return 0;
        }
        match line(buf) {
            Ok(Some(line)) => match value_len(line) {
                Ok(len) if len <= self.max_value => {
                    (line.len() + 2 + len + 2).saturating_sub(buf.len())
                }
                _ => 0,
            },
            _ => 0,
        }
    }

    /// Decodes the front of `buf`: `Ok(None)` when more bytes are needed, otherwise a reply
    /// (`None` for skipped bytes) and how many bytes, at least one, it took.
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] when the bytes are not a reply.
    #[allow(clippy::type_complexity, reason = "the pipeline's codec contract")]
    pub(crate) fn decode(
        &mut self,
        buf: &[u8],
    ) -> Result<Option<(Option<Reply>, usize)>, ProtocolError> {
        if self.skipping > 0 {
            let skipped = self.skipping.min(buf.len());
            if skipped == 0 {
                return Ok(None);
            }
            self.skipping -= skipped;
            return Ok(Some((None, skipped)));
        }
        let Some(line) = line(buf)? else {
            return Ok(None);
        };
        let used = line.len() + 2;
        let (code, rest) = split_word(line);
        let reply = match code {
            b"VA" => return self.value(buf, line),
            b"HD" => status(Status::Hd, rest)?,
            b"NS" => status(Status::Ns, rest)?,
            b"EX" => status(Status::Ex, rest)?,
            b"NF" => status(Status::Nf, rest)?,
            b"EN" => status(Status::Miss, rest)?,
            b"MN" if rest.is_empty() => status(Status::Mn, rest)?,
            b"OK" if rest.is_empty() => status(Status::Ok, rest)?,
            b"STORED" if rest.is_empty() => status(Status::Stored, rest)?,
            b"VERSION" => Reply::Version(String::from_utf8_lossy(rest).into_owned()),
            b"CLIENT_ERROR" => Reply::Error(ErrorReply::Client(text(rest))),
            b"SERVER_ERROR" => Reply::Error(ErrorReply::Server(text(rest))),
            b"ERROR" if rest.is_empty() => Reply::Error(ErrorReply::Unknown),
            _ => {
                let shown: String = text(line).chars().take(100).collect();
                return Err(invalid(format!("an unexpected reply `{shown}`")));
            }
        };
        Ok(Some((Some(reply), used)))
    }

    /// `VA <len> <flags>` and the value after it.
    #[allow(clippy::type_complexity, reason = "as for `decode`")]
    fn value(
        &mut self,
        buf: &[u8],
        line: &[u8],
    ) -> Result<Option<(Option<Reply>, usize)>, ProtocolError> {
        let len = value_len(line)?;
        let (_, rest) = split_word(line);
        let (_, flags) = split_word(rest);
        let flags = parse_flags(flags)?;
        let header = line.len() + 2;
        if len > self.max_value {
            self.skipping = len.saturating_add(2);
            let reply = Reply::Oversized {
                len,
                limit: self.max_value,
                flags,
            };
            return Ok(Some((Some(reply), header)));
        }
        let Some(data) = buf.get(header..header + len + 2) else {
            return Ok(None);
        };
        let Some(data) = data.strip_suffix(b"\r\n") else {
            return Err(invalid("a value not followed by its line end"));
        };
        let reply = Reply::Value {
            data: data.to_vec(),
            flags,
        };
        Ok(Some((Some(reply), header + len + 2)))
    }
}

/// The line at the front of `buf`, without its `\r\n`, once it is complete.
fn line(buf: &[u8]) -> Result<Option<&[u8]>, ProtocolError> {
    let window = &buf[..buf.len().min(MAX_LINE)];
    let Some(end) = memchr::memchr(b'\n', window) else {
        if buf.len() >= MAX_LINE {
            return Err(invalid(format!(
                "a reply line longer than {MAX_LINE} bytes"
            )));
        }
        return Ok(None);
    };
    match window[..end].strip_suffix(b"\r") {
        Some(line) => Ok(Some(line)),
        None => Err(invalid("a reply line not ended by CR LF")),
    }
}

/// The first word of `line`, and the rest after one space.
fn split_word(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', line) {
        Some(space) => (&line[..space], &line[space + 1..]),
        None => (line, &[]),
    }
}

/// The length of a `VA <len> …` line's value.
fn value_len(line: &[u8]) -> Result<usize, ProtocolError> {
    let (_, rest) = split_word(line);
    let (len, _) = split_word(rest);
    number(len).ok_or_else(|| invalid("a value length that is not a number"))
}

fn status(status: Status, flags: &[u8]) -> Result<Reply, ProtocolError> {
    Ok(Reply::Status {
        status,
        flags: parse_flags(flags)?,
    })
}

/// The flags the store reads; others (`k<key>`, `b`, …) are skipped.
fn parse_flags(flags: &[u8]) -> Result<Flags, ProtocolError> {
    let mut parsed = Flags::default();
    for flag in flags
        .split(|&byte| byte == b' ')
        .filter(|flag| !flag.is_empty())
    {
        let (name, value) = flag.split_at(1);
        let bad = || invalid(format!("a `{}` flag that is not a number", text(name)));
        match name {
            b"c" => parsed.cas = Some(number(value).ok_or_else(bad)?),
            b"O" => parsed.opaque = Some(number(value).ok_or_else(bad)?),
            b"t" => parsed.ttl = Some(number(value).ok_or_else(bad)?),
            _ => {}
        }
    }
    Ok(parsed)
}

fn number<T: std::str::FromStr>(digits: &[u8]) -> Option<T> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `reply` answers the command that expected `expected`.
///
/// An error line answers any command (it carries no number); after a `CLIENT_ERROR` or an
/// `ERROR` the rest of the request may be read as commands (a bad data chunk is answered by
/// `CLIENT_ERROR`, then an `ERROR` for its bytes), so the connection closes after delivering it.
///
/// # Errors
///
/// What does not match: another number, or a reply of another kind.
pub(crate) fn check(expected: &Expect, reply: &Reply) -> Result<Answer, String> {
    let fits = match reply {
        Reply::Error(ErrorReply::Server(_)) => return Ok(Answer::Continue),
        Reply::Error(_) => return Ok(Answer::ThenClose),
        Reply::Value { .. } | Reply::Oversized { .. } => expected.value,
        Reply::Status { status, .. } => expected.allowed.contains(status),
        Reply::Version(_) => expected.command == "version",
    };
    if reply.opaque() != expected.opaque {
        return Err(format!(
            "a reply numbered {:?} does not answer the oldest waiting request (`{}` numbered {:?})",
            reply.opaque(),
            expected.command,
            expected.opaque
        ));
    }
    if !fits {
        return Err(format!(
            "a reply `{reply:?}` does not answer the oldest waiting request (`{}`)",
            expected.command
        ));
    }
    Ok(Answer::Continue)
}

#[cfg(test)]
mod tests;
