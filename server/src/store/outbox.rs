//! The `outbox` table: mails waiting to be sent. A request writes its mail
//! here (usually in the transaction of what caused it) and returns; a
//! background sender (`mail::spawn_sender`) claims due rows under a short
//! lease, sends them and marks them sent, or schedules a retry. Several
//! replicas may drain one outbox: a claim is one `UPDATE … RETURNING` that
//! sets the lease (with `FOR UPDATE SKIP LOCKED` on PostgreSQL), so no two
//! senders hold the same mail.

use sqlx::{AnyConnection, FromRow};
use uuid::Uuid;

use super::{Backend, Db, StoreError, parse_uuid};

/// A mail to queue.
pub struct NewMail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

/// A claimed mail, ready to send.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub created_at: i64,
    /// Including this one.
    pub attempts: i64,
}

#[derive(FromRow)]
struct QueuedRow {
    id: String,
    to_address: String,
    subject: String,
    text_body: String,
    html_body: String,
    created_at: i64,
    attempts: i64,
}

/// Queues a mail in the caller's transaction; due at once.
pub(super) async fn enqueue_in(conn: &mut AnyConnection, mail: NewMail<'_>, now: i64) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox (id, to_address, subject, text_body, html_body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id.to_string())
    .bind(mail.to)
    .bind(mail.subject)
    .bind(mail.text)
    .bind(mail.html)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

impl Db {
    /// Claims up to `limit` due mails for `lease_ms`, counting the attempt.
    pub async fn claim_mail(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<QueuedMail>, StoreError> {
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 WHERE id IN (\
               SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
               AND (locked_until IS NULL OR locked_until < $2) ORDER BY next_attempt_at LIMIT $3{skip_locked}) \
             RETURNING id, to_address, subject, text_body, html_body, created_at, attempts"
        );
        let rows: Vec<QueuedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(QueuedMail {
                    id: parse_uuid(&r.id)?,
                    to: r.to_address,
                    subject: r.subject,
                    text: r.text_body,
                    html: r.html_body,
                    created_at: r.created_at,
                    attempts: r.attempts,
                })
            })
            .collect()
    }

    pub async fn mail_sent(&self, id: Uuid, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET sent_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A failed attempt: retry at `retry_at`, or give up (`None`).
    pub async fn mail_failed(&self, id: Uuid, error: &str, retry_at: Option<i64>, now: i64) -> Result<(), StoreError> {
        let error: String = error.chars().take(500).collect();
        sqlx::query(
            "UPDATE outbox SET locked_until = NULL, last_error = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), failed_at = CASE WHEN $2 IS NULL THEN $3 END \
             WHERE id = $4",
        )
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
