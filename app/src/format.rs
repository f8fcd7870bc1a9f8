//! How server values read on screen: dates, devices, durations.

use chrono::{DateTime, Utc};

use crate::browser;

pub fn date_time(at: &DateTime<Utc>) -> String {
    browser::local_date_time(at.timestamp_millis() as f64)
}

/// `3:07` for a remaining lifetime; `0:00` once it has passed.
pub fn countdown(remaining_ms: f64) -> String {
    let secs = (remaining_ms / 1000.0).ceil().max(0.0) as u64;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// "Chrome on Linux" from a User-Agent header: enough to recognise a
/// session, without pretending to more precision than the header has.
pub fn device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map_or("A browser", |(_, name)| name);
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_read_plainly() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0 Safari/537.36";
        assert_eq!(
            device(Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")),
            "Chrome on Linux"
        );
        assert_eq!(device(Some(chrome)), "Chrome on Linux");
        assert_eq!(device(Some("curl/8.5")), "A browser");
        assert_eq!(device(None), "Unknown device");
    }

    #[test]
    fn countdowns() {
        assert_eq!(countdown(187_000.0), "3:07");
        assert_eq!(countdown(-5.0), "0:00");
        assert_eq!(countdown(400.0), "0:01");
    }
}
