//! The black-box harness: each test starts the real server on a random port
//! with a database of its own (a temporary SQLite file, or a PostgreSQL
//! database created for the test and dropped after it) and talks HTTP to it.
//!
//! PostgreSQL comes from `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it is unreachable the
//! PostgreSQL half of each test is skipped with a note, unless
//! `LATCHKEY_REQUIRE_POSTGRES=1` (set by CI) makes that a failure.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use latchkey::config::Config;
use latchkey::http::AppState;
use sqlx::Connection;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::common::postgres_available().await {
                        super::$name($crate::common::Backend::Postgres).await;
                    }
                }
            )*
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// True when PostgreSQL answers; false (skip) when it does not and it is not
/// required; panics when it is required and unreachable.
pub async fn postgres_available() -> bool {
    let url = postgres_admin_url();
    let reachable = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url))
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false);
    if !reachable {
        if std::env::var("LATCHKEY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("PostgreSQL at {url} is unreachable and LATCHKEY_REQUIRE_POSTGRES=1");
        }
        eprintln!("note: PostgreSQL at {url} is unreachable; skipping the PostgreSQL half of this test");
    }
    reachable
}

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    /// The key-encryption key of the database's signing keys: every server
    /// and command on this database uses the same file.
    pub key_file: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/latchkey.db", dir.path().display());
                TestDb {
                    url,
                    backend,
                    key_file: dir.path().join("latchkey-keys.secret"),
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("latchkey_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                let dir = tempfile::tempdir().expect("temp dir");
                TestDb {
                    url: url.to_string(),
                    backend,
                    key_file: dir.path().join("latchkey-keys.secret"),
                    _dir: Some(dir),
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Another handle on the same database for a second server; the
    /// database still belongs to `self`.
    pub fn share(&self) -> TestDb {
        self.share_at(self.url.clone())
    }

    /// Like `share`, reaching the database at another URL (through a proxy).
    pub fn share_at(&self, url: String) -> TestDb {
        TestDb {
            url,
            backend: self.backend,
            key_file: self.key_file.clone(),
            _dir: None,
            pg_name: None,
        }
    }

    /// Removes the database now (PostgreSQL: terminating its connections),
    /// to see how the server copes with a database that is gone.
    pub fn destroy(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(name);
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.destroy();
    }
}

fn drop_pg_database(name: String) {
    // Drop runs outside any runtime we may block, so use a thread of its own.
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        });
    })
    .join();
}

/// A running server and an HTTP client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub db: TestDb,
    /// The server's clock: `advance` it instead of sleeping.
    pub clock: latchkey::core::clock::Clock,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestApp {
    /// Starts a server. Every test talks from 127.0.0.1, so the per-address
    /// sign-in limit (60/min) is lifted unless the flags set it.
    pub async fn spawn_unlimited(backend: Backend, flags: &[&str]) -> TestApp {
        let mut all = flags.to_vec();
        if !flags.iter().any(|f| f.starts_with("--rate-address-per-min")) {
            all.push("--rate-address-per-min=100000");
        }
        TestApp::spawn_with(backend, &all).await
    }

    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts the server with extra configuration flags (`--name=value`).
    pub async fn spawn_with(backend: Backend, flags: &[&str]) -> TestApp {
        Self::spawn_on(TestDb::new(backend).await, flags).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Parses only the configuration flags, as the binary does.
#[derive(Parser)]
struct ConfigOnly {
    #[command(flatten)]
    config: Config,
}

/// Asserts a contract error: status, `error` code, and a human message.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "unexpected status for {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "error body is {content_type}"
    );
    let body: serde_json::Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"], code, "body: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "body: {body}");
    body
}

// --- JWT-mode helpers: cookies by hand, Bearer requests, sign-up/sign-in. ---

/// The session cookie's default name (API.md: `__Host-`).
pub const SESSION_COOKIE: &str = "__Host-latchkey-session";
/// The refresh cookie's default name (API.md: `Secure`, so `__Secure-`).
pub const REFRESH_COOKIE: &str = "__Secure-latchkey-refresh";

/// `GET path` with a session cookie (no CSRF token: a safe method).
pub async fn with_session_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    bare_client()
        .get(app.url(path))
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .send()
        .await
        .expect("request")
}

/// A passphrase the password policy accepts.
pub const GOOD_PASSWORD: &str = "vivid-otter-maps-the-quiet-dune";

/// The `User-Agent` the helpers send, so sessions and audit rows have one.
pub const TEST_USER_AGENT: &str = "latchkey-tests/1.0";

/// A client without a cookie store: a test decides which cookies go out.
/// (reqwest never sends a `Secure` cookie over plain HTTP anyway, so the
/// refresh cookie always has to be sent by hand.)
pub fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(TEST_USER_AGENT)
        .build()
        .expect("client")
}

/// One `Set-Cookie` header, split into its name, value and attributes.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attribute names lower-cased, values as sent.
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> Option<SetCookie> {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next()?.split_once('=')?;
        let attributes = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_string())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        Some(SetCookie {
            name: name.trim().to_string(),
            value: value.trim().to_string(),
            attributes,
        })
    }

    pub fn has(&self, flag: &str) -> bool {
        self.attributes.iter().any(|(k, _)| k.eq_ignore_ascii_case(flag))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn max_age(&self) -> Option<i64> {
        self.attr("max-age").map(|v| v.parse().expect("Max-Age is a number"))
    }
}

