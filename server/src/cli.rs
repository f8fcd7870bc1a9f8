//! The `latchkey` command line of API.md: `serve` (the default), `migrate`,
//! `user create` and `keys rotate`. Failures print one line, `error: …`, and exit non-zero.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use latchkey_types::Role;

use crate::config::{Config, Settings};
use crate::core::identity::{DisplayName, Email};
use crate::core::password::{PasswordHasher, PasswordPolicy};
use crate::store::audit::NewAuditEvent;
use crate::store::users::NewUser;
use crate::store::{Db, StoreError};

#[derive(Parser)]
#[command(name = "latchkey", version, about = "Sign people in and keep them signed in safely.")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then serve the app and the API (the default).
    Serve,
    /// Apply migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage access-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new signing key; older keys keep verifying until their tokens expire.
    Rotate,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        #[arg(long)]
        display_name: Option<String>,
        /// Count the address as verified (you vouch for it) instead of
        /// leaving it to a mailed link.
        #[arg(long)]
        verified: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    User,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::User => Role::User,
            RoleArg::Admin => Role::Admin,
        }
    }
}

pub fn main() -> ExitCode {
    if let Err(err) = dotenvy::dotenv()
        && !err.not_found()
    {
        eprintln!("error: reading .env failed: {err}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.config.validate()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            crate::telemetry::init("warn");
            let db = Db::connect(&settings.database_url).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            crate::telemetry::init("warn");
            if settings.jwt_key_file.is_some() {
                bail!("LATCHKEY_JWT_KEY_FILE is set: rotate by replacing that file, not the database keys");
            }
            let db = Db::connect(&settings.database_url).await?;
            db.migrate().await?;
            let vault = crate::auth::vault::KeyVault::open_or_create(&settings)?;
            let kid = crate::auth::keys::rotate(&db, &vault).await?;
            println!("new signing key {kid}; running servers start signing with it within seconds");
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            role,
            display_name,
            verified,
        }) => {
            crate::telemetry::init("warn");
            let new = CliUser {
                email: &email,
                role: role.into(),
                display_name: display_name.as_deref(),
                verified,
            };
            create_user(&settings, new).await
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    crate::telemetry::init("info,sqlx=warn,tower_http=info");
    let addr = settings.site_addr;
    // Before anything listens: a signal that arrives once the port is open
    // must drain the server, not kill it.
    let shutdown = shutdown_signal()?;
    let state = crate::build_state(settings).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("listening on http://{addr}");
    crate::serve(state, listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM; the server then drains in-flight
/// requests. The handlers are installed now, not when first polled.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}

/// Validates everything before touching the database, so a bad input
/// writes nothing.
/// `latchkey user create`'s arguments.
struct CliUser<'a> {
    email: &'a str,
    role: Role,
    display_name: Option<&'a str>,
    verified: bool,
}

async fn create_user(settings: &Settings, new: CliUser<'_>) -> anyhow::Result<()> {
    let CliUser {
        email,
        role,
        display_name,
        verified,
    } = new;
    let email = Email::parse(email).map_err(|why| anyhow::anyhow!("invalid email: {why}"))?;
    let display_name = match display_name {
        Some(name) => DisplayName::parse(name).map_err(|why| anyhow::anyhow!("invalid display name: {why}"))?,
        None => None,
    };
    let password = read_password()?;
    let policy = PasswordPolicy {
        min_chars: settings.password_min_chars,
    };
    let password = policy
        .check(&password, Some(&email))
        .map_err(|why| anyhow::anyhow!("invalid password: it {}", why.join("; it ")))?;

    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    let hasher = PasswordHasher::new(1, 1)?;
    let password_hash = hasher.hash(&password).await?;
    // An account made on the command line (the first admin, say) is an
    // administrative act like any other: it goes in the audit log with it.
    let audit = NewAuditEvent {
        event: crate::store::audit::Event::UserCreated,
        actor_id: None,
        user_id: None,
        session_id: None,
        ip: None,
        user_agent: Some("latchkey user create"),
        detail: Some(serde_json::json!({ "role": role.as_str(), "via": "cli", "verified": verified })),
    };
    let user = db
        .create_user(
            NewUser {
                email: &email,
                display_name: display_name.as_ref(),
                password_hash: &password_hash,
                role,
                email_verified: verified,
            },
            audit,
            crate::core::clock::now_ms(),
        )
        .await
        .map_err(|err| match err {
            StoreError::Conflict => anyhow::anyhow!("a user with the email {email} already exists"),
            other => anyhow::Error::new(other).context("creating the user failed"),
        })?;
    println!("created {} user {} ({})", role.as_str(), user.email, user.id);
    Ok(())
}

/// The whole of standard input, less one trailing newline. On a terminal
/// the password is echoed, so say so; scripts pipe it in.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Password (visible; end with Enter, then Ctrl-D):");
    }
    let mut buf = String::new();
    stdin
        .lock()
        .take(64 * 1024)
        .read_to_string(&mut buf)
        .context("reading the password from stdin failed")?;
    let password = buf
        .strip_suffix('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .unwrap_or(&buf);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password.to_string())
}
