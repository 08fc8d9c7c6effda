//! TLS (memcached `-Z`, a certificate made by the services script): the conformance suite over
//! TLS with ASCII authentication (text protocol) and with SASL (binary protocol), and the
//! failures a wrong setup gives: an untrusted certificate, plain TCP to a TLS port. Passwords
//! never show in errors.

mod common;

use std::sync::Arc;
use std::time::Duration;

use sessions_memcached::MemcachedStore;
use sessions_memcached::rustls::pki_types::CertificateDer;
use sessions_memcached::rustls::pki_types::pem::PemObject as _;
use sessions_memcached::rustls::{ClientConfig, RootCertStore};
use sessions_test::Capabilities;

/// Text protocol, ASCII authentication, over TLS.
const TLS: &str = "MEMCACHED_TLS_URL";
/// Binary protocol, SASL, over TLS.
const TLS_SASL: &str = "MEMCACHED_TLS_SASL_URL";

/// A client configuration trusting `roots`.
fn config(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Trusts the certificate authority the services script made.
fn trusting_test_ca() -> Arc<ClientConfig> {
    let path = common::url("MEMCACHED_TLS_CA");
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(&path).expect("the CA file") {
        roots.add(certificate.unwrap()).unwrap();
    }
    config(roots)
}

fn store(var: &str) -> MemcachedStore {
    common::builder(&common::url(var))
        .tls(trusting_test_ca())
        .build()
        .expect("valid settings")
}

fn capabilities() -> Capabilities {
    Capabilities::server_side()
        .ttl(Duration::from_secs(3))
        .ttl_granularity(Duration::from_secs(1))
}

mod text_tls {
    use super::*;

    sessions_test::suite!(|| async { store(TLS) }, capabilities());
}

mod binary_sasl_tls {
    use super::*;

    sessions_test::suite!(|| async { store(TLS_SASL) }, capabilities());
}

#[tokio::test]
async fn connect_checks_both_servers_over_tls() {
    for var in [TLS, TLS_SASL] {
        common::builder(&common::url(var))
            .tls(trusting_test_ca())
            .connect()
            .await
            .unwrap_or_else(|err| panic!("{var}: {err:?}"));
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_without_showing_the_password() {
    for var in [TLS, TLS_SASL] {
        let err = common::builder(&common::url(var))
            .tls(config(RootCertStore::empty()))
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("cannot be used"), "{var}: {shown}");
        assert!(!shown.contains("sessions-secret"), "{var}: {shown}");
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            source.is_some_and(|s| s.contains("connect")),
            "{var}: {err:?}"
        );
    }
}

#[tokio::test]
async fn plain_tcp_to_a_tls_port_fails_promptly() {
    for var in [TLS, TLS_SASL] {
        let result = tokio::time::timeout(
            Duration::from_secs(30),
            common::builder(&common::url(var))
                .connect_timeout(Duration::from_millis(500))
                .io_timeout(Duration::from_millis(500))
                .connect(),
        )
        .await
        .expect("a plain connection to a TLS port hung");
        let err = result.unwrap_err();
        assert!(
            !format!("{err} {err:?}").contains("sessions-secret"),
            "{var}"
        );
    }
}
