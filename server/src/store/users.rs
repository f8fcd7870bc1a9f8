//! The `users` table, one row at a time. Writes that also touch sessions
//! or the audit log are in `accounts.rs`.

use latchkey_types::{Role, User};
use sqlx::{AnyConnection, FromRow};
use uuid::Uuid;

use super::{Backend, Db, StoreError, parse_uuid};
use crate::core::clock::from_ms;
use crate::core::identity::{DisplayName, Email};

/// A user as stored, including what never leaves the server. `Debug`
/// leaves the password hash out.
#[derive(Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub email_verified_at: Option<i64>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .field("created_at", &self.created_at)
            .field("email_verified_at", &self.email_verified_at)
            .finish()
    }
}

/// The row as the driver reads it; `UserRecord` is what the rest sees.
#[derive(FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    display_name: Option<String>,
    password_hash: String,
    role: String,
    disabled_at: Option<i64>,
    created_at: i64,
    email_verified_at: Option<i64>,
}

#[derive(FromRow)]
struct SignInRow {
    #[sqlx(flatten)]
    user: UserRow,
    totp: i64,
    passkeys: i64,
}

impl SignInRow {
    fn into_parts(self) -> Result<(UserRecord, FactorCounts), StoreError> {
        let counts = FactorCounts {
            totp: self.totp,
            passkeys: self.passkeys,
        };
        Ok((UserRecord::try_from(self.user)?, counts))
    }
}

/// How many confirmed second factors of each kind an account has.
#[derive(Debug, Clone, Copy, Default)]
pub struct FactorCounts {
    pub totp: i64,
    pub passkeys: i64,
}

impl FactorCounts {
    /// Whether the account has no second factor (a password alone signs in).
    pub fn is_none(self) -> bool {
        self.totp + self.passkeys == 0
    }

    /// The ways to answer a second step: none without a factor; recovery
    /// codes stand in for any.
    pub fn methods(self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.totp > 0 {
            methods.push("totp");
        }
        if self.passkeys > 0 {
            methods.push("passkey");
        }
        if !methods.is_empty() {
            methods.push("recovery_code");
        }
        methods
    }
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(UserRecord {
            id: parse_uuid(&row.id)?,
            role: Role::parse(&row.role).ok_or_else(|| StoreError::Corrupt(format!("role {:?}", row.role)))?,
            email: row.email,
            display_name: row.display_name,
            password_hash: row.password_hash,
            disabled_at: row.disabled_at,
            created_at: row.created_at,
            email_verified_at: row.email_verified_at,
        })
    }
}

pub(crate) fn user_records(rows: Vec<UserRow>) -> Result<Vec<UserRecord>, StoreError> {
    rows.into_iter().map(UserRecord::try_from).collect()
}

impl UserRecord {
    /// The stored address as an `Email` (for lookups and mail). Addresses
    /// stored before the current syntax rule still qualify.
    pub fn stored_email(&self) -> Result<Email, StoreError> {
        Email::existing(&self.email).map_err(|why| StoreError::Corrupt(format!("stored email of {} {why}", self.id)))
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    pub fn to_api(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            created_at: from_ms(self.created_at),
            email_verified_at: self.email_verified_at.map(from_ms),
        }
    }
}

/// The columns `UserRow` reads, as a literal so queries stay `'static`.
macro_rules! user_columns {
    () => {
        "id, email, display_name, password_hash, role, disabled_at, created_at, email_verified_at"
    };
}

/// The two counts behind `FactorCounts`, as `totp, passkeys` columns, for
/// the user whose id is the SQL expression `$user`.
macro_rules! factor_count_columns {
    ($user:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM totp_factors t WHERE t.user_id = ",
            $user,
            " AND t.confirmed_at IS NOT NULL) AS totp, ",
            "(SELECT COUNT(*) FROM passkeys p WHERE p.user_id = ",
            $user,
            ") AS passkeys"
        )
    };
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: Option<&'a DisplayName>,
    pub password_hash: &'a str,
    pub role: Role,
    /// Whether the address counts as verified from the start (an operator
    /// vouching for it on the command line); otherwise a mailed link does.
    pub email_verified: bool,
}

