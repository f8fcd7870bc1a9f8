//! Sign in. Comes back to `next` afterwards when it is a path on this site,
//! and says why the visitor is here when a session just ended.

use latchkey_types::{ErrorCode, LoginRequest, MfaChallenge, MfaVerifyRequest, ResendVerificationRequest};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{self, ApiRequest};
use crate::auth::{Access, SignedOutReason, use_auth};
use crate::components::form::{FormAlert, FormState, Notice, SubmitButton, TextField};
use crate::redirect::{safe_next, with_next};

#[component]
pub fn LoginPage() -> impl IntoView {
    let next = go_on_when_signed_in();
    // Set when the password was right and a second factor must follow.
    let challenge = RwSignal::new(None::<MfaChallenge>);
    let register_href = move || match next.get() {
        Some(next) => with_next("/register", &next),
        None => "/register".to_string(),
    };

    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <WhyHere asked=Signal::derive(move || next.get().is_some())/>
            {move || match challenge.with(Option::is_some) {
                false => view! { <PasswordStep challenge/> }.into_any(),
                true => view! { <SecondStep challenge/> }.into_any(),
            }}
            <p><A href="/forgot-password">"Forgot your password?"</A></p>
            <p>"New here? " <A href=register_href>"Create an account"</A></p>
        </section>
    }
}

/// The email and password; with a second factor, the answer is a
/// challenge for `SecondStep`.
#[component]
fn PasswordStep(challenge: RwSignal<Option<MfaChallenge>>) -> impl IntoView {
    let auth = use_auth();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = auth.login(&request).await;
            if let Err(failure) = &result {
                password.try_set(String::new());
                if let Some(next_step) = failure.mfa_challenge() {
                    form.finish(Ok(()));
                    challenge.set(Some(next_step));
                    return;
                }
            }
            form.finish(result);
        });
    };
    view! {
        <form method="post" novalidate on:submit=submit>
            <FormAlert form/>
            {move || {
                form.failure()
                    .is_some_and(|f| f.is(ErrorCode::EmailUnverified))
                    .then(|| view! { <ResendLink email/> }.into_any())
            }}
            <TextField label="Email" id="email" kind="email" autocomplete="username" value=email
                errors=form.errors("email") required=true/>
            <TextField label="Password" id="password" kind="password" autocomplete="current-password"
                value=password errors=form.errors("password") required=true/>
            <SubmitButton form label="Sign in" busy_label="Signing in…"/>
        </form>
    }
}

/// Once signed in (just now, or already when the page opened), leave for
/// `next` — only if it is one of our own paths. Returns `next` for the
/// page's own links.
pub fn go_on_when_signed_in() -> Memo<Option<String>> {
    let query = use_query_map();
    let next = Memo::new(move |_| query.with(|q| q.get("next")));
    let auth = use_auth();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if auth.access().get() == Access::Granted {
            let target = safe_next(next.get_untracked().as_deref());
            navigate(
                &target,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    next
}

/// The second step of a sign-in: a code from the authenticator app, or a
/// recovery code. A challenge that ran out (five minutes) or was used goes
/// back to the password.
#[component]
fn SecondStep(challenge: RwSignal<Option<MfaChallenge>>) -> impl IntoView {
    let auth = use_auth();
    let code = RwSignal::new(String::new());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(current) = challenge.get_untracked() else {
            return;
        };
        if !form.begin() {
            return;
        }
        let request = MfaVerifyRequest {
            challenge_id: current.challenge_id,
            code: Some(code.get_untracked().trim().to_string()),
            passkey: None,
        };
        leptos::task::spawn_local(async move {
            let result = auth.complete_mfa(&request).await;
            if let Err(failure) = &result {
                code.set(String::new());
                if failure.is(ErrorCode::InvalidToken) {
                    challenge.set(None);
                }
            }
            form.finish(result);
        });
    };
    view! {
        <form method="post" novalidate on:submit=submit>
            <p>"Your password is right. One more step: open your authenticator app."</p>
            <FormAlert form/>
            <TextField label="Authentication code" id="code" autocomplete="one-time-code" value=code
                errors=form.errors("code") required=true
                hint="The six digits your app shows now — or one of your recovery codes."/>
            <SubmitButton form label="Verify" busy_label="Checking…"/>
        </form>
    }
}

/// After `email_unverified`: ask for a new verification link by address.
/// The answer is the same for any address; the server sends a link only to
/// an account whose address is not verified yet.
#[component]
fn ResendLink(email: RwSignal<String>) -> impl IntoView {
    let form = FormState::new();
    let sent = RwSignal::new(None::<String>);
    let resend = move |_| {
        if !form.begin() {
            return;
        }
        let request = ResendVerificationRequest {
            email: email.get_untracked().trim().to_string(),
        };
        leptos::task::spawn_local(async move {
            let result = api::call_public(ApiRequest::post("/api/auth/email/resend", &request)).await;
            if result.is_ok() {
                sent.try_set(Some(format!("A new link is on its way to {}.", request.email)));
            }
            form.finish(result.map(drop));
        });
    };
    view! {
        <div class="resend">
            <Notice message=sent/>
            <FormAlert form/>
            <button type="button" on:click=resend disabled=move || form.busy()>"Mail me a new link"</button>
        </div>
    }
}

/// Why the visitor is on this page, if we know.
#[component]
fn WhyHere(asked: Signal<bool>) -> impl IntoView {
    let auth = use_auth();
    move || match auth.access().get() {
        Access::Denied(SignedOutReason::SessionEnded) => Some(
            view! {
                <p class="alert" role="alert">
                    "Your session was ended — it was signed out from another browser or device, or your "
                    "password was changed. Please sign in again."
                </p>
            }
            .into_any(),
        ),
        Access::Denied(SignedOutReason::SignedOut) => {
            Some(view! { <p class="notice" role="status">"You have signed out."</p> }.into_any())
        }
        _ if asked.get() => Some(view! { <p class="muted">"Please sign in to continue."</p> }.into_any()),
        _ => None,
    }
}
