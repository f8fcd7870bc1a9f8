//! Sending mail: the transport (an SMTP relay through `lettre`, or `.eml`
//! files when none is configured) and the background sender that drains
//! the outbox (`store::outbox`) with retries and backoff. Nothing here is
//! on a request's path: a request only writes to the outbox.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::core::clock::Clock;
use crate::store::Db;
use crate::store::outbox::QueuedMail;

/// How long a sender holds a claimed mail before another may take it.
const LEASE_MS: i64 = 60_000;
/// Mails claimed at once.
const BATCH: i64 = 16;
/// One SMTP attempt, connection included.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the outbox is looked at when nothing wakes the sender.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Attempts before a mail is given up (about 9 hours with the backoff).
const MAX_ATTEMPTS: i64 = 40;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Woken when a mail is queued here, so it leaves at once.
    wake: Notify,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let from = settings
            .mail_from
            .parse()
            .context("LATCHKEY_MAIL_FROM is not a mailbox")?;
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("LATCHKEY_SMTP_URL is not usable")?
                    .timeout(Some(SEND_TIMEOUT))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&settings.mail_dir)
                    .with_context(|| format!("cannot create LATCHKEY_MAIL_DIR {}", settings.mail_dir.display()))?;
                Transport::Files(AsyncFileTransport::new(&settings.mail_dir), settings.mail_dir.clone())
            }
        };
        Ok(Mailer {
            transport,
            from,
            wake: Notify::new(),
        })
    }

    /// Where mail goes, for the start-up log (no credentials).
    pub fn describe(&self, settings: &Settings) -> String {
        match (&self.transport, &settings.smtp_url) {
            (Transport::Smtp(_), Some(url)) => format!("SMTP relay {}", crate::store::redact_url(url)),
            (Transport::Files(_, dir), _) => format!(
                "no LATCHKEY_SMTP_URL: mails are written as .eml files under {} and their links logged",
                dir.display()
            ),
            (Transport::Smtp(_), None) => "SMTP".to_string(),
        }
    }

    /// A mail was queued: send it now rather than at the next poll.
    pub fn queued(&self) {
        self.wake.notify_one();
    }

    async fn send(&self, mail: &QueuedMail) -> anyhow::Result<()> {
        let to: Mailbox = mail.to.parse().context("the recipient is not an address")?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .context("cannot build the message")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("the SMTP relay refused or failed")?;
            }
            Transport::Files(files, dir) => {
                let id = files.send(message).await.context("cannot write the mail file")?;
                // Development only: the link is the point of the mail.
                let link = mail
                    .text
                    .lines()
                    .find(|l| l.trim_start().starts_with("http"))
                    .unwrap_or("");
                tracing::info!(to = %mail.to, file = %dir.join(format!("{id}.eml")).display(), link = link.trim(), "mail written");
            }
        }
        Ok(())
    }
}

/// When to try a mail again after `attempts` failures: 2 s, 4 s, … up to
/// 15 minutes; `None` once it is given up.
fn retry_delay_ms(attempts: i64) -> Option<i64> {
    (attempts < MAX_ATTEMPTS).then(|| (1_000_i64 << attempts.clamp(1, 10)).min(15 * 60_000))
}

/// Drains the outbox for as long as the server runs. Time is the engine's
/// clock, so tests can make a retry due without waiting for it.
pub fn spawn_sender(db: Db, mailer: Arc<Mailer>, clock: Clock) {
    tokio::spawn(async move {
        loop {
            let claimed = db.claim_mail(clock.now_ms(), LEASE_MS, BATCH).await;
            match claimed {
                Ok(batch) if !batch.is_empty() => {
                    for mail in batch {
                        deliver(&db, &mailer, &clock, &mail).await;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "outbox: database unreachable"),
            }
            let _ = tokio::time::timeout(POLL_EVERY, mailer.wake.notified()).await;
        }
    });
}

async fn deliver(db: &Db, mailer: &Mailer, clock: &Clock, mail: &QueuedMail) {
    let outcome = match tokio::time::timeout(SEND_TIMEOUT, mailer.send(mail)).await {
        Ok(sent) => sent,
        Err(_) => Err(anyhow::anyhow!("timed out")),
    };
    let now = clock.now_ms();
    let recorded = match outcome {
        Ok(()) => {
            tracing::debug!(mail = %mail.id, waited_ms = now - mail.created_at, "mail sent");
            db.mail_sent(mail.id, now).await
        }
        Err(err) => {
            let retry_at = retry_delay_ms(mail.attempts).map(|delay| now + delay);
            match retry_at {
                Some(_) => {
                    tracing::warn!(mail = %mail.id, attempts = mail.attempts, error = %format!("{err:#}"), "mail not sent; will retry")
                }
                None => {
                    tracing::error!(mail = %mail.id, attempts = mail.attempts, error = %format!("{err:#}"), "mail given up")
                }
            }
            db.mail_failed(mail.id, &format!("{err:#}"), retry_at, now).await
        }
    };
    if let Err(err) = recorded {
        // The lease runs out and the mail is claimed again: at worst sent twice.
        tracing::warn!(mail = %mail.id, error = %err, "outbox: could not record the attempt");
    }
}

#[cfg(test)]
mod tests {
    use super::retry_delay_ms;

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(retry_delay_ms(1), Some(2_000));
        assert_eq!(retry_delay_ms(2), Some(4_000));
        assert_eq!(retry_delay_ms(9), Some(512_000));
        assert_eq!(retry_delay_ms(10), Some(900_000), "capped at 15 minutes");
        assert_eq!(retry_delay_ms(39), Some(900_000));
        assert_eq!(retry_delay_ms(40), None);
    }
}
