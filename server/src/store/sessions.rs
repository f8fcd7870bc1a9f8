//! The `sessions` and `refresh_tokens` tables: one row per sign-in, of
//! either kind, and the hashes of every refresh token ever issued.
//!
//! The refresh swap is one conditional `UPDATE … WHERE secret_hash = old`:
//! however many refreshes race, exactly one sees its row change and every
//! other one finds the parent/successor pair the winner left behind. That
//! holds on SQLite (one writer at a time) and on PostgreSQL (row lock, then
//! re-evaluated `WHERE`), so a session never has two live tokens.
//!
//! Writes that revoke are `pub(super)` helpers run inside the transactions
//! of `accounts.rs`, which hands their ids to the engine as `Revoked`.

use latchkey_types::Role;
use sqlx::{AnyConnection, FromRow};
use uuid::Uuid;

use super::{Db, StoreError, parse_uuid};

pub use latchkey_types::SessionKind;

/// A session kind's `(kind, client)` columns: a native session is a `jwt`
/// row whose `client` is `native`.
pub(super) fn kind_columns(kind: SessionKind) -> (&'static str, &'static str) {
    match kind {
        SessionKind::Jwt => ("jwt", "browser"),
        SessionKind::Cookie => ("cookie", "browser"),
        SessionKind::Native => ("jwt", "native"),
    }
}

fn parse_kind(kind: &str, client: &str) -> Result<SessionKind, StoreError> {
    match (kind, client) {
        ("jwt", "browser") => Ok(SessionKind::Jwt),
        ("cookie", "browser") => Ok(SessionKind::Cookie),
        ("jwt", "native") => Ok(SessionKind::Native),
        other => Err(StoreError::Corrupt(format!("session kind {other:?}"))),
    }
}

/// A session row. `Debug` leaves the hashes and the sealed secret out.
#[derive(Clone)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: SessionKind,
    pub secret_hash: String,
    pub parent_hash: Option<String>,
    /// JWT sessions: the successor sealed under its parent. Cookie sessions:
    /// the CSRF token sealed under the session id.
    pub sealed_successor: Option<String>,
    pub rotated_at: Option<i64>,
    pub generation: i64,
    pub csrf_hash: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_expires_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Cookie sessions: the role the id was issued or re-keyed under.
    pub keyed_role: Option<Role>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("generation", &self.generation)
            .field("created_at", &self.created_at)
            .field("idle_expires_at", &self.idle_expires_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

impl SessionRecord {
    /// Live: not revoked, and inside both its idle and absolute lifetime.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && now_ms < self.idle_expires_at && now_ms < self.expires_at
    }
}

#[derive(FromRow)]
struct SessionRow {
    id: String,
    user_id: String,
    kind: String,
    client: String,
    secret_hash: String,
    parent_hash: Option<String>,
    sealed_successor: Option<String>,
    rotated_at: Option<i64>,
    generation: i64,
    csrf_hash: Option<String>,
    created_at: i64,
    last_seen_at: i64,
    idle_expires_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    user_agent: Option<String>,
    ip: Option<String>,
    keyed_role: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role, StoreError> {
    Role::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("role {raw:?}")))
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;

    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(SessionRecord {
            id: parse_uuid(&r.id)?,
            user_id: parse_uuid(&r.user_id)?,
            kind: parse_kind(&r.kind, &r.client)?,
            secret_hash: r.secret_hash,
            parent_hash: r.parent_hash,
            sealed_successor: r.sealed_successor,
            rotated_at: r.rotated_at,
            generation: r.generation,
            csrf_hash: r.csrf_hash,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            idle_expires_at: r.idle_expires_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            user_agent: r.user_agent,
            ip: r.ip,
            keyed_role: r.keyed_role.as_deref().map(parse_role).transpose()?,
        })
    }
}

/// A session and what its user is now: what a request authenticated by a
/// session cookie (or a Bearer token under `session-lookup`) is checked
/// against, in one indexed read.
#[derive(Debug, Clone)]
pub struct SessionWithUser {
    pub session: SessionRecord,
    pub role: Role,
    pub user_disabled: bool,
}

impl SessionWithUser {
    /// Live, and its user still enabled.
    pub fn is_live(&self, now_ms: i64) -> bool {
        !self.user_disabled && self.session.is_live(now_ms)
    }
}

