//! The one email syntax rule, used by the server (`Email::parse`) and by the
//! browser form before it sends anything: what an HTML `<input type=email>`
//! accepts (the WHATWG "valid email address"), plus a dot in the domain and
//! the length limits of RFC 5321.

pub const EMAIL_MAX_LEN: usize = 254;
const LOCAL_MAX_LEN: usize = 64;
const LABEL_MAX_LEN: usize = 63;

/// Checks a trimmed address; the error is a phrase for the field
/// ("is not an email address").
pub fn check_email_syntax(address: &str) -> Result<(), &'static str> {
    if address.is_empty() {
        return Err("is required");
    }
    if address.len() > EMAIL_MAX_LEN {
        return Err("must be at most 254 characters");
    }
    if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Err("is not an email address");
    };
    let local_ok = !local.is_empty() && local.len() <= LOCAL_MAX_LEN && local.bytes().all(is_local_byte);
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= LABEL_MAX_LEN
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    // A bare host (`a@localhost`) is valid HTML but never a deliverable
    // public address: the domain needs a dot.
    if local_ok && labels_ok && domain.contains('.') {
        Ok(())
    } else {
        Err("is not an email address")
    }
}

/// WHATWG's atext plus `.`: no quotes, no spaces, no `@`.
fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::check_email_syntax as check;

    #[test]
    fn what_an_email_input_accepts_is_accepted() {
        for good in [
            "ada@example.org",
            "Ada.Lovelace@Example.ORG",
            "o'brien+tag@mail.example.co.uk",
            "a!#$%&'*+/=?^_`{|}~-@x-y.example",
            "1@2.3",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn what_an_email_input_refuses_is_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a@b..com",
            "a b@example.com",
            "a\0@example.com",
            "a@.example.com",
            "a@example.com.",
            "x@y@example.com",
            "\"quoted\"@example.com",
            "a(comment)@example.com",
            "a@-example.com",
            "a@example-.com",
            "a@exa_mple.com",
            "a@[127.0.0.1]",
            "ü@example.com",
            "a@bücher.example",
        ] {
            assert!(check(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(check(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(check(&format!("a@{}.com", "b".repeat(64))).is_err());
        assert!(check(&format!("a@{}.com", "b".repeat(63))).is_ok());
        assert!(check(&format!("{}@{}.example.com", "a".repeat(64), "b".repeat(190))).is_err());
    }
}
