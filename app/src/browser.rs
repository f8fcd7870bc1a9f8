//! The few facts the app reads straight from the browser: the clock, local
//! time formatting and `document.cookie`. The server build gets neutral
//! stand-ins so shared code compiles; it never renders anything that
//! depends on them (such views appear only after the client signs in).

/// Milliseconds since the epoch, on this machine's clock.
#[cfg(feature = "hydrate")]
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(feature = "hydrate"))]
pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or_default()
}

/// A number in [0, 1), for jitter (not for secrets).
#[cfg(feature = "hydrate")]
pub fn jitter() -> f64 {
    js_sys::Math::random()
}

#[cfg(not(feature = "hydrate"))]
pub fn jitter() -> f64 {
    0.5
}

/// A time of day in the reader's locale, e.g. `14:03:27`.
#[cfg(feature = "hydrate")]
pub fn local_time(ms: f64) -> String {
    String::from(js_sys::Date::new(&ms.into()).to_locale_time_string("default"))
}

/// A date and time in the reader's locale and time zone.
#[cfg(feature = "hydrate")]
pub fn local_date_time(ms: f64) -> String {
    String::from(js_sys::Date::new(&ms.into()).to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

#[cfg(not(feature = "hydrate"))]
pub fn local_time(ms: f64) -> String {
    utc(ms, "%H:%M:%S UTC")
}

#[cfg(not(feature = "hydrate"))]
pub fn local_date_time(ms: f64) -> String {
    utc(ms, "%Y-%m-%d %H:%M UTC")
}

#[cfg(not(feature = "hydrate"))]
fn utc(ms: f64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

/// What scripts on this page can see of the cookies: an HttpOnly cookie
/// is never part of it.
#[cfg(feature = "hydrate")]
pub fn document_cookie() -> String {
    use wasm_bindgen::JsCast;

    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
        .and_then(|d| d.cookie().ok())
        .unwrap_or_default()
}

#[cfg(not(feature = "hydrate"))]
pub fn document_cookie() -> String {
    String::new()
}

/// The `token` of the page's fragment (`#token=…`, how mailed links carry
/// it), removed from the address bar and the history at once so it is not
/// left in a screenshot, a bookmark or the back button.
#[cfg(feature = "hydrate")]
pub fn take_fragment_token() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let hash = location.hash().ok()?;
    let token = hash.strip_prefix("#token=").filter(|t| !t.is_empty())?.to_string();
    if let (Ok(path), Ok(history)) = (location.pathname(), window.history()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    Some(token)
}

#[cfg(not(feature = "hydrate"))]
pub fn take_fragment_token() -> Option<String> {
    None
}

/// Waits `ms` milliseconds without blocking the page.
#[cfg(feature = "hydrate")]
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The server never waits on the page's behalf.
#[cfg(not(feature = "hydrate"))]
pub async fn sleep(_ms: u32) {}
