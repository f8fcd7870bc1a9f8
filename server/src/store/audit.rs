//! The append-only `audit_events` table. Nothing in the API updates or
//! deletes a row; the admin area only reads.

use latchkey_types::AuditEvent;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, StoreError, parse_uuid};
use crate::core::clock::from_ms;

/// User agents are attacker-chosen; keep what is useful and no more.
const USER_AGENT_MAX_CHARS: usize = 256;

/// Every event the audit log records, by the name it is stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    UserCreated,
    UserRegistered,
    LoginSucceeded,
    LoginFailed,
    /// An account or address hit its rate limit (the attempt was refused).
    LoginRateLimited,
    Logout,
    LogoutAll,
    SessionRevoked,
    /// The oldest session made room for a new one past the per-user cap.
    SessionEvicted,
    RefreshReuseDetected,
    /// A refresh of a disabled user's session ended it.
    RefreshRefusedDisabled,
    PasswordChanged,
    PasswordChangeFailed,
    AdminUserUpdated,
    AdminSessionRevoked,
    KeysRotated,
    EmailVerificationSent,
    EmailVerified,
    PasswordResetRequested,
    PasswordResetRefused,
    PasswordReset,
    EmailChangeRequested,
    EmailChangeRefused,
    EmailChanged,
    /// A right password for an account with a second factor: a challenge.
    LoginSecondFactorRequired,
    /// A wrong or replayed second-factor code (sign-in or step-up).
    SecondFactorFailed,
    RecoveryCodeUsed,
    TotpEnrolmentStarted,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRegenerated,
    /// A fresh full authentication for a sensitive action (step-up).
    Reauthenticated,
    ReauthFailed,
    /// An administrator removed a user's second factors.
    AdminFactorsReset,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
    ApiKeyCreated,
    ApiKeyRevoked,
    /// A request with an API key that is unknown, expired, revoked, over
    /// its rate or scope, or whose user is disabled.
    ApiKeyRefused,
    AdminApiKeyRevoked,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::UserCreated => "user.created",
            Event::UserRegistered => "user.registered",
            Event::LoginSucceeded => "login.succeeded",
            Event::LoginFailed => "login.failed",
            Event::LoginRateLimited => "login.rate_limited",
            Event::Logout => "logout",
            Event::LogoutAll => "logout_all",
            Event::SessionRevoked => "session.revoked",
            Event::SessionEvicted => "session.evicted",
            Event::RefreshReuseDetected => "refresh.reuse_detected",
            Event::RefreshRefusedDisabled => "refresh.refused_disabled",
            Event::PasswordChanged => "password.changed",
            Event::PasswordChangeFailed => "password.change_failed",
            Event::AdminUserUpdated => "admin.user_updated",
            Event::AdminSessionRevoked => "admin.session_revoked",
            Event::KeysRotated => "keys.rotated",
            Event::EmailVerificationSent => "email.verification_sent",
            Event::EmailVerified => "email.verified",
            Event::PasswordResetRequested => "password.reset_requested",
            Event::PasswordResetRefused => "password.reset_refused",
            Event::PasswordReset => "password.reset",
            Event::EmailChangeRequested => "email.change_requested",
            Event::EmailChangeRefused => "email.change_refused",
            Event::EmailChanged => "email.changed",
            Event::LoginSecondFactorRequired => "login.second_factor_required",
            Event::SecondFactorFailed => "mfa.failed",
            Event::RecoveryCodeUsed => "mfa.recovery_code_used",
            Event::TotpEnrolmentStarted => "mfa.totp_enrolment_started",
            Event::TotpEnabled => "mfa.totp_enabled",
            Event::TotpDisabled => "mfa.totp_disabled",
            Event::RecoveryCodesRegenerated => "mfa.recovery_codes_regenerated",
            Event::Reauthenticated => "reauth.succeeded",
            Event::ReauthFailed => "reauth.failed",
            Event::AdminFactorsReset => "admin.factors_reset",
            Event::PasskeyAdded => "mfa.passkey_added",
            Event::PasskeyRenamed => "mfa.passkey_renamed",
            Event::PasskeyRemoved => "mfa.passkey_removed",
            Event::ApiKeyCreated => "api_key.created",
            Event::ApiKeyRevoked => "api_key.revoked",
            Event::ApiKeyRefused => "api_key.refused",
            Event::AdminApiKeyRevoked => "admin.api_key_revoked",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent<'a> {
    pub event: Event,
    pub actor_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, FromRow)]
struct AuditRow {
    id: String,
    at: i64,
    event: String,
    actor_id: Option<String>,
    user_id: Option<String>,
    session_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        let parse = |s: Option<String>| s.as_deref().map(parse_uuid).transpose();
        Ok(AuditEvent {
            id: parse_uuid(&row.id)?,
            at: from_ms(row.at),
            event: row.event,
            actor_id: parse(row.actor_id)?,
            user_id: parse(row.user_id)?,
            session_id: parse(row.session_id)?,
            ip: row.ip,
            user_agent: row.user_agent,
            detail: row.detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
    }
}

impl Db {
    pub async fn record_audit(&self, event: NewAuditEvent<'_>, now: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_audit(&mut conn, event, now).await
    }

    /// Newest first, optionally before an event id (cursor pagination) and
    /// narrowed to one event name and/or one user.
    pub async fn audit_events(
        &self,
        limit: i64,
        before: Option<Uuid>,
        event: Option<&str>,
        user_id: Option<Uuid>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        // v7 ids sort by time, so the id itself is the cursor.
        let before = before
            .map(|b| b.to_string())
            .unwrap_or_else(|| "ffffffff-ffff-ffff-ffff-ffffffffffff".into());
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, event, actor_id, user_id, session_id, ip, user_agent, detail FROM audit_events \
             WHERE id < $1 AND (CAST($2 AS TEXT) IS NULL OR event = $2) \
               AND (CAST($3 AS TEXT) IS NULL OR user_id = $3 OR actor_id = $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(before)
        .bind(event)
        .bind(user_id.map(|u| u.to_string()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditEvent::try_from).collect()
    }

    /// Events about one user, newest first (tests and the admin area).
    pub async fn audit_events_for_user(&self, user_id: Uuid) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, event, actor_id, user_id, session_id, ip, user_agent, detail FROM audit_events \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditEvent::try_from).collect()
    }
}

/// Records an audit event in the caller's transaction (or connection).
pub(super) async fn insert_audit(
    conn: &mut sqlx::AnyConnection,
    event: NewAuditEvent<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let user_agent = event
        .user_agent
        .map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect::<String>());
    sqlx::query(
        "INSERT INTO audit_events (id, at, event, actor_id, user_id, session_id, ip, user_agent, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(now)
    .bind(event.event.as_str())
    .bind(event.actor_id.map(|u| u.to_string()))
    .bind(event.user_id.map(|u| u.to_string()))
    .bind(event.session_id.map(|u| u.to_string()))
    .bind(event.ip)
    .bind(user_agent)
    .bind(event.detail.map(|d| d.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
