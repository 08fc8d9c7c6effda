//! A text-protocol client for connections `async-memcached` cannot open: TLS ones.
//!
//! `async-memcached` opens its own TCP (or Unix) socket and has no way to take a TLS stream, so
//! TLS connections speak the few commands the store sends through this client instead: `mg`,
//! `ms`, `md`, `mn`, `version`, `flush_all` (before a server rejoins the ring), and the `set` of
//! ASCII authentication. It returns `async-memcached`'s types, so the transport classifies both
//! clients' replies alike.
//!
//! Like `async-memcached`, a command that does not finish (an error, a timeout that drops it)
//! leaves the client closed: its reply could otherwise be read as the next command's.

use async_memcached::{Error, ErrorKind, MetaValue, Status};
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};

/// The longest reply line read: meta replies are a status and a few short flags.
const MAX_LINE: u64 = 1024;

/// One connection, one command at a time.
pub(crate) struct MetaClient<S> {
    stream: BufReader<S>,
    /// Set while a command runs, and left set when it does not finish.
    closed: bool,
    /// The largest value accepted in a reply; a larger one closes the client.
    max_value: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> MetaClient<S> {
    pub(crate) fn new(stream: S, max_value: usize) -> Self {
        Self {
            stream: BufReader::new(stream),
            closed: false,
            max_value,
        }
    }

    /// Whether a command failed or was dropped half-way: the client must not be used again.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// `mg <key> <flags>`: `None` when the key is missing.
    pub(crate) async fn meta_get(
        &mut self,
        key: &str,
        flags: &[&str],
    ) -> Result<Option<MetaValue>, Error> {
        let command = format!("mg {key} {}\r\n", flags.join(" "));
        let line = self.request(command.as_bytes(), None).await?;
        let result = match words(&line).as_slice() {
            ["EN"] => Ok(None),
            ["HD", flags @ ..] => Ok(Some(meta_value(flags, Status::Value, None))),
            ["VA", len, flags @ ..] => match self.read_value(len).await {
                Ok(data) => Ok(Some(meta_value(flags, Status::Value, Some(data)))),
                Err(err) => Err(err),
            },
            _ => Err(unexpected(&line)),
        };
        self.done(result)
    }

    /// `ms <key> <len> <flags>` and the value: the status and returned flags.
    pub(crate) async fn meta_set(
        &mut self,
        key: &str,
        value: &[u8],
        flags: &[&str],
    ) -> Result<Option<MetaValue>, Error> {
        let header = format!("ms {key} {} {}\r\n", value.len(), flags.join(" "));
        let line = self.request(header.as_bytes(), Some(value)).await?;
        let result = match words(&line).as_slice() {
            ["HD", flags @ ..] => Ok(Some(meta_value(flags, Status::Stored, None))),
            ["NS", flags @ ..] => Ok(Some(meta_value(flags, Status::NotStored, None))),
            ["EX", flags @ ..] => Ok(Some(meta_value(flags, Status::Exists, None))),
            ["NF", flags @ ..] => Ok(Some(meta_value(flags, Status::NotFound, None))),
            _ => Err(unexpected(&line)),
        };
        self.done(result)
    }

    /// `md <key>`: a missing key is `Err(Protocol(NotFound))`, as `async-memcached` reports it.
    pub(crate) async fn meta_delete(&mut self, key: &str) -> Result<(), Error> {
        let command = format!("md {key}\r\n");
        let line = self.request(command.as_bytes(), None).await?;
        let result = match words(&line).as_slice() {
            ["HD", ..] => Ok(()),
            ["NF", ..] => Err(Error::Protocol(Status::NotFound)),
            _ => Err(unexpected(&line)),
        };
        self.done(result)
    }

    /// `mn`, the meta no-op: proves the connection still carries replies.
    pub(crate) async fn meta_noop(&mut self) -> Result<(), Error> {
        let line = self.request(b"mn\r\n", None).await?;
        let result = match words(&line).as_slice() {
            ["MN"] => Ok(()),
            _ => Err(unexpected(&line)),
        };
        self.done(result)
    }

    /// `flush_all`: every item stored so far is gone.
    pub(crate) async fn flush_all(&mut self) -> Result<(), Error> {
        let line = self.request(b"flush_all\r\n", None).await?;
        let result = match words(&line).as_slice() {
            ["OK"] => Ok(()),
            _ => Err(unexpected(&line)),
        };
        self.done(result)
    }

    /// `version`: the server's version.
    pub(crate) async fn version(&mut self) -> Result<String, Error> {
        let line = self.request(b"version\r\n", None).await?;
        let result = match words(&line).as_slice() {
            ["VERSION", version @ ..] => Ok(version.join(" ")),
            _ => Err(unexpected(&line)),
        };
        self.done(result)
    }

    /// `set <key> 0 -1 <len>` with `data`: ASCII authentication sends the credentials this way
    /// (an already expired item, should the server not require authentication).
    pub(crate) async fn set_expired(&mut self, key: &str, data: &[u8]) -> Result<(), Error> {
        let header = format!("set {key} 0 -1 {}\r\n", data.len());
        let line = self.request(header.as_bytes(), Some(data)).await?;
        let result = match words(&line).as_slice() {
            ["STORED"] => Ok(()),
            _ => Err(unexpected(&line)),
        };
        self.done(result)
    }

    /// Sends `header` (and `value` with its line end) and reads the reply line. The client is
    /// closed until [`done`](Self::done) sees the reply complete; an error line is complete.
    async fn request(&mut self, header: &[u8], value: Option<&[u8]>) -> Result<String, Error> {
        if self.closed {
            return Err(Error::ConnectionClosed);
        }
        self.closed = true;
        self.send(header, value).await.map_err(Error::Io)?;
        let line = self.read_line().await?;
        if let Some(err) = error_reply(&line) {
            self.closed = false;
            return Err(err);
        }
        Ok(line)
    }

    /// Reopens the client for the next command unless `result` left bytes unread.
    fn done<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if !matches!(result, Err(Error::Io(_) | Error::ConnectionClosed)) {
            self.closed = false;
        }
        result
    }

