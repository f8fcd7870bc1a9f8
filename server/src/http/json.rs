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
        // Every body of the API is an object. serde would also build a struct
        // from an array, by position (`["admin", true]`), so refuse anything
        // else before it gets that far.
        let value = match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(value)) if value.is_object() => value,
            Ok(Json(_)) => return Err(ApiError::bad_request("The body must be a JSON object.")),
            Err(rejection) => return Err(reject(rejection)),
        };
        T::deserialize(value)
            .map(ApiJson)
            // serde's own words ("missing field `email`", "invalid type: …")
            // name fields, never server internals.
            .map_err(|e| ApiError::bad_request(format!("The JSON does not fit: {e}")))
    }
}

fn reject(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "The body must be JSON, sent with Content-Type: application/json.",
        ),
        JsonRejection::BytesRejection(b) if b.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("The body is not valid JSON."),
        _ => ApiError::bad_request("The request body could not be read."),
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "The request body is larger than 64 KiB.")
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `ApiQuery<T>`: query parameters that do not parse (a page that is not a
/// number) answer 422 in the contract's shape, not axum's plain text.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let detail = rejection.body_text();
                let detail = detail.split_once(": ").map_or(detail.as_str(), |(_, d)| d).to_string();
                let fields = latchkey_types::FieldErrors::from([("query".to_string(), vec![detail])]);
                Err(ApiError::validation(fields))
            }
        }
    }
}
