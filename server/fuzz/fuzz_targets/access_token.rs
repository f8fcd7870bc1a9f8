//! The access-token verifier on arbitrary input: it never panics and never
//! accepts. The one token it must accept (the one it issued) is checked
//! first, so a verifier that refused everything would fail here too.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use latchkey::core::tokens::{AccessTokens, Keyring, SigningKey, TokenConfig, generate_ed25519_pem};
use latchkey_types::Role;
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;

fn tokens() -> &'static AccessTokens {
    static TOKENS: OnceLock<AccessTokens> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let key = SigningKey::from_pem("fuzz".into(), &generate_ed25519_pem()).expect("a fresh key loads");
        let config = TokenConfig {
            issuer: "http://127.0.0.1:3000".into(),
            audience: "latchkey".into(),
            ttl: Duration::from_secs(300),
            leeway_secs: 5,
        };
        let tokens = AccessTokens::new(config, Keyring::new(key, Vec::new()).expect("one key"));
        let (issued, _) = tokens.issue(uuid::Uuid::nil(), uuid::Uuid::nil(), Role::User, NOW);
        assert!(
            tokens.verify(&issued, NOW).is_ok(),
            "the verifier accepts its own token"
        );
        tokens
    })
}

fuzz_target!(|data: &[u8]| {
    let tokens = tokens();
    if let Ok(token) = std::str::from_utf8(data) {
        assert!(
            tokens.verify(token, NOW).is_err(),
            "accepted a token it did not issue: {token}"
        );
    }
});
