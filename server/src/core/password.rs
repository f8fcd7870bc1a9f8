//! Password policy (NIST SP 800-63B-4) and argon2id hashing off the runtime.
//!
//! The policy is length plus a real guessability check (zxcvbn, which ships
//! dictionaries of common and breached passwords), never composition rules.
//! Hashing runs on the blocking pool behind a semaphore: argon2 on the async
//! workers would stall every other request, and an unbounded queue would let
//! a login flood eat all memory and cores. Past the bound the caller gets
//! `HashError::Busy`, which the API answers with 503 and `Retry-After`.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

use super::identity::Email;

/// Longest password accepted, in bytes, checked before any other work.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password that passed the policy, NFKC-normalised. `Debug` shows no
/// secret: `SecretString` redacts itself.
#[derive(Debug)]
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_chars: usize,
}

impl PasswordPolicy {
    /// Checks a candidate password; the error lists every reason, in words
    /// meant for the person choosing it.
    pub fn check(&self, raw: &str, email: Option<&Email>) -> Result<NewPassword, Vec<String>> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(vec![format!("must be at most {MAX_PASSWORD_BYTES} bytes")]);
        }
        let password = normalize(raw);
        let password = password.expose_secret();
        let mut problems = Vec::new();
        if password.len() > MAX_PASSWORD_BYTES {
            problems.push(format!("must be at most {MAX_PASSWORD_BYTES} bytes"));
        }
        let chars = password.chars().count();
        if chars < self.min_chars {
            problems.push(format!(
                "must be at least {} characters (it has {chars})",
                self.min_chars
            ));
        }
        if let Some(email) = email {
            let lowered = password.to_lowercase();
            if lowered == email.key() || lowered == email.local_part() {
                problems.push("must not be your email address".to_string());
            }
        }
        if problems.is_empty() {
            let inputs: Vec<&str> = email.iter().flat_map(|e| [e.key(), e.local_part()]).collect();
            let estimate = zxcvbn::zxcvbn(password, &inputs);
            if estimate.score() < zxcvbn::Score::Three {
                let why = estimate
                    .feedback()
                    .and_then(|f| f.warning())
                    .map(|w| format!(": {}", w.to_string().trim_end_matches('.').to_lowercase()))
                    .unwrap_or_default();
                problems.push(format!(
                    "is too easy to guess{why}; a few unrelated words make a strong passphrase"
                ));
            }
        }
        if problems.is_empty() {
            Ok(NewPassword(SecretString::from(password.to_string())))
        } else {
            Err(problems)
        }
    }
}