    async fn send(&mut self, header: &[u8], value: Option<&[u8]>) -> std::io::Result<()> {
        let stream = self.stream.get_mut();
        stream.write_all(header).await?;
        if let Some(value) = value {
            stream.write_all(value).await?;
            stream.write_all(b"\r\n").await?;
        }
        stream.flush().await
    }

    /// One reply line, without its line end.
    async fn read_line(&mut self) -> Result<String, Error> {
        let mut line = Vec::new();
        let read = (&mut self.stream)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
            .map_err(Error::Io)?;
        if read == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a reply line that is too long or not terminated",
            )));
        };
        Ok(String::from_utf8_lossy(line).into_owned())
    }

    /// A value of `len` bytes and its line end.
    async fn read_value(&mut self, len: &str) -> Result<Vec<u8>, Error> {
        let len: usize = len
            .parse()
            .map_err(|_| invalid("a value length that is not a number"))?;
        if len > self.max_value {
            return Err(invalid("a value larger than the store accepts"));
        }
        let mut data = vec![0; len + 2];
        self.stream.read_exact(&mut data).await.map_err(Error::Io)?;
        if !data.ends_with(b"\r\n") {
            return Err(invalid("a value not followed by its line end"));
        }
        data.truncate(len);
        Ok(data)
    }
}

fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// The error a `CLIENT_ERROR`, `SERVER_ERROR` or `ERROR` line stands for.
fn error_reply(line: &str) -> Option<Error> {
    let kind = if let Some(message) = line.strip_prefix("CLIENT_ERROR ") {
        ErrorKind::Client(message.to_owned())
    } else if let Some(message) = line.strip_prefix("SERVER_ERROR ") {
        ErrorKind::Server(message.to_owned())
    } else if line == "ERROR" {
        ErrorKind::NonexistentCommand
    } else {
        return None;
    };
    Some(Error::Protocol(Status::Error(kind)))
}

/// A reply the command does not expect: the stream can no longer be trusted.
fn unexpected(line: &str) -> Error {
    let shown: String = line.chars().take(100).collect();
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("an unexpected reply: {shown}"),
    ))
}

fn invalid(what: &str) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        what.to_owned(),
    ))
}

/// A reply's flags (`c<cas>`, `t<ttl>`) with its status and value.
fn meta_value(flags: &[&str], status: Status, data: Option<Vec<u8>>) -> MetaValue {
    let flag = |name: char| flags.iter().find_map(|flag| flag.strip_prefix(name));
    MetaValue {
        key: None,
        cas: flag('c').and_then(|cas| cas.parse().ok()),
        flags: None,
        data,
        status: Some(status),
        hit_before: None,
        last_accessed: None,
        ttl_remaining: flag('t').and_then(|ttl| ttl.parse().ok()),
        size: None,
        opaque_token: None,
        is_stale: None,
        is_recache_winner: None,
    }
}

#[cfg(test)]
mod tests;
