//! Opaque secrets: refresh tokens, session ids and CSRF tokens.
//!
//! The database only ever holds `hash_token` of a secret, so a leaked backup
//! or a SQL injection reveals nothing a client could present. The one secret
//! the server must be able to hand out twice, the successor of a rotated
//! refresh token during the grace window, is stored sealed under its parent:
//! only someone who still holds the parent can open it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 256 bits: far beyond guessing, as API.md asks of the refresh cookie.
const TOKEN_BYTES: usize = 32;

/// XChaCha20's nonce is long enough to be drawn at random without any
/// realistic risk of reuse under one key.
const NONCE_BYTES: usize = 24;

/// Domain separation: the sealing key must never equal `hash_token(parent)`,
/// which the database stores next to the sealed successor.
const SEAL_KEY_LABEL: &[u8] = b"latchkey successor seal v1";

/// A fresh secret from the OS CSPRNG, base64url without padding (43 chars):
/// safe in a cookie, a header or a URL without escaping.
pub fn random_token() -> SecretString {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    OsRng.fill_bytes(bytes.as_mut());
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// What the database stores instead of a secret: lowercase hex SHA-256.
/// A plain hash is enough (no salt, no argon2) because the input is 256 random
/// bits, not a password someone could guess.
pub fn hash_token(token: &str) -> String {
    to_hex(&token_digest(token))
}

/// The SHA-256 of a secret, as bytes: what an in-memory lookup keys by
/// (`hash_token` is its hex, for the database).
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares secrets without leaking through timing how many leading bytes
/// matched. Lengths are not secret: different lengths are simply unequal.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Encrypts `successor` under a key derived from `parent`, so that a client
/// presenting the parent inside the grace window can be given the very same
/// successor, while the row alone (which holds only hashes) cannot reveal it.
/// A cookie session's CSRF token is sealed the same way under its session id.
/// Output: base64url(nonce || ciphertext || tag).
pub fn seal_under(parent: &str, successor: &str) -> String {
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = seal_cipher(parent)
        .encrypt(XNonce::from_slice(&nonce), successor.as_bytes())
        // The only failure is a plaintext beyond 256 GiB.
        .expect("a refresh token is far below XChaCha20Poly1305's size limit");
    let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    URL_SAFE_NO_PAD.encode(sealed)
}

/// Opens what `seal_under` produced. `None` for a wrong parent, a
/// tampered or truncated value, or anything that is not base64url.
pub fn open_sealed(parent: &str, sealed: &str) -> Option<SecretString> {
    let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if sealed.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    let plaintext = Zeroizing::new(
        seal_cipher(parent)
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .ok()?,
    );
    let successor = std::str::from_utf8(&plaintext).ok()?;
    Some(SecretString::from(successor.to_owned()))
}

fn seal_cipher(parent: &str) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(Key::from_slice(seal_key(parent).as_ref()))
}

fn seal_key(parent: &str) -> Zeroizing<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(SEAL_KEY_LABEL);
    hasher.update(parent.as_bytes());
    Zeroizing::new(hasher.finalize().into())
}

/// Lowercase hex, as the database keeps hashes.
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn random_tokens_are_43_url_safe_chars_and_unique() {
        let tokens: HashSet<String> = (0..1000).map(|_| random_token().expose_secret().to_owned()).collect();
        assert_eq!(tokens.len(), 1000);
        for token in &tokens {
            assert_eq!(token.len(), 43);
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), TOKEN_BYTES);
        }
    }

    #[test]
    fn hash_is_deterministic_lowercase_hex_sha256() {
        let hash = hash_token("abc");
        assert_eq!(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hash, hash_token("abc"));
        assert_ne!(hash, hash_token("abd"));
        let random = hash_token(random_token().expose_secret());
        assert_eq!(random.len(), 64);
        assert!(random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"same", b"same"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"same", b"sane"));
        assert!(!constant_time_eq(b"same", b"same!"));
        assert!(!constant_time_eq(b"same", b""));
    }

    #[test]
    fn sealed_successor_opens_with_its_parent() {
        let parent = random_token();
        let successor = random_token();
        let sealed = seal_under(parent.expose_secret(), successor.expose_secret());
        let opened = open_sealed(parent.expose_secret(), &sealed).unwrap();
        assert_eq!(opened.expose_secret(), successor.expose_secret());
    }

    #[test]
    fn sealed_successor_does_not_contain_the_successor() {
        let successor = random_token();
        let sealed = seal_under("parent", successor.expose_secret());
        assert!(!sealed.contains(successor.expose_secret()));
        let raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        assert!(
            !raw.windows(successor.expose_secret().len())
                .any(|w| w == successor.expose_secret().as_bytes())
        );
    }

    #[test]
    fn sealing_twice_gives_different_outputs() {
        // A fixed nonce would reuse the keystream whenever a parent is reused.
        assert_ne!(seal_under("p", "s"), seal_under("p", "s"));
    }

    #[test]
    fn wrong_parent_cannot_open() {
        let sealed = seal_under("parent", "successor");
        assert!(open_sealed("other parent", &sealed).is_none());
        assert!(open_sealed("", &sealed).is_none());
        // The stored hash of the parent is not the key either.
        assert!(open_sealed(&hash_token("parent"), &sealed).is_none());
    }

    #[test]
    fn seal_key_is_not_the_stored_hash_of_the_parent() {
        let key = seal_key("parent");
        assert_ne!(to_hex(key.as_ref()), hash_token("parent"));
    }

    #[test]
    fn tampering_is_detected() {
        let sealed = seal_under("parent", "successor");
        let raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..raw.len() {
            let mut flipped = raw.clone();
            flipped[i] ^= 0x01;
            let tampered = URL_SAFE_NO_PAD.encode(&flipped);
            assert!(open_sealed("parent", &tampered).is_none(), "byte {i}");
        }
    }

    #[test]
    fn truncated_or_malformed_input_is_rejected() {
        let sealed = seal_under("parent", "successor");
        let raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for len in [0, 1, NONCE_BYTES - 1, NONCE_BYTES, NONCE_BYTES + 15, raw.len() - 1] {
            let truncated = URL_SAFE_NO_PAD.encode(&raw[..len]);
            assert!(open_sealed("parent", &truncated).is_none(), "len {len}");
        }
        assert!(open_sealed("parent", "").is_none());
        assert!(open_sealed("parent", "not base64!").is_none());
        assert!(open_sealed("parent", &format!("{sealed}=")).is_none());
    }
}
