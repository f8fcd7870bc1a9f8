//! Every setting of API.md, read once at start from flags, the environment
//! and a `.env` file (in that order of precedence), and validated before the
//! server touches the network.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use url::Url;

pub use latchkey_types::{AccessCheck, AdminAuth, AuthMode};

fn parse_auth_mode(raw: &str) -> Result<AuthMode, String> {
    AuthMode::parse(raw).ok_or_else(|| format!("{raw:?} is not one of: jwt, session"))
}

fn parse_admin_auth(raw: &str) -> Result<AdminAuth, String> {
    AdminAuth::parse(raw).ok_or_else(|| format!("{raw:?} is not one of: same, session"))
}

fn parse_access_check(raw: &str) -> Result<AccessCheck, String> {
    AccessCheck::parse(raw).ok_or_else(|| format!("{raw:?} is not one of: stateless, revocation-cache, session-lookup"))
}

#[derive(Clone, Args)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/latchkey.db",
        global = true
    )]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000", global = true)]
    pub site_addr: SocketAddr,

    /// The origin browsers use (scheme://host[:port]); CSRF checks compare
    /// against it. Default: derived from the listen address.
    #[arg(long, env = "LATCHKEY_PUBLIC_ORIGIN", global = true)]
    pub public_origin: Option<String>,

    /// PEM (PKCS#8) Ed25519 private key to sign access tokens with. Unset:
    /// keys are generated and kept in the database.
    #[arg(long, env = "LATCHKEY_JWT_KEY_FILE", global = true)]
    pub jwt_key_file: Option<std::path::PathBuf>,

    /// Key files that signed before the current one (comma-separated):
    /// they verify, never sign. Keep a replaced file listed until its
    /// tokens have expired (the access-token lifetime plus 5 s).
    #[arg(long, env = "LATCHKEY_JWT_PREVIOUS_KEY_FILES", value_delimiter = ',', global = true)]
    pub jwt_previous_key_files: Vec<std::path::PathBuf>,

    /// 32 bytes that encrypt the signing keys kept in the database; created
    /// (mode 0600) if missing. Default: beside the SQLite database, or
    /// `data/latchkey-keys.secret`. Replicas of one database share it.
    #[arg(long, env = "LATCHKEY_KEY_ENCRYPTION_KEY_FILE", global = true)]
    pub key_encryption_key_file: Option<std::path::PathBuf>,

    /// Access-token lifetime in seconds.
    #[arg(long, env = "LATCHKEY_ACCESS_TTL_SECS", default_value_t = 300, global = true)]
    pub access_ttl_secs: u64,

    /// Sliding idle timeout of a session, in seconds.
    #[arg(long, env = "LATCHKEY_REFRESH_IDLE_SECS", default_value_t = 7 * 24 * 3600, global = true)]
    pub refresh_idle_secs: u64,

    /// Absolute lifetime of a session, in seconds.
    #[arg(long, env = "LATCHKEY_SESSION_MAX_SECS", default_value_t = 30 * 24 * 3600, global = true)]
    pub session_max_secs: u64,

    /// How long the immediate parent of a refresh token is still forgiven:
    /// long enough for a client whose response was lost (a proxy error, a
    /// dropped mobile link) to retry and be handed the same successor.
    #[arg(long, env = "LATCHKEY_REFRESH_GRACE_SECS", default_value_t = 30, global = true)]
    pub refresh_grace_secs: u64,

    /// Whether cookies carry `Secure` (turn off only for plain-HTTP
    /// development on an address other than localhost).
    #[arg(long, env = "LATCHKEY_COOKIE_SECURE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub cookie_secure: bool,

    /// Name of the refresh cookie. Default: `__Secure-latchkey-refresh`
    /// (`latchkey-refresh` when cookies are not `Secure`).
    #[arg(long, env = "LATCHKEY_REFRESH_COOKIE", global = true)]
    pub refresh_cookie: Option<String>,

    /// Comma-separated addresses whose `X-Forwarded-For` is believed.
    #[arg(long, env = "LATCHKEY_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<IpAddr>,

    /// Failed logins per account per 15 minutes before 429.
    #[arg(long, env = "LATCHKEY_RATE_ACCOUNT_FAILURES", default_value_t = 10, global = true)]
    pub rate_account_failures: u32,

    /// Login/register attempts per client address per minute.
    #[arg(long, env = "LATCHKEY_RATE_ADDRESS_PER_MIN", default_value_t = 60, global = true)]
    pub rate_address_per_min: u32,

    /// Mails one client address may cause per hour (verification links,
    /// and the recovery flows); one mailbox gets at most 5 an hour anyway.
    #[arg(long, env = "LATCHKEY_RATE_MAIL_PER_HOUR", default_value_t = 20, global = true)]
    pub rate_mail_per_hour: u32,

    /// Refreshes per client address per minute: a budget of its own, so
    /// sign-in attempts from one address cannot stop the silent refresh of
    /// everyone else behind it.
    #[arg(long, env = "LATCHKEY_RATE_REFRESH_PER_MIN", default_value_t = 600, global = true)]
    pub rate_refresh_per_min: u32,

    /// Requests per personal API key per minute (across every replica).
    #[arg(long, env = "LATCHKEY_RATE_API_KEY_PER_MIN", default_value_t = 600, global = true)]
    pub rate_api_key_per_min: u32,

    /// What the browser app uses: `jwt` or `session`.
    #[arg(long, env = "LATCHKEY_AUTH_MODE", value_parser = parse_auth_mode, default_value = "jwt", global = true)]
    pub auth_mode: AuthMode,

    /// How Bearer tokens are checked: `stateless` (signature only),
    /// `revocation-cache` (plus the revoked-session set) or `session-lookup`
    /// (plus a database read of the session).
    #[arg(long, env = "LATCHKEY_ACCESS_CHECK", value_parser = parse_access_check, default_value = "revocation-cache", global = true)]
    pub access_check: AccessCheck,

    /// Live sessions per user; past it the oldest is revoked.
    #[arg(long, env = "LATCHKEY_MAX_SESSIONS", default_value_t = 50, global = true)]
    pub max_sessions: u32,

    /// Minimum password length in Unicode code points (after NFKC).
    #[arg(long, env = "LATCHKEY_PASSWORD_MIN_CHARS", default_value_t = 15, global = true)]
    pub password_min_chars: usize,

    /// Verified access tokens kept in memory, so a token seen before skips
    /// the signature check until its `exp` (about 0.8 KB each: 16 MB at the
    /// default); 0 turns the cache off.
    #[arg(long, env = "LATCHKEY_TOKEN_CACHE_ENTRIES", default_value_t = 20_000, global = true)]
    pub token_cache_entries: usize,

    /// PEM certificate chain for built-in HTTPS (with `--tls-key-file`).
    /// Unset: plain HTTP (put a TLS-terminating proxy in front).
    #[arg(long, env = "LATCHKEY_TLS_CERT_FILE", global = true)]
    pub tls_cert_file: Option<std::path::PathBuf>,

    /// PEM (PKCS#8, SEC1 or PKCS#1) private key of that certificate.
    #[arg(long, env = "LATCHKEY_TLS_KEY_FILE", global = true)]
    pub tls_key_file: Option<std::path::PathBuf>,

    /// Seconds a client has to send a request's whole head (line and
    /// headers); slower connections are closed.
    #[arg(long, env = "LATCHKEY_HEADER_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub header_timeout_secs: u64,

    /// The SMTP relay: `smtps://user:pass@host:465` (implicit TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS). Unset: mails are
    /// written as `.eml` files under `LATCHKEY_MAIL_DIR` and their links
    /// logged (development).
    #[arg(long, env = "LATCHKEY_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// The sender of every mail.
    #[arg(
        long,
        env = "LATCHKEY_MAIL_FROM",
        default_value = "Latchkey <latchkey@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Where mails go without an SMTP relay.
    #[arg(long, env = "LATCHKEY_MAIL_DIR", default_value = "data/mail", global = true)]
    pub mail_dir: std::path::PathBuf,

    /// How long an email-verification link works, in seconds.
    #[arg(long, env = "LATCHKEY_VERIFY_TTL_SECS", default_value_t = 86_400, global = true)]
    pub verify_ttl_secs: u64,

    /// How long a password-reset link works, in seconds.
    #[arg(long, env = "LATCHKEY_RESET_TTL_SECS", default_value_t = 3_600, global = true)]
    pub reset_ttl_secs: u64,

    /// Sign-in needs a verified address: registration mails a link and
    /// starts no session, and a password sign-in of an unverified account
    /// answers 403 `email_unverified`.
    #[arg(long, env = "LATCHKEY_REQUIRE_VERIFIED_EMAIL", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub require_verified_email: bool,

    /// How recent the last full authentication must be for a sensitive
    /// action (password or email change, second factors, role changes).
    #[arg(long, env = "LATCHKEY_REAUTH_SECS", default_value_t = 600, global = true)]
    pub reauth_secs: u64,

    /// Administrators must have a second factor to use the admin area.
    #[arg(long, env = "LATCHKEY_REQUIRE_MFA_FOR_ADMINS", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub require_mfa_for_admins: bool,

    /// What the admin area takes: `same` (what the app uses) or `session`
    /// (a session cookie only, entered with a fresh sign-in, with a short
    /// idle timeout).
    #[arg(long, env = "LATCHKEY_ADMIN_AUTH", value_parser = parse_admin_auth, default_value = "same", global = true)]
    pub admin_auth: AdminAuth,

    /// With `LATCHKEY_ADMIN_AUTH=session`: the admin area's idle timeout.
    #[arg(long, env = "LATCHKEY_ADMIN_IDLE_SECS", default_value_t = 900, global = true)]
    pub admin_idle_secs: u64,

    /// argon2 hashes allowed in flight. Default: cores − 1, at least 1.
    #[arg(long, env = "LATCHKEY_HASH_PERMITS", global = true)]
    pub hash_permits: Option<usize>,
}

