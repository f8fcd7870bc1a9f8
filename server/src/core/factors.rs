//! Second-factor rules with no I/O: TOTP codes (RFC 6238: HMAC-SHA-1, six
//! digits, 30-second steps, one step of skew either way) and recovery codes.
//!
//! A code is accepted only for a step newer than the last one accepted, so a
//! code (or an older one still in the window) works once: RFC 6238 §5.2
//! leaves that to the caller, and the caller stores the step this returns.
//! Recovery codes carry 80 random bits each, so a SHA-256 of the normalised
//! code is all the database needs (like the other random tokens).

use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::secrets::hash_token;

/// The name authenticator apps show above the account.
pub const ISSUER: &str = "Latchkey";
/// 160 bits: RFC 4226 §4's recommendation (128 is its minimum).
pub const SECRET_BYTES: usize = 20;
pub const DIGITS: u8 = 6;
pub const STEP_SECS: u64 = 30;
pub const RECOVERY_CODES: usize = 10;
/// 10 random bytes: 16 base32 characters, shown as four groups of four.
const RECOVERY_CODE_BYTES: usize = 10;

/// A new TOTP secret from the OS CSPRNG.
pub fn new_secret() -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
    OsRng.fill_bytes(bytes.as_mut());
    bytes
}

fn totp(secret: &[u8], account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(Secret::from(secret.to_vec()))
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', ""))
        .build()
        .ok()
}

/// The secret as authenticator apps take it typed in (base32).
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The bytes of a base32 secret (what an app does with a typed-in one).
pub fn secret_from_base32(base32: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(base32).ok().map(|s| s.as_ref().to_vec())
}

/// `otpauth://totp/Latchkey:<account>?secret=…&issuer=Latchkey&…`, what
/// the enrolment QR code holds.
pub fn otpauth_uri(secret: &[u8], account: &str) -> Option<String> {
    totp(secret, account)?.to_url().ok()
}

/// The code for the step that holds `unix_secs` (for tests and the soft
/// authenticator in the black-box suite).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Option<String> {
    Some(totp(secret, "")?.generate(unix_secs).to_string())
}

/// The step a code is right for at `unix_secs` (the current step, or one
/// either side of it), provided that step is newer than `last_step`, the
/// newest one accepted before. Spaces in the code are ignored (apps show
/// "123 456"); anything but six digits is simply wrong.
pub fn accept_code(secret: &[u8], code: &str, unix_secs: u64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let step = i64::try_from(totp(secret, "")?.check(&code, unix_secs)?).ok()?;
    match last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// Whether `input` looks like a TOTP code rather than a recovery code.
pub fn is_totp_code(input: &str) -> bool {
    let digits: Vec<char> = input.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS as usize && digits.iter().all(char::is_ascii_digit)
}

/// Ten new recovery codes, as the user is shown them once
/// (`abcd-efgh-ijkl-mnop`), with the hashes the database keeps.
pub fn new_recovery_codes() -> Vec<(SecretString, String)> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = Zeroizing::new([0u8; RECOVERY_CODE_BYTES]);
            OsRng.fill_bytes(bytes.as_mut());
            let plain = Zeroizing::new(Secret::from(bytes.to_vec()).to_base32().to_lowercase());
            let shown = plain
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
                .collect::<Vec<_>>()
                .join("-");
            (SecretString::from(shown), hash_token(&plain))
        })
        .collect()
}