/// The `Set-Cookie` for `name` in a response, if there is exactly one.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<SetCookie> {
    let mut found: Vec<SetCookie> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(SetCookie::parse)
        .filter(|c| c.name == name)
        .collect();
    assert!(found.len() <= 1, "{name} set {} times: {found:?}", found.len());
    found.pop()
}

/// What the browser app holds after a sign-in: the access token (memory)
/// and the refresh cookie's value (the browser's cookie jar).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub body: latchkey_types::TokenResponse,
    pub access_token: String,
    pub refresh: String,
}

impl SignedIn {
    /// Reads a 200/201 token response and its refresh cookie.
    pub async fn from_response(response: reqwest::Response) -> SignedIn {
        let status = response.status();
        let cookie = set_cookie(&response, REFRESH_COOKIE);
        let text = response.text().await.expect("body");
        assert!(
            status == 200 || status == 201,
            "expected a token response, got {status}: {text}"
        );
        let body: latchkey_types::TokenResponse = serde_json::from_str(&text).expect("a TokenResponse");
        let refresh = cookie.expect("a refresh cookie with the tokens").value;
        SignedIn {
            access_token: body.access_token.clone(),
            refresh,
            body,
        }
    }
}

impl TestApp {
    /// POSTs a JSON body with no cookies and no credentials.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        bare_client()
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Registers an account; panics unless the answer is 201.
    pub async fn register(&self, email: &str, password: &str) -> SignedIn {
        let response = self
            .post_json(
                "/api/auth/register",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 201, "register {email}");
        SignedIn::from_response(response).await
    }

    /// Signs in (JWT mode); panics unless the answer is 200.
    pub async fn login(&self, email: &str, password: &str) -> SignedIn {
        let response = self
            .post_json(
                "/api/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login {email}");
        SignedIn::from_response(response).await
    }

    /// `POST /api/auth/refresh` with the given refresh cookie and `{}`.
    pub async fn refresh_with(&self, refresh: &str) -> reqwest::Response {
        bare_client()
            .post(self.url("/api/auth/refresh"))
            .header("cookie", format!("{REFRESH_COOKIE}={refresh}"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("request")
    }

    /// GET with `Authorization: Bearer <token>`.
    pub async fn get_with_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        bare_client()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }
}

impl TestApp {
    /// Starts the server on an existing test database (`spawn_with` creates
    /// a fresh one).
    pub async fn spawn_on(db: TestDb, flags: &[&str]) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut args = vec![
            "latchkey".to_string(),
            format!("--database-url={}", db.url),
            format!("--site-addr={addr}"),
            format!("--key-encryption-key-file={}", db.key_file.display()),
            format!("--mail-dir={}", db.key_file.with_file_name("mail").display()),
        ];
        args.extend(flags.iter().map(|f| f.to_string()));
        let config = ConfigOnly::try_parse_from(args).expect("test flags parse").config;
        let settings = config.validate().expect("test settings are valid");
        let clock = latchkey::core::clock::Clock::default();
        let state = latchkey::build_state_with_clock(settings, clock.clone())
            .await
            .expect("server state");
        let (tx, rx) = oneshot::channel();
        tokio::spawn(latchkey::serve(state.clone(), listener, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            base: format!("http://{addr}"),
            addr,
            client,
            state,
            db,
            clock,
            shutdown: Some(tx),
        }
    }

    /// A second server on this app's database, as another replica behind a
    /// load balancer would be. The database still belongs to `self`.
    pub async fn spawn_replica(&self, flags: &[&str]) -> TestApp {
        TestApp::spawn_on(self.db.share(), flags).await
    }
}

/// One claim of an access token, read without checks (the server checks).
pub fn claim(token: &str, name: &str) -> Option<String> {
    use base64::Engine as _;
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims[name].as_str().map(str::to_owned)
}

/// A real SMTP server on 127.0.0.1 that accepts every mail and keeps it:
/// what the server's mailer talks to in tests (EHLO, MAIL, RCPT, DATA,
/// RSET, NOOP, QUIT; no TLS, no AUTH).
#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener)
    }

    /// On an address chosen before (to start the sink after the server,
    /// as a relay that comes back).
    pub async fn start_on(addr: SocketAddr) -> SmtpSink {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind the sink's port");
        Self::serve(listener)
    }

    /// An address with nothing listening on it (yet).
    pub fn free_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
    }

    pub fn url_for(addr: SocketAddr) -> String {
        format!("--smtp-url=smtp://{addr}")
    }

    pub fn url(&self) -> String {
        Self::url_for(self.addr)
    }

    fn serve(listener: tokio::net::TcpListener) -> SmtpSink {
        let sink = SmtpSink {
            addr: listener.local_addr().expect("address"),
            messages: Default::default(),
        };
        let messages = sink.messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, messages.clone()));
            }
        });
        sink
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits until `count` mails have arrived (at most `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} mails arrived within {within:?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn smtp_session(stream: tokio::net::TcpStream, messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 sink.test ESMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
            "DATA" => {
                if write.write_all(b"354 go ahead\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                messages.lock().unwrap().push(data);
                b"250 kept\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"250 ok\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The link a mail carries (quoted-printable undone), and its token.
pub fn mailed_link(message: &str) -> (String, String) {
    let unfolded = message.replace("=\r\n", "").replace("=3D", "=");
    let start = unfolded.find("http").expect("a link in the mail");
    let link: String = unfolded[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.:/#=?".contains(*c))
        .collect();
    let token = link
        .split_once("#token=")
        .expect("the token in the fragment")
        .1
        .to_string();
    (link, token)
}

/// Waits until `check` holds, or panics after `limit`; returns how long it took.
pub async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
