//! Built-in HTTPS (issue 7): with `LATCHKEY_TLS_CERT_FILE` and
//! `LATCHKEY_TLS_KEY_FILE` the server speaks TLS itself, its public origin
//! defaults to https, and every response carries HSTS. The certificate is a
//! test fixture for 127.0.0.1 signed by a throwaway test CA (tests/fixtures/).

use std::sync::Arc;

use crate::common::{Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn https_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("tls-ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("a TLS handshake with our certificate");
    tls.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer).await;
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_speaks_https_with_hsts() {
    let cert = format!("--tls-cert-file={}", fixture("tls-cert.pem"));
    let key = format!("--tls-key-file={}", fixture("tls-key.pem"));
    let app = TestApp::spawn_with(Backend::Sqlite, &[&cert, &key]).await;
    assert!(app.state.settings.public_origin.starts_with("https://"));
    let answer = https_get(app.addr, "/api/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("strict-transport-security: max-age="), "{answer}");
    assert!(lower.contains(r#""status":"ok""#), "{answer}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::get(format!("http://{}/api/health", app.addr)).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn a_half_or_broken_tls_configuration_stops_the_start() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: latchkey::config::Config,
    }
    let only_cert = Cli::try_parse_from(["latchkey", &format!("--tls-cert-file={}", fixture("tls-cert.pem"))])
        .unwrap()
        .config
        .validate();
    assert!(only_cert.unwrap_err().to_string().contains("go together"));

    // A key that is not a key: `serve` refuses before accepting anything.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("--database-url=sqlite://{}/tls.db", dir.path().display());
    let settings = Cli::try_parse_from([
        "latchkey",
        db.as_str(),
        &format!("--tls-cert-file={}", fixture("tls-cert.pem")),
        &format!("--tls-key-file={}", fixture("tls-cert.pem")),
    ])
    .unwrap()
    .config
    .validate()
    .unwrap();
    let state = latchkey::build_state(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = latchkey::serve(state, listener, std::future::pending()).await;
    let error = format!("{:#}", served.unwrap_err());
    assert!(error.contains("LATCHKEY_TLS_KEY_FILE"), "{error}");
}
