//! The app's own files under `/pkg` (the WASM, its JS glue, the CSS):
//! precompressed copies (`.br`, `.gz`, made by `cargo leptos build
//! --release --precompress`) are sent to browsers that accept them, and
//! files whose names carry their content's hash (`hash-files`) are cached
//! for a year, never revalidated. Without hashed names a browser revalidates
//! every time (`no-cache`, answered 304 when unchanged), so a new build is
//! never hidden behind an old copy.

use std::path::PathBuf;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// What a hashed file may be cached as: its name changes with its bytes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages and unhashed files: keep a copy, but ask first.
pub const REVALIDATE: &str = "no-cache";

/// `/pkg/*` from `dir`.
pub fn pkg<S: Clone + Send + Sync + 'static>(dir: PathBuf, hashed_names: bool) -> Router<S> {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let policy = if hashed_names { IMMUTABLE } else { REVALIDATE };
    Router::new()
        .fallback_service(files)
        // Only a file found is cached so; a 404 is not kept for a year.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            move |response: &axum::http::Response<_>| {
                let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
                Some(HeaderValue::from_static(if found { policy } else { "no-store" }))
            },
        ))
        // The answer depends on Accept-Encoding: caches must keep one per.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(router: Router, path: &str, accept: Option<&str>) -> axum::response::Response {
        let mut request = Request::get(path);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        router.oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.abc123.wasm"), b"the plain bytes").unwrap();
        std::fs::write(dir.path().join("app.abc123.wasm.br"), b"brotli bytes").unwrap();
        std::fs::write(dir.path().join("app.abc123.wasm.gz"), b"gzip bytes").unwrap();
        std::fs::write(dir.path().join("plain.css"), b"body{}").unwrap();
        dir
    }

    #[tokio::test]
    async fn the_smallest_accepted_encoding_is_sent() {
        let dir = site();
        let router = || pkg(dir.path().to_path_buf(), true);
        let br = get(router(), "/app.abc123.wasm", Some("gzip, deflate, br")).await;
        assert_eq!(br.status(), StatusCode::OK);
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(br.headers()[header::VARY], "accept-encoding");
        let gz = get(router(), "/app.abc123.wasm", Some("gzip")).await;
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        let plain = get(router(), "/app.abc123.wasm", None).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let body = axum::body::to_bytes(plain.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"the plain bytes");
        // No compressed copy: the file as it is, whatever is accepted.
        let css = get(router(), "/plain.css", Some("br")).await;
        assert_eq!(css.status(), StatusCode::OK);
        assert!(css.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[tokio::test]
    async fn hashed_names_are_immutable_and_others_revalidate() {
        let dir = site();
        let hashed = get(pkg(dir.path().to_path_buf(), true), "/app.abc123.wasm", None).await;
        assert_eq!(hashed.headers()[header::CACHE_CONTROL], IMMUTABLE);
        let unhashed = get(pkg(dir.path().to_path_buf(), false), "/plain.css", None).await;
        assert_eq!(unhashed.headers()[header::CACHE_CONTROL], REVALIDATE);
        assert!(
            unhashed.headers().contains_key(header::LAST_MODIFIED),
            "revalidation needs a validator"
        );
        let missing = get(pkg(dir.path().to_path_buf(), true), "/nothing.js", None).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()[header::CACHE_CONTROL], "no-store");
    }
}
