//! Sign in. Comes back to `next` afterwards when it is a path on this site,
//! and says why the visitor is here when a session just ended.

use latchkey_types::{
    ErrorCode, LoginRequest, MfaChallenge, MfaPasskeyOptionsRequest, MfaVerifyRequest, PasskeyOptions,
    ResendVerificationRequest,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{self, ApiFailure, ApiRequest};
use crate::auth::{Access, AuthStore, SignedOutReason, use_auth};
use crate::components::form::{FormAlert, FormState, Notice, SubmitButton, TextField};
use crate::facts::server_facts;
use crate::redirect::{safe_next, with_next};
use crate::webauthn;

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
                false => view! {
                    <PasswordStep challenge/>
                    {server_facts().passkeys.then(|| view! { <PasskeySignIn/> })}
                }
                .into_any(),
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
            client: Default::default(),
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

/// Username-less sign-in: the browser offers the passkeys it holds for
/// this site, and the passkey says whose account it is. The server answers
/// as to a password, so the rest is an ordinary sign-in.
#[component]
fn PasskeySignIn() -> impl IntoView {
    let auth = use_auth();
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        leptos::task::spawn_local(async move {
            form.finish(passkey_sign_in(auth).await);
        });
    };
    view! {
        <form class="passkey-sign-in" method="post" novalidate on:submit=submit>
            <p class="or" aria-hidden="true">"or"</p>
            <FormAlert form/>
            <SubmitButton form label="Sign in with a passkey" busy_label="Waiting for your passkey…"
                testid="passkey-sign-in"/>
        </form>
    }
}

async fn passkey_sign_in(auth: AuthStore) -> Result<(), ApiFailure> {
    let options = api::call_public(ApiRequest::post_empty("/api/auth/passkey/options"))
        .await?
        .json::<PasskeyOptions>()?;
    let assertion = webauthn::get(options).await?;
    auth.passkey_login(&assertion).await
}

/// The second step of a sign-in: whatever the challenge allows — a passkey,
/// a code from the authenticator app, a recovery code (which every account
/// with a second factor has). A challenge that ran out (five minutes) or
/// was used goes back to the password.
#[component]
fn SecondStep(challenge: RwSignal<Option<MfaChallenge>>) -> impl IntoView {
    let auth = use_auth();
    let methods = challenge.with_untracked(|c| c.as_ref().map(|c| c.methods.clone()).unwrap_or_default());
    let offers = |method: &str| methods.iter().any(|m| m == method);
    let app = offers("totp");
    let passkey = offers("passkey") && server_facts().passkeys;
    let code = RwSignal::new(String::new());
    let form = FormState::new();
    // A used or expired challenge: start again from the password.
    let on_failure = move |failure: &ApiFailure| {
        if failure.is(ErrorCode::InvalidToken) {
            challenge.set(None);
        }
    };
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
            client: Default::default(),
        };
        leptos::task::spawn_local(async move {
            let result = auth.complete_mfa(&request).await;
            if let Err(failure) = &result {
                code.set(String::new());
                on_failure(failure);
            }
            form.finish(result);
        });
    };
    let intro = match (passkey, app) {
        (true, true) => "Your password is right. One more step: use your passkey, or open your authenticator app.",
        (true, false) => "Your password is right. One more step: use your passkey.",
        (false, _) => "Your password is right. One more step: open your authenticator app.",
    };
    let (label, hint) = if app {
        (
            "Authentication code",
            "The six digits your app shows now — or one of your recovery codes.",
        )
    } else {
        (
            "Recovery code",
            "No passkey at hand? One of the recovery codes you saved works once.",
        )
    };
    view! {
        <p>{intro}</p>
        {passkey.then(|| view! { <PasskeyStep challenge on_failure/> })}
        <form method="post" novalidate on:submit=submit>
            <FormAlert form/>
            <TextField label id="code" autocomplete="one-time-code" value=code
                errors=form.errors("code") required=true hint/>
            <SubmitButton form label="Verify" busy_label="Checking…"/>
        </form>
    }
}

/// The second step with a passkey: a ceremony for this challenge (only the
/// account's own passkeys will do), then the same verification as a code.
#[component]
fn PasskeyStep(
    challenge: RwSignal<Option<MfaChallenge>>,
    on_failure: impl Fn(&ApiFailure) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let auth = use_auth();
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(current) = challenge.get_untracked() else {
            return;
        };
        if !form.begin() {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = passkey_second_step(auth, current.challenge_id).await;
            if let Err(failure) = &result {
                on_failure(failure);
            }
            form.finish(result);
        });
    };
    view! {
        <form class="passkey-step" method="post" novalidate on:submit=submit>
            <FormAlert form/>
            <SubmitButton form label="Use a passkey" busy_label="Waiting for your passkey…"/>
        </form>
    }
}

async fn passkey_second_step(auth: AuthStore, challenge_id: String) -> Result<(), ApiFailure> {
    let request = MfaPasskeyOptionsRequest {
        challenge_id: challenge_id.clone(),
    };
    let options = api::call_public(ApiRequest::post("/api/auth/mfa/passkey/options", &request))
        .await?
        .json::<PasskeyOptions>()?;
    let assertion = webauthn::get(options).await?;
    auth.complete_mfa(&MfaVerifyRequest {
        challenge_id,
        code: None,
        passkey: Some(assertion),
        client: Default::default(),
    })
    .await
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
