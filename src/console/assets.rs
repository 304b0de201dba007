//! The console's files, embedded at compile time and served with their content type and an
//! ETag: browsers revalidate on every load (`no-cache`) and get a bodiless 304 while the
//! binary is the same, so a new build is never hidden behind a stale cache.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::api::ApiError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("web/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("main.js", JS),
    asset!("actions.js", JS),
    asset!("api.js", JS),
    asset!("counts.js", JS),
    asset!("dom.js", JS),
    asset!("editor.js", JS),
    asset!("detail.js", JS),
    asset!("list.js", JS),
    asset!("live.js", JS),
    asset!("rules.js", JS),
    asset!("session.js", JS),
    asset!("time.js", JS),
    asset!("toast.js", JS),
    asset!("webhook.js", JS),
];

/// One strong ETag per asset: a hash of its bytes.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body);
            HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
                .unwrap_or(HeaderValue::from_static("\"\""))
        })
        .collect()
});

/// The page itself.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers).unwrap_or_else(IntoResponse::into_response)
}

/// A script, style sheet or image of the page.
pub async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers).unwrap_or_else(IntoResponse::into_response)
}

fn serve(name: &str, request: &HeaderMap) -> Result<Response, ApiError> {
    let position = ASSETS
        .iter()
        .position(|asset| asset.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("the console has no file {name:?}")))?;
    let (asset, etag) = (&ASSETS[position], ETAGS[position].clone());
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag.to_str().unwrap_or_default())
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = asset.body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_names_is_embedded() {
        let page = std::str::from_utf8(ASSETS[0].body).unwrap();
        for asset in ASSETS.iter().skip(1) {
            let imported = ASSETS
                .iter()
                .filter_map(|a| std::str::from_utf8(a.body).ok())
                .any(|text| {
                    text.contains(&format!("/console/{}", asset.name)) || text.contains(&format!("./{}", asset.name))
                });
            assert!(imported, "{} is embedded but nothing refers to it", asset.name);
        }
        assert!(page.contains("/console/main.js"));
    }

    #[test]
    fn a_matching_etag_is_answered_304() {
        let first = serve("main.js", &HeaderMap::new()).unwrap();
        let etag = first.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(serve("main.js", &again).unwrap().status(), StatusCode::NOT_MODIFIED);
        assert!(serve("../Cargo.toml", &HeaderMap::new()).is_err());
    }
}
