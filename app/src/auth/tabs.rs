//! Tabs of one browser profile share a refresh cookie, so they coordinate:
//!
//! - The Web Locks API (`navigator.locks`) serialises refreshes across
//!   tabs: whoever holds "latchkey-refresh" is the only one renewing, and
//!   the next holder first checks whether a fresh token has arrived.
//! - A BroadcastChannel ("latchkey-auth") carries each renewal's result and
//!   each sign-out to the other tabs, which adopt the token instead of
//!   spending a refresh of their own.
//!
//! `LockManager` is still behind `--cfg=web_sys_unstable_apis` in web-sys,
//! so `navigator.locks.request` is declared here with a tiny
//! `#[wasm_bindgen]` binding instead of turning unstable APIs on for the
//! whole build. Browsers without either API degrade to independent tabs,
//! which still work (the server's grace window forgives concurrent
//! refreshes).

use serde::{Deserialize, Serialize};

use super::{Grant, SignedOutReason};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TabMessage {
    /// A sign-in or renewal in another tab.
    Renewed {
        grant: Grant,
    },
    SignedOut {
        reason: SignedOutReason,
    },
}

#[cfg(feature = "hydrate")]
pub use browser::{broadcast, listen, with_refresh_lock};
#[cfg(not(feature = "hydrate"))]
pub use inert::{broadcast, listen, with_refresh_lock};

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::future::Future;
    use std::rc::Rc;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::{JsFuture, future_to_promise};
    use web_sys::{BroadcastChannel, MessageEvent};

    use super::TabMessage;

    const REFRESH_LOCK: &str = "latchkey-refresh";
    const CHANNEL: &str = "latchkey-auth";

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(extends = js_sys::Object)]
        type LockManager;

        /// Resolves with the callback's result once the callback's promise
        /// settles; the lock is held until then.
        #[wasm_bindgen(method)]
        fn request(this: &LockManager, name: &str, callback: &js_sys::Function) -> js_sys::Promise;
    }

    fn lock_manager() -> Option<LockManager> {
        let navigator = web_sys::window()?.navigator();
        let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
        (locks.is_object()).then(|| locks.unchecked_into())
    }

    /// Runs `work` while this tab holds the refresh lock.
    pub async fn with_refresh_lock<T: 'static>(work: impl Future<Output = T> + 'static) -> T {
        let Some(locks) = lock_manager() else {
            return work.await;
        };
        let pending = Rc::new(RefCell::new(Some(work)));
        let result = Rc::new(RefCell::new(None));
        let (pending_in_lock, result_in_lock) = (pending.clone(), result.clone());
        let callback = Closure::once_into_js(move |_lock: JsValue| {
            future_to_promise(async move {
                let work = pending_in_lock.borrow_mut().take();
                if let Some(work) = work {
                    *result_in_lock.borrow_mut() = Some(work.await);
                }
                Ok(JsValue::UNDEFINED)
            })
        });
        // A rejected request (a sandboxed document, say) is handled below.
        let _ = JsFuture::from(locks.request(REFRESH_LOCK, callback.unchecked_ref())).await;
        if let Some(value) = result.borrow_mut().take() {
            return value;
        }
        let work = pending.borrow_mut().take();
        match work {
            // The lock was never granted: do the work unlocked.
            Some(work) => work.await,
            // The callback took the work and never finished it: a panic, already reported.
            None => wasm_bindgen::throw_str("the refresh lock was released without a result"),
        }
    }

    thread_local! {
        static CHANNEL_HANDLE: RefCell<Option<BroadcastChannel>> = const { RefCell::new(None) };
    }

    /// Delivers other tabs' messages to `on_message` for the life of the page.
    pub fn listen(on_message: impl Fn(TabMessage) + 'static) {
        let Ok(channel) = BroadcastChannel::new(CHANNEL) else {
            return;
        };
        let handler = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
            let message = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<TabMessage>(&text).ok());
            if let Some(message) = message {
                on_message(message);
            }
        });
        channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        // The listener lives as long as the page does; nothing ever removes it.
        handler.forget();
        CHANNEL_HANDLE.with(|slot| *slot.borrow_mut() = Some(channel));
    }

    /// Tells every other tab (never this one: a channel does not hear itself).
    pub fn broadcast(message: &TabMessage) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        CHANNEL_HANDLE.with(|slot| {
            if let Some(channel) = slot.borrow().as_ref() {
                let _ = channel.post_message(&JsValue::from_str(&text));
            }
        });
    }
}

/// The server build renders pages but never refreshes or talks to tabs.
#[cfg(not(feature = "hydrate"))]
mod inert {
    use std::future::Future;

    use super::TabMessage;

    pub async fn with_refresh_lock<T>(work: impl Future<Output = T>) -> T {
        work.await
    }

    pub fn listen(_on_message: impl Fn(TabMessage) + 'static) {}

    pub fn broadcast(_message: &TabMessage) {}
}
