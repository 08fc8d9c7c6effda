//! The load generator: virtual users on keep-alive connections, each with its own cookie jar,
//! checking that every response continues its session's count.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What a contender's responses must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The session round-trips: each user's count goes 0, 1, 2, ...
    Counting,
    /// No sessions (the bare app): every count is 0.
    Zero,
}

/// One simulated browser: a connection, a cookie jar and the count it expects next.
#[derive(Debug)]
pub(crate) struct User {
    addr: SocketAddr,
    conn: Option<TcpStream>,
    /// Cookies as `name=value`, sent back on every request (the last `Set-Cookie` per name wins).
    jar: Vec<String>,
    next: u64,
    expect: Expect,
    buf: Vec<u8>,
}

/// What a batch of users did during one phase.
#[derive(Debug, Default)]
pub(crate) struct PhaseStats {
    pub(crate) requests: u64,
    /// Every request's latency in microseconds.
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) errors: u64,
    /// The first few failures, for the report.
    pub(crate) failures: Vec<String>,
}

impl PhaseStats {
    fn absorb(&mut self, other: Self) {
        self.requests += other.requests;
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        for failure in other.failures {
            if self.failures.len() < 5 {
                self.failures.push(failure);
            }
        }
    }
}

impl User {
    pub(crate) fn new(addr: SocketAddr, expect: Expect) -> Self {
        Self {
            addr,
            conn: None,
            jar: Vec::new(),
            next: 0,
            expect,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends requests back to back until `deadline`. A user whose session broke stops.
    async fn drive(mut self, deadline: Instant) -> (Self, PhaseStats) {
        let mut stats = PhaseStats::default();
        while Instant::now() < deadline {
            let started = Instant::now();
            match self.request().await {
                Ok(()) => {
                    stats.requests += 1;
                    let us = started.elapsed().as_micros();
                    stats
                        .latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                }
                Err(err) => {
                    stats.errors += 1;
                    stats.failures.push(err.to_string());
                    self.conn = None;
                    break;
                }
            }
        }
        (self, stats)
    }

    /// One `GET /incr`, its response read and checked.
    async fn request(&mut self) -> io::Result<()> {
        if self.conn.is_none() {
            let conn = TcpStream::connect(self.addr).await?;
            conn.set_nodelay(true)?;
            self.conn = Some(conn);
        }
        let request = self.request_bytes();
        let conn = self.conn.as_mut().expect("connected above");
        conn.write_all(&request).await?;
        let response = read_response(conn, &mut self.buf).await?;
        self.check(response)
    }

    fn request_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.jar.iter().map(String::len).sum::<usize>());
        out.extend_from_slice(b"GET /incr HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if !self.jar.is_empty() {
            out.extend_from_slice(b"Cookie: ");
            out.extend_from_slice(self.jar.join("; ").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn check(&mut self, response: Response) -> io::Result<()> {
        if response.status != 200 {
            return Err(failure(format!("status {}", response.status)));
        }
        for cookie in response.set_cookies {
            self.keep(&cookie);
        }
        let count = parse_count(&response.body)?;
        let wanted = match self.expect {
            Expect::Counting => self.next,
            Expect::Zero => 0,
        };
        if count != wanted {
            return Err(failure(format!("count {count}, expected {wanted}")));
        }
        self.next += 1;
        Ok(())
    }

    /// Stores a `Set-Cookie` in the jar as a browser would (a removal drops the cookie).
    fn keep(&mut self, set_cookie: &str) {
        let pair = set_cookie.split(';').next().unwrap_or("").trim();
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        self.jar
            .retain(|c| c.split_once('=').map(|(n, _)| n) != Some(name));
        let removed = value.is_empty()
            || set_cookie
                .split(';')
                .any(|a| a.trim().eq_ignore_ascii_case("Max-Age=0"));
        if !removed {
            self.jar.push(pair.to_owned());
        }
    }
}

/// Runs every user until `deadline` (on the current runtime) and sums what they did.
pub(crate) async fn phase(users: &mut Vec<User>, deadline: Instant) -> PhaseStats {
    let tasks: Vec<_> = users
        .drain(..)
        .map(|user| tokio::spawn(user.drive(deadline)))
        .collect();
    let mut total = PhaseStats::default();
    for task in tasks {
        let (user, stats) = task.await.expect("a virtual user panicked");
        users.push(user);
        total.absorb(stats);
    }
    total
}

#[derive(Debug)]
struct Response {
    status: u16,
    set_cookies: Vec<String>,
    body: Vec<u8>,
}

/// Reads one response with a `Content-Length` body.
async fn read_response(conn: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Response> {
    buf.clear();
    loop {
        if let Some((head_len, mut response, body_len)) = parse_head(buf)? {
            while buf.len() < head_len + body_len {
                read_more(conn, buf).await?;
            }
            response.body = buf[head_len..head_len + body_len].to_vec();
            if buf.len() > head_len + body_len {
                return Err(failure("bytes after the response".into()));
            }
            return Ok(response);
        }
        read_more(conn, buf).await?;
    }
}

async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0_u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut chunk))
        .await
        .map_err(|_| failure("no response within 10 s".into()))??;
    if n == 0 {
        return Err(failure("the server closed the connection".into()));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// The status line and headers, once complete: (head length, response, body length).
fn parse_head(buf: &[u8]) -> io::Result<Option<(usize, Response, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => return Err(failure(format!("malformed response: {err}"))),
    };
    let mut body_len = None;
    let mut set_cookies = Vec::new();
    for header in parsed.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("");
        if header.name.eq_ignore_ascii_case("content-length") {
            body_len = value.trim().parse::<usize>().ok();
        } else if header.name.eq_ignore_ascii_case("set-cookie") {
            set_cookies.push(value.to_owned());
        }
    }
    let body_len = body_len.ok_or_else(|| failure("no Content-Length".into()))?;
    let response = Response {
        status: parsed.code.unwrap_or(0),
        set_cookies,
        body: Vec::new(),
    };
    Ok(Some((head_len, response, body_len)))
}

/// The N of a `{"count":N}` body.
fn parse_count(body: &[u8]) -> io::Result<u64> {
    let text = std::str::from_utf8(body).map_err(|_| failure("body is not UTF-8".into()))?;
    text.trim()
        .strip_prefix("{\"count\":")
        .and_then(|rest| rest.strip_suffix('}'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| failure(format!("unexpected body {text:?}")))
}

fn failure(message: String) -> io::Error {
    io::Error::other(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jar_keeps_the_last_cookie_per_name_and_drops_removed_ones() {
        let mut user = User::new(([127, 0, 0, 1], 1).into(), Expect::Counting);
        user.keep("id=abc; Path=/; HttpOnly");
        user.keep("other=1");
        user.keep("id=def; Secure");
        assert_eq!(user.jar, ["other=1", "id=def"]);
        user.keep("id=; Max-Age=0");
        assert_eq!(user.jar, ["other=1"]);
    }

    #[test]
    fn counts_are_read_from_the_json_body() {
        assert_eq!(parse_count(b"{\"count\":41}").unwrap(), 41);
        assert!(parse_count(b"{\"count\":\"x\"}").is_err());
    }

    #[test]
    fn heads_are_parsed_once_complete() {
        let partial = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n";
        assert!(parse_head(partial).unwrap().is_none());
        let full = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nset-cookie: id=1\r\n\r\nabc";
        let (head_len, response, body_len) = parse_head(full).unwrap().unwrap();
        assert_eq!((head_len, body_len), (full.len() - 3, 3));
        assert_eq!(response.set_cookies, ["id=1"]);
    }
}
