//! Persistence: one `Db` handle over SQLite or PostgreSQL.
//!
//! Both backends share one schema (UUID text ids, Unix-millisecond
//! timestamps) and one set of runtime-checked queries through sqlx's `Any`
//! driver, so every query is written once and the same test suite runs it on
//! both. Only the migrations live side by side, one folder per backend.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Executor};

#[macro_use]
pub mod users;
#[macro_use]
pub mod sessions;
pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod email_tokens;
pub mod factors;
pub mod keys;
pub mod outbox;
pub mod passkeys;
pub mod rate_limits;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The dialect of a connection the store was lent (a transaction's).
    pub fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            bail!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got {})",
                redact_url(url)
            )
        }
    }
}

/// A pooled connection idle longer than this is pinged before it is used.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(10);

/// A pool plus the knowledge of which dialect is behind it.
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Errors a store operation reports to its callers.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a unique constraint was violated")]
    Conflict,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored value the schema's constraints should have made impossible
    /// (an id that is not a UUID, an unknown role): refused, never guessed.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// What a write that ended sessions returns: its own result and the ids it
/// revoked, at the time it stamped them. Only the auth engine unwraps it
/// (`Engine::publish`), and in the same step tells this server's
/// revoked-session set, so no revocation can be written and not published.
#[must_use = "revoked sessions must reach the revocation set through Engine::publish"]
#[derive(Debug)]
pub struct Revoked<T> {
    pub(crate) value: T,
    pub(crate) sessions: Vec<uuid::Uuid>,
    pub(crate) at: i64,
}

impl<T> Revoked<T> {
    pub(crate) fn new(value: T, sessions: Vec<uuid::Uuid>, at: i64) -> Self {
        Revoked { value, sessions, at }
    }

    /// The session ids ended by this write.
    pub fn sessions(&self) -> &[uuid::Uuid] {
        &self.sessions
    }

    /// A look at the write's own result; taking it needs `Engine::publish`.
    pub fn value(&self) -> &T {
        &self.value
    }
}

/// Reads a stored id; a malformed one is corruption, not the nil UUID.
pub(crate) fn parse_uuid(raw: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(raw).map_err(|_| StoreError::Corrupt(format!("id {raw:?} is not a UUID")))
}

impl StoreError {
    /// Turns a unique violation into `Conflict`, so callers can answer 409.
    pub fn from_sqlx(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(err),
        }
    }
}

impl Db {
    /// Connects (creating a SQLite file and its folder if needed) and checks
    /// the connection once, so a bad URL fails at start-up with one line.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, None).await
    }

    /// A pool of one connection, for a background task that must keep
    /// working when the request pool is exhausted.
    pub async fn connect_single(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, Some(1)).await
    }

    async fn connect_with(url: &str, max_connections: Option<u32>) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .with_context(|| format!("DATABASE_URL {} is malformed", redact_url(&url)))?;
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(3))
            // sqlx pings every connection it takes back, so one in steady use
            // is known good: a ping before each use too would be one more
            // round trip per query (per poll of the revocation feed). Only a
            // connection that sat idle a while is checked again.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .max_connections(max_connections.unwrap_or(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            }));
        let pool_options = match backend {
            // WAL lets readers run beside the one writer; busy_timeout makes a
            // writer wait for the lock instead of failing at once.
            Backend::Sqlite => pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact_url(&url)))?;
        Ok(Db { pool, backend })
    }

    /// Applies pending migrations. Safe to run from several replicas at
    /// once: on PostgreSQL sqlx holds an advisory lock while it migrates.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("applying database migrations failed")?;
        Ok(())
    }

    /// A cheap round trip, bounded in time: what `/api/health` reports.
    pub async fn ping(&self) -> bool {
        let probe = sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool);
        matches!(tokio::time::timeout(Duration::from_secs(2), probe).await, Ok(Ok(1)))
    }
}

/// `sqlite://data/x.db` → creates `data/`, and adds `mode=rwc` so the file is
/// created on first start.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        bail!("DATABASE_URL must name a SQLite file (an in-memory database is not shared between connections)");
    }
    if let Some(parent) = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the database folder {}", parent.display()))?;
    }
    if query.split('&').any(|kv| kv.starts_with("mode=")) {
        Ok(url.to_string())
    } else if query.is_empty() {
        Ok(format!("sqlite://{path}?mode=rwc"))
    } else {
        Ok(format!("sqlite://{path}?{query}&mode=rwc"))
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "<unparseable URL>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(redact_url("postgres://me:hunter2@db/x"), "postgres://me:****@db/x");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn only_known_schemes_are_accepted() {
        assert_eq!(Backend::from_url("sqlite://a.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgresql://h/d").unwrap(), Backend::Postgres);
        assert!(Backend::from_url("mysql://h/d").is_err());
        assert!(Backend::from_url("not a url").is_err());
    }

    #[test]
    fn sqlite_urls_gain_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/x.db", dir.path().display());
        assert!(prepare_sqlite_url(&url).unwrap().ends_with("/sub/x.db?mode=rwc"));
        assert!(dir.path().join("sub").is_dir());
        assert!(prepare_sqlite_url("sqlite::memory:").is_err());
    }
}
