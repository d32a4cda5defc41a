//! Fuzz target: the query strings (and paths) of serve's read routes, through the HTTP router
//! in process.
//!
//! Once per process it starts the service (`modelwatch::Service`) on a scratch data
//! directory with the built-in config, and ingests the example events
//! (examples/degrading-model.jsonl), so that the listings hold alerts, decisions, a job,
//! series and two versions for the canary route. Each input is then one `GET` request:
//! - an input that starts with `/` is the request target itself (`/v1/alerts?state=firing`);
//! - any other picks a read route by its first byte, and the rest is the query string.
//!
//! Bytes that a URI cannot hold are percent-encoded (the query string's own `%`, `&`, `=` and
//! `+` are kept as they are). Beyond "no panic", it checks that no answer is a 5xx, that every
//! answer of a `/v1` route is JSON, that a 400 names the parameter at fault, and that a
//! parameter the OpenAPI document does not list for the route is a 400.
//!
//! The runtime's clock is paused, so `GET /v1/jobs/{id}?wait=60` answers as soon as the
//! runtime has nothing else to do instead of after a minute.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, Uri};
use libfuzzer_sys::fuzz_target;
use modelwatch::FixedClock;
use modelwatch::engine::Timestamp;
use modelwatch::engine::config::default_config;
use modelwatch::runtime::Status;
use modelwatch::{Service, ServiceOptions};
use modelwatch_fuzz::scratch_dir;
use serde_json::Value;
use tokio::runtime::Runtime;

/// The read routes an input that does not start with `/` picks from by its first byte.
const READ_ROUTES: &[&str] = &[
    "/v1/alerts",
    "/v1/decisions",
    "/v1/models",
    "/v1/models/fraud-detector",
    "/v1/models/fraud-detector/versions",
    "/v1/models/fraud-detector/rules",
    "/v1/models/fraud-detector/drift",
    "/v1/models/fraud-detector/reference",
    "/v1/whoami",
    "/v1/series",
    "/v1/jobs",
    "/v1/deliveries",
    "/v1/audit",
    "/v1/canary/fraud-detector",
];

/// The example events, as `POST /v1/events` takes them (job notices go to the jobs API).
const EXAMPLE_EVENTS: &str = include_str!("../../examples/degrading-model.jsonl");

/// The service's clock: just after the last example event, so that nothing is past retention.
const NOW: Timestamp = Timestamp::from_secs(1_795_860_000);

struct Served {
    runtime: Runtime,
    router: Router,
    /// Each route of the OpenAPI document (`/v1/models/{name}`) with the query parameters
    /// of its `GET`.
    parameters: BTreeMap<String, BTreeSet<String>>,
    /// Kept so that the writer runs as long as the process.
    _service: Service,
}

static SERVED: LazyLock<Served> = LazyLock::new(serve);

fn serve() -> Served {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("cannot build the runtime: {error}"),
    };
    let config = match default_config() {
        Ok(config) => Arc::new(config),
        Err(error) => panic!("the built-in config is invalid: {error}"),
    };
    let dir = scratch_dir("query-strings");
    let clock = Arc::new(FixedClock::new(NOW));
    let service = runtime.block_on(async {
        let service = match Service::start(config, &dir, clock, ServiceOptions::default()) {
            Ok(service) => service,
            Err(error) => panic!("cannot start the service: {error}"),
        };
        let mut status = service.status();
        let ready = status
            .wait_for(|status| !matches!(status, Status::Recovering))
            .await
            .map(|status| status.clone());
        match ready {
            Ok(Status::Ready { .. }) => service,
            other => panic!("the service did not get ready: {other:?}"),
        }
    });
    let router = service.router();
    let events: String = EXAMPLE_EVENTS
        .lines()
        .filter(|line| !line.contains("\"job_finished\""))
        .map(|line| format!("{line}\n"))
        .collect();
    let (status, body) = runtime.block_on(send(
        &router,
        Method::POST,
        Uri::from_static("/v1/events"),
        Body::from(events),
    ));
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the example events were refused: {body}"
    );
    let (status, document) = runtime.block_on(send(
        &router,
        Method::GET,
        Uri::from_static("/openapi.json"),
        Body::empty(),
    ));
    assert_eq!(status, StatusCode::OK, "no OpenAPI document: {document}");
    let parameters = query_parameters(&document);
    Served {
        runtime,
        router,
        parameters,
        _service: service,
    }
}

