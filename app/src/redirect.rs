//! Where people go around sign-in: which pages need a session, and the
//! `next` address to come back to, which must stay on this site (an open
//! redirect would let a phishing link borrow our login page).

use crate::auth::SignedOutReason;

/// Pages that need a session; the rest are public.
const PROTECTED: &[&str] = &["/account", "/security", "/how-it-works", "/admin"];

/// Where a sign-in lands when it has no (acceptable) `next`.
pub const AFTER_SIGN_IN: &str = "/account";

pub fn is_protected(path: &str) -> bool {
    PROTECTED.iter().any(|page| {
        path.strip_prefix(page)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The sign-in page, set to come back to `path_and_query` afterwards.
pub fn login_url(path_and_query: &str) -> String {
    with_next("/login", path_and_query)
}

/// Where a signed-out visitor on `path` (with `query`, no `?`) goes, if
/// anywhere. `just_ended`: this tab was signed in a moment ago.
pub fn signed_out_target(reason: SignedOutReason, just_ended: bool, path: &str, query: &str) -> Option<String> {
    let leave_login = || (path != "/login").then(|| "/login".to_string());
    if just_ended && reason == SignedOutReason::SignedOut {
        // They chose to leave: no page to come back to.
        leave_login()
    } else if is_protected(path) {
        let here = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        Some(login_url(&here))
    } else if just_ended {
        leave_login()
    } else {
        None
    }
}

/// `page` carrying `next` along (it is checked again where it is used).
pub fn with_next(page: &str, next: &str) -> String {
    format!("{page}?next={}", encode_component(next))
}

/// `next` if it is a path on this site, else the default landing page.
///
/// Only a single leading `/` will do: `//host` and `/\host` are read by
/// browsers as another host, and tabs or newlines are stripped by URL
/// parsers, so `/\t/host` would become `//host`. Backslashes and control
/// characters are refused anywhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_site_path(path) && !is_auth_page(path) => path.to_string(),
        _ => AFTER_SIGN_IN.to_string(),
    }
}

fn is_site_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

/// Coming back to the sign-in form after signing in would be a loop.
fn is_auth_page(path: &str) -> bool {
    ["/login", "/register"].iter().any(|page| {
        path.strip_prefix(page)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['?', '/', '#']))
    })
}

/// Percent-encodes everything but unreserved characters and `/`: safe in
/// a path or a query value.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_site_paths_are_followed() {
        assert_eq!(safe_next(Some("/security")), "/security");
        assert_eq!(safe_next(Some("/how-it-works?x=1#top")), "/how-it-works?x=1#top");
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/login",
            "/register?next=/account",
        ] {
            assert_eq!(safe_next(Some(evil)), AFTER_SIGN_IN, "{evil:?}");
        }
        assert_eq!(safe_next(None), AFTER_SIGN_IN);
    }

    #[test]
    fn protected_pages_and_login_urls() {
        assert!(is_protected("/account"));
        assert!(is_protected("/security"));
        assert!(!is_protected("/accounting"));
        assert!(!is_protected("/login"));
        assert_eq!(login_url("/security?tab=a&b"), "/login?next=/security%3Ftab%3Da%26b");
    }

    #[test]
    fn where_signed_out_visitors_go() {
        use SignedOutReason::*;
        assert_eq!(
            signed_out_target(SignedOut, true, "/security", ""),
            Some("/login".into())
        );
        assert_eq!(
            signed_out_target(SessionEnded, true, "/security", "a=1"),
            Some("/login?next=/security%3Fa%3D1".into())
        );
        assert_eq!(
            signed_out_target(NeverSignedIn, false, "/account", ""),
            Some("/login?next=/account".into())
        );
        assert_eq!(signed_out_target(SessionEnded, true, "/", ""), Some("/login".into()));
        assert_eq!(signed_out_target(NeverSignedIn, false, "/", ""), None);
        assert_eq!(signed_out_target(SignedOut, true, "/login", ""), None);
    }
}
