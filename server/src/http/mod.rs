//! The HTTP edge: the router, shared state and middleware. Handlers turn
//! requests into calls on `core` and `store` and the results back into the
//! contract's responses; they decide nothing themselves.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::response::IntoResponse;
use axum::{Router, middleware};
use latchkey_types::ErrorCode;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Engine;

pub mod admin;
pub mod api_keys;
pub mod assets;
pub mod auth;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod email;
pub mod error;
pub mod extract;
pub mod factors;
pub mod headers;
pub mod health;
pub mod json;
pub mod me;
pub mod openapi;
pub mod passkeys;
pub mod session;
pub mod wellknown;

pub use error::{ApiError, ApiResult};

/// An id as the API writes them: the hyphenated form only (`uuid` also
/// parses the simple, braced and URN forms; the OpenAPI document's
/// `format: uuid` does not, and neither do we).
pub fn parse_id(raw: &str) -> Option<uuid::Uuid> {
    (raw.len() == 36).then(|| uuid::Uuid::try_parse(raw).ok()).flatten()
}

/// Everything a handler may need, cheap to clone: the auth engine and the
/// page settings.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub engine: Engine,
    pub leptos: LeptosOptions,
    /// `/api/health`'s shared database ping.
    pub health: health::HealthProbe,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Handlers reach the engine's flows and settings directly (`state.sign_in(…)`).
impl std::ops::Deref for Inner {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// The API's routes (`/api/*` and the JWKS) and the OpenAPI document that
/// describes exactly them: both come from one list.
pub fn api_routes(state: &AppState) -> (Router<AppState>, serde_json::Value) {
    // The routes a browser reaches with its cookies (API.md "Cross-site
    // defence"): same-origin only.
    let cookie_routes = OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(session::register))
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(email::reset_jwt))
        .routes(routes!(email::reset_session))
        .routes(routes!(factors::verify_jwt))
        .routes(routes!(factors::verify_session))
        .routes(routes!(passkeys::sign_in_options))
        .routes(routes!(passkeys::login_jwt))
        .routes(routes!(passkeys::login_session))
        .routes(routes!(passkeys::second_factor_options))
        .route_layer(middleware::from_fn_with_state(state.clone(), csrf::same_origin_only));
    let (api, api_doc) = OpenApiRouter::new()
        .merge(cookie_routes)
        .routes(routes!(health::health))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(session::current))
        .routes(routes!(auth::logout_all))
        .routes(routes!(me::get_me, me::patch_me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::list_sessions))
        .routes(routes!(me::delete_session))
        .routes(routes!(email::verify))
        .routes(routes!(email::resend))
        .routes(routes!(email::resend_public))
        .routes(routes!(email::forgot))
        .routes(routes!(email::change))
        .routes(routes!(factors::status))
        .routes(routes!(factors::begin_totp, factors::disable_totp))
        .routes(routes!(factors::confirm_totp))
        .routes(routes!(factors::regenerate_recovery_codes))
        .routes(routes!(factors::reauth))
        .routes(routes!(passkeys::registration_options))
        .routes(routes!(passkeys::register))
        .routes(routes!(passkeys::rename, passkeys::remove))
        .routes(routes!(passkeys::reauth_options))
        .routes(routes!(passkeys::reauth))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::update_user))
        .routes(routes!(admin::user_sessions))
        .routes(routes!(admin::reset_factors))
        .routes(routes!(admin::delete_session))
        .routes(routes!(admin::audit))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(api_keys::admin_list))
        .routes(routes!(api_keys::admin_revoke))
        .split_for_parts();
    let api = api
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "This method is not allowed here.")
        });
    let (well_known, well_known_doc) = OpenApiRouter::new().routes(routes!(wellknown::jwks)).split_for_parts();
    let doc = openapi::ApiDoc::openapi()
        .nest("/api", api_doc)
        .merge_from(well_known_doc);
    // Everything under /api may carry personal data or credentials: no
    // cache (browser, proxy or CDN) keeps any of it. One layer, so a new
    // route cannot forget.
    let api = api
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::PRAGMA,
            HeaderValue::from_static("no-cache"),
        ));
    let routes = Router::new().nest("/api", api).merge(well_known);
    (routes, openapi::finish(doc, &state.settings))
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes(&state);
    let doc = openapi::Document(serde_json::to_vec(&doc).expect("JSON serialises").into());
    let api = api.layer(axum::Extension(doc));

    let routes = generate_route_list(app::App);
    let leptos = state.leptos.clone();
    let shell = move || app::shell(leptos.clone());
    // Every page gets a CSP nonce and learns the server's auth settings.
    let facts = app::facts::ServerFacts {
        auth_mode: state.settings.auth_mode,
        access_check: state.settings.access_check,
        password_min_chars: state.settings.password_min_chars,
        session_cookie: state.settings.session_cookie.clone(),
        passkeys: state.webauthn.is_some(),
        admin_auth: state.settings.admin_auth,
    };
    let page_context = move || {
        leptos::nonce::provide_nonce();
        leptos::prelude::provide_context(facts.clone());
    };

    let pkg_dir = std::path::Path::new(&*state.leptos.site_root).join(&*state.leptos.site_pkg_dir);
    let pkg = format!("/{}", state.leptos.site_pkg_dir);
    Router::new()
        .merge(api)
        .nest_service(&pkg, assets::pkg::<()>(pkg_dir, state.leptos.hash_files))
        .leptos_routes_with_context(&state, routes, page_context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            page_context,
            app::shell,
        ))
        // Pages (and the few files outside /pkg): a copy may be kept, but
        // is checked first. The API and /pkg set their own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static(assets::REVALIDATE),
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request<_>| {
                            let id = request
                                .headers()
                                .get(&REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            // The path only: query strings are the client's business.
                            tracing::info_span!("request", id, method = %request.method(), path = %request.uri().path())
                        })
                        // 503s are deliberate load shedding; real faults are logged
                        // at error level where they happen (`ApiError::internal`).
                        .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(middleware::from_fn_with_state(state.clone(), headers::security_headers))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::internal("handler panicked").into_response()
                }))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(30),
                ))
                .layer(middleware::from_fn(headers::limit_body))
                .layer(DefaultBodyLimit::max(headers::MAX_BODY_BYTES)),
        )
        .with_state(state)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_read_only_in_the_hyphenated_form() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(super::parse_id(&id.to_string()), Some(id));
        assert_eq!(super::parse_id(&id.to_string().to_uppercase()), Some(id));
        for other in [
            id.simple().to_string(),
            id.braced().to_string(),
            id.urn().to_string(),
            String::new(),
            "x".repeat(36),
        ] {
            assert_eq!(super::parse_id(&other), None, "{other}");
        }
    }
}
