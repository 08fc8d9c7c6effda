//! A blocking HTTP/1.1 client over one keep-alive connection, with a cookie jar: enough to drive
//! a real `HttpServer` from plain threads, so that a request's connection (and so its worker)
//! is known.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One keep-alive connection to a server on loopback, keeping the cookies it is sent.
#[derive(Debug)]
pub(crate) struct WireClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    cookies: BTreeMap<String, String>,
}

/// A response: its status and body.
#[derive(Debug)]
pub(crate) struct WireReply {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl WireClient {
    /// Connects to `addr`. Every read waits at most `read_timeout`, so a hung server fails the
    /// test instead of hanging it.
    pub(crate) fn connect(addr: SocketAddr, read_timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(read_timeout))?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            cookies: BTreeMap::new(),
        })
    }

    /// `GET path`, sending the cookies kept so far and keeping those set by the reply.
    pub(crate) fn get(&mut self, path: &str) -> io::Result<WireReply> {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if !cookie.is_empty() {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        request.push_str("\r\n");
        self.writer.write_all(request.as_bytes())?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> io::Result<WireReply> {
        let status_line = self.line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
        let mut length = 0;
        loop {
            let line = self.line()?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().map_err(io::Error::other)?;
            } else if name.eq_ignore_ascii_case("set-cookie") {
                self.keep_cookie(value);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        let body = String::from_utf8(body).map_err(io::Error::other)?;
        Ok(WireReply { status, body })
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    fn keep_cookie(&mut self, header: &str) {
        let pair = header.split(';').next().unwrap_or_default();
        if let Some((name, value)) = pair.split_once('=') {
            self.cookies
                .insert(name.trim().to_owned(), value.to_owned());
        }
    }
}