/// The hash a typed recovery code is looked up by: case, dashes and spaces
/// do not matter; anything not 16 base32 characters is no code at all.
pub fn recovery_code_hash(input: &str) -> Option<String> {
    let plain: Zeroizing<String> = Zeroizing::new(
        input
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    let is_base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
    (plain.len() == 16 && plain.chars().all(is_base32)).then(|| hash_token(&plain))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use secrecy::ExposeSecret;

    use super::*;

    /// RFC 6238 Appendix B's SHA-1 key.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_appendix_b() {
        // The appendix lists eight digits; six are their last six.
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(RFC_SECRET, time).unwrap(), eight[2..], "T = {time}");
        }
    }

    #[test]
    fn the_window_is_one_step_either_side() {
        let now = 1_700_000_015; // step 56_666_667, 15 s in
        let step = (now / STEP_SECS) as i64;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (now as i64 + offset * STEP_SECS as i64) as u64;
            let code = code_at(RFC_SECRET, at).unwrap();
            assert_eq!(
                accept_code(RFC_SECRET, &code, now, None),
                accepted.then_some(step + offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_older_ones_never_after_it() {
        let now = 1_700_000_000;
        let code = code_at(RFC_SECRET, now).unwrap();
        let step = accept_code(RFC_SECRET, &code, now, None).unwrap();
        // Replay: the same code, within its window, after it was used.
        assert_eq!(accept_code(RFC_SECRET, &code, now, Some(step)), None);
        assert_eq!(accept_code(RFC_SECRET, &code, now + STEP_SECS, Some(step)), None);
        // The previous step's code, still in the window, is older than the
        // one used: refused too.
        let previous = code_at(RFC_SECRET, now - STEP_SECS).unwrap();
        assert_eq!(accept_code(RFC_SECRET, &previous, now, Some(step)), None);
        // The next step's code is new.
        let next = code_at(RFC_SECRET, now + STEP_SECS).unwrap();
        assert_eq!(
            accept_code(RFC_SECRET, &next, now + STEP_SECS, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn only_six_digits_count() {
        let now = 1_700_000_000;
        let code = code_at(RFC_SECRET, now).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(accept_code(RFC_SECRET, &spaced, now, None).is_some());
        for wrong in [
            "",
            "12345",
            "1234567",
            &format!("+{}", &code[1..]),
            &format!("{}a", &code[..5]),
            &format!("0{code}"),
            "١٢٣٤٥٦", // Arabic-Indic digits are not ASCII digits
        ] {
            assert_eq!(accept_code(RFC_SECRET, wrong, now, None), None, "{wrong:?}");
        }
        // Another secret's code is wrong.
        let other = new_secret();
        let theirs = code_at(&other, now).unwrap();
        if theirs != code {
            assert_eq!(accept_code(RFC_SECRET, &theirs, now, None), None);
        }
    }

    #[test]
    fn the_uri_names_the_issuer_and_account_and_carries_the_secret() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        let uri = otpauth_uri(&secret, "ada@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Latchkey:ada%40example.com?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret_base32(&secret))), "{uri}");
        assert!(uri.contains("issuer=Latchkey"), "{uri}");
        assert!(!uri.contains("algorithm=SHA256"));
        assert_eq!(
            secret_from_base32(&secret_base32(&secret)).as_deref(),
            Some(&secret[..])
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let hashes: std::collections::HashSet<_> = codes.iter().map(|(_, h)| h.clone()).collect();
        assert_eq!(hashes.len(), RECOVERY_CODES);
        let (shown, hash) = &codes[0];
        let shown = shown.expose_secret();
        assert_eq!(shown.len(), 19, "{shown}");
        assert_eq!(recovery_code_hash(shown).as_ref(), Some(hash));
        assert_eq!(recovery_code_hash(&shown.to_uppercase()).as_ref(), Some(hash));
        assert_eq!(recovery_code_hash(&shown.replace('-', " ")).as_ref(), Some(hash));
        assert_eq!(recovery_code_hash(&shown[..18]), None);
        assert_eq!(recovery_code_hash("0000-0000-0000-0000"), None, "0 is not base32");
        assert!(!is_totp_code(shown));
        assert!(is_totp_code("123 456"));
    }

    proptest! {
        #[test]
        fn no_input_panics_or_passes_for_a_used_step(code in "\\PC{0,12}", now in 60u64..4_000_000_000) {
            let last = (now / STEP_SECS) as i64 + 1;
            prop_assert_eq!(accept_code(RFC_SECRET, &code, now, Some(last)), None);
            let _ = recovery_code_hash(&code);
        }
    }
}
