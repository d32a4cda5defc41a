//! The web console's static shell: `GET /` and `GET /console/{file}` on serve's port, from
//! files embedded in the binary (`crates/modelwatch/console/`, including the vendored uPlot).
//!
//! The shell is a client of the public HTTP API and nothing more: the pages read and write only
//! through the `/v1` routes, with the bearer token the user types (kept in the tab's session
//! storage). So the shell itself needs no token: it holds no data. Every answer carries a
//! strong `ETag` (a digest of the file) and `Cache-Control: no-cache`, so a browser revalidates
//! with `If-None-Match` and gets a bodiless 304 while the binary is unchanged; `/` carries a
//! Content-Security-Policy that allows only the shell's own scripts and connections. These
//! routes are not in the OpenAPI document, which describes the API the console calls, not the
//! console's files (docs/console.md). `standalone.rs` makes the same page with every file and
//! the API's answers inlined, for a report that opens from disk.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

mod standalone;
#[cfg(test)]
mod tests;

pub use standalone::{DATA_ELEMENT_ID, StandaloneError, standalone_page};

/// One embedded file of the console.
#[derive(Debug)]
pub struct Asset {
    /// Its name under `/console/` (`index.html` is served at `/`).
    pub name: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes, as embedded.
    pub bytes: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Embeds `crates/modelwatch/console/<path>` as the asset `name`.
macro_rules! asset {
    ($name:literal, $path:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../../console/", $path)),
        }
    };
}

/// Every file of the console, the page shell first. The scripts are classic scripts sharing
/// one global (`MW`), loaded in `index.html`'s order, so that a report can inline them as they
/// are (docs/console.md).
pub static ASSETS: &[Asset] = &[
    asset!("index.html", "index.html", HTML),
    asset!("console.css", "console.css", CSS),
    asset!("uPlot.min.css", "vendor/uplot/uPlot.min.css", CSS),
    asset!("uPlot.iife.min.js", "vendor/uplot/uPlot.iife.min.js", JS),
    asset!("uPlot.LICENSE.txt", "vendor/uplot/LICENSE", TEXT),
    asset!("source.js", "js/source.js", JS),
    asset!("util.js", "js/util.js", JS),
    asset!("chart.js", "js/chart.js", JS),
    asset!("overview.js", "js/overview.js", JS),
    asset!("model.js", "js/model.js", JS),
    asset!("tables.js", "js/tables.js", JS),
    asset!("registry.js", "js/registry.js", JS),
    asset!("quality.js", "js/quality.js", JS),
    asset!("app.js", "js/app.js", JS),
];

/// The policy of the page: scripts, styles and connections from serve only (uPlot sets
/// element styles from script, hence inline styles).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Each asset's `ETag`: the first 16 bytes of its SHA-256, in hex, quoted.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.bytes);
            let hex: String = digest[..16]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            format!("\"{hex}\"")
        })
        .collect()
});

/// The asset by this name.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// The routes of the console, open to everyone (they hold no data).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(get_index))
        .route("/console/{file}", get(get_file))
}

async fn get_index(headers: HeaderMap) -> Response {
    answer(0, &headers)
}

async fn get_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|asset| asset.name == file) {
        Some(index) => answer(index, &headers),
        None => {
            let body = serde_json::json!({
                "error": format!("the console has no file {file:?}; open / for the console"),
            });
            (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
        }
    }
}

/// The asset at `index`, or 304 when the client holds this very version.
fn answer(index: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[index];
    let etag = &ETAGS[index];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.name == "index.html" {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    response
}
