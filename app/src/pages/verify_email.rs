//! Where a verification mail's link lands: the token is in the fragment
//! (never sent to any server by the browser on its own), so the page reads
//! it, removes it from the address bar and posts it.

use latchkey_types::{EmailTokenRequest, User};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{self, ApiRequest};
use crate::auth::use_auth;
use crate::browser::take_fragment_token;

#[derive(Clone, PartialEq)]
enum Outcome {
    Working,
    Verified(String),
    Failed(String),
    NoToken,
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let auth = use_auth();
    let outcome = RwSignal::new(Outcome::Working);
    // Effects run only in the browser, once the page is live.
    Effect::new(move |_| {
        let Some(token) = take_fragment_token() else {
            outcome.set(Outcome::NoToken);
            return;
        };
        leptos::task::spawn_local(async move {
            let request = ApiRequest::post("/api/auth/email/verify", &EmailTokenRequest { token });
            let answer = api::call_public(request).await.and_then(|reply| reply.json::<User>());
            outcome.try_set(match answer {
                Ok(user) => {
                    // This tab may be signed in as that user: show it at once.
                    if auth.user().get_untracked().is_some_and(|me| me.id == user.id) {
                        auth.set_user(user.clone());
                    }
                    Outcome::Verified(user.email)
                }
                Err(failure) => Outcome::Failed(failure.message()),
            });
        });
    });
    view! {
        <Title text="Confirm your email"/>
        <section class="card narrow">
            <h1>"Confirm your email"</h1>
            {move || match outcome.get() {
                Outcome::Working => view! { <p role="status">"Confirming…"</p> }.into_any(),
                Outcome::Verified(email) => view! {
                    <p class="notice" role="status" data-testid="email-verified">
                        {format!("{email} is confirmed. Thank you.")}
                    </p>
                    <p><A href="/account">"Go to your account"</A></p>
                }
                .into_any(),
                Outcome::Failed(message) => view! {
                    <p class="alert" role="alert">{message}</p>
                    <p>
                        "You can ask for a new link on your account page — or, if this server "
                        "lets you sign in only once the address is confirmed, from the sign-in page."
                    </p>
                }
                .into_any(),
                Outcome::NoToken => view! {
                    <p class="alert" role="alert">"This link is incomplete. Open the whole link from the mail."</p>
                }
                .into_any(),
            }}
        </section>
    }
}
