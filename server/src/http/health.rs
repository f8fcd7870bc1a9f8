//! `GET /api/health`: 200 when the database answers, 503 when it does not.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_types::Health;

use super::AppState;

pub async fn health(State(state): State<AppState>) -> Response {
    let (status, health) = if state.db.ping().await {
        (
            StatusCode::OK,
            Health {
                status: "ok".into(),
                db: "ok".into(),
            },
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "unavailable".into(),
                db: "unreachable".into(),
            },
        )
    };
    let mut response = (status, Json(health)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
