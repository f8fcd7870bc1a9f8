//! Where the time of an authenticated request goes, in process: the whole
//! router (every layer a real request passes) answers one request at a
//! time, without sockets, wrk or a second process sharing the two cores —
//! so the numbers hold still where the HTTP runs of `load/run.sh` wander.
//!
//! Each case is the same `GET`, on a real SQLite file, with the setting
//! that decides its cost; the static `/.well-known/jwks.json` is the
//! baseline the HTTP runs divide by. "Before" the caches is the same
//! request with the verified-token cache off (a full EdDSA check per
//! request); the other caches have no switch, their cost is the gap
//! between the rows.
//!
//!   cargo bench -p latchkey-bench --bench request

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use clap::Parser;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    config: latchkey::config::Config,
}

const ORIGIN: &str = "https://latchkey.example";
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery staple 9";

struct Server {
    router: axum::Router,
    _dir: TempDir,
}

/// A directory removed when the server goes.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Server {
    async fn start(flags: &[&str]) -> Server {
        let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut args = vec![
            "latchkey".to_string(),
            format!("--database-url=sqlite://{}/bench.db", dir.display()),
            format!("--key-encryption-key-file={}", dir.join("kek").display()),
            format!("--mail-dir={}", dir.join("mail").display()),
            format!("--public-origin={ORIGIN}"),
            "--rate-address-per-min=1000000".to_string(),
        ];
        args.extend(flags.iter().map(|f| f.to_string()));
        let settings = Flags::try_parse_from(args)
            .expect("flags parse")
            .config
            .validate()
            .expect("valid settings");
        let state = latchkey::build_state(settings).await.expect("server state");
        Server {
            router: latchkey::http::router(state),
            _dir: TempDir(dir),
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, bytes::Bytes) {
        let mut request = request;
        let peer: SocketAddr = "127.0.0.1:40000".parse().expect("an address");
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.expect("a body");
        (parts.status, parts.headers, body)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, axum::http::HeaderMap, Value) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, ORIGIN)
            .body(Body::from(body.to_string()))
            .expect("a request");
        let (status, headers, body) = self.send(request).await;
        (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// An account and an access token for it.
    async fn bearer(&self) -> String {
        let body = json!({"email": EMAIL, "password": PASSWORD});
        let (status, _, signed) = self.post("/api/auth/register", body).await;
        assert_eq!(status, StatusCode::CREATED, "{signed}");
        signed["access_token"].as_str().expect("a token").to_string()
    }

    /// A session cookie (`name=value`) for the account `bearer` made.
    async fn cookie(&self) -> String {
        let body = json!({"email": EMAIL, "password": PASSWORD});
        let (status, headers, _) = self.post("/api/session/login", body).await;
        assert_eq!(status, StatusCode::OK);
        let set = headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .expect("a cookie");
        set.split(';').next().expect("name=value").to_string()
    }
}

/// A request as hyper hands it over: the header values already parsed
/// (made once here, shared by every iteration).
fn get(path: &'static str, credential: Option<&(header::HeaderName, HeaderValue)>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some((name, value)) = credential {
        request = request.header(name, value.clone());
    }
    request.body(Body::empty()).expect("a request")
}

fn bearer(token: &str) -> Option<(header::HeaderName, HeaderValue)> {
    let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
    Some((header::AUTHORIZATION, value))
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("request");
    group.measurement_time(Duration::from_secs(4));
    let mut case = |name: &str, server: &Server, request: &dyn Fn() -> Request<Body>| {
        let (status, _, body) = runtime.block_on(server.send(request()));
        assert_eq!(status, StatusCode::OK, "{name}: {}", String::from_utf8_lossy(&body));
        group.bench_function(name, |b| b.iter(|| runtime.block_on(server.send(request()))));
    };

    let default = runtime.block_on(Server::start(&[]));
    let token = bearer(&runtime.block_on(default.bearer()));
    let cookie = runtime.block_on(default.cookie());
    let cookie = Some((header::COOKIE, HeaderValue::from_str(&cookie).expect("a header value")));
    case("baseline: GET /.well-known/jwks.json", &default, &|| {
        get("/.well-known/jwks.json", None)
    });
    case("GET /api/me Bearer revocation-cache", &default, &|| {
        get("/api/me", token.as_ref())
    });
    case("GET /api/me session cookie", &default, &|| {
        get("/api/me", cookie.as_ref())
    });
    drop(default);

    let uncached = runtime.block_on(Server::start(&["--token-cache-entries=0"]));
    let token = bearer(&runtime.block_on(uncached.bearer()));
    case(
        "GET /api/me Bearer revocation-cache, no token cache (a full EdDSA check)",
        &uncached,
        &|| get("/api/me", token.as_ref()),
    );
    drop(uncached);

    for check in ["stateless", "session-lookup"] {
        let server = runtime.block_on(Server::start(&[&format!("--access-check={check}")]));
        let token = bearer(&runtime.block_on(server.bearer()));
        case(&format!("GET /api/me Bearer {check}"), &server, &|| {
            get("/api/me", token.as_ref())
        });
    }
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
