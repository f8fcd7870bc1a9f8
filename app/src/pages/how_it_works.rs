//! "How it works": the mode and access check this server runs, this tab's
//! own credential (the access token decoded, or the session cookie and its
//! CSRF token), its refresh history, proof that the cookie is out of the
//! page's reach, a live revocation demonstration, which strategy each area
//! and kind of client uses, and the trade-offs.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::{AccessToken, AuthStatus, Credential, use_auth};
use crate::browser::{document_cookie, local_time, now_ms};
use crate::components::gate::RequireAuth;
use crate::facts::{AccessCheck, AdminAuth, AuthMode, server_facts};
use crate::format::countdown;

mod demo;

#[component]
pub fn HowItWorksPage() -> impl IntoView {
    let session_mode = server_facts().auth_mode == AuthMode::Session;
    view! {
        <Title text="How it works"/>
        <RequireAuth>
            <div class="stack" data-signed-in="true">
                <h1>"How it works"</h1>
                <ServerSettings/>
                {if session_mode {
                    view! { <SessionPanel/> }.into_any()
                } else {
                    view! { <TokenPanel/> <RefreshHistory/> }.into_any()
                }}
                <CookiePanel/>
                <demo::RevocationDemo/>
                <Strategies/>
                <TradeOffs/>
                <Factors/>
            </div>
        </RequireAuth>
    }
}

/// What a revoked session's credential gets under each access check.
pub fn access_check_effect(check: AccessCheck) -> &'static str {
    match check {
        AccessCheck::Stateless => {
            "Bearer tokens are checked by signature only, like a pure JWT system: a revoked session's \
             access token keeps working until it expires."
        }
        AccessCheck::SessionLookup => {
            "Every Bearer request also checks its session and its user's current role and status, like a \
             classic session, from a read each server keeps for a few seconds in step with the database: \
             a revoked session's token is refused at once here and within a second on every other server."
        }
        AccessCheck::RevocationCache => {
            "Bearer tokens are checked by signature plus an in-memory set of revoked sessions that every \
             server keeps in step with the database: a revoked session's token is refused within a second."
        }
    }
}

#[component]
fn ServerSettings() -> impl IntoView {
    let facts = server_facts();
    let mode = match facts.auth_mode {
        AuthMode::Jwt => "JWT access token in memory, renewed through an HttpOnly refresh cookie",
        AuthMode::Session => "classic session: an opaque HttpOnly session cookie plus a CSRF token",
    };
    view! {
        <section class="card" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"This server's settings"</h2>
            <dl class="facts">
                <dt><code>"LATCHKEY_AUTH_MODE"</code></dt>
                <dd>
                    <strong data-testid="auth-mode">{facts.auth_mode.as_str()}</strong>
                    " — " {mode}
                </dd>
                <dt><code>"LATCHKEY_ACCESS_CHECK"</code></dt>
                <dd>
                    <strong data-testid="access-check">{facts.access_check.as_str()}</strong>
                    " — " {access_check_effect(facts.access_check)}
                </dd>
            </dl>
            <p class="muted">
                "Session cookies are always looked up in the database; the access check applies to Bearer tokens."
            </p>
        </section>
    }
}

