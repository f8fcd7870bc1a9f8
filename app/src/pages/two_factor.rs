//! The security page's authenticator-app section: set one up (scan the QR
//! code, confirm with a code, keep the recovery codes shown once), see when
//! it was last used, get new recovery codes, or turn it off. Each change is
//! a sensitive action: the server may ask for a fresh sign-in first, which
//! the form's alert handles (`StepUp`) before sending the form again.

use latchkey_types::{MfaStatus, RecoveryCodes, TotpConfirmRequest, TotpEnrolment};
use leptos::prelude::*;

use crate::api::{self, ApiRequest};
use crate::auth::use_auth;
use crate::components::form::{FormAlert, FormState, SubmitButton, TextField};
use crate::format::date_time;

#[derive(Clone)]
enum Stage {
    Loading,
    Off,
    /// Scanning the QR code, then typing the code the app shows.
    Enrolling(TotpEnrolment),
    /// Just confirmed (or regenerated): the codes, shown this once.
    Codes(RecoveryCodes),
    On(MfaStatus),
    Failed(String),
}

#[component]
pub fn TwoFactor(changed: RwSignal<u32>) -> impl IntoView {
    let auth = use_auth();
    let stage = RwSignal::new(Stage::Loading);
    let reload = move || {
        leptos::task::spawn_local(async move {
            let next = match api::call::<MfaStatus>(auth, ApiRequest::get("/api/me/mfa")).await {
                Ok(status) if status.totp_enabled_at.is_some() => Stage::On(status),
                Ok(_) => Stage::Off,
                Err(failure) => Stage::Failed(failure.message()),
            };
            stage.try_set(next);
        });
    };
    Effect::new(move |_| reload());

    view! {
        <section class="card" aria-labelledby="mfa-heading" data-testid="two-factor">
            <h2 id="mfa-heading">"Two-step sign-in"</h2>
            {move || match stage.get() {
                Stage::Loading => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Stage::Failed(text) => view! { <p class="alert" role="alert">{text}</p> }.into_any(),
                Stage::Off => view! { <Begin stage/> }.into_any(),
                Stage::Enrolling(enrolment) => view! { <Confirm enrolment stage/> }.into_any(),
                Stage::Codes(codes) => view! { <ShowCodes codes done=move || reload()/> }.into_any(),
                Stage::On(status) => view! { <Manage status stage changed/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Begin(stage: RwSignal<Stage>) -> impl IntoView {
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
                stage.set(Stage::Enrolling(enrolment));
            }));
        });
    };
    view! {
        <p>
            "Signing in takes your password and a code from an authenticator app on your phone, "
            "so a stolen or guessed password is not enough."
        </p>
        <form method="post" novalidate on:submit=submit>
            <FormAlert form/>
            <SubmitButton form label="Set up an authenticator app" busy_label="Preparing…"/>
        </form>
    }
}

#[component]
fn Confirm(enrolment: TotpEnrolment, stage: RwSignal<Stage>) -> impl IntoView {
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
            form.finish(result.map(|codes| stage.set(Stage::Codes(codes))));
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

#[component]
fn ShowCodes(codes: RecoveryCodes, done: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! {
        <p class="notice" role="status">
            "Two-step sign-in is on. Keep these recovery codes somewhere safe: each one signs you in once "
            "if you lose your phone. They are shown only now."
        </p>
        <ul class="recovery-codes" data-testid="recovery-codes">
            {codes.codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
        </ul>
        <button type="button" on:click=move |_| done()>"I have saved them"</button>
    }
}

#[component]
fn Manage(status: MfaStatus, stage: RwSignal<Stage>, changed: RwSignal<u32>) -> impl IntoView {
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
                stage.set(Stage::Codes(codes));
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
                stage.set(Stage::Off);
            }));
        });
    };
    let since = status.totp_enabled_at.as_ref().map(date_time).unwrap_or_default();
    let last_used = status
        .totp_last_used_at
        .as_ref()
        .map(date_time)
        .unwrap_or_else(|| "not yet".into());
    view! {
        <p data-testid="mfa-state">
            "On: an authenticator app, since " {since} ". Last used: " {last_used} ". "
            {format!("{} recovery codes left.", status.recovery_codes_left)}
        </p>
        <form method="post" novalidate on:submit=on_regenerate>
            <FormAlert form=regenerate/>
            <SubmitButton form=regenerate label="New recovery codes" busy_label="Making new codes…"/>
        </form>
        <form method="post" novalidate on:submit=on_remove>
            <FormAlert form=remove/>
            <SubmitButton form=remove label="Turn off two-step sign-in" busy_label="Turning off…"/>
        </form>
        <p class="muted">"Either one signs out every other browser and device."</p>
    }
}
