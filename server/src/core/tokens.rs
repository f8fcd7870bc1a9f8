//! Access tokens: short-lived EdDSA-signed JWTs in the RFC 9068 profile
//! (`typ: at+jwt`), the keys that sign them and the JWKS that publishes the
//! public halves.
//!
//! Verification follows RFC 8725 and API.md: only EdDSA, only key ids from our
//! own keyring (never a key named or carried by the token itself), no `crit`
//! extensions, and time checked against the caller's clock with a leeway of
//! seconds. Revocation by `sid` is not decided here: a valid signature only
//! says the token was issued, the session store says whether it still counts.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use latchkey_types::{AccessClaims, Role};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::zeroize::Zeroizing;
use serde_json::json;
use uuid::Uuid;

/// Clock skew tolerated on `exp`, `nbf` and `iat`. A few seconds covers
/// servers kept in sync by NTP; the library default of 60 s would stretch a
/// 5-minute token's life by a fifth.
pub const DEFAULT_LEEWAY_SECS: u64 = 5;

/// Our tokens are a few hundred bytes; anything much larger is refused
/// before a byte of it is decoded.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// RFC 9068's media type, so a token minted for another purpose (an ID token,
/// some other service's JWT) cannot be replayed as an access token.
const TOKEN_TYPE: &str = "at+jwt";

const ALGORITHM: Algorithm = Algorithm::EdDSA;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token must be refused. The reason is for logs only: clients get
    /// the same `invalid_token` whatever went wrong.
    #[error("invalid access token: {0}")]
    Invalid(&'static str),
    /// A key given at start-up cannot be used.
    #[error("unusable token signing key: {0}")]
    Key(&'static str),
}

/// What the issuer writes into every token and the verifier demands back.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
    pub leeway_secs: u64,
}

/// An Ed25519 private key with its key id. `Debug` prints no secret: the
/// `EncodingKey` redacts itself.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    public: PublicKey,
}

/// The verifying half of a key, as used to check signatures and as published
/// in the JWKS.
#[derive(Debug, Clone)]
struct PublicKey {
    kid: String,
    decoding: DecodingKey,
    /// base64url of the 32-byte Ed25519 public key: the JWK `x` member.
    x: String,
}

/// A fresh Ed25519 private key as PKCS#8 PEM, seeded from the OS CSPRNG.
pub fn generate_ed25519_pem() -> String {
    let mut seed = Zeroizing::new([0u8; ed25519_dalek::SECRET_KEY_LENGTH]);
    OsRng.fill_bytes(seed.as_mut());
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    key.to_pkcs8_pem(LineEnding::LF)
        // Encoding a well-formed in-memory key into a String cannot fail.
        .expect("PKCS#8 encoding of an Ed25519 key")
        .to_string()
}

fn parse_pem(pem: &str) -> Result<ed25519_dalek::SigningKey, TokenError> {
    ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|_| TokenError::Key("not a PKCS#8 PEM Ed25519 private key"))
}

/// RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public key's JWK.
fn thumbprint(public: &[u8; ed25519_dalek::PUBLIC_KEY_LENGTH]) -> Result<String, TokenError> {
    Jwk::from_decoding_key(&DecodingKey::from_ed_der(public), Some(ALGORITHM))
        .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
        .map_err(|_| TokenError::Key("cannot compute the JWK thumbprint"))
}

impl SigningKey {
    /// Loads a PKCS#8 PEM Ed25519 private key under the given key id.
    pub fn from_pem(kid: String, pem: &str) -> Result<Self, TokenError> {
        Self::new(kid, &parse_pem(pem)?)
    }

    /// Loads a key whose id is its RFC 7638 JWK thumbprint, so the same key
    /// file always yields the same `kid` on every server and every restart.
    pub fn from_pem_with_thumbprint_kid(pem: &str) -> Result<Self, TokenError> {
        let key = parse_pem(pem)?;
        let kid = thumbprint(&key.verifying_key().to_bytes())?;
        Self::new(kid, &key)
    }

