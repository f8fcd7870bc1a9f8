//! Queries of the admin area: user search and the role/disabled update with
//! its last-admin rule.

use uuid::Uuid;

use super::sessions::{RevokeReason, revoke_user_sessions_in};
use super::users::UserRecord;
use super::{Db, StoreError};

/// `%`, `_` and the escape character itself match literally in a search.
fn like_pattern(query: &str) -> String {
    let mut pattern = String::with_capacity(query.len() + 2);
    pattern.push('%');
    for c in query.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// What an admin asked to change.
#[derive(Debug, Clone, Copy)]
pub struct UserChange {
    pub role: Option<latchkey_types::Role>,
    pub disabled: Option<bool>,
}

#[derive(Debug)]
pub enum UserChangeOutcome {
    Updated {
        user: UserRecord,
        revoked: Vec<Uuid>,
    },
    NotFound,
    /// The change would leave no enabled admin.
    LastAdmin,
}

impl Db {
    /// Users whose email or display name contains `query` (case-insensitive,
    /// matched literally), oldest first, one page; and the total count.
    pub async fn search_users(
        &self,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<UserRecord>, i64), StoreError> {
        let pattern = like_pattern(query);
        let users = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE email_key LIKE $1 ESCAPE '\\' OR display_name_key LIKE $1 ESCAPE '\\' \
              ORDER BY created_at, id LIMIT $2 OFFSET $3"
        ))
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE email_key LIKE $1 ESCAPE '\\' \
             OR display_name_key LIKE $1 ESCAPE '\\'",
        )
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?;
        Ok((users, total))
    }

    /// Applies a role/disabled change in one transaction. Demotion or
    /// disabling revokes every session of the user in the same transaction,
    /// so a role in an access token never outlives it; the last enabled
    /// admin can be neither demoted nor disabled.
    pub async fn change_user(&self, id: Uuid, change: UserChange, now: i64) -> Result<UserChangeOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first: on SQLite this takes the write lock before anything is
        // read; on PostgreSQL it locks the admin rows being counted.
        sqlx::query("UPDATE users SET updated_at = updated_at WHERE role = 'admin' OR id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let found: Option<UserRecord> =
            sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(user) = found else {
            return Ok(UserChangeOutcome::NotFound);
        };
        let was_admin = user.role() == latchkey_types::Role::Admin && !user.is_disabled();
        let demoted = change.role == Some(latchkey_types::Role::User) && user.role() == latchkey_types::Role::Admin;
        let disabling = change.disabled == Some(true) && !user.is_disabled();
        if was_admin && (demoted || disabling) {
            let enabled_admins: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL")
                    .fetch_one(&mut *tx)
                    .await?;
            if enabled_admins <= 1 {
                return Ok(UserChangeOutcome::LastAdmin);
            }
        }
        let role = change.role.unwrap_or(user.role());
        let disabled_at = match change.disabled {
            Some(true) => user.disabled_at.or(Some(now)),
            Some(false) => None,
            None => user.disabled_at,
        };
        sqlx::query("UPDATE users SET role = $1, disabled_at = $2, updated_at = $3 WHERE id = $4")
            .bind(role.as_str())
            .bind(disabled_at)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let revoked = if demoted || disabling {
            revoke_user_sessions_in(&mut tx, id, None, RevokeReason::AccountChanged, now).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        let user = UserRecord {
            role: role.as_str().to_string(),
            disabled_at,
            ..user
        };
        Ok(UserChangeOutcome::Updated { user, revoked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_match_literally() {
        assert_eq!(like_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
        assert_eq!(like_pattern("ADA"), "%ada%");
    }
}
