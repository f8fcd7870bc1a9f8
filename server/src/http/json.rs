//! `ApiJson<T>`: the JSON body extractor of every route. It answers bad
//! bodies in the contract's shape (415 for another media type, 413 past the
//! size limit, 400 for malformed JSON or wrong types, 422 for a key given
//! twice) instead of axum's plain-text rejections.

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
        let value = match Json::<StrictValue>::from_request(req, state).await {
            Ok(Json(StrictValue {
                duplicate: Some(key), ..
            })) => {
                // serde would keep the last of the two silently, and another
                // parser in front of us (a proxy, a WAF) may keep the first.
                let fields = latchkey_types::FieldErrors::from([(key, vec!["is given more than once".to_string()])]);
                return Err(ApiError::validation(fields));
            }
            Ok(Json(StrictValue { value, .. })) if value.is_object() => value,
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

/// A JSON value, and the first object key (at any depth) that appeared
/// twice in one object.
struct StrictValue {
    value: serde_json::Value,
    duplicate: Option<String>,
}

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl StrictVisitor {
    fn plain(value: serde_json::Value) -> StrictValue {
        StrictValue { value, duplicate: None }
    }
}

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(Self::plain(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(Self::plain(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(Self::plain(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
        Ok(Self::plain(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(Self::plain(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(Self::plain(v.into()))
    }

    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(Self::plain(serde_json::Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let (mut items, mut duplicate) = (Vec::new(), None);
        while let Some(item) = seq.next_element::<StrictValue>()? {
            duplicate = duplicate.or(item.duplicate);
            items.push(item.value);
        }
        Ok(StrictValue {
            value: items.into(),
            duplicate,
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let (mut object, mut duplicate) = (serde_json::Map::new(), None);
        while let Some((key, item)) = map.next_entry::<String, StrictValue>()? {
            duplicate = duplicate.or(item.duplicate);
            if object.contains_key(&key) {
                duplicate = duplicate.or(Some(key.clone()));
            }
            object.insert(key, item.value);
        }
        Ok(StrictValue {
            value: object.into(),
            duplicate,
        })
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

#[cfg(test)]
mod tests {
    use super::StrictValue;

    fn duplicate(json: &str) -> Option<String> {
        serde_json::from_str::<StrictValue>(json).expect("valid JSON").duplicate
    }

    #[test]
    fn keys_given_twice_are_found_at_any_depth() {
        assert_eq!(duplicate(r#"{"role": "user", "role": "admin"}"#), Some("role".into()));
        assert_eq!(duplicate(r#"{"a": {"b": 1, "b": 2}}"#), Some("b".into()));
        assert_eq!(duplicate(r#"{"a": [{"c": 1, "c": 1}]}"#), Some("c".into()));
        assert_eq!(
            duplicate(r#"{"a": 1, "b": {"a": 2}}"#),
            None,
            "same name, other objects"
        );
        let value = serde_json::from_str::<StrictValue>(r#"{"a": [1, 2.5, "x", null, true]}"#).unwrap();
        assert_eq!(value.value, serde_json::json!({"a": [1, 2.5, "x", null, true]}));
    }
}
