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
    Lazy, ParamSegment, StaticSegment,
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

/// Whether hydration has finished (provided by [`hydrate`]; the server,
/// which never runs effects, has none).
#[derive(Clone)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Hydrated(ArcRwSignal<bool>);

/// The browser's entry point: hydrates the server-rendered page, waiting
/// for the WASM chunk of a lazy page if the page is one. Only then may the
/// app change what it shows (renew the token, say): a change made while a
/// chunk was still loading would no longer match the HTML being hydrated.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    let Some(body) = document().body() else {
        return;
    };
    let hydrated = ArcRwSignal::new(false);
    let done = hydrated.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let mounted = leptos::mount::hydrate_from_async(body, move || {
            provide_context(Hydrated(hydrated));
            view! { <App/> }
        })
        .await;
        done.set(true);
        mounted.forget();
    });
}

/// A page a first visit does not need: its route is lazy, and with the
/// `split` feature (`make release`, `cargo leptos build --split`) its code
/// is a WASM chunk of its own, fetched when the page is first shown (the
/// server names it in a preload link when it renders that page). Without
/// `split` the same route is simply awaited, so the server and every build
/// of the client agree on the route tree either way.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[cfg(feature = "split")]
        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }

        #[cfg(not(feature = "split"))]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    };
}

lazy_page!(LoginRoute, LoginPage);
lazy_page!(RegisterRoute, RegisterPage);
lazy_page!(VerifyEmailRoute, VerifyEmailPage);
lazy_page!(ForgotPasswordRoute, ForgotPasswordPage);
lazy_page!(ResetPasswordRoute, ResetPasswordPage);
lazy_page!(AccountRoute, AccountPage);
lazy_page!(SecurityRoute, SecurityPage);
lazy_page!(HowItWorksRoute, HowItWorksPage);
lazy_page!(AdminUsersRoute, AdminUsersPage);
lazy_page!(AdminUserSessionsRoute, AdminUserSessionsPage);
lazy_page!(AdminAuditRoute, AdminAuditPage);

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let auth = auth::provide_auth();
    // In the browser only, once the whole page is hydrated (`hydrate`):
    // renew through the refresh cookie, so a reload stays signed in (the
    // server renders the neutral "unknown" state), and set the marker
    // end-to-end tests wait for before they click anything.
    let hydrated = use_context::<Hydrated>();
    Effect::new(move |_| {
        if hydrated.as_ref().is_none_or(|done| done.0.get()) {
            untrack(|| auth.start());
            if let Some(body) = document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
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
                    <Route path=StaticSegment("login") view={Lazy::<LoginRoute>::new()}/>
                    <Route path=StaticSegment("register") view={Lazy::<RegisterRoute>::new()}/>
                    <Route path=StaticSegment("account") view={Lazy::<AccountRoute>::new()}/>
                    <Route path=StaticSegment("security") view={Lazy::<SecurityRoute>::new()}/>
                    <Route path=StaticSegment("verify-email") view={Lazy::<VerifyEmailRoute>::new()}/>
                    <Route path=StaticSegment("forgot-password") view={Lazy::<ForgotPasswordRoute>::new()}/>
                    <Route path=StaticSegment("reset-password") view={Lazy::<ResetPasswordRoute>::new()}/>
                    <Route path=StaticSegment("how-it-works") view={Lazy::<HowItWorksRoute>::new()}/>
                    <Route path=StaticSegment("admin") view=|| view! { <Redirect path="/admin/users"/> }/>
                    <Route path=(StaticSegment("admin"), StaticSegment("users")) view={Lazy::<AdminUsersRoute>::new()}/>
                    <Route
                        path=(StaticSegment("admin"), StaticSegment("users"), ParamSegment("id"))
                        view={Lazy::<AdminUserSessionsRoute>::new()}
                    />
                    <Route path=(StaticSegment("admin"), StaticSegment("audit")) view={Lazy::<AdminAuditRoute>::new()}/>
                </Routes>
            </main>
        </Router>
    }
}
