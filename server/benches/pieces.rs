//! What each piece of a request costs, in isolation (criterion):
//! verifying an EdDSA access token in full, the verified-token cache hit
//! that replaces it, the revoked-session lookup, issuing a token, hashing a
//! session secret, and one argon2id hash with the server's parameters.
//!
//!   cargo bench -p latchkey-bench --bench pieces

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use latchkey::auth::caches::VerifiedTokens;
use latchkey::core::password::{PasswordHasher, PasswordPolicy};
use latchkey::core::revocation::RevocationSet;
use latchkey::core::secrets::{hash_token, random_token};
use latchkey::core::tokens::{
    AccessTokens, DEFAULT_LEEWAY_SECS, Keyring, SigningKey, TokenConfig, generate_ed25519_pem,
};
use latchkey_types::Role;
use secrecy::ExposeSecret;
use uuid::Uuid;

fn tokens() -> AccessTokens {
    let key = SigningKey::from_pem_with_thumbprint_kid(&generate_ed25519_pem()).expect("a fresh key");
    let config = TokenConfig {
        issuer: "https://latchkey.example".into(),
        audience: "https://latchkey.example/api".into(),
        ttl: Duration::from_secs(300),
        leeway_secs: DEFAULT_LEEWAY_SECS,
    };
    AccessTokens::new(config, Keyring::new(key, Vec::new()).expect("a keyring"))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn access_tokens(c: &mut Criterion) {
    let tokens = tokens();
    let (token, claims) = tokens.issue(Uuid::now_v7(), Uuid::now_v7(), Role::User, now());
    c.bench_function("issue an EdDSA access token", |b| {
        b.iter(|| tokens.issue(black_box(claims.sub), claims.sid, Role::User, now()))
    });
    c.bench_function("verify an EdDSA access token in full", |b| {
        b.iter(|| tokens.verify(black_box(&token), now()).expect("valid"))
    });
    let cache = VerifiedTokens::new(100_000);
    for _ in 0..10_000 {
        let (other, other_claims) = tokens.issue(Uuid::now_v7(), Uuid::now_v7(), Role::User, now());
        cache.insert(&other, &other_claims);
    }
    cache.insert(&token, &claims);
    c.bench_function("verified-token cache hit (10k entries)", |b| {
        b.iter(|| cache.get(black_box(&token), now()).expect("cached"))
    });
    let revoked = RevocationSet::new(600_000);
    revoked.insert((0..10_000).map(|i| (Uuid::now_v7(), i)));
    revoked.mark_synced(1_000_000);
    c.bench_function("revoked-session check (10k revoked)", |b| {
        b.iter(|| revoked.check(black_box(&claims.sid), 1_000_500, 1_000).expect("fresh"))
    });
}

fn secrets(c: &mut Criterion) {
    let secret = random_token();
    let value: &str = secret.expose_secret();
    c.bench_function("SHA-256 of a session secret", |b| {
        b.iter(|| hash_token(black_box(value)))
    });
}

fn argon2(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let hasher = PasswordHasher::new(1, 16).expect("argon2 parameters");
    let password = PasswordPolicy { min_chars: 15 }
        .check("vivid otter maps the quiet dune", None)
        .expect("a good password");
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(20);
    group.bench_function("hash (m=19456 KiB, t=2, p=1)", |b| {
        b.iter(|| runtime.block_on(hasher.hash(&password)).expect("hashed"))
    });
    group.finish();
}

criterion_group!(benches, access_tokens, secrets, argon2);
criterion_main!(benches);
