//! Logging: `RUST_LOG` decides what is written (default: info for Latchkey,
//! warnings for the libraries). Secrets never reach a log line: passwords
//! and tokens are `SecretString`s or hashes by the time anything is logged.

use tracing_subscriber::EnvFilter;

pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
