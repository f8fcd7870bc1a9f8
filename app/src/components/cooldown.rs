//! A seconds countdown for `Retry-After`: the message says how long is
//! left and the submit button stays disabled until it reaches zero.

use std::time::Duration;

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Cooldown {
    left: RwSignal<u64>,
    ticker: StoredValue<Option<IntervalHandle>>,
}

impl Cooldown {
    /// Stops ticking when the component that made it goes away.
    pub fn new() -> Self {
        let cooldown = Cooldown {
            left: RwSignal::new(0),
            ticker: StoredValue::new(None),
        };
        on_cleanup(move || cooldown.stop());
        cooldown
    }

    pub fn start(&self, secs: u64) {
        self.stop();
        self.left.set(secs);
        let this = *self;
        let handle = set_interval_with_handle(
            move || {
                this.left.update(|left| *left = left.saturating_sub(1));
                if this.left.get_untracked() == 0 {
                    this.stop();
                }
            },
            Duration::from_secs(1),
        );
        self.ticker.set_value(handle.ok());
    }

    pub fn seconds_left(&self) -> u64 {
        self.left.get()
    }

    pub fn active(&self) -> bool {
        self.seconds_left() > 0
    }

    fn stop(&self) {
        if let Some(Some(handle)) = self.ticker.try_get_value() {
            handle.clear();
        }
        self.ticker.try_set_value(None);
    }
}