/// The settings after validation, with defaults resolved. `Debug` shows
/// the database URL without its password.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub public_origin: String,
    pub jwt_key_file: Option<std::path::PathBuf>,
    pub jwt_previous_key_files: Vec<std::path::PathBuf>,
    pub key_encryption_key_file: Option<std::path::PathBuf>,
    pub access_ttl: Duration,
    pub refresh_idle: Duration,
    pub session_max: Duration,
    pub refresh_grace: Duration,
    pub cookie_secure: bool,
    pub refresh_cookie: String,
    /// `__Host-latchkey-session` (`latchkey-session` without `Secure`).
    pub session_cookie: String,
    pub trusted_proxies: Vec<IpAddr>,
    pub rate_account_failures: u32,
    pub rate_address_per_min: u32,
    pub rate_refresh_per_min: u32,
    pub rate_api_key_per_min: u32,
    pub rate_mail_per_hour: u32,
    pub auth_mode: AuthMode,
    pub access_check: AccessCheck,
    pub max_sessions: u32,
    pub password_min_chars: usize,
    pub hash_permits: usize,
    pub token_cache_entries: usize,
    pub header_timeout: Duration,
    /// Certificate chain and key files when serving HTTPS itself.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub mail_dir: std::path::PathBuf,
    pub verify_ttl: Duration,
    pub reset_ttl: Duration,
    pub require_verified_email: bool,
    pub reauth: Duration,
    pub require_mfa_for_admins: bool,
    pub admin_auth: AdminAuth,
    pub admin_idle: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &crate::store::redact_url(&self.database_url))
            .field("site_addr", &self.site_addr)
            .field("public_origin", &self.public_origin)
            .field("jwt_key_file", &self.jwt_key_file)
            .field("access_ttl", &self.access_ttl)
            .field("auth_mode", &self.auth_mode)
            .field("access_check", &self.access_check)
            .field("admin_auth", &self.admin_auth)
            .field("smtp_url", &self.smtp_url.as_deref().map(crate::store::redact_url))
            .field("mail_from", &self.mail_from)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Checks every value once so that nothing later has to.
    pub fn validate(self) -> anyhow::Result<Settings> {
        if !self.jwt_previous_key_files.is_empty() && self.jwt_key_file.is_none() {
            bail!(
                "LATCHKEY_JWT_PREVIOUS_KEY_FILES needs LATCHKEY_JWT_KEY_FILE: database keys rotate with `latchkey keys rotate`"
            );
        }
        let tls = match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            _ => bail!("LATCHKEY_TLS_CERT_FILE and LATCHKEY_TLS_KEY_FILE go together"),
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_origin = match &self.public_origin {
            Some(origin) => normalize_origin(origin)
                .with_context(|| format!("LATCHKEY_PUBLIC_ORIGIN {origin:?} is not an origin"))?,
            None => format!("{scheme}://{}", self.site_addr),
        };
        if self.access_ttl_secs == 0 || self.access_ttl_secs > 24 * 3600 {
            bail!("LATCHKEY_ACCESS_TTL_SECS must be between 1 and 86400");
        }
        const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
        if !(1..=TEN_YEARS).contains(&self.refresh_idle_secs) || !(1..=TEN_YEARS).contains(&self.session_max_secs) {
            bail!("LATCHKEY_REFRESH_IDLE_SECS and LATCHKEY_SESSION_MAX_SECS must be between 1 and {TEN_YEARS}");
        }
        if self.refresh_grace_secs > 60 {
            bail!("LATCHKEY_REFRESH_GRACE_SECS must be at most 60: a longer window forgives real reuse");
        }
        if self.public_origin.is_none() && self.site_addr.ip().is_unspecified() {
            bail!(
                "listening on {} needs LATCHKEY_PUBLIC_ORIGIN: browsers cannot use that address",
                self.site_addr
            );
        }
        if self.max_sessions == 0 {
            bail!("LATCHKEY_MAX_SESSIONS must be at least 1");
        }
        if self.password_min_chars < 8 {
            bail!("LATCHKEY_PASSWORD_MIN_CHARS must be at least 8");
        }
        if !(1..=300).contains(&self.header_timeout_secs) {
            bail!("LATCHKEY_HEADER_TIMEOUT_SECS must be between 1 and 300");
        }
        if self.token_cache_entries > 10_000_000 {
            bail!("LATCHKEY_TOKEN_CACHE_ENTRIES must be at most 10000000");
        }
        if !(60..=24 * 3600).contains(&self.admin_idle_secs) {
            bail!("LATCHKEY_ADMIN_IDLE_SECS must be 60 to 86400");
        }
        if !(1..=7 * 24 * 3600).contains(&self.reauth_secs) {
            bail!("LATCHKEY_REAUTH_SECS must be between 1 second and 7 days");
        }
        if !(60..=30 * 24 * 3600).contains(&self.verify_ttl_secs)
            || !(60..=7 * 24 * 3600).contains(&self.reset_ttl_secs)
        {
            bail!(
                "LATCHKEY_VERIFY_TTL_SECS must be between 60 and 2592000, LATCHKEY_RESET_TTL_SECS between 60 and 604800"
            );
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            bail!(
                "LATCHKEY_MAIL_FROM {:?} is not a mailbox (`Name <address>` or `address`)",
                self.mail_from
            );
        }
        if let Some(url) = &self.smtp_url
            && let Err(err) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        {
            bail!(
                "LATCHKEY_SMTP_URL {} is not usable: {err}",
                crate::store::redact_url(url)
            );
        }
        if self.rate_account_failures == 0
            || self.rate_address_per_min == 0
            || self.rate_refresh_per_min == 0
            || self.rate_api_key_per_min == 0
            || self.rate_mail_per_hour == 0
        {
            bail!("rate limits must be at least 1");
        }
        let refresh_cookie = self.refresh_cookie.clone().unwrap_or_else(|| {
            if self.cookie_secure {
                "__Secure-latchkey-refresh"
            } else {
                "latchkey-refresh"
            }
            .to_string()
        });
        check_cookie_name(&refresh_cookie, self.cookie_secure)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let hash_permits = self.hash_permits.unwrap_or(cores.saturating_sub(1)).max(1);
        Ok(Settings {
            database_url: self.database_url,
            site_addr: self.site_addr,
            public_origin,
            jwt_key_file: self.jwt_key_file,
            jwt_previous_key_files: self.jwt_previous_key_files,
            key_encryption_key_file: self.key_encryption_key_file,
            access_ttl: Duration::from_secs(self.access_ttl_secs),
            refresh_idle: Duration::from_secs(self.refresh_idle_secs),
            session_max: Duration::from_secs(self.session_max_secs),
            refresh_grace: Duration::from_secs(self.refresh_grace_secs),
            cookie_secure: self.cookie_secure,
            refresh_cookie,
            // `__Host-` pins the cookie to this origin: Secure, Path=/, no Domain.
            session_cookie: if self.cookie_secure {
                "__Host-latchkey-session"
            } else {
                "latchkey-session"
            }
            .to_string(),
            trusted_proxies: self.trusted_proxies,
            rate_account_failures: self.rate_account_failures,
            rate_address_per_min: self.rate_address_per_min,
            rate_refresh_per_min: self.rate_refresh_per_min,
            rate_api_key_per_min: self.rate_api_key_per_min,
            rate_mail_per_hour: self.rate_mail_per_hour,
            auth_mode: self.auth_mode,
            access_check: self.access_check,
            max_sessions: self.max_sessions,
            password_min_chars: self.password_min_chars,
            hash_permits,
            token_cache_entries: self.token_cache_entries,
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            tls,
            smtp_url: self.smtp_url,
            mail_from: self.mail_from,
            mail_dir: self.mail_dir,
            verify_ttl: Duration::from_secs(self.verify_ttl_secs),
            reset_ttl: Duration::from_secs(self.reset_ttl_secs),
            require_verified_email: self.require_verified_email,
            reauth: Duration::from_secs(self.reauth_secs),
            require_mfa_for_admins: self.require_mfa_for_admins,
            admin_auth: self.admin_auth,
            admin_idle: Duration::from_secs(self.admin_idle_secs),
        })
    }
}

