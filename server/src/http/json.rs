//! `ApiJson<T>`: the JSON body extractor of every route. It answers bad
//! bodies in the contract's shape (415 for another media type, 413 past the
//! size limit, 400 for malformed JSON or wrong types) instead of axum's
//! plain-text rejections.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use latchkey_types::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

fn reject(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "The body must be JSON, sent with Content-Type: application/json.",
        ),
        JsonRejection::BytesRejection(b) if b.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        JsonRejection::JsonDataError(e) => {
            ApiError::bad_request(format!("The JSON does not fit: {}", e.body_text_detail()))
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("The body is not valid JSON."),
        _ => ApiError::bad_request("The request body could not be read."),
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "The request body is larger than 64 KiB.")
}

trait BodyTextDetail {
    fn body_text_detail(&self) -> String;
}

impl BodyTextDetail for axum::extract::rejection::JsonDataError {
    /// serde's own words ("missing field `email`", "invalid type: …"),
    /// which name fields, never server internals.
    fn body_text_detail(&self) -> String {
        let text = self.body_text();
        text.split_once(": ")
            .map_or(text.clone(), |(_, detail)| detail.to_string())
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