/// The article's "which to choose", as this server answers it: each area
/// and kind of client, the credential it takes here, and why.
#[component]
fn Strategies() -> impl IntoView {
    let facts = server_facts();
    let app = match facts.auth_mode {
        AuthMode::Jwt => "JWT: a 5-minute access token in memory, renewed through the HttpOnly refresh cookie",
        AuthMode::Session => "a session cookie (HttpOnly) and a CSRF token",
    };
    let (admin, admin_why) = match (facts.admin_auth, facts.auth_mode) {
        (AdminAuth::Session, _) => (
            "a session cookie of its own, entered with your password and closed after a short time without use",
            "A dashboard that can change anyone's account is where a stolen credential does the most harm: a \
             server-side session is refused the moment it ends, idles out quickly, and cannot leave the browser \
             as a bearer token can.",
        ),
        (AdminAuth::Same, AuthMode::Jwt) => (
            "the same access tokens as the app",
            "This server runs the admin area on the app's own credential (LATCHKEY_ADMIN_AUTH=same); with \
             LATCHKEY_ADMIN_AUTH=session it would take a session cookie of its own instead.",
        ),
        (AdminAuth::Same, AuthMode::Session) => (
            "the same session cookie as the app",
            "Sessions already: revoked at once, looked up on every request.",
        ),
    };
    let app_why = match facts.auth_mode {
        AuthMode::Jwt => {
            "Checked without a database read on every request (the revocation set covers logouts), \
                          and the token never touches storage a script can read."
        }
        AuthMode::Session => "The classic browser model: nothing for a script to steal, refused at once when it ends.",
    };
    view! {
        <section class="card" aria-labelledby="strategies-heading" data-testid="strategies">
            <h2 id="strategies-heading">"Which credential each area uses"</h2>
            <table class="strategies">
                <thead><tr><th scope="col">"Area"</th><th scope="col">"Credential here"</th><th scope="col">"Why"</th></tr></thead>
                <tbody>
                    <tr data-testid="strategy-app">
                        <th scope="row">"This app's pages and your account"</th>
                        <td>{app}</td>
                        <td>{app_why}</td>
                    </tr>
                    <tr data-testid="strategy-admin">
                        <th scope="row">"The admin area"</th>
                        <td>{admin}</td>
                        <td>{admin_why}</td>
                    </tr>
                    <tr>
                        <th scope="row">"Mobile and desktop apps, command-line tools"</th>
                        <td>"JWT access tokens, with the refresh token in the response body"</td>
                        <td>"They cannot hold an HttpOnly cookie, and they call many APIs: a token travels; the refresh \
                             token still rotates and can be revoked from your session list."</td>
                    </tr>
                    <tr>
                        <th scope="row">"Scripts and services"</th>
                        <td>"Personal API keys (Security page)"</td>
                        <td>"No one is there to sign in: a long-lived key, read-only if you like, checked against the \
                             database on every request so revoking it takes effect at once."</td>
                    </tr>
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn SessionPanel() -> impl IntoView {
    let facts = server_facts();
    let auth = use_auth();
    let csrf = move || match auth.status().get() {
        AuthStatus::SignedIn(signed_in) => match signed_in.credential {
            Credential::Cookie { csrf_token } => Some(csrf_token.chars().take(6).collect::<String>()),
            Credential::Bearer(_) => None,
        },
        _ => None,
    };
    view! {
        <section class="card" aria-labelledby="session-heading">
            <h2 id="session-heading">"Your session"</h2>
            <p>
                "No token in this page. The browser holds an opaque, random session id in a cookie "
                <code>{facts.session_cookie.clone()}</code> " (" <code>"HttpOnly; Secure; SameSite=Strict; Path=/"</code>
                "); the server keeps only its hash and looks it up on every request, sliding the idle timeout."
            </p>
            <p>
                "Because the browser sends that cookie by itself, every request that changes something also "
                "carries the session's CSRF token in " <code>"X-CSRF-Token"</code>
                ", which a page on another site cannot know. This tab holds it in memory: "
                <code data-testid="csrf-prefix">{move || csrf().map(|p| format!("{p}…"))}</code> "."
            </p>
        </section>
    }
}

/// A clock that ticks every second while the component is shown.
pub(super) fn ticking_now() -> ReadSignal<f64> {
    let now = RwSignal::new(now_ms());
    let handle = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1));
    on_cleanup(move || {
        if let Ok(handle) = handle {
            handle.clear();
        }
    });
    now.read_only()
}

#[component]
fn TokenPanel() -> impl IntoView {
    let auth = use_auth();
    let now = ticking_now();
    let signed_in = move || match auth.status().get() {
        AuthStatus::SignedIn(signed_in) => Some(*signed_in),
        _ => None,
    };
    view! {
        <section class="card" aria-labelledby="token-heading">
            <h2 id="token-heading">"Your access token"</h2>
            <p>
                "A signed JWT, held only in this tab's memory. Every API call sends it as "
                <code>"Authorization: Bearer …"</code> ". It is never written to localStorage, "
                "sessionStorage, IndexedDB or a cookie, so it is gone when the tab closes."
            </p>
            {move || signed_in().and_then(|s| match s.credential {
                Credential::Bearer(token) => Some(view! { <TokenDetails token now/> }),
                Credential::Cookie { .. } => None,
            })}
        </section>
    }
}