#[derive(FromRow)]
struct SessionWithUserRow {
    #[sqlx(flatten)]
    session: SessionRow,
    role: String,
    disabled_at: Option<i64>,
}

impl TryFrom<SessionWithUserRow> for SessionWithUser {
    type Error = StoreError;

    fn try_from(r: SessionWithUserRow) -> Result<Self, StoreError> {
        Ok(SessionWithUser {
            session: r.session.try_into()?,
            role: parse_role(&r.role)?,
            user_disabled: r.disabled_at.is_some(),
        })
    }
}

fn one<R, T: TryFrom<R, Error = StoreError>>(row: Option<R>) -> Result<Option<T>, StoreError> {
    row.map(T::try_from).transpose()
}

macro_rules! session_columns {
    () => {
        "s.id, s.user_id, s.kind, s.client, s.secret_hash, s.parent_hash, s.sealed_successor, s.rotated_at, \
         s.generation, s.csrf_hash, s.created_at, s.last_seen_at, s.idle_expires_at, s.expires_at, \
         s.revoked_at, s.user_agent, s.ip, s.keyed_role"
    };
}

pub struct NewSession<'a> {
    pub id: Uuid,
    /// Set from the user row inside the transaction that inserts it.
    pub user_id: Uuid,
    pub kind: SessionKind,
    pub secret_hash: &'a str,
    pub csrf_hash: Option<&'a str>,
    /// Cookie sessions: the CSRF token sealed under the session id.
    pub sealed_csrf: Option<&'a str>,
    pub now: i64,
    pub idle_expires_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// Why a session ended; kept on the row and in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    LogoutAll,
    PasswordChanged,
    UserRevoked,
    AdminRevoked,
    RefreshReuse,
    SessionLimit,
    AccountChanged,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::LogoutAll => "logout_all",
            RevokeReason::PasswordChanged => "password_changed",
            RevokeReason::UserRevoked => "user_revoked",
            RevokeReason::AdminRevoked => "admin_revoked",
            RevokeReason::RefreshReuse => "refresh_reuse",
            RevokeReason::SessionLimit => "session_limit",
            RevokeReason::AccountChanged => "account_changed",
        }
    }
}

/// The outcome of the atomic swap.
#[derive(Debug, PartialEq, Eq)]
pub enum SwapOutcome {
    /// This caller rotated the token; the new one is live.
    Rotated,
    /// Another refresh got there first (or the session was revoked).
    Lost,
}

/// A rotation to write: the presented (current) hash, the successor's hash,
/// and the successor sealed under the presented token.
pub struct Rotation<'a> {
    pub session_id: Uuid,
    pub presented_hash: &'a str,
    pub successor_hash: &'a str,
    pub sealed_successor: &'a str,
    pub generation: i64,
    pub now: i64,
    pub idle_expires_at: i64,
}

