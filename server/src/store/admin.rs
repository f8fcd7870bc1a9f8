//! Queries of the admin area: the user search. (The role/disabled change
//! is a transaction over several tables: `accounts.rs`.)

use super::users::{UserRecord, UserRow, user_records};
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
        let users: Vec<UserRow> = sqlx::query_as(concat!(
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
        Ok((user_records(users)?, total))
    }

    /// The confirmed TOTP factors among `users`: when confirmed, when last
    /// used, and how many recovery codes are left.
    pub async fn factor_summaries(
        &self,
        users: &[uuid::Uuid],
    ) -> Result<std::collections::HashMap<uuid::Uuid, FactorSummary>, StoreError> {
        if users.is_empty() {
            return Ok(Default::default());
        }
        let placeholders: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
        let placeholders = placeholders.join(", ");
        // Only numbered placeholders are formatted in; the ids are bound.
        let sql = format!(
            "SELECT u.id, t.confirmed_at, t.last_used_at, \
             (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) \
             FROM users u LEFT JOIN totp_factors t ON t.user_id = u.id AND t.confirmed_at IS NOT NULL \
             WHERE u.id IN ({placeholders})"
        );
        let mut query = sqlx::query_as::<_, (String, Option<i64>, Option<i64>, i64)>(sqlx::AssertSqlSafe(sql));
        for id in users {
            query = query.bind(id.to_string());
        }
        let mut summaries = std::collections::HashMap::new();
        for (id, confirmed_at, last_used_at, codes_left) in query.fetch_all(&self.pool).await? {
            summaries.insert(
                super::parse_uuid(&id)?,
                FactorSummary {
                    totp_confirmed_at: confirmed_at,
                    totp_last_used_at: last_used_at,
                    codes_left,
                    passkeys: Vec::new(),
                },
            );
        }
        let sql = format!(
            "SELECT id, user_id, credential_id, name, passkey, created_at, last_used_at FROM passkeys \
             WHERE user_id IN ({placeholders}) ORDER BY created_at, id"
        );
        let mut query = sqlx::query_as::<_, super::passkeys::PasskeyRow>(sqlx::AssertSqlSafe(sql));
        for id in users {
            query = query.bind(id.to_string());
        }
        for row in query.fetch_all(&self.pool).await? {
            if let Some(summary) = summaries.get_mut(&super::parse_uuid(&row.user_id)?) {
                summary.passkeys.push(row);
            }
        }
        Ok(summaries)
    }
}

/// One user's second factors, for the admin list.
#[derive(Debug, Clone)]
pub struct FactorSummary {
    pub totp_confirmed_at: Option<i64>,
    pub totp_last_used_at: Option<i64>,
    pub codes_left: i64,
    pub passkeys: Vec<super::passkeys::PasskeyRow>,
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
