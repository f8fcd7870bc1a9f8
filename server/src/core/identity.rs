//! Parse, don't validate: `Email` and `DisplayName` can only be built through
//! their constructors, so no handler can forget a check.

use std::fmt;

/// A trimmed, plausible email address, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
    key: String,
}

pub use latchkey_types::email::EMAIL_MAX_LEN;

impl Email {
    /// Trimmed, then the one syntax rule the browser form applies too
    /// (`latchkey_types::check_email_syntax`).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let address = raw.trim();
        latchkey_types::check_email_syntax(address)?;
        Ok(Email {
            address: address.to_string(),
            key: address.to_lowercase(),
        })
    }

    /// An address that may already be stored: trimmed and keyed like a new
    /// one, without the syntax rule, which is newer than some accounts.
    /// For finding an account (sign-in), never for creating or changing one.
    pub fn existing(raw: &str) -> Result<Self, &'static str> {
        let address = raw.trim();
        if address.is_empty()
            || address.len() > EMAIL_MAX_LEN
            || !address.contains('@')
            || address.chars().any(char::is_control)
        {
            return Err("is not an email address");
        }
        Ok(Email {
            address: address.to_string(),
            key: address.to_lowercase(),
        })
    }

    /// As the user typed it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// Lower-cased: what uniqueness and lookups compare.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn local_part(&self) -> &str {
        self.key.rsplit_once('@').map_or(&self.key, |(local, _)| local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

/// At most 64 characters, no control characters; blank means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

pub const DISPLAY_NAME_MAX_CHARS: usize = 64;

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Option<Self>, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Ok(None);
        }
        if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
            return Err("must be at most 64 characters");
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Some(DisplayName(name.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_keyed_in_lower_case() {
        let email = Email::parse("  Ada.Lovelace@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace@Example.ORG");
        assert_eq!(email.key(), "ada.lovelace@example.org");
        assert_eq!(email.local_part(), "ada.lovelace");
    }

    #[test]
    fn the_shared_syntax_rule_decides_new_addresses() {
        // The rule itself is tested where it lives (`latchkey_types::email`).
        assert!(Email::parse("  ").is_err());
        assert!(Email::parse("\"quoted\"@example.com").is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
        assert!(Email::parse(" o'brien+tag@mail.example.co.uk ").is_ok());
    }

    #[test]
    fn existing_addresses_are_found_without_the_newer_rule() {
        // An account made before the rule still signs in...
        assert_eq!(
            Email::existing(" Back\\Slash@Example.com ").unwrap().key(),
            "back\\slash@example.com"
        );
        // ...but nothing that could never be stored, or break a query.
        for bad in ["", "plain", "a\0@example.com", "a\n@example.com"] {
            assert!(Email::existing(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names_are_bounded_and_printable() {
        assert_eq!(DisplayName::parse("  ").unwrap(), None);
        assert_eq!(DisplayName::parse(" Ada ").unwrap().unwrap().as_str(), "Ada");
        assert!(DisplayName::parse(&"é".repeat(64)).unwrap().is_some());
        assert!(DisplayName::parse(&"é".repeat(65)).is_err());
        assert!(DisplayName::parse("bell\u{7}").is_err());
    }
}