    fn new(kid: String, key: &ed25519_dalek::SigningKey) -> Result<Self, TokenError> {
        if kid.is_empty() {
            return Err(TokenError::Key("empty key id"));
        }
        let der = key
            .to_pkcs8_der()
            .map_err(|_| TokenError::Key("cannot re-encode the key as PKCS#8"))?;
        let public = PublicKey::new(kid.clone(), &key.verifying_key().to_bytes());
        let signing = Self {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public,
        };
        signing.prove_usable()?;
        Ok(signing)
    }

    /// Signs and verifies a probe through jsonwebtoken's crypto provider, so a
    /// key that loads is a key that signs: `issue` can then never fail.
    fn prove_usable(&self) -> Result<(), TokenError> {
        const PROBE: &[u8] = b"latchkey signing key probe";
        let signature = jsonwebtoken::crypto::sign(PROBE, &self.encoding, ALGORITHM)
            .map_err(|_| TokenError::Key("the crypto provider cannot sign with this key"))?;
        match jsonwebtoken::crypto::verify(&signature, PROBE, &self.public.decoding, ALGORITHM) {
            Ok(true) => Ok(()),
            _ => Err(TokenError::Key("the key's signatures do not verify")),
        }
    }

    fn sign(&self, claims: &AccessClaims) -> String {
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            // The key was proven at load and the claims are plain data.
            .expect("signing with a key that passed prove_usable")
    }
}

impl PublicKey {
    fn new(kid: String, bytes: &[u8; ed25519_dalek::PUBLIC_KEY_LENGTH]) -> Self {
        Self {
            kid,
            decoding: DecodingKey::from_ed_der(bytes),
            x: URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    fn to_jwk(&self) -> serde_json::Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

/// The current signing key plus older keys that still verify, so tokens
/// signed just before a rotation stay valid until they expire.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: SigningKey,
    /// Every key that verifies, the current one first.
    verifying: Vec<PublicKey>,
}

impl Keyring {
    /// Refuses two different keys under one `kid`: a verifier could not tell
    /// which one a token means. The same key listed twice is kept once.
    pub fn new(current: SigningKey, older: Vec<SigningKey>) -> Result<Self, TokenError> {
        let mut verifying = vec![current.public.clone()];
        for key in older {
            match verifying.iter().find(|known| known.kid == key.kid) {
                Some(known) if known.x == key.public.x => {}
                Some(_) => return Err(TokenError::Key("two different keys share a key id")),
                None => verifying.push(key.public),
            }
        }
        Ok(Self { current, verifying })
    }

    /// The JWKS document served at `/.well-known/jwks.json`: public parts only.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.verifying.iter().map(PublicKey::to_jwk).collect();
        json!({ "keys": keys })
    }

    fn find(&self, kid: &str) -> Option<&PublicKey> {
        self.verifying.iter().find(|key| key.kid == kid)
    }
}

/// Issues and verifies access tokens under one configuration and keyring.
#[derive(Debug, Clone)]
pub struct AccessTokens {
    config: TokenConfig,
    keyring: Keyring,
    validation: Validation,
}

impl AccessTokens {
    pub fn new(config: TokenConfig, keyring: Keyring) -> Self {
        let validation = signature_validation(&config);
        Self {
            config,
            keyring,
            validation,
        }
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Signs a token for `sub`'s session `sid`, valid from `now_unix` for the
    /// configured lifetime. Also returns the claims, e.g. for `expires_in`.
    pub fn issue(&self, sub: Uuid, sid: Uuid, role: Role, now_unix: i64) -> (String, AccessClaims) {
        let lifetime = i64::try_from(self.config.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub,
            sid,
            role,
            iat: now_unix,
            nbf: Some(now_unix),
            exp: now_unix.saturating_add(lifetime),
            jti: Uuid::now_v7(),
        };
        (self.keyring.current.sign(&claims), claims)
    }

    /// Checks everything about a token except whether its session was
    /// revoked, which is the session store's call.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid("token too large"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid("malformed header"))?;
        check_header(&header)?;
        let kid = header.kid.as_deref().ok_or(TokenError::Invalid("no kid"))?;
        let key = self.keyring.find(kid).ok_or(TokenError::Invalid("unknown kid"))?;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &self.validation)
            .map_err(|error| TokenError::Invalid(rejection_reason(error.kind())))?
            .claims;
        self.check_times(&claims, now_unix)?;
        Ok(claims)
    }

