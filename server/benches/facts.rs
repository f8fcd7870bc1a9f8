//! Facts about this machine and the data structures, for the benchmark
//! table (printed as `name=value` lines; `load/run.sh` reads them):
//!
//! - the argon2id floor: one hash's time and hashes per second with the
//!   server's default permits (cores − 1, at least 1), so login/s can be
//!   compared with what the hardware allows;
//! - memory per 100k entries of the verified-token cache and of the
//!   revoked-session set (resident memory before and after);
//! - database bytes per 100k live sessions, JWT (session row + first
//!   refresh token) and cookie, on SQLite and, with `FACTS_POSTGRES_URL`,
//!   on PostgreSQL;
//! - the size of the credential an authenticated request carries.
//!
//!   cargo run --release -p latchkey-bench --bin latchkey-facts
//!
//! `latchkey-facts argon2` measures the argon2id floor alone: `load/run.sh`
//! takes it right before and right after each login run, since this
//! machine's speed drifts over a benchmark (as it does for the baseline).

use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey::auth::caches::VerifiedTokens;
use latchkey::core::password::{PasswordHasher, PasswordPolicy};
use latchkey::core::revocation::RevocationSet;
use latchkey::core::secrets::{random_token, seal_under};
use latchkey::core::tokens::{
    AccessTokens, DEFAULT_LEEWAY_SECS, Keyring, SigningKey, TokenConfig, generate_ed25519_pem,
};
use latchkey::store::Db;
use latchkey_types::Role;
use secrecy::ExposeSecret;
use uuid::Uuid;

const N: usize = 100_000;
const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    if std::env::args().nth(1).as_deref() == Some("argon2") {
        return runtime.block_on(argon2_floor());
    }
    runtime.block_on(async {
        argon2_floor().await?;
        credential_sizes();
        memory()?;
        let dir = std::env::temp_dir().join(format!("latchkey-facts-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        let sqlite = format!("sqlite://{}/facts.db", dir.display());
        let result = storage("sqlite", &sqlite).await;
        std::fs::remove_dir_all(&dir)?;
        result?;
        if let Ok(admin) = std::env::var("FACTS_POSTGRES_URL") {
            postgres_storage(&admin).await?;
        }
        Ok(())
    })
}

fn fact(name: &str, value: impl std::fmt::Display) {
    println!("{name}={value}");
}

async fn argon2_floor() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let permits = cores.saturating_sub(1).max(1);
    let password = PasswordPolicy { min_chars: 15 }
        .check("vivid otter maps the quiet dune", None)
        .map_err(|why| anyhow::anyhow!("{why:?}"))?;
    let one = PasswordHasher::new(1, 64)?;
    one.hash(&password).await?; // warm up
    let started = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        one.hash(&password).await?;
    }
    let per_hash = started.elapsed() / rounds;
    fact("cores", cores);
    fact("hash_permits", permits);
    fact("argon2_ms", format!("{:.2}", per_hash.as_secs_f64() * 1000.0));
    fact(
        "argon2_floor_per_s",
        format!("{:.1}", permits as f64 / per_hash.as_secs_f64()),
    );
    Ok(())
}