#[component]
fn TokenDetails(token: AccessToken, now: ReadSignal<f64>) -> impl IntoView {
    let pretty = |value: Option<serde_json::Value>| {
        value
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| "(could not decode)".into())
    };
    let header = pretty(token.decoded.header.clone());
    let claims = pretty(token.decoded.claims.as_ref().and_then(|c| serde_json::to_value(c).ok()));
    let expires_at = token.expires_at_ms;
    let lifetime = countdown(token.lifetime_ms);
    view! {
        <p class="countdown" aria-live="off">
            "Expires in " <strong data-testid="token-countdown">{move || countdown(expires_at - now.get())}</strong>
            " (lifetime " {lifetime} "); renewed silently before then."
        </p>
        <div class="token-grid">
            <div>
                <h3>"Header"</h3>
                <pre class="code">{header}</pre>
            </div>
            <div>
                <h3>"Claims"</h3>
                <pre class="code">{claims}</pre>
            </div>
        </div>
        <p class="muted">
            "No email or other personal data: " <code>"sub"</code> " is your user id, " <code>"sid"</code>
            " the session the token belongs to (what revocation checks), " <code>"jti"</code>
            " this token's own id. The third part, the Ed25519 signature, is checked by the server "
            "against the public keys at " <a href="/.well-known/jwks.json">"/.well-known/jwks.json"</a> "."
        </p>
    }
}

