use tokio::io::duplex;

use super::*;

/// A client on one end of a pipe whose other end has already written `replies`.
async fn client_with(replies: &[u8]) -> MetaClient<tokio::io::DuplexStream> {
    let (client, mut server) = duplex(64 * 1024);
    server.write_all(replies).await.unwrap();
    // The server end stays open (leaked into a task) so reads wait instead of ending.
    tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = server.read_to_end(&mut sink).await;
    });
    MetaClient::new(client, 1024)
}

/// Fails the test instead of hanging when a command waits for a reply that is not there.
async fn bounded<T>(command: impl Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(10), command)
        .await
        .expect("a command waited for a reply that was never sent")
}

#[tokio::test]
async fn parses_hits_misses_and_store_statuses() {
    let mut client = client_with(
        b"VA 3 c42\r\nabc\r\nEN\r\nHD c43\r\nEX c0\r\nNF\r\nMN\r\nVERSION 1.6.18\r\nSTORED\r\n",
    )
    .await;
    let hit = bounded(client.meta_get("k", &["v", "c"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (hit.data.as_deref(), hit.cas),
        (Some(&b"abc"[..]), Some(42))
    );
    assert_eq!(
        bounded(client.meta_get("k", &["v", "c"])).await.unwrap(),
        None
    );
    let stored = bounded(client.meta_set("k", b"x", &["c"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.status, stored.cas),
        (Some(Status::Stored), Some(43))
    );
    let exists = client
        .meta_set("k", b"x", &["C1", "c"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exists.status, Some(Status::Exists));
    assert!(matches!(
        bounded(client.meta_delete("k")).await,
        Err(Error::Protocol(Status::NotFound))
    ));
    bounded(client.meta_noop()).await.unwrap();
    assert_eq!(bounded(client.version()).await.unwrap(), "1.6.18");
    bounded(client.set_expired("auth", b"user password"))
        .await
        .unwrap();
    assert!(!client.is_closed());
}

#[tokio::test]
async fn an_error_line_is_complete_and_keeps_the_client_open() {
    let mut client = client_with(
        b"CLIENT_ERROR unauthenticated\r\nSERVER_ERROR object too large for cache\r\nMN\r\n",
    )
    .await;
    let err = bounded(client.meta_get("k", &["v"])).await.unwrap_err();
    assert!(
        matches!(err, Error::Protocol(Status::Error(ErrorKind::Client(ref m))) if m == "unauthenticated"),
        "{err:?}"
    );
    let err = bounded(client.meta_set("k", b"x", &[])).await.unwrap_err();
    assert!(
        matches!(err, Error::Protocol(Status::Error(ErrorKind::Server(_)))),
        "{err:?}"
    );
    bounded(client.meta_noop()).await.unwrap();
}

#[tokio::test]
async fn garbage_closes_the_client() {
    for reply in [
        &b"WHAT\r\n"[..],
        b"VA x\r\n",
        b"VA 5000 c1\r\n",
        b"VA 3\r\nabcd\r\n",
        b"no line end",
    ] {
        let mut client = client_with(reply).await;
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.meta_get("k", &["v"]),
        )
        .await;
        if let Ok(result) = result {
            assert!(result.is_err(), "{reply:?}");
        }
        assert!(client.is_closed(), "{reply:?}");
        assert!(matches!(
            bounded(client.meta_noop()).await,
            Err(Error::ConnectionClosed)
        ));
    }
}

#[tokio::test]
async fn a_dropped_command_closes_the_client() {
    let mut client = client_with(b"").await;
    let pending = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        bounded(client.meta_noop()),
    )
    .await;
    assert!(pending.is_err(), "no reply came");
    assert!(client.is_closed());
}

#[tokio::test]
async fn flush_all_expects_ok() {
    let mut client = client_with(b"OK\r\nCLIENT_ERROR flush_all not allowed\r\n").await;
    bounded(client.flush_all()).await.unwrap();
    // memcached -F refuses it: an error, and the client stays usable (the reply was whole).
    assert!(bounded(client.flush_all()).await.is_err());
    assert!(!client.is_closed());
}
