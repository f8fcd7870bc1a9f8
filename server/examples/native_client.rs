//! A native Latchkey client: what a mobile or desktop app, or a CLI, does
//! when it cannot hold an HttpOnly cookie.
//!
//! It signs in with `"client": "native"` (the refresh token comes in the
//! body), keeps the refresh token in a file only it can read (the stand-in
//! for the platform's secure storage), and then, round after round, renews
//! the access token (`POST /api/auth/refresh` with the token in the body,
//! rotated on every use) and calls the API with it. When the server is
//! unreachable — restarting, say — it retries the same refresh token: if
//! the server had rotated it before the connection dropped, the grace
//! window hands out the same successor, so the session survives.
//!
//! ```text
//! LATCHKEY_EMAIL=ada@example.com LATCHKEY_PASSWORD=… \
//!   cargo run -p latchkey --example native_client -- \
//!   --base http://127.0.0.1:3000 --token-file ~/.latchkey-token --rounds 10
//! ```
//!
//! Each round prints one JSON line: `{"round", "session", "email"}`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Options {
    base: String,
    token_file: PathBuf,
    rounds: u32,
    interval: Duration,
    /// How long to keep retrying an unreachable server.
    patience: Duration,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        base: "http://127.0.0.1:3000".into(),
        token_file: PathBuf::from(".latchkey-refresh-token"),
        rounds: 10,
        interval: Duration::from_millis(500),
        patience: Duration::from_secs(30),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => options.base = value()?,
            "--token-file" => options.token_file = PathBuf::from(value()?),
            "--rounds" => options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--interval-ms" => {
                options.interval = Duration::from_millis(value()?.parse().map_err(|e| format!("--interval-ms: {e}"))?)
            }
            "--patience-secs" => {
                options.patience = Duration::from_secs(value()?.parse().map_err(|e| format!("--patience-secs: {e}"))?)
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(options)
}

/// The refresh token on disk, readable by this user only.
fn save_token(path: &PathBuf, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    // Written beside and renamed over, so a crash never leaves half a token.
    let partial = path.with_extension("partial");
    open.open(&partial)?.write_all(token.as_bytes())?;
    std::fs::rename(partial, path)
}

/// What a token response gives a native client.
struct Tokens {
    access: String,
    refresh: String,
}

fn tokens(body: &Value) -> Result<Tokens, String> {
    let field = |name: &str| {
        body[name]
            .as_str()
            .map(str::to_string)
            .ok_or(format!("the answer has no {name}"))
    };
    Ok(Tokens {
        access: field("access_token")?,
        refresh: field("refresh_token")?,
    })
}

/// The session id an access token names (read, not verified: the server
/// verifies).
fn session_of(access: &str) -> Option<String> {
    use base64::Engine as _;
    let claims = access.split('.').nth(1)?;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).ok()?;
    let claims: Value = serde_json::from_slice(&claims).ok()?;
    claims["sid"].as_str().map(str::to_string)
}

struct Client {
    http: reqwest::Client,
    options: Options,
}

impl Client {
    /// POSTs `body`, retrying while the server cannot be reached (a
    /// connection refused or reset), for at most `patience`.
    async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        let started = Instant::now();
        loop {
            let sent = self
                .http
                .post(format!("{}{path}", self.options.base))
                .json(body)
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.json().await.unwrap_or(Value::Null);
                    return Ok((status, body));
                }
                Err(err) if started.elapsed() < self.options.patience => {
                    eprintln!("server unreachable ({err}); retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => return Err(format!("server unreachable for {:?}: {err}", self.options.patience)),
            }
        }
    }

    async fn sign_in(&self) -> Result<Tokens, String> {
        let email = std::env::var("LATCHKEY_EMAIL").map_err(|_| "set LATCHKEY_EMAIL and LATCHKEY_PASSWORD")?;
        let password = std::env::var("LATCHKEY_PASSWORD").map_err(|_| "set LATCHKEY_PASSWORD")?;
        let (status, body) = self
            .post(
                "/api/auth/login",
                &json!({"email": email, "password": password, "client": "native"}),
            )
            .await?;
        match status {
            200 => tokens(&body),
            _ => Err(format!("sign-in refused ({status}): {}", body["message"])),
        }
    }

    /// Renews with the stored refresh token; `None` if the session is over
    /// (revoked, expired, reused) and a new sign-in is needed.
    async fn renew(&self, refresh: &str) -> Result<Option<Tokens>, String> {
        let (status, body) = self
            .post("/api/auth/refresh", &json!({"refresh_token": refresh}))
            .await?;
        match status {
            200 => tokens(&body).map(Some),
            401 => Ok(None),
            _ => Err(format!("refresh refused ({status}): {}", body["message"])),
        }
    }

    async fn me(&self, access: &str) -> Result<Value, String> {
        let started = Instant::now();
        loop {
            let sent = self
                .http
                .get(format!("{}/api/me", self.options.base))
                .bearer_auth(access)
                .send()
                .await;
            match sent {
                Ok(response) if response.status() == 200 => {
                    return response.json().await.map_err(|e| e.to_string());
                }
                Ok(response) => return Err(format!("GET /api/me: {}", response.status())),
                Err(_) if started.elapsed() < self.options.patience => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => return Err(err.to_string()),
            }
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .user_agent("latchkey-native-example/1.0")
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let client = Client { http, options };
    let path = client.options.token_file.clone();
    let stored = std::fs::read_to_string(&path).ok();
    let mut current = match stored {
        Some(refresh) => client.renew(refresh.trim()).await?,
        None => None,
    };
    for round in 1..=client.options.rounds {
        let tokens = match current.take() {
            Some(tokens) => tokens,
            None => client.sign_in().await?,
        };
        save_token(&path, &tokens.refresh).map_err(|e| format!("saving the refresh token: {e}"))?;
        let me = client.me(&tokens.access).await?;
        let line = json!({"round": round, "session": session_of(&tokens.access), "email": me["email"]});
        println!("{line}");
        tokio::time::sleep(client.options.interval).await;
        current = client.renew(&tokens.refresh).await?;
        if current.is_none() {
            eprintln!("the session ended; signing in again");
        }
    }
    if let Some(tokens) = current {
        save_token(&path, &tokens.refresh).map_err(|e| format!("saving the refresh token: {e}"))?;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("native_client: {err}");
            std::process::exit(2);
        }
    };
    if let Err(err) = run(options).await {
        eprintln!("native_client: {err}");
        std::process::exit(1);
    }
}