#[component]
fn RefreshHistory() -> impl IntoView {
    let auth = use_auth();
    let history = auth.history();
    view! {
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"Refresh history of this tab"</h2>
            <p class="muted">
                "Tabs take turns: one renews the token through the refresh cookie and shares it on a "
                "BroadcastChannel; the others take it without a request of their own. A Web Lock keeps "
                "two tabs from renewing at the same moment."
            </p>
            <Show
                when=move || history.with(|h| !h.is_empty())
                fallback=|| view! { <p class="muted">"Nothing yet."</p> }
            >
                <ol class="history" data-testid="refresh-history">
                    {move || {
                        history
                            .get()
                            .into_iter()
                            .rev()
                            .map(|event| {
                                view! {
                                    <li>
                                        <time>{local_time(event.at_ms)}</time>
                                        " — " {event.outcome.label()}
                                        <span class="muted">" (" {event.trigger.label()} ")"</span>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ol>
            </Show>
        </section>
    }
}

#[component]
fn CookiePanel() -> impl IntoView {
    let auth = use_auth();
    let session_mode = auth.mode() == AuthMode::Session;
    let cookie = RwSignal::new(String::new());
    let read = move || cookie.set(document_cookie());
    Effect::new(move |_| read());
    let renewals = move || {
        auth.history()
            .with(|h| h.iter().filter(|e| e.outcome == crate::auth::Outcome::Renewed).count())
    };
    let (heading, about) = if session_mode {
        (
            "The session cookie",
            "What signs you in on every request is a cookie the server set: \
             HttpOnly; Secure; SameSite=Strict; Path=/. Its value is random and stored on the server only as a \
             hash; signing in always creates a new one, so an id planted before sign-in is never adopted.",
        )
    } else {
        (
            "The refresh cookie",
            "What keeps you signed in across reloads is a cookie the server set: \
             HttpOnly; Secure; SameSite=Strict; Path=/api/auth. Its value is random and stored on the server only \
             as a hash; it is replaced on every use, and an old one presented again ends the whole session.",
        )
    };
    view! {
        <section class="card" aria-labelledby="cookie-heading">
            <h2 id="cookie-heading">{heading}</h2>
            <p>{about}</p>
            <p>"This is everything scripts on this page can read of the cookies:"</p>
            <pre class="code" data-testid="document-cookie">
                {move || format!("document.cookie === {:?}", cookie.get())}
            </pre>
            <p>
                {move || {
                    if cookie.get().contains("latchkey") {
                        "The cookie is visible here — it should not be.".to_string()
                    } else if session_mode {
                        "No session cookie in sight, yet every request of this page is signed in with it: the \
                         browser sends it, scripts (and any injected script) cannot read it."
                            .to_string()
                    } else {
                        format!(
                            "No refresh cookie in sight, yet this tab has renewed its token {} time(s) with it: \
                             the browser sends it, scripts (and any injected script) cannot read it.",
                            renewals()
                        )
                    }
                }}
            </p>
            <button type="button" class="button-secondary button-small" on:click=move |_| read()>"Read again"</button>
        </section>
    }
}

/// What each way of proving who you are protects against, and what not.
#[component]
fn Factors() -> impl IntoView {
    view! {
        <section class="card prose" aria-labelledby="factors-heading">
            <h2 id="factors-heading">"What each factor protects against"</h2>
            <ul>
                <li>
                    <strong>"Password. "</strong>
                    "Something you know. Hashed with argon2id, checked at a rate-limited pace and never "
                    "stored: a stolen database does not give it away cheaply. It does not help against "
                    "phishing, reuse on another site, or a keylogger."
                </li>
                <li>
                    <strong>"Authenticator app (TOTP). "</strong>
                    "Something you have: a phone that knows a secret the server keeps sealed. A leaked or "
                    "guessed password alone no longer signs anyone in, and each code works once. A phishing "
                    "page that relays the code within its 30 seconds still gets through."
                </li>
                <li>
                    <strong>"Passkey. "</strong>
                    "A key pair made by your device for this site alone; the server keeps only the public "
                    "half, and your device asks for a fingerprint, face or PIN before it signs. Nothing "
                    "typed can be phished or replayed: the browser signs for the site's real address, so a "
                    "look-alike page gets an answer this server refuses, and each answer works once. A "
                    "stolen database holds no secret. Alone it is both factors; it does not help if the "
                    "device itself is unlocked in someone else's hands."
                </li>
                <li>
                    <strong>"Recovery codes. "</strong>
                    "For a lost phone: each works once in place of a code. Keep them offline; whoever holds "
                    "them holds your second factor."
                </li>
                <li>
                    <strong>"A mailed link. "</strong>
                    "Proves you read the mailbox. It resets a forgotten password, but with two-step sign-in "
                    "on, the reset asks for a code too: a mailbox alone is not the account."
                </li>
                <li>
                    <strong>"Fresh sign-in (step-up). "</strong>
                    "Changing the password, the email or the factors needs a sign-in from the last few "
                    "minutes, so a browser left open, or a stolen session, cannot lock you out of your account."
                </li>
            </ul>
        </section>
    }
}

#[component]
fn TradeOffs() -> impl IntoView {
    view! {
        <section class="card prose" aria-labelledby="tradeoffs-heading">
            <h2 id="tradeoffs-heading">"Sessions or JWTs? What this app does"</h2>
            <ul>
                <li>
                    <strong>"Stateless checks, with a catch. "</strong>
                    "Any server can verify the access token with a public key, no database round trip. "
                    "But a JWT cannot be taken back, so Latchkey keeps it short-lived (minutes) and also keeps a "
                    "small list of revoked session ids: signing out, a password change or a revocation "
                    "stops the token within a second, not at its expiry."
                </li>
                <li>
                    <strong>"The long-lived part is a session. "</strong>
                    "The refresh token is an ordinary server-side session: opaque, hashed, rotated on every use, "
                    "listed on the Security page and revocable. Reuse of an old one revokes the session."
                </li>
                <li>
                    <strong>"Where the token lives. "</strong>
                    "In memory, so a reload loses it and the HttpOnly cookie brings it back. An injected script "
                    "could use the token while the page is open, but cannot carry the refresh cookie away."
                </li>
                <li>
                    <strong>"Cross-site requests. "</strong>
                    "A Bearer header is never sent by the browser on its own, so API calls need no CSRF token. "
                    "The cookie routes (refresh, sign-out) accept only same-origin JSON requests."
                </li>
                <li>
                    <strong>"The cost. "</strong>
                    "More moving parts than a session cookie: refresh scheduling, retry on 401, and tabs that "
                    "must share one refresh. A plain session cookie needs none of that, at the price of a "
                    "lookup on every request."
                </li>
            </ul>
        </section>
    }
}
