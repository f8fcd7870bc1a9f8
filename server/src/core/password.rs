//! Password policy (NIST SP 800-63B-4) and argon2id hashing off the runtime.
//!
//! The policy is length plus a real guessability check (zxcvbn, which ships
//! dictionaries of common and breached passwords), never composition rules.
//! Hashing runs on threads of its own, one per permit: argon2 on the async
//! workers would stall every other request, and an unbounded queue would let
//! a login flood eat all memory and cores. Past the bound the caller gets
//! `HashError::Busy`, which the API answers with 503 and `Retry-After`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use argon2::password_hash::{
    self,
    phc::{Output, ParamsString, PasswordHash, Salt},
};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Semaphore, oneshot};
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

/// Work for a hash thread, lent that thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// argon2id on threads of its own, with a bound on the work in flight.
///
/// Each of the `permits` threads takes the next job from one queue as soon
/// as it finishes the last: a hash never waits for an async worker to be
/// scheduled before it starts, which under load (every async worker busy
/// with other requests) would leave a hash thread idle between hashes.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    /// The hash threads stop when the last clone of this is dropped.
    jobs: mpsc::Sender<Job>,
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
        let blocks = argon.params().block_count();
        let dummy_hash = hash_into(
            &argon,
            &mut vec![Block::new(); blocks],
            b"latchkey dummy password for unknown accounts",
        )?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..permits {
            let queue = queue.clone();
            thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hash_thread(&queue, blocks))
                .map_err(internal)?;
        }
        Ok(PasswordHasher {
            argon: Arc::new(argon),
            jobs,
            admitted: Arc::new(Semaphore::new(permits * (1 + queue_per_permit.max(1)))),
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let secret = password.secret().clone();
        self.run(move |argon, memory| hash_into(argon, memory, secret.expose_secret().as_bytes()))
            .await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no account, so both paths take the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, HashError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let secret = normalize(password);
        let exists = stored.is_some();
        let hash: String = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_string);
        let matched = self
            .run(move |_, memory| Ok(verify_into(memory, secret.expose_secret().as_bytes(), &hash)))
            .await?;
        Ok(exists && matched)
    }

    /// Runs other CPU-heavy password work (the zxcvbn estimate) on the same
    /// bounded threads as the hashes.
    pub async fn offload<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        self.run(move |_, _| Ok(work())).await
    }

    /// Queues `work` for the hash threads, or refuses it at once when the
    /// bound is reached. Work whose caller has gone (the request was
    /// dropped) by the time a thread takes it is skipped.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>, &mut [Block]) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| HashError::Busy)?;
        let (done, result) = oneshot::channel();
        let argon = self.argon.clone();
        let job: Job = Box::new(move |memory| {
            let _admitted = admitted;
            if !done.is_closed() {
                // The caller may have gone meanwhile; then nobody wants this.
                let _ = done.send(work(&argon, memory));
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| HashError::Internal("the hash threads have stopped".into()))?;
        result
            .await
            .map_err(|_| HashError::Internal("a password hash panicked".into()))?
    }
}

