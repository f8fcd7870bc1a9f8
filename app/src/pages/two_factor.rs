//! The security page's two-step sign-in section: set up an authenticator
//! app (scan the QR code, confirm with a code, keep the recovery codes
//! shown once), see what is on — the app, passkeys (managed in their own
//! section, `passkeys`), both — get new recovery codes, or turn the app
//! off. Each change is a sensitive action: the server may ask for a fresh
//! sign-in first, which the form's alert handles (`StepUp`) before sending
//! the form again.

use latchkey_types::{MfaStatus, RecoveryCodes, TotpConfirmRequest, TotpEnrolment};
use leptos::prelude::*;

use crate::api::{self, ApiRequest};
use crate::auth::{AuthStore, use_auth};
use crate::components::form::{FormAlert, FormState, SubmitButton, TextField};
use crate::components::gate::Loading;
use crate::format::date_time;

/// The account's second factors (`GET /api/me/mfa`), shared by the
/// security page's sections: the authenticator app and the passkeys both
/// count, so after a change in either section both show the new state.
#[derive(Clone, Copy)]
pub struct Factors {
    auth: AuthStore,
    state: RwSignal<FactorsLoad>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FactorsLoad {
    Loading,
    Ready(MfaStatus),
    Failed(String),
}

impl Factors {
    /// Loads them once the page is live (effects run only in the browser).
    pub fn new() -> Self {
        let factors = Factors {
            auth: use_auth(),
            state: RwSignal::new(FactorsLoad::Loading),
        };
        Effect::new(move |_| factors.reload());
        factors
    }

    /// Reads them again after a change; what is shown stays until the
    /// answer arrives.
    pub fn reload(&self) {
        let Factors { auth, state } = *self;
        leptos::task::spawn_local(async move {
            let next = match api::call::<MfaStatus>(auth, ApiRequest::get("/api/me/mfa")).await {
                Ok(status) => FactorsLoad::Ready(status),
                Err(failure) => FactorsLoad::Failed(failure.message()),
            };
            state.try_set(next);
        });
    }

    pub fn get(&self) -> FactorsLoad {
        self.state.get()
    }
}

/// What the section is in the middle of, over the factors themselves.
#[derive(Clone)]
enum Flow {
    Idle,
    /// Scanning the QR code, then typing the code the app shows.
    Enrolling(TotpEnrolment),
    /// Just confirmed (or regenerated): the codes, shown this once.
    Codes(RecoveryCodes),
}

#[component]
pub fn TwoFactor(factors: Factors, changed: RwSignal<u32>) -> impl IntoView {
    let flow = RwSignal::new(Flow::Idle);
    view! {
        <section class="card" aria-labelledby="mfa-heading" data-testid="two-factor">
            <h2 id="mfa-heading">"Two-step sign-in"</h2>
            {move || match flow.get() {
                Flow::Enrolling(enrolment) => view! { <Confirm enrolment flow factors/> }.into_any(),
                Flow::Codes(codes) => view! { <ShowCodes codes done=move || flow.set(Flow::Idle)/> }.into_any(),
                Flow::Idle => match factors.get() {
                    FactorsLoad::Loading => view! { <Loading/> }.into_any(),
                    FactorsLoad::Failed(text) => view! { <p class="alert" role="alert">{text}</p> }.into_any(),
                    FactorsLoad::Ready(status) => view! { <Overview status flow factors changed/> }.into_any(),
                },
            }}
        </section>
    }
}

/// Where the account stands: what is on, and what can be done next.
#[component]
fn Overview(status: MfaStatus, flow: RwSignal<Flow>, factors: Factors, changed: RwSignal<u32>) -> impl IntoView {
    let on = status.has_second_factor();
    let app = status.totp_enabled_at.is_some();
    let has_passkeys = !status.passkeys.is_empty();
    view! {
        {on.then(|| view! { <p data-testid="mfa-state">{summary(&status)}</p> })}
        {(!app).then(|| view! { <Begin flow intro=!on/> })}
        {on.then(|| view! { <Manage app has_passkeys flow factors changed/> })}
    }
}

/// "On: an authenticator app, since …. Last used: …. 10 recovery codes
/// left." — with the passkeys counted in when there are any.
fn summary(status: &MfaStatus) -> String {
    let mut text = String::from("On: ");
    if let Some(since) = &status.totp_enabled_at {
        let last_used = status
            .totp_last_used_at
            .as_ref()
            .map(date_time)
            .unwrap_or_else(|| "not yet".into());
        text.push_str(&format!(
            "an authenticator app, since {}. Last used: {last_used}. ",
            date_time(since)
        ));
    }
    match (status.totp_enabled_at.is_some(), status.passkeys.len()) {
        (_, 0) => {}
        (false, n) => text.push_str(&format!("{}. ", passkey_count(n))),
        (true, n) => text.push_str(&format!("Also {}. ", passkey_count(n))),
    }
    text.push_str(&format!("{} recovery codes left.", status.recovery_codes_left));
    text
}

fn passkey_count(n: usize) -> String {
    if n == 1 {
        "1 passkey".into()
    } else {
        format!("{n} passkeys")
    }
}

/// Sets up the authenticator app; `intro` when it would be the first
/// second factor.
#[component]
fn Begin(flow: RwSignal<Flow>, intro: bool) -> impl IntoView {
    let auth = use_auth();
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = api::call::<TotpEnrolment>(auth, ApiRequest::post_empty("/api/me/mfa/totp")).await;
            form.finish(result.map(|enrolment| {
                flow.set(Flow::Enrolling(enrolment));
            }));
        });
    };
    let text = if intro {
        "Signing in takes your password and a code from an authenticator app on your phone, \
         so a stolen or guessed password is not enough."
    } else {
        "A code from an authenticator app on your phone can be the second step too."
    };
    view! {
        <p>{text}</p>
        <form method="post" novalidate on:submit=submit>
            <FormAlert form/>
            <SubmitButton form label="Set up an authenticator app" busy_label="Preparing…"/>
        </form>
    }
}

