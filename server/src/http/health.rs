//! `GET /api/health`: 200 when the database answers, 503 when it does not;
//! on PostgreSQL also whether the revocation LISTEN link is up (a link that
//! is down degrades revocation latency to the 250 ms re-read, it does not
//! make the server unhealthy).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_types::Health;

use super::AppState;
use crate::store::Backend;

#[utoipa::path(
    get, path = "/health", tag = "meta",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database does not answer.", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> Response {
    let notify = (state.db.backend == Backend::Postgres)
        .then(|| if state.notify_link.is_up() { "ok" } else { "down" }.to_string());
    let (status, health) = if state.db.ping().await {
        (
            StatusCode::OK,
            Health {
                status: "ok".into(),
                db: "ok".into(),
                notify,
            },
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "unavailable".into(),
                db: "unreachable".into(),
                notify,
            },
        )
    };
    (status, Json(health)).into_response()
}