fuzz_target!(|data: &[u8]| {
    let served = &*SERVED;
    let target = match data.first() {
        Some(b'/') => encode(data),
        Some(&first) => {
            let route = READ_ROUTES[usize::from(first) % READ_ROUTES.len()];
            format!("{route}?{}", encode(&data[1..]))
        }
        None => return,
    };
    // What no URI can be (a target that percent-encoding did not make valid) is not a request.
    let Ok(uri) = target.parse::<Uri>() else {
        return;
    };
    let (status, body) = served.runtime.block_on(send(
        &served.router,
        Method::GET,
        uri.clone(),
        Body::empty(),
    ));
    assert!(
        !status.is_server_error(),
        "GET {uri} answered {status}: {}",
        shown(&body)
    );
    if !uri.path().starts_with("/v1/") {
        return;
    }
    let answer: Value = match serde_json::from_str(&body) {
        Ok(answer) => answer,
        Err(error) => panic!(
            "GET {uri} answered {status} with a body that is not JSON ({error}): {}",
            shown(&body)
        ),
    };
    if status == StatusCode::BAD_REQUEST {
        assert!(
            answer.get("parameter").is_some_and(Value::is_string),
            "GET {uri} answered 400 without naming the parameter: {}",
            shown(&body)
        );
    }
    if let Some((route, known)) = route_of(&served.parameters, uri.path())
        && let Some(unknown) = query_names(&uri).find(|name| !known.contains(name))
    {
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "GET {uri}: {route} takes no parameter {unknown:?}, yet answered: {}",
            shown(&body)
        );
    }
});

/// Sends one request and returns the status and the body (as text, lossily).
async fn send(router: &Router, method: Method, uri: Uri, body: Body) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(headers) = request.headers_mut() {
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/x-ndjson"),
        );
    }
    let request = match request.body(body) {
        Ok(request) => request,
        Err(error) => panic!("cannot build a request: {error}"),
    };
    let response = match tower::ServiceExt::oneshot(router.clone(), request).await {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    };
    let status = response.status();
    let bytes = match to_bytes(response.into_body(), usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => panic!("cannot read an answer's body: {error}"),
    };
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The start of an answer's body, for a failure's message.
fn shown(body: &str) -> &str {
    let end = (0..=body.len().min(600))
        .rev()
        .find(|at| body.is_char_boundary(*at))
        .unwrap_or(0);
    &body[..end]
}

/// The input as a request target: every byte a URI cannot hold percent-encoded.
fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &byte in bytes {
        let kept = byte.is_ascii_graphic() && !b"#\"<>\\^`{|}".contains(&byte);
        if kept {
            text.push(char::from(byte));
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    text
}

/// The names of a URI's query parameters, decoded as the service decodes them.
fn query_names(uri: &Uri) -> impl Iterator<Item = String> + '_ {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).map(|(name, _)| name.into_owned())
}

/// The route of the OpenAPI document that `path` falls under, with its query parameters.
fn route_of<'p>(
    parameters: &'p BTreeMap<String, BTreeSet<String>>,
    path: &str,
) -> Option<(&'p str, &'p BTreeSet<String>)> {
    let segments: Vec<&str> = path.split('/').collect();
    parameters.iter().find_map(|(route, known)| {
        let pattern: Vec<&str> = route.split('/').collect();
        let matches = pattern.len() == segments.len()
            && pattern.iter().zip(&segments).all(|(pattern, segment)| {
                pattern == segment || (pattern.starts_with('{') && !segment.is_empty())
            });
        // The map is sorted and `{` sorts after every letter: a literal route comes first.
        matches.then_some((route.as_str(), known))
    })
}

/// Each path of the OpenAPI document that has a `GET`, with the names of its query parameters.
fn query_parameters(document: &str) -> BTreeMap<String, BTreeSet<String>> {
    let document: Value = match serde_json::from_str(document) {
        Ok(document) => document,
        Err(error) => panic!("the OpenAPI document is not JSON: {error}"),
    };
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        panic!("the OpenAPI document has no paths");
    };
    paths
        .iter()
        .filter_map(|(route, item)| {
            let get = item.get("get")?;
            let names = get
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|parameter| parameter.get("in").and_then(Value::as_str) == Some("query"))
                .filter_map(|parameter| parameter.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
            Some((route.clone(), names))
        })
        .collect()
}
