//! Latchkey's browser app: the HTML shell, the router and the pages.
//!
//! Compiled twice: with `ssr` inside the server (renders HTML), and with
//! `hydrate` into the WASM bundle (takes the rendered HTML over in the
//! browser). Code that only makes sense on one side is gated on the feature.

// The admin tables are typed views nested deeper than rustc's default
// query depth allows when the WASM build computes their layouts.
#![recursion_limit = "256"]

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, StaticSegment,
    components::{Redirect, Route, Router, Routes},
};

pub mod api;
pub mod auth;
mod browser;
mod components;
#[cfg(feature = "ssr")]
mod csp;
pub mod facts;
mod format;
mod pages;
mod redirect;
mod webauthn;

use components::{nav::Nav, redirects::AuthRedirects};
use pages::admin::{audit::AdminAuditPage, user_sessions::AdminUserSessionsPage, users::AdminUsersPage};
use pages::{
    account::AccountPage,
    home::HomePage,
    how_it_works::HowItWorksPage,
    login::LoginPage,
    not_found::NotFound,
    password_reset::{ForgotPasswordPage, ResetPasswordPage},
    register::RegisterPage,
    security::SecurityPage,
    verify_email::VerifyEmailPage,
};

/// The HTML document the server renders around the app.
///
/// Hydration scripts carry the per-response CSP nonce (`use_nonce`) so the
/// page's Content-Security-Policy needs no `'unsafe-inline'` for scripts.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    csp::set_page_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.ico"/>
                <facts::FactsMeta/>
                // The stylesheet by its hashed name when the build hashed it.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let auth = auth::provide_auth();
    // In the browser only: renew through the refresh cookie, so a reload
    // stays signed in. The server renders the neutral "unknown" state.
    Effect::new(move |_| untrack(|| auth.start()));

    // Effects only run in the browser, after hydration: end-to-end tests wait
    // for this marker before they click anything.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Latchkey".to_string() } else { format!("{page} · Latchkey") }
        }/>
        <Router>
            <AuthRedirects/>
            <Nav/>
            <main id="main" class="container">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=HomePage/>
                    <Route path=StaticSegment("login") view=LoginPage/>
                    <Route path=StaticSegment("register") view=RegisterPage/>
                    <Route path=StaticSegment("account") view=AccountPage/>
                    <Route path=StaticSegment("security") view=SecurityPage/>
                    <Route path=StaticSegment("verify-email") view=VerifyEmailPage/>
                    <Route path=StaticSegment("forgot-password") view=ForgotPasswordPage/>
                    <Route path=StaticSegment("reset-password") view=ResetPasswordPage/>
                    <Route path=StaticSegment("how-it-works") view=HowItWorksPage/>
                    <Route path=StaticSegment("admin") view=|| view! { <Redirect path="/admin/users"/> }/>
                    <Route path=(StaticSegment("admin"), StaticSegment("users")) view=AdminUsersPage/>
                    <Route
                        path=(StaticSegment("admin"), StaticSegment("users"), ParamSegment("id"))
                        view=AdminUserSessionsPage
                    />
                    <Route path=(StaticSegment("admin"), StaticSegment("audit")) view=AdminAuditPage/>
                </Routes>
            </main>
        </Router>
    }
}
