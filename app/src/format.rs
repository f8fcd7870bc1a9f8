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

/// "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago": how long
/// before `now_ms` the moment `at_ms` was.
pub fn relative(at_ms: f64, now_ms: f64) -> String {
    let secs = ((now_ms - at_ms) / 1000.0).floor().max(0.0) as u64;
    match secs {
        0..5 => "just now".into(),
        5..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// The last 8 hex digits of an id, enough to tell rows apart on screen.
/// (Not the first: v7 ids start with their creation time, so ids made
/// the same minute share their first digits.)
pub fn short_id(id: &uuid::Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_tell_ids_of_the_same_minute_apart() {
        let a = uuid::Uuid::parse_str("019ac4f2-1a2b-7000-8000-00000000aaaa").unwrap();
        let b = uuid::Uuid::parse_str("019ac4f2-1a2b-7000-8000-00000000bbbb").unwrap();
        assert_ne!(short_id(&a), short_id(&b));
        assert_eq!(short_id(&a), "0000aaaa");
    }

    #[test]
    fn relative_times() {
        let now = 1_000_000_000.0;
        assert_eq!(relative(now - 1_000.0, now), "just now");
        assert_eq!(
            relative(now + 5_000.0, now),
            "just now",
            "a clock ahead is not the future"
        );
        assert_eq!(relative(now - 42_000.0, now), "42 s ago");
        assert_eq!(relative(now - 5.5 * 60_000.0, now), "5 min ago");
        assert_eq!(relative(now - 3.2 * 3_600_000.0, now), "3 h ago");
        assert_eq!(relative(now - 49.0 * 3_600_000.0, now), "2 d ago");
    }

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