/// One hash thread: takes jobs until every sender is gone, lending each its
/// argon2 memory (19 MiB at the default cost), allocated on first need and
/// kept: a fresh zeroed allocation per hash would be mapped, faulted in page
/// by page and unmapped again. A job that panics fails its own caller only.
fn hash_thread(queue: &Mutex<mpsc::Receiver<Job>>, blocks: usize) {
    let mut memory = Vec::new();
    loop {
        // One thread waits on the queue; the guard goes before the work.
        let next = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
        let Ok(job) = next else { return };
        if memory.is_empty() {
            memory = vec![Block::new(); blocks];
        }
        let _ = panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

fn internal(err: impl std::fmt::Display) -> HashError {
    HashError::Internal(err.to_string())
}

/// A new PHC string for `password` (a fresh 16-byte salt), hashed in
/// `memory` (exactly the block count of `argon`'s parameters).
fn hash_into(argon: &Argon2<'_>, memory: &mut [Block], password: &[u8]) -> Result<String, HashError> {
    let salt = password_hash::try_generate_salt().map_err(internal)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(password, &salt, &mut out, memory)
        .map_err(internal)?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(internal)?,
        salt: Some(Salt::new(&salt).map_err(internal)?),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, compared in
/// constant time. A hash whose parameters need another amount of memory
/// than `memory` (an older cost) still verifies, in memory of its own size;
/// anything that is not an argon2 PHC string matches nothing.
fn verify_into(memory: &mut [Block], password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        parsed.version.map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let hashed = if argon.params().block_count() == memory.len() {
        argon.hash_password_into_with_memory(password, salt, out, memory)
    } else {
        argon.hash_password_into(password, salt, out)
    };
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(out).is_ok_and(|computed| computed == *expected)
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

    /// A cheap cost for tests: 64 KiB, one pass.
    fn cheap() -> Params {
        Params::new(64, 1, 1, None).unwrap()
    }

    fn stock(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    fn ours(params: Params) -> (Argon2<'static>, Vec<Block>) {
        let argon = stock(params);
        let memory = vec![Block::new(); argon.params().block_count()];
        (argon, memory)
    }

    #[test]
    fn our_strings_are_argon2s_own_and_its_are_ours() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let (argon, mut memory) = ours(cheap());
        let ours_hash = hash_into(&argon, &mut memory, b"a password").unwrap();
        assert!(ours_hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{ours_hash}");
        assert!(argon.verify_password(b"a password", ours_hash.as_str()).is_ok());
        assert!(argon.verify_password(b"a passwore", ours_hash.as_str()).is_err());

        let theirs = argon.hash_password(b"a password").unwrap().to_string();
        assert!(verify_into(&mut memory, b"a password", &theirs));
        assert!(!verify_into(&mut memory, b"a passwore", &theirs));
        // Salted: the same password never hashes to the same string twice.
        assert_ne!(ours_hash, hash_into(&argon, &mut memory, b"a password").unwrap());
    }

    #[test]
    fn hashes_of_another_cost_or_kind_verify_by_their_own_parameters() {
        use argon2::PasswordHasher as _;
        let (current, mut memory) = ours(cheap());
        // An older, cheaper cost; a longer output; argon2i and version 0x10.
        let older = stock(Params::new(32, 2, 1, None).unwrap());
        let longer = stock(Params::new(64, 1, 1, Some(48)).unwrap());
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x10, cheap());
        for other in [older, longer, argon2i] {
            let stored = other.hash_password(b"a password").unwrap().to_string();
            assert!(verify_into(&mut memory, b"a password", &stored), "{stored}");
            assert!(!verify_into(&mut memory, b"another", &stored), "{stored}");
        }
        assert_eq!(memory.len(), current.params().block_count());
    }

    #[test]
    fn anything_tampered_or_not_a_hash_matches_nothing() {
        let (argon, mut memory) = ours(cheap());
        let stored = hash_into(&argon, &mut memory, b"a password").unwrap();
        let (head, output) = stored.rsplit_once('$').unwrap();
        let (params_and_kind, salt) = head.rsplit_once('$').unwrap();
        let flip = |s: &str| {
            let mut bytes = s.as_bytes().to_vec();
            bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).unwrap()
        };
        let tampered = [
            format!("{head}${}", flip(output)),
            format!("{params_and_kind}${}${output}", flip(salt)),
            stored.replace("t=1", "t=2"),
            stored.replace("argon2id", "argon2i"),
            stored.replace("argon2id", "scrypt"),
            format!("{head}$"),
            format!("{head}${}", &output[..output.len() - 2]),
            head.to_string(),
            String::new(),
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".into(),
            "not a hash at all".into(),
        ];
        for stored in &tampered {
            assert!(!verify_into(&mut memory, b"a password", stored), "{stored}");
        }
    }

    /// The hasher still hashes, and verifies what it hashed.
    async fn still_hashes(hasher: &PasswordHasher) {
        let pw = policy().check("correct horse battery staple", None).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(
            hasher
                .verify("correct horse battery staple", Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn permits_hashes_run_at_once_and_never_more() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let hasher = PasswordHasher::with_params(2, 8, cheap()).unwrap();
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // Two jobs meet at a barrier (which needs both running at once); the
        // rest count how many run together.
        let both = Arc::new(std::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (h, running, most, both) = (hasher.clone(), running.clone(), most.clone(), both.clone());
                tokio::spawn(async move {
                    h.offload(move || {
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        if i < 2 {
                            both.wait();
                        }
                        running.fetch_sub(1, SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(most.load(SeqCst), 2);
        still_hashes(&hasher).await;
    }

    #[tokio::test]
    async fn work_whose_caller_has_gone_is_skipped() {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        let hasher = PasswordHasher::with_params(1, 8, cheap()).unwrap();
        let (started, running) = oneshot::channel();
        let (release, hold) = mpsc::channel::<()>();
        let held = tokio::spawn({
            let h = hasher.clone();
            async move {
                h.offload(move || {
                    started.send(()).unwrap();
                    hold.recv()
                })
                .await
            }
        });
        running.await.unwrap();
        // Queued behind the held thread (polled once), then dropped.
        let ran = Arc::new(AtomicBool::new(false));
        let mut abandoned = Box::pin(hasher.offload({
            let ran = ran.clone();
            move || ran.store(true, SeqCst)
        }));
        tokio::select! {
            biased;
            _ = &mut abandoned => panic!("ran while the only thread was held"),
            () = std::future::ready(()) => {}
        }
        drop(abandoned);
        release.send(()).unwrap();
        held.await.unwrap().unwrap().unwrap();
        // One thread, first in first out: the abandoned job's turn has passed.
        hasher.offload(|| ()).await.unwrap();
        assert!(!ran.load(SeqCst));
    }

    #[tokio::test]
    async fn a_panic_fails_its_own_caller_and_the_thread_lives_on() {
        let hasher = PasswordHasher::with_params(1, 1, cheap()).unwrap();
        let failed = hasher.offload(|| panic!("a bug in password work")).await;
        assert!(matches!(failed, Err(HashError::Internal(_))), "{failed:?}");
        still_hashes(&hasher).await;
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Reused memory carries nothing from one hash into the next: every
        /// string verifies under argon2's own verifier, for its password only.
        #[test]
        fn reused_memory_hashes_like_fresh_memory(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            use argon2::PasswordVerifier as _;
            let (argon, mut memory) = ours(cheap());
            let first = hash_into(&argon, &mut memory, a.as_bytes()).unwrap();
            let second = hash_into(&argon, &mut memory, b.as_bytes()).unwrap();
            proptest::prop_assert!(argon.verify_password(a.as_bytes(), first.as_str()).is_ok());
            proptest::prop_assert!(argon.verify_password(b.as_bytes(), second.as_str()).is_ok());
            proptest::prop_assert!(verify_into(&mut memory, a.as_bytes(), &first));
            proptest::prop_assert_eq!(verify_into(&mut memory, b.as_bytes(), &first), a == b);
        }
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
