//! Passkeys in the browser: the WebAuthn ceremonies behind "Add a passkey",
//! "Sign in with a passkey" and "Use a passkey".
//!
//! The server sends its options as WebAuthn Level 3 JSON; the browser's own
//! `PublicKeyCredential.parseCreationOptionsFromJSON` /
//! `parseRequestOptionsFromJSON` turn them into what
//! `navigator.credentials.create` / `get` take, and the credential's
//! `toJSON()` is what goes back. So there is no base64url of our own: the
//! browser and the server agree on the encoding between them. The calls go
//! through `Reflect` rather than web-sys bindings, so a browser without the
//! JSON helpers is found out (and told so) instead of throwing, and the
//! bundle needs no WebAuthn features of web-sys.
//!
//! Failures come back as [`ApiFailure::Browser`], a sentence for the
//! person. Nothing is logged: a cancelled prompt is an ordinary outcome,
//! not an error.

use latchkey_types::{PasskeyAssertion, PasskeyOptions, PasskeyRegistration};

use crate::api::ApiFailure;

const UNSUPPORTED: &str = "This browser cannot use passkeys.";
const CANCELLED: &str = "The passkey request was cancelled or timed out.";

/// Registration: asks the browser for a new passkey for `options` (from
/// `POST /api/me/mfa/passkeys/options`), to be listed as `name`.
pub async fn create(options: PasskeyOptions, name: String) -> Result<PasskeyRegistration, ApiFailure> {
    let credential = ceremony(Ceremony::Create, &options.public_key).await?;
    Ok(PasskeyRegistration {
        ceremony_id: options.ceremony_id,
        name,
        credential,
    })
}

/// Sign-in, second step or step-up: asks the browser to answer the
/// challenge of `options` with one of the passkeys they allow.
pub async fn get(options: PasskeyOptions) -> Result<PasskeyAssertion, ApiFailure> {
    let credential = ceremony(Ceremony::Get, &options.public_key).await?;
    Ok(PasskeyAssertion {
        ceremony_id: options.ceremony_id,
        credential,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ceremony {
    Create,
    Get,
}

// The server build never runs a ceremony (see its stand-in below).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl Ceremony {
    /// The static method of `PublicKeyCredential` that reads the options.
    fn parser(self) -> &'static str {
        match self {
            Ceremony::Create => "parseCreationOptionsFromJSON",
            Ceremony::Get => "parseRequestOptionsFromJSON",
        }
    }

    /// The method of `navigator.credentials` that runs the ceremony.
    fn method(self) -> &'static str {
        match self {
            Ceremony::Create => "create",
            Ceremony::Get => "get",
        }
    }
}

/// What the `DOMException` a ceremony failed with means for the person.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn refusal(ceremony: Ceremony, exception: &str) -> &'static str {
    match exception {
        // The prompt was dismissed, timed out, or (Chrome) no passkey matched.
        "NotAllowedError" | "AbortError" => CANCELLED,
        // `excludeCredentials` matched: this authenticator is registered already.
        "InvalidStateError" if ceremony == Ceremony::Create => "This device already holds a passkey for your account.",
        "NotSupportedError" => UNSUPPORTED,
        "SecurityError" => "The browser refused passkeys for this address. Open the site by its domain name.",
        _ => "The passkey request failed. Please try again.",
    }
}

/// Runs a ceremony with the server's options JSON; answers the
/// credential's `toJSON()`.
#[cfg(feature = "hydrate")]
async fn ceremony(ceremony: Ceremony, public_key: &serde_json::Value) -> Result<serde_json::Value, ApiFailure> {
    use js_sys::{Function, JSON, Object, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn property(target: &JsValue, name: &str) -> Option<JsValue> {
        Reflect::get(target, &JsValue::from_str(name))
            .ok()
            .filter(|value| !value.is_undefined() && !value.is_null())
    }
    fn method(target: &JsValue, name: &str) -> Option<Function> {
        property(target, name)?.dyn_into().ok()
    }
    let unsupported = || ApiFailure::Browser(UNSUPPORTED.into());
    // Whatever a step threw: a `DOMException` (or `TypeError`) with a name.
    let refused = |thrown: JsValue| {
        let name = property(&thrown, "name")
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        ApiFailure::Browser(refusal(ceremony, &name).into())
    };

    let window = web_sys::window().ok_or_else(unsupported)?;
    let class = property(&window, "PublicKeyCredential").ok_or_else(unsupported)?;
    let parse = method(&class, ceremony.parser()).ok_or_else(unsupported)?;
    let credentials = property(&window.navigator(), "credentials").ok_or_else(unsupported)?;
    let run = method(&credentials, ceremony.method()).ok_or_else(unsupported)?;

    let json = JSON::parse(&public_key.to_string()).map_err(refused)?;
    let parsed = parse.call1(&class, &json).map_err(refused)?;
    let request = Object::new();
    Reflect::set(&request, &JsValue::from_str("publicKey"), &parsed).map_err(refused)?;
    let promise: Promise = run
        .call1(&credentials, &request)
        .map_err(refused)?
        .dyn_into()
        .map_err(|_| unsupported())?;
    let credential = JsFuture::from(promise).await.map_err(refused)?;
    if credential.is_null() || credential.is_undefined() {
        return Err(ApiFailure::Browser(CANCELLED.into()));
    }
    let to_json = method(&credential, "toJSON").ok_or_else(unsupported)?;
    let answer = to_json.call0(&credential).map_err(refused)?;
    let text = JSON::stringify(&answer)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(unsupported)?;
    serde_json::from_str(&text).map_err(|_| unsupported())
}

/// The server renders passkey buttons but never presses them.
#[cfg(not(feature = "hydrate"))]
async fn ceremony(_ceremony: Ceremony, _public_key: &serde_json::Value) -> Result<serde_json::Value, ApiFailure> {
    Err(ApiFailure::Browser(UNSUPPORTED.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dismissed_prompt_reads_as_cancelled() {
        assert_eq!(refusal(Ceremony::Get, "NotAllowedError"), CANCELLED);
        assert_eq!(refusal(Ceremony::Create, "AbortError"), CANCELLED);
    }

    #[test]
    fn an_authenticator_registered_twice_is_named() {
        assert!(refusal(Ceremony::Create, "InvalidStateError").contains("already"));
        assert!(!refusal(Ceremony::Get, "InvalidStateError").contains("already"));
        assert_eq!(refusal(Ceremony::Get, "NotSupportedError"), UNSUPPORTED);
    }
}
