//! Latchkey's server as a library: the binary (`main.rs`) only parses the
//! command line, and the black-box tests start the very same server on a
//! random port.

use std::future::Future;

use anyhow::Context;
use tokio::net::TcpListener;

pub mod auth;
pub mod cli;
pub mod config;
pub mod core;
pub mod http;
pub mod mail;
pub mod store;
pub mod telemetry;

use config::Settings;
use http::{AppState, Inner};
use store::Db;

/// Starts the auth engine (database, keys, revocation feed) and assembles
/// the state the HTTP edge serves from.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    build_state_with_clock(settings, core::clock::Clock::default()).await
}

/// As `build_state`, with a clock the caller keeps a handle on (tests move
/// it forward instead of sleeping).
pub async fn build_state_with_clock(settings: Settings, clock: core::clock::Clock) -> anyhow::Result<AppState> {
    let leptos = leptos_options(&settings)?;
    let health = http::health::HealthProbe::new(clock.clone());
    let engine = auth::Engine::start(settings, clock).await?;
    spawn_housekeeping(engine.db.clone());
    Ok(AppState::new(Inner { engine, leptos, health }))
}

/// How long an ended session (and its refresh-token history) is kept, for
/// the session views of the admin area and for investigations.
const ENDED_SESSION_RETENTION_MS: i64 = 7 * 24 * 3_600_000;

/// How long a rotated-away refresh token stays known, so that presenting
/// it counts as reuse (and ends its session) rather than as an unknown
/// token. A day covers a thief who replays a copied cookie the same day;
/// it bounds an active session's history to ~300 rows at the default
/// 5-minute access-token lifetime, instead of every rotation of its life.
const REFRESH_HISTORY_RETENTION_MS: i64 = 24 * 3_600_000;

/// Drops rate-limit windows that ended long ago, refresh-token history
/// older than a day and sessions that ended a week ago, so neither guessed
/// emails nor rotations grow tables without bound. Every replica may run
/// it; the deletes are idempotent.
fn spawn_housekeeping(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = core::clock::now_ms();
            if let Err(err) = db.prune_rate_limits(now - 3_600_000).await {
                tracing::warn!(error = %err, "pruning rate limits failed");
            }
            if let Err(err) = db.sweep_ended_sessions(now - ENDED_SESSION_RETENTION_MS).await {
                tracing::warn!(error = %err, "sweeping ended sessions failed");
            }
            if let Err(err) = db.prune_refresh_history(now - REFRESH_HISTORY_RETENTION_MS).await {
                tracing::warn!(error = %err, "pruning refresh-token history failed");
            }
        }
    });
}

/// Leptos's own settings come from cargo-leptos's `LEPTOS_*` variables; the
/// listen address is ours.
fn leptos_options(settings: &Settings) -> anyhow::Result<leptos::config::LeptosOptions> {
    let mut options = leptos::config::get_configuration(None)
        .context("reading the LEPTOS_* settings failed")?
        .leptos_options;
    if options.output_name.is_empty() {
        options.output_name = "latchkey".into();
    }
    // `cargo leptos build` (hash-files) writes the hashed file names next to
    // the binary; a server started without cargo-leptos's variables (a
    // service manager, the tests) still finds them there.
    if !options.hash_files && hashed_names_beside_binary(&options.hash_file) {
        options.hash_files = true;
    }
    options.site_addr = settings.site_addr;
    Ok(options)
}

fn hashed_names_beside_binary(hash_file: &str) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(hash_file)))
        .is_some_and(|path| path.is_file())
}

/// TLS from PEM files: the certificate chain and its private key; HTTP/2
/// and HTTP/1.1 offered by ALPN.
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{ServerConfig, crypto};

    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "LATCHKEY_TLS_CERT_FILE {} is not a PEM certificate chain",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        anyhow::bail!("LATCHKEY_TLS_CERT_FILE {} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("LATCHKEY_TLS_KEY_FILE {} is not a PEM private key", key.display()))?;
    let mut config = ServerConfig::builder_with_provider(std::sync::Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS key does not match the certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// Most header fields a request may carry, and most bytes its head may take.
const MAX_HEADERS: usize = 64;
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
///
/// The connection loop is hyper's own (not `axum::serve`) so that a client
/// must send its whole request head within `LATCHKEY_HEADER_TIMEOUT_SECS`
/// (a slowloris client trickling bytes is cut off instead of holding a
/// connection forever) and within `MAX_HEADERS` fields and
/// `MAX_HEAD_BYTES` bytes (431 past either).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt as _;

    let header_timeout = state.settings.header_timeout;
    let tls = match &state.settings.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let engine = state.clone();
    let app = http::router(state);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEAD_BYTES.max(8192));
    builder.http2().max_header_list_size(MAX_HEAD_BYTES as u32);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without TCP_NODELAY, responses written in pieces wait ~40 ms on
        // Nagle's algorithm and delayed ACKs.
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                request.map(axum::body::Body::new)
            });
        let service = TowerToHyperService::new(service);
        let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
                // The handshake gets the same time as a request head.
                Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                    _ => return,
                },
            };
            if let Err(err) = served {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_FOR, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after {DRAIN_FOR:?}; stopping anyway");
    }
    // The cookie sessions' idle renewals gathered since the last batch.
    if let Err(err) = auth::touches::flush(&engine.db, &engine.touches).await {
        tracing::warn!(error = %err, "session renewals: not written at shutdown");
    }
    Ok(())
}
