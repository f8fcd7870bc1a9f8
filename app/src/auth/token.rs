//! Reading an access token for display. The client never trusts what it
//! decodes here (it cannot check the signature and does not need to: the
//! server does); it only shows the user what their token says.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_types::AccessClaims;
use serde::de::DeserializeOwned;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecodedToken {
    pub header: Option<serde_json::Value>,
    pub claims: Option<AccessClaims>,
}

pub fn decode(token: &str) -> DecodedToken {
    let mut parts = token.split('.');
    DecodedToken {
        header: parts.next().and_then(segment),
        claims: parts.next().and_then(segment),
    }
}

fn segment<T: DeserializeOwned>(encoded: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn decodes_header_and_claims() {
        let header = encode(r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}"#);
        let claims = encode(
            r#"{"iss":"latchkey","aud":"latchkey","sub":"0190c6f0-0000-7000-8000-000000000001",
                "sid":"0190c6f0-0000-7000-8000-000000000002","role":"user","iat":10,"exp":310,
                "jti":"0190c6f0-0000-7000-8000-000000000003"}"#,
        );
        let decoded = decode(&format!("{header}.{claims}.signature"));
        assert_eq!(
            decoded.header.and_then(|h| h["typ"].as_str().map(String::from)),
            Some("at+jwt".into())
        );
        assert_eq!(decoded.claims.map(|c| c.exp), Some(310));
    }

    #[test]
    fn garbage_decodes_to_nothing() {
        assert_eq!(decode("not a token"), DecodedToken::default());
        assert_eq!(decode("a.b.c"), DecodedToken::default());
    }
}