impl Db {
    pub async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE s.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        one(row)
    }

    /// A session with its user's current role and status (`session-lookup`).
    pub async fn find_session_with_user(&self, id: Uuid) -> Result<Option<SessionWithUser>, StoreError> {
        let row: Option<SessionWithUserRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            ", u.role, u.disabled_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        one(row)
    }

    /// The session a refresh token was ever issued for (current or not).
    pub async fn find_session_by_refresh_hash(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        one(row)
    }

    /// `LATCHKEY_ADMIN_AUTH=session`: records an admin-area request of a live
    /// cookie session, if its last admin-area request or its last full
    /// authentication was at or after `since` (the idle timeout); false,
    /// with nothing written, otherwise.
    pub async fn touch_admin_area(&self, id: Uuid, now: i64, since: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET admin_seen_at = $1 \
             WHERE id = $2 AND kind = 'cookie' AND revoked_at IS NULL \
             AND (COALESCE(authenticated_at, created_at) >= $3 OR admin_seen_at >= $3)",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(since)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The cookie session whose id hashes to `secret_hash`, with its user's
    /// role and status. Only `kind = 'cookie'` rows: a refresh token is never
    /// a session id.
    pub async fn find_cookie_session(&self, secret_hash: &str) -> Result<Option<SessionWithUser>, StoreError> {
        let row: Option<SessionWithUserRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            ", u.role, u.disabled_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_hash = $1 AND s.kind = 'cookie'"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        one(row)
    }

    /// Gives a live cookie session a new id (privilege change: the old
    /// cookie stops working at once); false if it was no longer live.
    pub async fn rekey_cookie_session(
        &self,
        id: Uuid,
        new_secret_hash: &str,
        sealed_csrf: &str,
        role: Role,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE sessions SET secret_hash = $1, sealed_successor = $2, last_seen_at = $3, keyed_role = $4 \
             WHERE id = $5 AND kind = 'cookie' AND revoked_at IS NULL",
        )
        .bind(new_secret_hash)
        .bind(sealed_csrf)
        .bind(now)
        .bind(role.as_str())
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?
        .rows_affected();
        Ok(changed == 1)
    }

    /// The swap: succeeds only if the presented token is still the live one.
    pub async fn rotate_refresh_token(&self, r: Rotation<'_>) -> Result<SwapOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE sessions SET secret_hash = $1, parent_hash = $2, sealed_successor = $3, rotated_at = $4, \
             generation = generation + 1, last_seen_at = $4, idle_expires_at = $5 \
             WHERE id = $6 AND secret_hash = $2 AND revoked_at IS NULL",
        )
        .bind(r.successor_hash)
        .bind(r.presented_hash)
        .bind(r.sealed_successor)
        .bind(r.now)
        .bind(r.idle_expires_at)
        .bind(r.session_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?
        .rows_affected();
        if changed != 1 {
            tx.rollback().await?;
            return Ok(SwapOutcome::Lost);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, generation, issued_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(r.successor_hash)
        .bind(r.session_id.to_string())
        .bind(r.generation + 1)
        .bind(r.now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        tx.commit().await?;
        Ok(SwapOutcome::Rotated)
    }

    /// Marks sessions used and slides their idle expiry (never past their
    /// absolute end, which the caller has already applied), all in one
    /// transaction: `(id, last seen, idle end)`. An ended session, or one
    /// already renewed further, is left alone.
    pub async fn touch_sessions(&self, touches: &[(Uuid, i64, i64)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (id, last_seen_at, idle_expires_at) in touches {
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
                 WHERE id = $3 AND revoked_at IS NULL AND idle_expires_at < $2",
            )
            .bind(last_seen_at)
            .bind(idle_expires_at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A user's live sessions, newest first.
    pub async fn live_sessions(&self, user_id: Uuid, now: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let rows: Vec<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL \
              AND s.expires_at > $2 AND s.idle_expires_at > $2 ORDER BY s.created_at DESC, s.id DESC"
        ))
        .bind(user_id.to_string())
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(SessionRecord::try_from).collect()
    }

    /// Deletes sessions that ended (revoked, idle or past their lifetime)
    /// before `ended_before`, and with them their refresh-token history:
    /// without this every rotation would grow `refresh_tokens` forever.
    /// Returns how many sessions went.
    pub async fn sweep_ended_sessions(&self, ended_before: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions \
             WHERE revoked_at < $1 OR expires_at < $1 OR idle_expires_at < $1)",
        )
        .bind(ended_before)
        .execute(&mut *tx)
        .await?;
        let swept =
            sqlx::query("DELETE FROM sessions WHERE revoked_at < $1 OR expires_at < $1 OR idle_expires_at < $1")
                .bind(ended_before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(swept)
    }

    /// Deletes refresh-token history issued before `issued_before`, except
    /// each session's current token and its immediate parent (what refresh
    /// and the grace window need). An older token presented later is then
    /// unknown (401) instead of reuse: the session it came from is not
    /// revoked for it. Without this an active session would keep every
    /// rotation until it ends. Returns how many rows went.
    pub async fn prune_refresh_history(&self, issued_before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM refresh_tokens WHERE issued_at < $1 AND NOT EXISTS (SELECT 1 FROM sessions s \
             WHERE s.id = refresh_tokens.session_id \
             AND (s.secret_hash = refresh_tokens.token_hash OR s.parent_hash = refresh_tokens.token_hash))",
        )
        .bind(issued_before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Everything the revocation feed needs since `since` (ms), in one
    /// statement, so a poll is one round trip however busy the database is:
    /// sessions revoked (with the revoking server's stamp), and sessions and
    /// users that changed (a cookie session's new id, a user's role or
    /// status), with the database's stamp: the triggers of the
    /// `change_stamps` migrations keep `changed_at`, whatever code path or
    /// hand-written SQL made the change.
    pub async fn feed_since(&self, since: i64) -> Result<FeedRows, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT 'revoked' AS kind, id, revoked_at AS at FROM sessions \
               WHERE revoked_at IS NOT NULL AND revoked_at >= $1 \
             UNION ALL SELECT 'session', id, changed_at FROM sessions \
               WHERE changed_at IS NOT NULL AND changed_at >= $1 \
             UNION ALL SELECT 'user', id, changed_at FROM users \
               WHERE changed_at IS NOT NULL AND changed_at >= $1",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut feed = FeedRows::default();
        for (kind, id, at) in rows {
            let list = match kind.as_str() {
                "revoked" => &mut feed.revoked,
                "session" => &mut feed.sessions_changed,
                _ => &mut feed.users_changed,
            };
            list.push((parse_uuid(&id)?, at));
        }
        Ok(feed)
    }
}

/// What one poll of the revocation feed read: ids with their stamps (ms).
#[derive(Debug, Default)]
pub struct FeedRows {
    pub revoked: Vec<(Uuid, i64)>,
    pub sessions_changed: Vec<(Uuid, i64)>,
    pub users_changed: Vec<(Uuid, i64)>,
}

/// Inserts a session (and, for JWT sessions, its first refresh token) in the
/// caller's transaction, then revokes the user's oldest live sessions past
/// `max_live`; returns the ids revoked to make room. The caller holds the
/// user's row lock (`users::lock_user`), so two sign-ins of one user cannot
/// both miss each other's row when counting against the cap.
pub(super) async fn insert_session(
    conn: &mut AnyConnection,
    new: NewSession<'_>,
    role: Role,
    max_live: u32,
) -> Result<Vec<Uuid>, StoreError> {
    let id = new.id.to_string();
    let user_id = new.user_id.to_string();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, kind, secret_hash, csrf_hash, sealed_successor, created_at, \
         last_seen_at, authenticated_at, idle_expires_at, expires_at, user_agent, ip, keyed_role, client) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(&user_id)
    .bind(kind_columns(new.kind).0)
    .bind(new.secret_hash)
    .bind(new.csrf_hash)
    .bind(new.sealed_csrf)
    .bind(new.now)
    .bind(new.idle_expires_at)
    .bind(new.expires_at)
    .bind(new.user_agent)
    .bind(new.ip)
    .bind(role.as_str())
    .bind(kind_columns(new.kind).1)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    if new.kind.uses_refresh_tokens() {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, generation, issued_at) VALUES ($1, $2, 0, $3)",
        )
        .bind(new.secret_hash)
        .bind(&id)
        .bind(new.now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    let live: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
         AND expires_at > $2 AND idle_expires_at > $2 ORDER BY created_at DESC, id DESC",
    )
    .bind(&user_id)
    .bind(new.now)
    .fetch_all(&mut *conn)
    .await?;
    let mut evicted = Vec::new();
    for (old_id,) in live.into_iter().skip(max_live as usize) {
        let old_id = parse_uuid(&old_id)?;
        if revoke_session_in(conn, old_id, RevokeReason::SessionLimit, new.now).await? {
            evicted.push(old_id);
        }
    }
    Ok(evicted)
}

/// Revokes every live session of a user except `keep`, in the caller's
/// transaction; returns their ids.
pub(super) async fn revoke_user_sessions_in(
    conn: &mut AnyConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: RevokeReason,
    now: i64,
) -> Result<Vec<Uuid>, StoreError> {
    let keep = keep.map(|k| k.to_string()).unwrap_or_default();
    let rows: Vec<(String,)> = sqlx::query_as(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE user_id = $3 AND revoked_at IS NULL AND id <> $4 RETURNING id",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(user_id.to_string())
    .bind(keep)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(|(id,)| parse_uuid(&id)).collect()
}

/// Revokes one session in the caller's transaction; true if it was live
/// until now.
pub(super) async fn revoke_session_in(
    conn: &mut AnyConnection,
    id: Uuid,
    reason: RevokeReason,
    now: i64,
) -> Result<bool, StoreError> {
    let changed =
        sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(reason.as_str())
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(changed == 1)
}