#[component]
fn Confirm(enrolment: TotpEnrolment, flow: RwSignal<Flow>, factors: Factors) -> impl IntoView {
    let auth = use_auth();
    let code = RwSignal::new(String::new());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = TotpConfirmRequest {
            code: code.get_untracked().trim().to_string(),
        };
        leptos::task::spawn_local(async move {
            let result = api::call::<RecoveryCodes>(auth, ApiRequest::post("/api/me/mfa/totp/confirm", &request)).await;
            if result.is_err() {
                code.set(String::new());
            }
            form.finish(result.map(|codes| {
                factors.reload();
                flow.set(Flow::Codes(codes));
            }));
        });
    };
    view! {
        <ol class="steps">
            <li>
                "Scan this code with your authenticator app (or type the key below into it)."
                // The server's own SVG rendering of the otpauth:// URI.
                <div class="qr" inner_html=enrolment.qr_svg.clone() aria-hidden="true"></div>
                <p>"Key: " <code data-testid="totp-secret">{enrolment.secret.clone()}</code></p>
            </li>
            <li>"Enter the six-digit code the app shows."</li>
        </ol>
        <form method="post" novalidate on:submit=submit>
            <FormAlert form/>
            <TextField label="Code from the app" id="totp_code" autocomplete="one-time-code" value=code
                errors=form.errors("code") required=true/>
            <SubmitButton form label="Turn on" busy_label="Checking…"/>
        </form>
    }
}

/// Recovery codes, shown this once (after the first second factor, or new
/// ones); `done` once the person has put them away.
#[component]
pub(super) fn ShowCodes(codes: RecoveryCodes, done: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! {
        <p class="notice" role="status">
            "Two-step sign-in is on. Keep these recovery codes somewhere safe: each one signs you in once "
            "if you lose your phone or your passkey. They are shown only now."
        </p>
        <ul class="recovery-codes" data-testid="recovery-codes">
            {codes.codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
        </ul>
        <button type="button" on:click=move |_| done()>"I have saved them"</button>
    }
}

/// New recovery codes (any second factor has them), and the app turned
/// off when there is one. With passkeys left, that is not the end of
/// two-step sign-in, and the button says so.
#[component]
fn Manage(
    app: bool,
    has_passkeys: bool,
    flow: RwSignal<Flow>,
    factors: Factors,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let auth = use_auth();
    let regenerate = FormState::new();
    let remove = FormState::new();
    let on_regenerate = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !regenerate.begin() {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = api::call::<RecoveryCodes>(auth, ApiRequest::post_empty("/api/me/mfa/recovery-codes")).await;
            regenerate.finish(result.map(|codes| {
                changed.update(|n| *n += 1);
                factors.reload();
                flow.set(Flow::Codes(codes));
            }));
        });
    };
    let on_remove = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !remove.begin() {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = api::call_empty(auth, ApiRequest::delete("/api/me/mfa/totp")).await;
            remove.finish(result.map(|()| {
                changed.update(|n| *n += 1);
                factors.reload();
            }));
        });
    };
    let remove_label = if has_passkeys {
        "Turn off the authenticator app"
    } else {
        "Turn off two-step sign-in"
    };
    view! {
        <form method="post" novalidate on:submit=on_regenerate>
            <FormAlert form=regenerate/>
            <SubmitButton form=regenerate label="New recovery codes" busy_label="Making new codes…"/>
        </form>
        {app.then(|| view! {
            <form method="post" novalidate on:submit=on_remove>
                <FormAlert form=remove/>
                <SubmitButton form=remove label=remove_label busy_label="Turning off…"/>
            </form>
        })}
        <p class="muted">
            {if app { "Either one signs out every other browser and device." } else {
                "New codes sign out every other browser and device."
            }}
        </p>
    }
}
