//! The page's Content-Security-Policy, set while the shell renders so it can
//! name this response's nonce. Scripts run only from our origin or with the
//! nonce (Leptos's hydration script), WASM may compile, nothing may frame us.

use leptos::prelude::*;

pub(crate) fn set_page_policy(options: &LeptosOptions) {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = leptos::nonce::use_nonce().map(|n| n.to_string()).unwrap_or_default();
    // `cargo leptos watch` reloads the page over a WebSocket on its own port.
    let live_reload = if std::env::var_os("LEPTOS_WATCH").is_some() {
        format!(" ws://localhost:{0} ws://127.0.0.1:{0}", options.reload_port)
    } else {
        String::new()
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'{live_reload}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
