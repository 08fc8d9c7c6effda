use super::*;

fn encoded(command: Command<'_>, opaque: u32) -> (String, Expect) {
    let mut out = Vec::new();
    let expect = command.encode_into(&mut out, opaque);
    (String::from_utf8(out).unwrap(), expect)
}

/// Decodes every reply in `bytes`, fed whole.
fn decode_all(bytes: &[u8], max_value: usize) -> Result<Vec<Reply>, ProtocolError> {
    let mut decoder = Decoder::new(max_value);
    let mut replies = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        match decoder.decode(&bytes[start..])? {
            None => break,
            Some((reply, used)) => {
                assert!(used > 0);
                start += used;
                replies.extend(reply);
            }
        }
    }
    assert_eq!(start, bytes.len(), "bytes left undecoded");
    Ok(replies)
}

/// Decodes `bytes` fed in pieces of `chunk` bytes, as a reader that keeps what it has not used.
fn decode_in_chunks(bytes: &[u8], chunk: usize, max_value: usize) -> Vec<Reply> {
    let mut decoder = Decoder::new(max_value);
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    for piece in bytes.chunks(chunk) {
        buf.extend_from_slice(piece);
        let mut start = 0;
        while let Some((reply, used)) = decoder.decode(&buf[start..]).unwrap() {
            start += used;
            replies.extend(reply);
            if start == buf.len() {
                break;
            }
        }
        buf.drain(..start);
    }
    assert!(buf.is_empty(), "bytes left undecoded");
    replies
}

const REPLIES: &[u8] = b"VA 3 c42 O1\r\nabc\r\nEN O2\r\nHD c43 O3\r\nEX c0 O4\r\nNF O5\r\nNS c0 O6\r\nHD O7\r\nMN\r\nOK\r\nVERSION 1.6.18\r\nSTORED\r\nSERVER_ERROR object too large for cache\r\n";

#[test]
fn encodes_numbered_meta_commands_and_plain_ones() {
    assert_eq!(encoded(Command::Get { key: "k" }, 7).0, "mg k v c O7\r\n");
    assert_eq!(
        encoded(
            Command::Touch {
                key: "k",
                expiration: 60
            },
            8
        )
        .0,
        "mg k T60 O8\r\n"
    );
    assert_eq!(
        encoded(
            Command::Add {
                key: "k",
                value: b"ab",
                expiration: 60
            },
            9
        )
        .0,
        "ms k 2 ME T60 c O9\r\nab\r\n"
    );
    assert_eq!(
        encoded(
            Command::CompareAndSet {
                key: "k",
                value: b"",
                expiration: 1,
                cas: 5
            },
            10
        )
        .0,
        "ms k 0 C5 T1 c O10\r\n\r\n"
    );
    assert_eq!(encoded(Command::Delete { key: "k" }, 11).0, "md k O11\r\n");
    assert_eq!(encoded(Command::Noop, 12).0, "mn\r\n");
    assert_eq!(encoded(Command::Flush, 13).0, "flush_all\r\n");
    assert_eq!(encoded(Command::Version, 14).0, "version\r\n");
    assert_eq!(
        encoded(Command::Authenticate { secret: b"u p" }, 15).0,
        "set sessions-memcached-auth 0 -1 3\r\nu p\r\n"
    );
}

#[test]
fn decodes_values_statuses_and_error_lines() {
    let replies = decode_all(REPLIES, 1024).unwrap();
    let flags = |cas, opaque| Flags {
        cas,
        opaque,
        ttl: None,
    };
    assert_eq!(
        replies,
        [
            Reply::Value {
                data: b"abc".to_vec(),
                flags: flags(Some(42), Some(1))
            },
            Reply::Status {
                status: Status::Miss,
                flags: flags(None, Some(2))
            },
            Reply::Status {
                status: Status::Hd,
                flags: flags(Some(43), Some(3))
            },
            Reply::Status {
                status: Status::Ex,
                flags: flags(Some(0), Some(4))
            },
            Reply::Status {
                status: Status::Nf,
                flags: flags(None, Some(5))
            },
            Reply::Status {
                status: Status::Ns,
                flags: flags(Some(0), Some(6))
            },
            Reply::Status {
                status: Status::Hd,
                flags: flags(None, Some(7))
            },
            Reply::Status {
                status: Status::Mn,
                flags: Flags::default()
            },
            Reply::Status {
                status: Status::Ok,
                flags: Flags::default()
            },
            Reply::Version("1.6.18".to_owned()),
            Reply::Status {
                status: Status::Stored,
                flags: Flags::default()
            },
            Reply::Error(ErrorReply::Server("object too large for cache".to_owned())),
        ]
    );
}

#[test]
fn a_stream_cut_anywhere_gives_the_same_replies() {
    let whole = decode_all(REPLIES, 1024).unwrap();
    for chunk in 1..=REPLIES.len() {
        assert_eq!(
            decode_in_chunks(REPLIES, chunk, 1024),
            whole,
            "chunks of {chunk}"
        );
    }
}