    /// `exp` is exclusive (RFC 7519 §4.1.4): a token is dead from its `exp`
    /// second on, plus the leeway.
    fn check_times(&self, claims: &AccessClaims, now: i64) -> Result<(), TokenError> {
        let leeway = i64::try_from(self.config.leeway_secs).unwrap_or(i64::MAX);
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Invalid("expired"));
        }
        let latest_acceptable_start = now.saturating_add(leeway);
        if claims.nbf.is_some_and(|nbf| nbf > latest_acceptable_start) {
            return Err(TokenError::Invalid("not yet valid"));
        }
        if claims.iat > latest_acceptable_start {
            return Err(TokenError::Invalid("issued in the future"));
        }
        Ok(())
    }
}

/// Everything about the header that must hold before a key is even chosen.
fn check_header(header: &Header) -> Result<(), TokenError> {
    if header.alg != ALGORITHM {
        return Err(TokenError::Invalid("algorithm not allowed"));
    }
    if !header.typ.as_deref().is_some_and(is_access_token_type) {
        return Err(TokenError::Invalid("not an access token (typ)"));
    }
    // A key named or carried by the token would let its author choose the key
    // that verifies it; only our own keyring counts.
    if header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some() || header.x5c.is_some() {
        return Err(TokenError::Invalid("token names its own key"));
    }
    // RFC 7515 §4.1.11: extensions we do not understand must be refused, and
    // we understand none.
    if header.crit.is_some() {
        return Err(TokenError::Invalid("critical header extension"));
    }
    Ok(())
}

/// RFC 9068 §4 allows the media type with or without `application/`, and
/// media types compare case-insensitively.
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == TOKEN_TYPE || typ.strip_prefix("application/") == Some(TOKEN_TYPE)
}

/// jsonwebtoken checks the signature, the algorithm again, `iss`, `aud` and
/// that the registered claims are present. Its own time checks are off: they
/// read the system clock, and ours use the caller's `now` with our leeway.
fn signature_validation(config: &TokenConfig) -> Validation {
    let mut validation = Validation::new(ALGORITHM);
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation
}