/// A cookie name browsers will store for `Path=/api/auth`: an RFC 7230
/// token, `__Secure-` only with `Secure`, and never `__Host-` (that prefix
/// demands `Path=/`, so browsers would silently drop the refresh cookie).
fn check_cookie_name(name: &str, secure: bool) -> anyhow::Result<()> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        bail!("LATCHKEY_REFRESH_COOKIE {name:?} is not a valid cookie name");
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("__host-") {
        bail!("LATCHKEY_REFRESH_COOKIE cannot use the __Host- prefix: the refresh cookie's path is /api/auth");
    }
    if lower.starts_with("__secure-") && !secure {
        bail!("a __Secure- cookie name needs LATCHKEY_COOKIE_SECURE=true");
    }
    Ok(())
}

/// `https://Example.com:443/` → `https://example.com`: the form browsers
/// send in `Origin`, so comparisons are exact string matches.
fn normalize_origin(input: &str) -> anyhow::Result<String> {
    let url = Url::parse(input)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("expected http(s)://host[:port]");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        bail!("an origin has no path, query or fragment");
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Settings> {
        let mut argv = vec!["latchkey"];
        if !args.iter().any(|a| a.starts_with("--database-url")) {
            argv.push("--database-url=sqlite://x.db");
        }
        argv.extend_from_slice(args);
        parse_argv(&argv)
    }

    fn parse_argv(argv: &[&str]) -> anyhow::Result<Settings> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            config: Config,
        }
        <Cli as clap::Parser>::try_parse_from(argv)?.config.validate()
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let settings = parse(&["--database-url=postgres://latchkey:hunter2-secret@db.internal/latchkey"]).unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2-secret"), "{printed}");
        assert!(printed.contains("db.internal"), "{printed}");
    }

    #[test]
    fn the_modes_parse_by_their_names_only() {
        assert_eq!(parse(&["--auth-mode=session"]).unwrap().auth_mode, AuthMode::Session);
        assert_eq!(
            parse(&["--access-check=session-lookup"]).unwrap().access_check,
            AccessCheck::SessionLookup
        );
        assert!(parse(&["--auth-mode=cookie"]).is_err());
        assert!(parse(&["--access-check=fast"]).is_err());
        let defaults = parse(&[]).unwrap();
        assert_eq!(
            (defaults.auth_mode, defaults.access_check),
            (AuthMode::Jwt, AccessCheck::RevocationCache)
        );
        assert_eq!(
            defaults.refresh_grace,
            Duration::from_secs(30),
            "a lost response's retry is forgiven"
        );
    }

    #[test]
    fn out_of_range_settings_stop_the_start() {
        assert!(parse(&[]).is_ok());
        assert!(parse(&["--refresh-idle-secs=0"]).is_err());
        assert!(
            parse(&["--session-max-secs=999999999999"]).is_err(),
            "would overflow milliseconds"
        );
        assert!(parse(&["--refresh-grace-secs=3600"]).is_err());
        assert!(parse(&["--access-ttl-secs=0"]).is_err());
        assert!(
            parse(&["--site-addr=0.0.0.0:3000"]).is_err(),
            "no origin a browser can use"
        );
        assert!(parse(&["--site-addr=0.0.0.0:3000", "--public-origin=https://auth.example"]).is_ok());
    }

    #[test]
    fn cookie_names_browsers_would_drop_are_refused() {
        assert!(check_cookie_name("__Secure-latchkey-refresh", true).is_ok());
        assert!(check_cookie_name("latchkey-refresh", false).is_ok());
        assert!(check_cookie_name("__Secure-x", false).is_err());
        for bad in ["", "bad name", "bad;name", "bad=name", "bäd", "__Host-x", "__host-x"] {
            assert!(check_cookie_name(bad, true).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn origins_are_normalised_like_browsers_send_them() {
        assert_eq!(
            normalize_origin("https://Example.COM:443/").unwrap(),
            "https://example.com"
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert!(normalize_origin("https://example.com/app").is_err());
        assert!(normalize_origin("ftp://example.com").is_err());
        assert!(normalize_origin("example.com").is_err());
    }
}
