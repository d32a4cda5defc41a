//! The console's routes in process: `/` and every embedded file with its content type, `ETag`
//! and 304 on revalidation, 404 for a file it does not have, and the first page load's weight
//! under its budget.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use super::{ASSETS, asset, router};

/// The most bytes the first page load may take: the page, and every script and stylesheet it
/// names (the budget, 300 KB).
const FIRST_LOAD_BUDGET: usize = 300 * 1000;

async fn get(path: &str, etag: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    let response = router::<()>()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, body.to_vec())
}

/// The files `index.html` loads (`src` and `href` attributes naming `console/...`), in order.
fn first_load() -> Vec<&'static str> {
    let page = std::str::from_utf8(ASSETS[0].bytes).unwrap();
    page.split("console/")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

#[tokio::test]
async fn the_page_is_served_at_the_root_as_html_with_its_policy() {
    let (status, headers, body) = get("/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(body, asset("index.html").unwrap().bytes);
}

#[tokio::test]
async fn every_file_the_page_loads_is_served_with_its_content_type_and_revalidates_to_304() {
    let loaded = first_load();
    assert!(loaded.contains(&"uPlot.iife.min.js"), "{loaded:?}");
    assert!(loaded.contains(&"app.js"), "{loaded:?}");
    for name in &loaded {
        let expected =
            asset(name).unwrap_or_else(|| panic!("index.html loads {name}, not embedded"));
        let (status, headers, body) = get(&format!("/console/{name}"), None).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
        let wanted = if name.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(content_type, wanted, "{name}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(body, expected.bytes, "{name}");
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let (again, headers, body) = get(&format!("/console/{name}"), Some(&etag)).await;
        assert_eq!(again, StatusCode::NOT_MODIFIED, "{name}");
        assert_eq!(headers[header::ETAG].to_str().unwrap(), etag);
        assert!(body.is_empty());
        let (other, _, _) = get(&format!("/console/{name}"), Some("\"00\"")).await;
        assert_eq!(other, StatusCode::OK, "{name}");
    }
    // Every embedded file but the licence is loaded by the page: nothing dead is shipped.
    for embedded in ASSETS.iter().skip(1) {
        assert!(
            loaded.contains(&embedded.name) || embedded.name.ends_with(".txt"),
            "{} is embedded but index.html does not load it",
            embedded.name
        );
    }
}

#[tokio::test]
async fn the_chart_library_licence_is_served_and_unknown_files_are_404_in_the_api_shape() {
    let (status, headers, body) = get("/console/uPlot.LICENSE.txt", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(String::from_utf8(body).unwrap().contains("MIT"));
    let (status, _, body) = get("/console/secrets.js", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("secrets.js"),
        "{body}"
    );
}

#[test]
fn the_first_page_load_is_under_its_budget() {
    let page = ASSETS[0].bytes.len();
    let loaded: usize = first_load()
        .iter()
        .map(|name| asset(name).unwrap().bytes.len())
        .sum();
    let total = page + loaded;
    assert!(
        total < FIRST_LOAD_BUDGET,
        "the first page load is {total} bytes, over the budget of {FIRST_LOAD_BUDGET}"
    );
}

#[test]
fn every_console_file_says_what_it_is_for_and_stays_under_600_lines() {
    for embedded in ASSETS {
        if embedded.name.starts_with("uPlot") {
            continue;
        }
        let text = std::str::from_utf8(embedded.bytes).unwrap();
        let opening = match embedded.name.rsplit('.').next() {
            Some("js") => "// ",
            Some("css") => "/* ",
            _ => "<!doctype html>\n<!-- ",
        };
        assert!(
            text.starts_with(opening),
            "{} does not open with a comment saying what it is for",
            embedded.name
        );
        assert!(
            text.lines().count() <= 600,
            "{} is over 600 lines",
            embedded.name
        );
    }
}