fn rejection_reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "algorithm not allowed",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::MissingRequiredClaim(_) => "missing claim",
        ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => "malformed claims",
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) | ErrorKind::InvalidToken => "malformed token",
        _ => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::Signer as _;
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use serde_json::Value;

    use super::*;

    const NOW: i64 = 1_750_000_000;
    const ISSUER: &str = "https://latchkey.test";
    const AUDIENCE: &str = "latchkey-api";
    const TTL_SECS: i64 = 300;

    fn config() -> TokenConfig {
        TokenConfig {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            ttl: Duration::from_secs(TTL_SECS as u64),
            leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }

    fn key(pem: &str) -> SigningKey {
        SigningKey::from_pem_with_thumbprint_kid(pem).unwrap()
    }

    /// A verifier with one fresh key, plus that key's PEM for forging.
    fn service() -> (AccessTokens, String) {
        let pem = generate_ed25519_pem();
        let keyring = Keyring::new(key(&pem), vec![]).unwrap();
        (AccessTokens::new(config(), keyring), pem)
    }

    fn issue(tokens: &AccessTokens) -> (String, AccessClaims) {
        tokens.issue(Uuid::now_v7(), Uuid::now_v7(), Role::User, NOW)
    }

    fn invalid(reason: &'static str) -> Result<AccessClaims, TokenError> {
        Err(TokenError::Invalid(reason))
    }

    fn b64_json(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    fn part(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    /// Builds and signs a token by hand, bypassing every check `issue` makes.
    fn forge(header: &Value, claims: &Value, pem: &str) -> String {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).unwrap();
        let message = format!("{}.{}", b64_json(header), b64_json(claims));
        let signature = key.sign(message.as_bytes()).to_bytes();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn good_header(tokens: &AccessTokens) -> Value {
        json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": tokens.keyring().current.kid })
    }

    fn good_claims() -> Value {
        json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": Uuid::now_v7(), "sid": Uuid::now_v7(),
            "role": "user", "iat": NOW, "nbf": NOW, "exp": NOW + TTL_SECS, "jti": Uuid::now_v7(),
        })
    }

    #[test]
    fn issued_token_verifies_to_the_same_claims() {
        let (tokens, _) = service();
        let (sub, sid) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, claims) = tokens.issue(sub, sid, Role::Admin, NOW);
        assert_eq!(tokens.verify(&token, NOW), Ok(claims.clone()));
        assert_eq!((claims.sub, claims.sid, claims.role), (sub, sid, Role::Admin));
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISSUER, AUDIENCE));
        assert_eq!((claims.iat, claims.nbf, claims.exp), (NOW, Some(NOW), NOW + TTL_SECS));
        assert_eq!(claims.jti.get_version_num(), 7);
    }

    #[test]
    fn issued_header_is_eddsa_at_jwt_with_the_current_kid() {
        let (tokens, _) = service();
        let (token, _) = issue(&tokens);
        let header = part(&token, 0);
        assert_eq!(header, good_header(&tokens));
    }

    #[test]
    fn issued_claims_carry_no_personal_data() {
        let (tokens, _) = service();
        let (token, _) = issue(&tokens);
        let mut names: Vec<String> = part(&token, 1).as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["aud", "exp", "iat", "iss", "jti", "nbf", "role", "sid", "sub"]);
    }

    #[test]
    fn every_token_gets_its_own_jti() {
        let (tokens, _) = service();
        assert_ne!(issue(&tokens).1.jti, issue(&tokens).1.jti);
    }

    #[test]
    fn forged_token_with_good_header_and_claims_verifies() {
        // Guards the forging helper: if this failed, the rejections below
        // would prove nothing.
        let (tokens, pem) = service();
        let token = forge(&good_header(&tokens), &good_claims(), &pem);
        assert!(tokens.verify(&token, NOW).is_ok());
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let (tokens, _) = service();
        let (token, _) = issue(&tokens);
        let mut claims = part(&token, 1);
        claims["role"] = json!("admin");
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], b64_json(&claims), parts[2]);
        assert_eq!(tokens.verify(&tampered, NOW), invalid("bad signature"));
    }

    #[test]
    fn token_signed_by_a_stranger_under_our_kid_is_rejected() {
        let (tokens, _) = service();
        let stranger = generate_ed25519_pem();
        let token = forge(&good_header(&tokens), &good_claims(), &stranger);
        assert_eq!(tokens.verify(&token, NOW), invalid("bad signature"));
    }

    #[test]
    fn unsigned_alg_none_token_is_rejected() {
        let (tokens, _) = service();
        for alg in ["none", "None", "NONE"] {
            let mut header = good_header(&tokens);
            header["alg"] = json!(alg);
            let token = format!("{}.{}.", b64_json(&header), b64_json(&good_claims()));
            assert!(tokens.verify(&token, NOW).is_err(), "alg {alg}");
        }
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_rejected() {
        // The classic key confusion: an HMAC "secret" everyone can read.
        let (tokens, _) = service();
        let public = &tokens.keyring().current.public;
        let raw = URL_SAFE_NO_PAD.decode(&public.x).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(public.kid.clone());
        for secret in [raw.as_slice(), public.x.as_bytes()] {
            let key = EncodingKey::from_secret(secret);
            let token = jsonwebtoken::encode(&header, &good_claims(), &key).unwrap();
            assert_eq!(tokens.verify(&token, NOW), invalid("algorithm not allowed"));
        }
    }

    #[test]
    fn other_asymmetric_algorithms_are_rejected() {
        let (tokens, pem) = service();
        for alg in ["ES256", "RS256", "PS256", "HS512"] {
            let mut header = good_header(&tokens);
            header["alg"] = json!(alg);
            let token = forge(&header, &good_claims(), &pem);
            assert_eq!(tokens.verify(&token, NOW), invalid("algorithm not allowed"), "{alg}");
        }
    }

    #[test]
    fn unknown_or_missing_kid_is_rejected() {
        let (tokens, pem) = service();
        let mut header = good_header(&tokens);
        header["kid"] = json!("someone-elses-key");
        let token = forge(&header, &good_claims(), &pem);
        assert_eq!(tokens.verify(&token, NOW), invalid("unknown kid"));

        header.as_object_mut().unwrap().remove("kid");
        let token = forge(&header, &good_claims(), &pem);
        assert_eq!(tokens.verify(&token, NOW), invalid("no kid"));
    }

    #[test]
    fn expiry_is_checked_with_the_small_leeway() {
        let (tokens, _) = service();
        let (token, claims) = issue(&tokens);
        let leeway = DEFAULT_LEEWAY_SECS as i64;
        assert!(tokens.verify(&token, claims.exp).is_ok(), "at exp, inside the leeway");
        assert!(
            tokens.verify(&token, claims.exp + leeway - 1).is_ok(),
            "last second of leeway"
        );
        assert_eq!(tokens.verify(&token, claims.exp + leeway), invalid("expired"));
        assert_eq!(tokens.verify(&token, claims.exp + 60), invalid("expired"));
    }

    #[test]
    fn token_issued_long_ago_is_rejected_now() {
        let (tokens, _) = service();
        let (token, _) = tokens.issue(Uuid::now_v7(), Uuid::now_v7(), Role::User, NOW - 86_400);
        assert_eq!(tokens.verify(&token, NOW), invalid("expired"));
    }

    #[test]
    fn zero_leeway_makes_exp_exclusive() {
        let pem = generate_ed25519_pem();
        let keyring = Keyring::new(key(&pem), vec![]).unwrap();
        let tokens = AccessTokens::new(
            TokenConfig {
                leeway_secs: 0,
                ..config()
            },
            keyring,
        );
        let (token, claims) = issue(&tokens);
        assert!(tokens.verify(&token, claims.exp - 1).is_ok());
        assert_eq!(tokens.verify(&token, claims.exp), invalid("expired"));
    }

    #[test]
    fn future_nbf_beyond_the_leeway_is_rejected() {
        let (tokens, pem) = service();
        let leeway = DEFAULT_LEEWAY_SECS as i64;
        let mut claims = good_claims();
        claims["nbf"] = json!(NOW + 60);
        let token = forge(&good_header(&tokens), &claims, &pem);
        assert_eq!(tokens.verify(&token, NOW), invalid("not yet valid"));

        claims["nbf"] = json!(NOW + leeway);
        let token = forge(&good_header(&tokens), &claims, &pem);
        assert!(tokens.verify(&token, NOW).is_ok(), "nbf within the leeway");
    }

    #[test]
    fn token_from_a_clock_far_ahead_is_rejected() {
        let (tokens, _) = service();
        let (token, _) = tokens.issue(Uuid::now_v7(), Uuid::now_v7(), Role::User, NOW + 60);
        assert!(tokens.verify(&token, NOW).is_err());
    }

    #[test]
    fn wrong_audience_or_issuer_is_rejected() {
        let pem = generate_ed25519_pem();
        let verifier = AccessTokens::new(config(), Keyring::new(key(&pem), vec![]).unwrap());
        let other_aud = TokenConfig {
            audience: "another-api".to_owned(),
            ..config()
        };
        let other_iss = TokenConfig {
            issuer: "https://evil.test".to_owned(),
            ..config()
        };
        for (other, reason) in [(other_aud, "wrong audience"), (other_iss, "wrong issuer")] {
            let issuer = AccessTokens::new(other, Keyring::new(key(&pem), vec![]).unwrap());
            let (token, _) = issue(&issuer);
            assert_eq!(verifier.verify(&token, NOW), invalid(reason));
        }
    }

    #[test]
    fn audience_and_issuer_must_be_single_exact_strings() {
        let (tokens, pem) = service();
        let mut claims = good_claims();
        claims["aud"] = json!([AUDIENCE, "another-api"]);
        let token = forge(&good_header(&tokens), &claims, &pem);
        assert!(tokens.verify(&token, NOW).is_err());

        let mut claims = good_claims();
        claims["iss"] = json!(format!("{ISSUER}/"));
        let token = forge(&good_header(&tokens), &claims, &pem);
        assert_eq!(tokens.verify(&token, NOW), invalid("wrong issuer"));
    }

    #[test]
    fn missing_claims_are_rejected() {
        let (tokens, pem) = service();
        for claim in ["exp", "iat", "sub", "sid", "iss", "aud", "jti", "role"] {
            let mut claims = good_claims();
            claims.as_object_mut().unwrap().remove(claim);
            let token = forge(&good_header(&tokens), &claims, &pem);
            assert!(tokens.verify(&token, NOW).is_err(), "without {claim}");
        }
    }

    #[test]
    fn typ_must_be_at_jwt() {
        let (tokens, pem) = service();
        for (typ, accepted) in [
            (json!("at+jwt"), true),
            (json!("AT+JWT"), true),
            (json!("application/at+jwt"), true),
            (json!("Application/At+Jwt"), true),
            (json!("JWT"), false),
            (json!("jwt"), false),
            (json!("at+jwt+extra"), false),
            (json!("application/jwt"), false),
            (json!(""), false),
            (Value::Null, false),
        ] {
            let mut header = good_header(&tokens);
            header["typ"] = typ.clone();
            let token = forge(&header, &good_claims(), &pem);
            assert_eq!(tokens.verify(&token, NOW).is_ok(), accepted, "typ {typ}");
        }
        let mut header = good_header(&tokens);
        header.as_object_mut().unwrap().remove("typ");
        let token = forge(&header, &good_claims(), &pem);
        assert_eq!(tokens.verify(&token, NOW), invalid("not an access token (typ)"));
    }

    #[test]
    fn header_naming_its_own_key_is_rejected() {
        let (tokens, pem) = service();
        // Even our own, genuine public key: the keyring decides, not the token.
        let own_jwk = tokens.keyring().current.public.to_jwk();
        for (name, value) in [
            ("jwk", own_jwk),
            ("jku", json!("https://latchkey.test/.well-known/jwks.json")),
            ("x5u", json!("https://latchkey.test/cert.pem")),
            ("x5c", json!(["MIIBszCCAVmgAwIBAgIUDeadBeef"])),
        ] {
            let mut header = good_header(&tokens);
            header[name] = value;
            let token = forge(&header, &good_claims(), &pem);
            assert_eq!(tokens.verify(&token, NOW), invalid("token names its own key"), "{name}");
        }
    }

    #[test]
    fn critical_extensions_are_rejected() {
        let (tokens, pem) = service();
        for crit in [json!(["exp"]), json!(["b64"]), json!([])] {
            let mut header = good_header(&tokens);
            header["crit"] = crit.clone();
            header["b64"] = json!(false);
            let token = forge(&header, &good_claims(), &pem);
            assert_eq!(
                tokens.verify(&token, NOW),
                invalid("critical header extension"),
                "{crit}"
            );
        }
    }

    #[test]
    fn duplicate_header_members_are_rejected() {
        let (tokens, pem) = service();
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
        let kid = &tokens.keyring().current.kid;
        let header = format!(r#"{{"alg":"HS256","alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#);
        let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), b64_json(&good_claims()));
        let signature = URL_SAFE_NO_PAD.encode(key.sign(message.as_bytes()).to_bytes());
        let token = format!("{message}.{signature}");
        assert_eq!(tokens.verify(&token, NOW), invalid("malformed header"));
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let (tokens, _) = service();
        let (token, _) = issue(&tokens);
        let parts: Vec<&str> = token.split('.').collect();
        let refresh_token = crate::core::secrets::random_token();
        let garbage = [
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "...".to_owned(),
            "a.b.c".to_owned(),
            secrecy::ExposeSecret::expose_secret(&refresh_token).to_owned(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{token}.{}", parts[2]),
            format!("{}.{}.", parts[0], parts[1]),
            format!("{}.{}.AAAA", parts[0], parts[1]),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!(" {token}"),
        ];
        for garbage in &garbage {
            assert!(tokens.verify(garbage, NOW).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn oversized_token_is_rejected_before_parsing() {
        let (tokens, pem) = service();
        let mut claims = good_claims();
        claims["padding"] = json!("x".repeat(MAX_TOKEN_BYTES));
        let token = forge(&good_header(&tokens), &claims, &pem);
        assert_eq!(tokens.verify(&token, NOW), invalid("token too large"));
    }

    #[test]
    fn older_key_verifies_until_it_leaves_the_ring() {
        let (old_pem, new_pem) = (generate_ed25519_pem(), generate_ed25519_pem());
        let before = AccessTokens::new(config(), Keyring::new(key(&old_pem), vec![]).unwrap());
        let (token, claims) = issue(&before);

        let rotated = AccessTokens::new(config(), Keyring::new(key(&new_pem), vec![key(&old_pem)]).unwrap());
        assert_eq!(rotated.verify(&token, NOW), Ok(claims));
        let (fresh, _) = issue(&rotated);
        assert_eq!(part(&fresh, 0)["kid"], json!(key(&new_pem).kid));

        let retired = AccessTokens::new(config(), Keyring::new(key(&new_pem), vec![]).unwrap());
        assert_eq!(retired.verify(&token, NOW), invalid("unknown kid"));
        assert!(retired.verify(&fresh, NOW).is_ok());
    }

    #[test]
    fn jwks_lists_every_verifying_key_and_no_private_material() {
        let (new_pem, old_pem) = (generate_ed25519_pem(), generate_ed25519_pem());
        let (new, old) = (key(&new_pem), key(&old_pem));
        let jwks = Keyring::new(new.clone(), vec![old.clone()]).unwrap().jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for (jwk, signing) in keys.iter().zip([&new, &old]) {
            let mut members: Vec<&String> = jwk.as_object().unwrap().keys().collect();
            members.sort();
            assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x"]);
            assert_eq!(jwk["kid"], json!(signing.kid));
            assert_eq!(jwk["kty"], json!("OKP"));
            assert_eq!(jwk["crv"], json!("Ed25519"));
            assert_eq!(jwk["alg"], json!("EdDSA"));
            assert_eq!(jwk["use"], json!("sig"));
        }
        for pem in [&new_pem, &old_pem] {
            let private = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).unwrap();
            let d = URL_SAFE_NO_PAD.encode(private.to_bytes());
            assert!(!jwks.to_string().contains(&d));
            let x = URL_SAFE_NO_PAD.encode(private.verifying_key().to_bytes());
            assert!(keys.iter().any(|jwk| jwk["x"] == json!(x)));
        }
    }

    #[test]
    fn a_jwks_key_verifies_an_issued_token_on_its_own() {
        // What another service does with our JWKS and nothing else.
        let (tokens, _) = service();
        let (token, _) = issue(&tokens);
        let jwks = tokens.keyring().jwks();
        let jwk: Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_exp = false;
        assert!(jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation).is_ok());
    }

    #[test]
    fn kid_is_the_rfc_7638_thumbprint() {
        // RFC 8037 appendix A.1 and A.3: the Ed25519 key of RFC 8032 test 1.
        let d = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap();
        let private = ed25519_dalek::SigningKey::from_bytes(d.as_slice().try_into().unwrap());
        let pem = private.to_pkcs8_pem(LineEnding::LF).unwrap();
        let signing = key(&pem);
        assert_eq!(signing.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(signing.public.x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    }

    #[test]
    fn generated_keys_are_fresh_and_keep_their_kid() {
        let (a, b) = (generate_ed25519_pem(), generate_ed25519_pem());
        assert_ne!(a, b);
        assert!(a.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(key(&a).kid, key(&a).kid);
        assert_ne!(key(&a).kid, key(&b).kid);
    }

    #[test]
    fn keys_that_are_not_ed25519_private_keys_are_refused() {
        let pem = generate_ed25519_pem();
        let private = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
        let public_pem = private.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        for bad in ["", "not a key", public_pem.as_str(), &pem[..pem.len() / 2]] {
            assert!(SigningKey::from_pem("k".to_owned(), bad).is_err());
        }
        assert!(SigningKey::from_pem(String::new(), &pem).is_err(), "empty kid");
    }

    #[test]
    fn signing_key_debug_shows_no_secret() {
        let pem = generate_ed25519_pem();
        let private = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
        let debug = format!("{:?}", key(&pem));
        assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(private.to_bytes())));
        assert!(!debug.contains(&format!("{:?}", private.to_bytes())));
    }

    #[test]
    fn keyring_refuses_two_keys_under_one_kid() {
        let (a, b) = (generate_ed25519_pem(), generate_ed25519_pem());
        let first = SigningKey::from_pem("shared".to_owned(), &a).unwrap();
        let second = SigningKey::from_pem("shared".to_owned(), &b).unwrap();
        assert!(Keyring::new(first.clone(), vec![second]).is_err());
        let same_twice = Keyring::new(first.clone(), vec![first]).unwrap();
        assert_eq!(same_twice.jwks()["keys"].as_array().unwrap().len(), 1);
    }

    // Property tests (issue 7's fuzzing, as proptest: cargo-fuzz needs a
    // nightly toolchain these machines do not have). PROPTEST_CASES raises
    // the case count for longer runs.
    proptest::proptest! {
        #[test]
        fn arbitrary_input_is_refused_without_panicking(input in ".{0,600}") {
            let (tokens, _) = service();
            proptest::prop_assert!(tokens.verify(&input, NOW).is_err());
        }

        #[test]
        fn arbitrary_three_part_tokens_are_refused(
            header in "[A-Za-z0-9_-]{0,120}",
            claims in "[A-Za-z0-9_-]{0,400}",
            signature in "[A-Za-z0-9_-]{0,100}",
        ) {
            let (tokens, _) = service();
            let token = format!("{header}.{claims}.{signature}");
            proptest::prop_assert!(tokens.verify(&token, NOW).is_err());
        }

        #[test]
        fn changing_any_one_character_of_a_valid_token_breaks_it(
            position in proptest::prelude::any::<proptest::sample::Index>(),
            replacement in proptest::char::range('!', '~'),
        ) {
            let (tokens, _) = service();
            let (token, _) = issue(&tokens);
            let mut chars: Vec<char> = token.chars().collect();
            let at = position.index(chars.len());
            proptest::prop_assume!(chars[at] != replacement);
            chars[at] = replacement;
            let mutated: String = chars.into_iter().collect();
            proptest::prop_assert!(tokens.verify(&mutated, NOW).is_err(), "accepted {mutated}");
        }
    }
}
