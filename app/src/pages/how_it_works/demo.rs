//! The live demonstration: revoke this very session, then keep presenting
//! the credential this tab held and show what the server answers, under
//! this server's access check. A JWT under `stateless` keeps working until
//! it expires; under `revocation-cache` and `session-lookup` (and a session
//! cookie, always) it is refused at once.

use latchkey_types::Session;
use leptos::prelude::*;

use super::{access_check_effect, ticking_now};
use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::{Credential, use_auth};
use crate::browser::{now_ms, sleep};
use crate::facts::server_facts;
use crate::format::countdown;

/// How long the old credential is tried after the revocation.
const PROBE_FOR_MS: f64 = 3_000.0;
const PROBE_EVERY_MS: u32 = 250;

#[derive(Clone, Debug, PartialEq)]
struct Probe {
    after_ms: f64,
    /// The HTTP status, or `None` when the server could not be reached.
    status: Option<u16>,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Ready,
    Running,
    /// The session is revoked and probing has stopped. `expires_at_ms`: when
    /// the old access token expires (none for a session cookie).
    Done {
        expires_at_ms: Option<f64>,
    },
    Failed(String),
}

#[component]
pub fn RevocationDemo() -> impl IntoView {
    let auth = use_auth();
    let phase = RwSignal::new(Phase::Ready);
    let probes = RwSignal::new(Vec::<Probe>::new());
    let now = ticking_now();
    let check = server_facts().access_check;

    let run = move |_| {
        leptos::task::spawn_local(async move {
            phase.set(Phase::Running);
            probes.set(Vec::new());
            match revoke_and_probe(auth, probes).await {
                Ok(expires_at_ms) => phase.set(Phase::Done { expires_at_ms }),
                Err(failure) => phase.set(Phase::Failed(failure.message())),
            }
        });
    };

    let summary = move || {
        let last = probes.with(|p| p.last().cloned());
        match (phase.get(), last) {
            (
                Phase::Done { .. },
                Some(Probe {
                    status: Some(401),
                    after_ms,
                }),
            ) => {
                format!("Refused {:.0} ms after the revocation.", after_ms)
            }
            (Phase::Done { expires_at_ms }, _) => match expires_at_ms {
                Some(at) => format!(
                    "Still accepted {:.1} s after the revocation: this token works for another {} although its \
                     session is gone.",
                    PROBE_FOR_MS / 1000.0,
                    countdown(at - now.get())
                ),
                None => "Still accepted.".to_string(),
            },
            _ => String::new(),
        }
    };

    view! {
        <section class="card" aria-labelledby="demo-heading">
            <h2 id="demo-heading">"Watch a revocation"</h2>
            <p>
                "Revoke the session this tab is signed in with, then keep sending the credential it held to "
                <code>"GET /api/me"</code> " for up to " {PROBE_FOR_MS / 1000.0} " s. " {access_check_effect(check)}
            </p>
            <Show
                when=move || matches!(phase.get(), Phase::Ready | Phase::Running)
                fallback=move || view! {
                    <p>
                        <strong data-testid="demo-summary">{summary}</strong>
                        {move || match phase.get() {
                            Phase::Failed(why) => format!(" The demonstration failed: {why}"),
                            _ => String::new(),
                        }}
                    </p>
                    <button type="button" on:click=move |_| auth.session_ended_here()>
                        "Sign in again"
                    </button>
                }
            >
                <button
                    type="button"
                    class="button-danger"
                    disabled=move || phase.get() == Phase::Running
                    on:click=run
                >
                    "Revoke this session and watch"
                </button>
            </Show>
            <ol class="probes" data-testid="demo-probes">
                {move || {
                    probes
                        .get()
                        .into_iter()
                        .map(|probe| {
                            let answer = match probe.status {
                                Some(200) => "200 — accepted".to_string(),
                                Some(401) => "401 — refused".to_string(),
                                Some(other) => format!("{other}"),
                                None => "no answer".to_string(),
                            };
                            view! { <li>{format!("+{:.0} ms: {answer}", probe.after_ms)}</li> }
                        })
                        .collect_view()
                }}
            </ol>
        </section>
    }
}

/// Revokes the current session with a normal call, then presents the old
/// credential directly (no renewal, no retry) until it is refused or
/// `PROBE_FOR_MS` passes. Returns when the old access token expires.
async fn revoke_and_probe(
    auth: crate::auth::AuthStore,
    probes: RwSignal<Vec<Probe>>,
) -> Result<Option<f64>, ApiFailure> {
    let held = auth.credential().ok_or(ApiFailure::SignedOut)?;
    let sessions = api::call::<Vec<Session>>(auth, ApiRequest::get("/api/me/sessions")).await?;
    let current = sessions.into_iter().find(|s| s.current).ok_or(ApiFailure::SignedOut)?;
    // From here on this tab must not renew: the session is about to end,
    // and the page shows what the old credential gets until the user
    // chooses to sign in again.
    auth.pause_renewal();
    let credential = auth.credential().unwrap_or(held);
    api::call_with(
        ApiRequest::delete(format!("/api/me/sessions/{}", current.id)),
        &credential,
    )
    .await?;
    let revoked_at = now_ms();
    loop {
        let status = match api::call_with(ApiRequest::get("/api/me"), &credential).await {
            Ok(reply) => Some(reply.status),
            Err(ApiFailure::Api { status, .. } | ApiFailure::Unexpected { status }) => Some(status),
            Err(_) => None,
        };
        let after_ms = now_ms() - revoked_at;
        probes.update(|p| p.push(Probe { after_ms, status }));
        if status == Some(401) || after_ms >= PROBE_FOR_MS {
            break;
        }
        sleep(PROBE_EVERY_MS).await;
    }
    Ok(match credential {
        Credential::Bearer(token) => Some(token.expires_at_ms),
        Credential::Cookie { .. } => None,
    })
}