/// Inserts a user inside the caller's transaction; `StoreError::Conflict`
/// when the email is taken.
pub(super) async fn insert_user(
    conn: &mut AnyConnection,
    new: NewUser<'_>,
    now: i64,
) -> Result<UserRecord, StoreError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, email, email_key, display_name, display_name_key, password_hash, role, \
             created_at, updated_at, email_verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(id.to_string())
    .bind(new.email.as_str())
    .bind(new.email.key())
    .bind(new.display_name.map(|n| n.as_str().to_string()))
    .bind(new.display_name.map(|n| n.as_str().to_lowercase()))
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(now)
    .bind(new.email_verified.then_some(now))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(UserRecord {
        id,
        email: new.email.as_str().to_string(),
        display_name: new.display_name.map(|n| n.as_str().to_string()),
        password_hash: new.password_hash.to_string(),
        role: new.role,
        disabled_at: None,
        created_at: now,
        email_verified_at: new.email_verified.then_some(now),
    })
}

/// Takes the user's row lock first (SQLite: the database's write lock, so
/// nothing read afterwards can change before commit; PostgreSQL: the row
/// lock), then reads the row as it is now, in one statement. SQLite has no
/// row locks: a no-op update takes the lock and `RETURNING` reads the row
/// as locked. PostgreSQL locks with `FOR NO KEY UPDATE` — what that update
/// would lock, without writing a new version of the row.
macro_rules! locking_read {
    ($columns:expr) => {
        [
            concat!("SELECT ", $columns, " FROM users WHERE id = $1 FOR NO KEY UPDATE"),
            concat!(
                "UPDATE users SET updated_at = updated_at WHERE id = $1 RETURNING ",
                $columns
            ),
        ]
    };
}

/// Which of a [`locking_read!`] pair this connection takes.
fn locking(conn: &AnyConnection, [postgres, sqlite]: [&'static str; 2]) -> &'static str {
    match Backend::of(conn) {
        Backend::Postgres => postgres,
        Backend::Sqlite => sqlite,
    }
}

pub(super) async fn lock_user(conn: &mut AnyConnection, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
    let sql = locking(conn, locking_read!(user_columns!()));
    let row: Option<UserRow> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(UserRecord::try_from).transpose()
}

/// [`lock_user`] with the user's confirmed second factors, as a password
/// sign-in needs them: one round trip.
pub(super) async fn lock_sign_in(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<(UserRecord, FactorCounts)>, StoreError> {
    let sql = locking(
        conn,
        locking_read!(concat!(user_columns!(), ", ", factor_count_columns!("users.id"))),
    );
    let row: Option<SignInRow> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(SignInRow::into_parts).transpose()
}

impl Db {
    pub async fn find_user(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(UserRecord::try_from).transpose()
    }

    /// The account a sign-in names, with the second factors it has, in one
    /// read (the usual sign-in, without a factor, asks nothing more before
    /// its transaction).
    pub async fn find_sign_in(&self, email: &Email) -> Result<Option<(UserRecord, FactorCounts)>, StoreError> {
        let row: Option<SignInRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            ", ",
            factor_count_columns!("users.id"),
            " FROM users WHERE email_key = $1"
        ))
        .bind(email.key())
        .fetch_optional(&self.pool)
        .await?;
        row.map(SignInRow::into_parts).transpose()
    }

    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE email_key = $1"))
                .bind(email.key())
                .fetch_optional(&self.pool)
                .await?;
        row.map(UserRecord::try_from).transpose()
    }

    pub async fn set_display_name(&self, id: Uuid, name: Option<&DisplayName>, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET display_name = $1, display_name_key = $2, updated_at = $3 WHERE id = $4")
            .bind(name.map(|n| n.as_str().to_string()))
            .bind(name.map(|n| n.as_str().to_lowercase()))
            .bind(now)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_the_password_hash_out() {
        let user = UserRecord {
            id: Uuid::now_v7(),
            email: "ada@example.com".into(),
            display_name: None,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            role: Role::User,
            disabled_at: None,
            created_at: 0,
            email_verified_at: None,
        };
        let printed = format!("{user:?}");
        assert!(!printed.contains("argon2id"), "{printed}");
        assert!(printed.contains("ada@example.com"), "{printed}");
    }
}