#[test]
fn an_oversized_value_is_skipped_and_the_stream_stays_in_step() {
    let mut bytes = b"VA 2000 c1 O1\r\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 2000));
    bytes.extend_from_slice(b"\r\nVA 2 c2 O2\r\nok\r\n");
    for chunk in [1, 7, 100, 5000] {
        let replies = decode_in_chunks(&bytes, chunk, 1024);
        assert!(
            matches!(
                replies[0],
                Reply::Oversized {
                    len: 2000,
                    limit: 1024,
                    flags: Flags {
                        opaque: Some(1),
                        ..
                    }
                }
            ),
            "{replies:?}"
        );
        assert!(
            matches!(&replies[1], Reply::Value { data, flags: Flags { cas: Some(2), .. } } if data == b"ok"),
            "{replies:?}"
        );
    }
}

#[test]
fn the_reader_is_told_how_much_a_value_needs() {
    let decoder = Decoder::new(1024);
    assert_eq!(decoder.wants(b"VA 100 c1 O1\r\nabc"), 14 + 100 + 2 - 17);
    assert_eq!(decoder.wants(b"VA 100 c1"), 0, "the line is not complete");
    assert_eq!(
        decoder.wants(b"VA 5000 c1 O1\r\n"),
        0,
        "skipped, not buffered"
    );
    assert_eq!(decoder.wants(b"HD c1 O1\r\n"), 0);
}

#[test]
fn bytes_that_are_not_replies_are_refused() {
    let refused = |bytes: &[u8]| decode_all(bytes, 1024).unwrap_err();
    refused(b"HELLO\r\n");
    refused(b"HD c12x O1\r\n");
    refused(b"HD O-1\r\n");
    refused(b"VA x c1\r\n");
    refused(b"VA 2 c1 O1\r\nabcd\r\n");
    refused(b"HD c1\n");
    refused(&[b'H'; MAX_LINE]);
    refused(b"MN extra\r\n");
    // Not refused: waiting for the rest.
    assert_eq!(Decoder::new(1024).decode(b"HD c1 O").unwrap(), None);
    assert_eq!(
        Decoder::new(1024).decode(b"VA 3 c1 O1\r\nab").unwrap(),
        None
    );
}

#[test]
fn a_reply_must_carry_the_number_and_the_kind_its_request_expects() {
    let decode = |bytes: &[u8]| decode_all(bytes, 1024).unwrap().remove(0);
    let (_, get) = encoded(Command::Get { key: "k" }, 3);
    assert_eq!(
        check(&get, &decode(b"VA 1 c9 O3\r\nx\r\n")),
        Ok(Answer::Continue)
    );
    assert_eq!(check(&get, &decode(b"EN O3\r\n")), Ok(Answer::Continue));
    assert!(
        check(&get, &decode(b"EN O4\r\n")).is_err(),
        "another request's number"
    );
    assert!(check(&get, &decode(b"EN\r\n")).is_err(), "no number");
    assert!(
        check(&get, &decode(b"HD O3\r\n")).is_err(),
        "a reply of another kind"
    );
    assert!(check(&get, &decode(b"MN\r\n")).is_err());

    let (_, set) = encoded(
        Command::CompareAndSet {
            key: "k",
            value: b"",
            expiration: 1,
            cas: 1,
        },
        5,
    );
    for reply in [&b"HD c1 O5\r\n"[..], b"EX c0 O5\r\n", b"NF O5\r\n"] {
        assert_eq!(check(&set, &decode(reply)), Ok(Answer::Continue));
    }
    assert!(check(&set, &decode(b"VA 1 O5\r\nx\r\n")).is_err());

    let (_, noop) = encoded(Command::Noop, 6);
    assert_eq!(check(&noop, &decode(b"MN\r\n")), Ok(Answer::Continue));
    assert!(check(&noop, &decode(b"VERSION 1.6\r\n")).is_err());
    let (_, version) = encoded(Command::Version, 7);
    assert_eq!(
        check(&version, &decode(b"VERSION 1.6\r\n")),
        Ok(Answer::Continue)
    );
    assert!(check(&version, &decode(b"OK\r\n")).is_err());
}

#[test]
fn an_error_line_answers_any_request_and_a_client_error_closes_after_it() {
    let decode = |bytes: &[u8]| decode_all(bytes, 1024).unwrap().remove(0);
    let (_, set) = encoded(
        Command::Add {
            key: "k",
            value: b"x",
            expiration: 1,
        },
        2,
    );
    assert_eq!(
        check(
            &set,
            &decode(b"SERVER_ERROR object too large for cache\r\n")
        ),
        Ok(Answer::Continue),
        "the server swallows the value: the stream is in step"
    );
    assert_eq!(
        check(&set, &decode(b"CLIENT_ERROR bad data chunk\r\n")),
        Ok(Answer::ThenClose),
        "the rest of the request may be read as commands"
    );
    assert_eq!(check(&set, &decode(b"ERROR\r\n")), Ok(Answer::ThenClose));
}

#[test]
fn debug_never_shows_a_value() {
    let reply = decode_all(b"VA 6 c1 O1\r\nsecret\r\n", 1024)
        .unwrap()
        .remove(0);
    let shown = format!("{reply:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("VA 6"), "{shown}");
}