fn token_factory() -> anyhow::Result<AccessTokens> {
    let key = SigningKey::from_pem_with_thumbprint_kid(&generate_ed25519_pem())?;
    let config = TokenConfig {
        issuer: "http://127.0.0.1:3000".into(),
        audience: "http://127.0.0.1:3000/api".into(),
        ttl: Duration::from_secs(300),
        leeway_secs: DEFAULT_LEEWAY_SECS,
    };
    Ok(AccessTokens::new(config, Keyring::new(key, Vec::new())?))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// What an authenticated request carries, header line included.
fn credential_sizes() {
    let tokens = token_factory().expect("a key");
    let (token, _) = tokens.issue(Uuid::now_v7(), Uuid::now_v7(), Role::User, now_unix());
    let session_id = random_token();
    let csrf = random_token();
    let bearer = format!("Authorization: Bearer {token}\r\n").len();
    let cookie = format!("Cookie: __Host-latchkey-session={}\r\n", session_id.expose_secret()).len();
    let csrf_header = format!("X-CSRF-Token: {}\r\n", csrf.expose_secret()).len();
    fact("access_token_bytes", token.len());
    fact("bearer_header_bytes", bearer);
    fact("session_cookie_header_bytes", cookie);
    fact("session_unsafe_extra_bytes", csrf_header);
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .context("statm has a resident field")?
        .parse()?;
    Ok(pages * 4096)
}

/// The revoked-session set first: memory a dropped structure gave back
/// would otherwise be reused and hide the second one's cost.
fn memory() -> anyhow::Result<()> {
    let before = rss()?;
    let set = RevocationSet::new(i64::MAX / 2);
    set.insert((0..N as i64).map(|i| (Uuid::now_v7(), i)));
    let after = rss()?;
    fact("revocation_set_entries", set.len());
    fact("revocation_set_bytes_per_100k", after.saturating_sub(before));

    let tokens = token_factory()?;
    let issued: Vec<_> = (0..N)
        .map(|_| tokens.issue(Uuid::now_v7(), Uuid::now_v7(), Role::User, now_unix()))
        .collect();
    let before = rss()?;
    let cache = VerifiedTokens::new(N);
    for (token, claims) in &issued {
        cache.insert(token, claims);
    }
    let after = rss()?;
    fact("token_cache_entries", cache.len());
    fact("token_cache_bytes_per_100k", after.saturating_sub(before));
    drop(set);
    Ok(())
}

/// Bytes the database grows by for 100k live sessions of each kind.
async fn storage(label: &str, url: &str) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let user = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO users (id, email, email_key, password_hash, role, created_at, updated_at) \
         VALUES ($1, 'facts@example.com', 'facts@example.com', 'x', 'user', 0, 0)",
    )
    .bind(&user)
    .execute(&db.pool)
    .await
    .context("inserting the user")?;
    // Rows with real-sized values (64-hex hashes, a sealed CSRF token of the
    // real length, a browser's User-Agent), generated by the database
    // itself: one statement per table instead of 100k round trips.
    let sealed_len = {
        let secret = random_token();
        let csrf = random_token();
        seal_under(secret.expose_secret(), csrf.expose_secret()).len()
    };
    let (hex64, seq) = if label == "sqlite" {
        (
            "lower(hex(randomblob(32)))",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT",
        )
    } else {
        ("md5(random()::text) || md5(random()::text)", "SELECT")
    };
    let from = if label == "sqlite" {
        "FROM n"
    } else {
        "FROM generate_series(1, 100000) AS n(i)"
    };
    let sealed = if label == "sqlite" {
        format!("substr(lower(hex(randomblob({sealed_len}))), 1, {sealed_len})")
    } else {
        format!("substr(repeat(md5(random()::text), 8), 1, {sealed_len})")
    };
    let id = if label == "sqlite" {
        "printf('%s-%d', $3, i)".to_string()
    } else {
        "$3 || '-' || i".to_string()
    };
    for kind in ["jwt", "cookie"] {
        let before = size(&db, label).await?;
        let (csrf, sealed) = if kind == "cookie" {
            (hex64.to_string(), sealed.clone())
        } else {
            ("NULL".to_string(), "NULL".to_string())
        };
        let insert_sessions = format!(
            "INSERT INTO sessions (id, user_id, kind, secret_hash, csrf_hash, sealed_successor, created_at, \
             last_seen_at, idle_expires_at, expires_at, user_agent, ip) \
             {seq} {id}, $1, $2, {hex64}, {csrf}, {sealed}, 0, 0, 9000000000000, 9000000000000, $4, '203.0.113.7' {from}"
        );
        let mut tx = db.pool.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(insert_sessions))
            .bind(&user)
            .bind(kind)
            .bind(kind)
            .bind(USER_AGENT)
            .execute(&mut *tx)
            .await
            .context("inserting the sessions")?;
        if kind == "jwt" {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, session_id, generation, issued_at) \
                 SELECT secret_hash, id, 0, 0 FROM sessions WHERE kind = 'jwt'",
            )
            .execute(&mut *tx)
            .await
            .context("inserting the refresh tokens")?;
        }
        tx.commit().await?;
        let after = size(&db, label).await?;
        fact(
            &format!("{label}_bytes_per_100k_{kind}_sessions"),
            after.saturating_sub(before),
        );
    }
    Ok(())
}

async fn size(db: &Db, label: &str) -> anyhow::Result<u64> {
    if label == "sqlite" {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&db.pool).await?;
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&db.pool).await?;
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&db.pool).await?;
        Ok((pages * page_size) as u64)
    } else {
        sqlx::query("VACUUM ANALYZE").execute(&db.pool).await?;
        let bytes: i64 = sqlx::query_scalar(
            "SELECT (pg_total_relation_size('sessions') + pg_total_relation_size('refresh_tokens'))::BIGINT",
        )
        .fetch_one(&db.pool)
        .await?;
        Ok(bytes as u64)
    }
}

async fn postgres_storage(admin: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let name = format!("latchkey_facts_{}", Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let url = url_with_database(admin, &name)?;
    let result = storage("postgres", &url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    result
}

fn url_with_database(admin: &str, name: &str) -> anyhow::Result<String> {
    let (base, _) = admin.rsplit_once('/').context("FACTS_POSTGRES_URL ends in /database")?;
    Ok(format!("{base}/{name}"))
}