/// NFKC, so that the same passphrase typed on two keyboards hashes the same.
pub fn normalize(raw: &str) -> SecretString {
    SecretString::from(raw.nfkc().collect::<String>())
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password hashes in flight")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// argon2id with a bound on the work in flight.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    /// Verified instead when the account does not exist, so an unknown email
    /// costs the same argon2 work as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `permits` hashes run at once; up to `queue_per_permit` × `permits`
    /// more may wait; anything beyond is refused at once.
    pub fn new(permits: usize, queue_per_permit: usize) -> Result<Self, HashError> {
        Self::with_params(permits, queue_per_permit, Params::DEFAULT)
    }

    pub fn with_params(permits: usize, queue_per_permit: usize, params: Params) -> Result<Self, HashError> {
        let permits = permits.max(1);
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon
            .hash_password(b"latchkey dummy password for unknown accounts")
            .map_err(|e| HashError::Internal(e.to_string()))?
            .to_string();
        Ok(PasswordHasher {
            argon: Arc::new(argon),
            running: Arc::new(Semaphore::new(permits)),
            admitted: Arc::new(Semaphore::new(permits * (1 + queue_per_permit.max(1)))),
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let argon = self.argon.clone();
        let secret = password.secret().clone();
        self.run_bounded(move || {
            argon
                .hash_password(secret.expose_secret().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Internal(e.to_string()))
        })
        .await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no account, so both paths take the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, HashError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let argon = self.argon.clone();
        let secret = normalize(password);
        let exists = stored.is_some();
        let hash: String = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_string);
        let matched = self
            .run_bounded(move || {
                Ok(argon
                    .verify_password(secret.expose_secret().as_bytes(), hash.as_str())
                    .is_ok())
            })
            .await?;
        Ok(exists && matched)
    }

    /// Runs other CPU-heavy password work (the zxcvbn estimate) on the same
    /// bounded blocking pool as the hashes.
    pub async fn offload<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        self.run_bounded(move || Ok(work())).await
    }

    async fn run_bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _admitted = self.admitted.clone().try_acquire_owned().map_err(|_| HashError::Busy)?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _running = running;
            work()
        })
        .await
        .map_err(|e| HashError::Internal(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy { min_chars: 15 }
    }

    #[test]
    fn length_is_counted_in_code_points_after_nfkc() {
        // 14 and 15 four-byte characters: bytes would say "long enough".
        assert!(policy().check(&"🦀".repeat(14), None).is_err());
        // "ﬀ" (one code point) becomes "ff" (two) under NFKC.
        let reasons = policy().check("ﬀﬀﬀﬀﬀﬀﬀ", None).unwrap_err();
        assert!(reasons[0].contains("it has 14"), "{reasons:?}");
    }

    #[test]
    fn oversized_passwords_are_refused_before_any_work() {
        let reasons = policy().check(&"x".repeat(1_000_000), None).unwrap_err();
        assert_eq!(reasons, vec!["must be at most 1024 bytes".to_string()]);
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        let email = Email::parse("grace.hopper@example.com").unwrap();
        assert!(policy().check("passwordpassword", None).is_err());
        assert!(policy().check("aaaaaaaaaaaaaaaa", None).is_err());
        assert!(policy().check("123456789012345678", None).is_err());
        let reasons = policy().check("grace.hopper@example.com", Some(&email)).unwrap_err();
        assert!(reasons.iter().any(|r| r.contains("email")), "{reasons:?}");
        assert!(policy().check("Grace.Hopper1234", Some(&email)).is_err());
    }

    #[test]
    fn long_unrelated_passphrases_pass() {
        let email = Email::parse("grace.hopper@example.com").unwrap();
        assert!(policy().check("correct horse battery staple", Some(&email)).is_ok());
        assert!(policy().check("vivid-otter-maps-the-quiet-dune", Some(&email)).is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let hasher = PasswordHasher::with_params(1, 4, Params::new(1024, 1, 1, None).unwrap()).unwrap();
        let pw = policy().check("correct horse battery staple", None).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"));
        assert!(
            hasher
                .verify("correct horse battery staple", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("correct horse battery stapl", Some(&hash)).await.unwrap());
        // The dummy hash's own password still fails when there is no account.
        let dummy = "latchkey dummy password for unknown accounts";
        assert!(!hasher.verify(dummy, None).await.unwrap());
    }

    #[test]
    fn default_parameters_meet_the_owasp_minimum() {
        let p = Params::DEFAULT;
        assert!(p.m_cost() >= 19_456 && p.t_cost() >= 2 && p.p_cost() >= 1);
    }

    #[tokio::test]
    async fn work_past_the_bound_is_refused_not_queued() {
        let hasher = PasswordHasher::with_params(1, 1, Params::new(8 * 1024, 4, 1, None).unwrap()).unwrap();
        let pw = policy().check("correct horse battery staple", None).unwrap();
        let pw = Arc::new(pw);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (h, p) = (hasher.clone(), pw.clone());
                tokio::spawn(async move { h.hash(&p).await })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(HashError::Busy)) {
                busy += 1;
            }
        }
        // One running plus one waiting are admitted; the rest are refused.
        assert!(busy >= 5, "only {busy} of 8 refused");
    }
}
