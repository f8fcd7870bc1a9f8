//! The key that encrypts the signing keys kept in the database: a copy of
//! the `signing_keys` table (a backup, a read replica, an SQL injection
//! somewhere else) must not be enough to mint access tokens.
//!
//! The key-encryption key is 32 random bytes in a file
//! (`LATCHKEY_KEY_ENCRYPTION_KEY_FILE`; by default beside the SQLite
//! database, or under `data/`), created with mode 0600 on first start.
//! Replicas of one database must share that file. Private keys are sealed
//! with ChaCha20-Poly1305 under it, bound to their key id.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;

/// What a sealed private key starts with in the table.
const SEALED_PREFIX: &str = "sealed1:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

pub struct KeyVault {
    cipher: ChaCha20Poly1305,
    path: PathBuf,
}

impl std::fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVault")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Where the key-encryption key lives when no file is configured: beside a
/// SQLite database, else under `data/` in the working directory.
pub fn default_path(database_url: &str) -> PathBuf {
    let sqlite_dir = database_url
        .strip_prefix("sqlite:")
        .map(|rest| rest.trim_start_matches("//"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .and_then(|path| Path::new(path).parent().map(Path::to_path_buf));
    match sqlite_dir {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("latchkey-keys.secret"),
        _ => PathBuf::from("data/latchkey-keys.secret"),
    }
}

impl KeyVault {
    /// Reads the key-encryption key, creating the file (0600) if it does
    /// not exist yet; says so, since every replica needs the same file.
    pub fn open_or_create(settings: &Settings) -> anyhow::Result<Self> {
        let path = settings
            .key_encryption_key_file
            .clone()
            .unwrap_or_else(|| default_path(&settings.database_url));
        let key = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(&path)?,
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read the key-encryption key {}", path.display()));
            }
        };
        if key.len() != KEY_LEN {
            bail!(
                "the key-encryption key {} must hold exactly {KEY_LEN} bytes (it has {})",
                path.display(),
                key.len()
            );
        }
        warn_if_readable_by_others(&path);
        Ok(KeyVault {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            path,
        })
    }

    /// Seals a private key (PEM) under the key-encryption key, bound to `kid`.
    pub fn seal(&self, kid: &str, pem: &SecretString) -> String {
        self.seal_bytes(kid, pem.expose_secret().as_bytes())
    }

    /// Seals any secret (a TOTP secret, say) bound to `context`: it opens
    /// only under this key and for that context.
    pub fn seal_bytes(&self, context: &str, secret: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret,
            aad: context.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("ChaCha20-Poly1305 encrypts any message of this size");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens what `seal_bytes` sealed for `context`; `None` if it was
    /// sealed under another key, for another context, or is damaged.
    pub fn open_bytes(&self, context: &str, stored: &str) -> Option<Zeroizing<Vec<u8>>> {
        let bytes = URL_SAFE_NO_PAD
            .decode(stored.strip_prefix(SEALED_PREFIX)?)
            .ok()
            .filter(|b| b.len() > NONCE_LEN)?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: context.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .ok()
            .map(Zeroizing::new)
    }

    /// The private key a stored value holds: sealed ones are opened (and
    /// must have been sealed under this key, for this `kid`); plain PEM,
    /// from before keys were sealed, is returned as it is and reported as
    /// such, so the caller can seal it.
    pub fn open(&self, kid: &str, stored: &str) -> anyhow::Result<Opened> {
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(Opened::Plain(SecretString::from(stored.to_string())));
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()
            .filter(|b| b.len() > NONCE_LEN)
            .with_context(|| format!("the stored signing key {kid} is damaged"))?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: kid.as_bytes(),
        };
        let pem = self.cipher.decrypt(Nonce::from_slice(nonce), payload).map_err(|_| {
            anyhow::anyhow!(
                "cannot open the stored signing key {kid} with the key-encryption key {}: every replica of \
                 this database needs the same LATCHKEY_KEY_ENCRYPTION_KEY_FILE",
                self.path.display()
            )
        })?;
        let pem = String::from_utf8(pem).with_context(|| format!("the stored signing key {kid} is not PEM"))?;
        Ok(Opened::Sealed(SecretString::from(pem)))
    }
}

/// A stored private key, opened.
pub enum Opened {
    Sealed(SecretString),
    /// Stored in the clear by an older version: seal it.
    Plain(SecretString),
}

impl Opened {
    pub fn pem(&self) -> &SecretString {
        match self {
            Opened::Sealed(pem) | Opened::Plain(pem) => pem,
        }
    }
}

/// Writes a new random key, readable by this user only. `create_new`, so
/// two replicas starting at once on one folder cannot each write their own.
fn create(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut key = vec![0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(&key)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write the key-encryption key {}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                "created a new key-encryption key for the signing keys in the database: back it up, and give \
                 every replica of this database the same file (LATCHKEY_KEY_ENCRYPTION_KEY_FILE)"
            );
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(path).with_context(|| format!("cannot read the key-encryption key {}", path.display()))
        }
        Err(err) => Err(err).with_context(|| format!("cannot create the key-encryption key {}", path.display())),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the key-encryption key is readable by other users: chmod 600 it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(dir: &Path) -> KeyVault {
        let key = create(&dir.join("k")).unwrap();
        KeyVault {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            path: dir.join("k"),
        }
    }

    #[test]
    fn sealed_keys_open_only_under_their_kid_and_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (vault(&dir.path().join("a")), vault(&dir.path().join("b")));
        let pem = SecretString::from(crate::core::tokens::generate_ed25519_pem());
        let sealed = a.seal("kid-1", &pem);
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("PRIVATE KEY"));
        match a.open("kid-1", &sealed).unwrap() {
            Opened::Sealed(opened) => assert_eq!(opened.expose_secret(), pem.expose_secret()),
            Opened::Plain(_) => panic!("a sealed key opened as plain"),
        }
        assert!(a.open("kid-2", &sealed).is_err(), "moved to another kid");
        assert!(b.open("kid-1", &sealed).is_err(), "another replica's key");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open("kid-1", &tampered).is_err(), "tampered");
        assert!(matches!(
            a.open("kid-1", pem.expose_secret()).unwrap(),
            Opened::Plain(_)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_key_file_is_private_and_kept() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/k");
        let first = create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(create(&path).unwrap(), first, "a second start reads, never overwrites");
    }

    #[test]
    fn the_default_file_sits_beside_a_sqlite_database() {
        assert_eq!(
            default_path("sqlite://data/latchkey.db"),
            PathBuf::from("data/latchkey-keys.secret")
        );
        assert_eq!(
            default_path("sqlite:///var/lib/lk/db.sqlite?mode=rwc"),
            PathBuf::from("/var/lib/lk/latchkey-keys.secret")
        );
        assert_eq!(
            default_path("postgres://db/latchkey"),
            PathBuf::from("data/latchkey-keys.secret")
        );
    }
}
