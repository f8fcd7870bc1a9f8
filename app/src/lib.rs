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

/// The pages a first visit does not need, in groups that share one WASM
/// chunk each. With the `split` feature (`make release`, `cargo leptos
/// build --split`) every group is a chunk of its own, fetched when one of
/// its pages is first shown (the server names it in a preload link when it
/// renders that page). One chunk per page would not be smaller to fetch:
/// the pages of a group share most of their code (forms, session tables),
/// and the splitter puts code shared by any set of chunks in a further
/// chunk of its own — 88 files, up to 45 for one page, most under 1 KB,
/// each a fetch and a compile of its own on every reload. Without `split`
/// the group's function is simply awaited, so the server and every build
/// of the client agree on the route tree either way.
#[derive(Clone, Copy)]
enum SignInPage {
    Login,
    Register,
    VerifyEmail,
    ForgotPassword,
    ResetPassword,
}

#[cfg_attr(feature = "split", leptos::lazy)]
async fn sign_in_pages(page: SignInPage) -> AnyView {
    match page {
        SignInPage::Login => view! { <LoginPage/> }.into_any(),
        SignInPage::Register => view! { <RegisterPage/> }.into_any(),
        SignInPage::VerifyEmail => view! { <VerifyEmailPage/> }.into_any(),
        SignInPage::ForgotPassword => view! { <ForgotPasswordPage/> }.into_any(),
        SignInPage::ResetPassword => view! { <ResetPasswordPage/> }.into_any(),
    }
}

#[derive(Clone, Copy)]
enum AccountPageKind {
    Account,
    Security,
}

#[cfg_attr(feature = "split", leptos::lazy)]
async fn account_pages(page: AccountPageKind) -> AnyView {
    match page {
        AccountPageKind::Account => view! { <AccountPage/> }.into_any(),
        AccountPageKind::Security => view! { <SecurityPage/> }.into_any(),
    }
}

#[derive(Clone, Copy)]
enum AdminPage {
    Users,
    UserSessions,
    Audit,
}

#[cfg_attr(feature = "split", leptos::lazy)]
async fn admin_pages(page: AdminPage) -> AnyView {
    match page {
        AdminPage::Users => view! { <AdminUsersPage/> }.into_any(),
        AdminPage::UserSessions => view! { <AdminUserSessionsPage/> }.into_any(),
        AdminPage::Audit => view! { <AdminAuditPage/> }.into_any(),
    }
}

#[cfg_attr(feature = "split", leptos::lazy)]
async fn how_it_works_page() -> AnyView {
    view! { <HowItWorksPage/> }.into_any()
}

/// A lazy route: `$route` shows `$view`, an await of its group's function.
/// `$preload` is the chunk loader `lazy` made for that function: during
/// hydration the router awaits it before it hydrates the page, so the page
/// is there to take over the server's HTML (without it the page would still
/// be loading and hydration would find nothing to match).
macro_rules! lazy_page {
    ($route:ident, $view:expr, $preload:ident) => {
        struct $route;

        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                $view.await
            }

            async fn preload() {
                #[cfg(all(feature = "split", feature = "hydrate"))]
                $preload().await;
            }
        }
    };
}

lazy_page!(LoginRoute, sign_in_pages(SignInPage::Login), __preload_sign_in_pages);
lazy_page!(
    RegisterRoute,
    sign_in_pages(SignInPage::Register),
    __preload_sign_in_pages
);
lazy_page!(
    VerifyEmailRoute,
    sign_in_pages(SignInPage::VerifyEmail),
    __preload_sign_in_pages
);
lazy_page!(
    ForgotPasswordRoute,
    sign_in_pages(SignInPage::ForgotPassword),
    __preload_sign_in_pages
);
lazy_page!(
    ResetPasswordRoute,
    sign_in_pages(SignInPage::ResetPassword),
    __preload_sign_in_pages
);
lazy_page!(
    AccountRoute,
    account_pages(AccountPageKind::Account),
    __preload_account_pages
);
lazy_page!(
    SecurityRoute,
    account_pages(AccountPageKind::Security),
    __preload_account_pages
);
lazy_page!(HowItWorksRoute, how_it_works_page(), __preload_how_it_works_page);
lazy_page!(AdminUsersRoute, admin_pages(AdminPage::Users), __preload_admin_pages);
lazy_page!(
    AdminUserSessionsRoute,
    admin_pages(AdminPage::UserSessions),
    __preload_admin_pages
);
lazy_page!(AdminAuditRoute, admin_pages(AdminPage::Audit), __preload_admin_pages);

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
