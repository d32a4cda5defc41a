//! The edges of serve's HTTP API, against `modelwatch serve` as a child process:
//! `GET /openapi.json` (OpenAPI 3.x, open without a token, listing exactly the API's routes),
//! bodies refused whole (413 over the batch limit, 415 for a wrong content type; JSON error
//! bodies, nothing stored; the body limit is `edge`'s), malformed query strings (400 in the API's JSON
//! error shape naming the parameter) and `GET /v1/series` with `version` and `instance`
//! optional.

use std::path::Path;

use serde_json::Value;

use crate::serve_child::{ServeChild, example_events, http_agent, ndjson};

/// Every (method, path) of the API the router serves; `/openapi.json` must list exactly these.
/// The console's shell (`GET /`, `GET /console/{file}`) is served beside them but is no part of
/// the API the document describes (docs/console.md).
const ROUTES: [(&str, &str); 28] = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("POST", "/v1/events"),
    ("GET", "/v1/alerts"),
    ("GET", "/v1/alerts/{id}"),
    ("GET", "/v1/decisions"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{name}"),
    ("GET", "/v1/series"),
    ("POST", "/v1/admin/retention"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{id}"),
    ("POST", "/v1/jobs/{id}/cancel"),
    ("POST", "/v1/jobs/{id}/complete"),
    ("POST", "/v1/models/{name}/retrain"),
    ("GET", "/v1/models/{name}/reference"),
    ("GET", "/v1/models/{name}/drift"),
    ("GET", "/v1/models/{name}/rules"),
    ("PUT", "/v1/models/{name}/reference"),
    ("GET", "/v1/models/{name}/versions"),
    ("POST", "/v1/models/{name}/versions/{version}/{change}"),
    ("GET", "/v1/deliveries"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/canary/{model}"),
    ("POST", "/v1/canary/{model}"),
    ("GET", "/v1/whoami"),
];

struct Client {
    process: ServeChild,
    agent: ureq::Agent,
}

/// A response: status, media type (without parameters) and the body parsed as JSON (`Null`
/// when it is not JSON).
struct Answer {
    status: u16,
    media_type: String,
    body: Value,
}

impl Client {
    fn start(data: &Path) -> Client {
        Client {
            process: ServeChild::start(data, |_| {}),
            agent: http_agent(),
        }
    }

    fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let text = response.body_mut().read_to_string().unwrap();
        Answer {
            status: response.status().as_u16(),
            media_type,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    fn get(&self, path: &str) -> Answer {
        let response = self
            .agent
            .get(format!("{}{path}", self.process.base))
            .call()
            .unwrap();
        Client::answer(response)
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Answer {
        let response = self
            .agent
            .post(format!("{}{path}", self.process.base))
            .header("content-type", content_type)
            .send(body)
            .unwrap();
        Client::answer(response)
    }

    /// Asserts that the store holds no model, alert or decision.
    fn assert_nothing_stored(&self) {
        for listing in ["/v1/models", "/v1/alerts", "/v1/decisions"] {
            let answer = self.get(listing);
            assert_eq!(answer.status, 200, "{listing}: {}", answer.body);
            assert_eq!(answer.body["items"], serde_json::json!([]), "{listing}");
        }
    }

    fn stop(self) {
        self.process.stop();
    }
}

/// A JSON error answer: status, `application/json` and an `error` sentence.
fn assert_error(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.media_type, "application/json", "{}", answer.body);
    assert!(answer.body["error"].is_string(), "{}", answer.body);
}

const EVENT: &str =
    r#"{"model": {"name": "m", "version": "1"}, "metric": "accuracy", "value": 0.9}"#;

#[test]
fn openapi_json_is_an_openapi_3_document_of_exactly_the_routes_served() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::start(dir.path());
    let answer = client.get("/openapi.json");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.media_type, "application/json");
    let document = answer.body;
    let version = document["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "{version}");
    assert_eq!(document["info"]["title"], "modelwatch");

    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);

    // Every listed route is served: a GET answers from its handler, a POST route refuses GET
    // with 405 (so nothing is changed), and a path not listed is a JSON 404.
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{name}", "no-such-model")
            .replace("{model}", "no-such-model")
            .replace("{id}", "no-such-job")
            .replace("{version}", "1")
            .replace("{change}", "promote");
        let answer = client.get(&concrete);
        match method {
            // GET and POST judge alike; without a rule, the metric is the first thing missing.
            _ if path.starts_with("/v1/canary/") => {
                assert_error(&answer, 400);
                assert_eq!(answer.body["parameter"], "metric");
            }
            "GET" if path.contains('{') => {
                assert_error(&answer, 404);
                let error = answer.body["error"].as_str().unwrap();
                assert!(
                    error.contains("no-such-model") || error.contains("no-such-job"),
                    "{error}"
                );
            }
            "GET" if path == "/v1/series" => {
                assert_error(&answer, 400);
                assert_eq!(answer.body["parameter"], "model");
            }
            "GET" => assert_eq!(answer.status, 200, "{path}: {}", answer.body),
            // The path's GET reads the reference: no drift settings for this model.
            "PUT" => assert_error(&answer, 404),
            _ => assert_eq!(answer.status, 405, "{path}"),
        }
    }
    assert_error(&client.get("/v1/nothing-here"), 404);

    // Every reference resolves.
    fn references<'v>(value: &'v Value, found: &mut Vec<&'v str>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    match (key.as_str(), item.as_str()) {
                        ("$ref", Some(target)) => found.push(target),
                        _ => references(item, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| references(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(found.len() > 10);
    for target in found {
        let pointer = target.strip_prefix('#').unwrap();
        assert!(
            document.pointer(pointer).is_some(),
            "{target} does not resolve"
        );
    }

    // The bearer scheme, and which routes need it.
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for (method, path) in ROUTES {
        let operation = &document["paths"][path][method.to_lowercase()];
        let security = operation["security"].as_array();
        if path.starts_with("/v1/") {
            let security = security.unwrap_or_else(|| panic!("{method} {path} has no security"));
            assert!(
                security
                    .iter()
                    .all(|requirement| requirement["bearer"].is_array())
            );
            for status in ["401", "403"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{path} {status}"
                );
            }
        } else {
            assert!(security.is_none(), "{method} {path} needs no token");
        }
    }

    // What POST /v1/events takes and answers.
    let events = &document["paths"]["/v1/events"]["post"];
    let content = events["requestBody"]["content"].as_object().unwrap();
    assert!(
        content.contains_key("application/json") && content.contains_key("application/x-ndjson")
    );
    for status in ["202", "400", "413", "415", "422", "503"] {
        assert!(
            events["responses"][status].is_object(),
            "POST /v1/events {status}"
        );
    }
    assert!(events["responses"]["503"]["headers"]["Retry-After"].is_object());
    let metrics = &document["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(
        metrics
            .as_object()
            .unwrap()
            .keys()
            .all(|media_type| media_type.starts_with("text/plain"))
    );
    for parameter in [
        "model", "version", "instance", "metric", "from", "to", "after", "limit",
    ] {
        let parameters = document["paths"]["/v1/series"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let found = parameters
            .iter()
            .find(|p| p["name"] == parameter)
            .unwrap_or_else(|| panic!("/v1/series documents no {parameter}"));
        let required = ["model", "metric"].contains(&parameter);
        assert_eq!(found["required"], required, "{parameter}");
    }
    client.stop();
}

#[test]
fn openapi_json_stays_open_when_the_v1_routes_need_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let process = ServeChild::start(dir.path(), |command| {
        command
            .args(["--token-env", "MODELWATCH_HTTP_API_TEST_TOKEN:admin"])
            .env("MODELWATCH_HTTP_API_TEST_TOKEN", "a-test-token-value");
    });
    let client = Client {
        process,
        agent: http_agent(),
    };
    let answer = client.get("/openapi.json");
    assert_eq!(answer.status, 200);
    assert!(answer.body["paths"]["/v1/alerts"].is_object());
    let refused = client.get("/v1/alerts");
    assert_error(&refused, 401);
    client.stop();
}

#[test]
fn a_batch_over_the_batch_limit_is_a_json_413_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::start(dir.path());
    let limit = modelwatch::engine::wire::Limits::default().max_inputs;
    let line = r#"{"model":{"name":"m","version":"1"},"metric":"accuracy","value":0.9}"#;
    let body = format!("{line}\n").repeat(limit + 1);
    assert!(body.len() < modelwatch::server::DEFAULT_BODY_LIMIT);
    let answer = client.post("/v1/events", "application/x-ndjson", body.as_bytes());
    assert_error(&answer, 413);
    let error = answer.body["error"].as_str().unwrap();
    assert!(
        error.contains("too many") && error.contains(&limit.to_string()),
        "{error}"
    );
    client.assert_nothing_stored();
    client.stop();
}

#[test]
fn a_wrong_content_type_is_a_json_415_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::start(dir.path());
    for content_type in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        let answer = client.post("/v1/events", content_type, EVENT.as_bytes());
        assert_error(&answer, 415);
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.contains(content_type), "{error}");
    }
    client.assert_nothing_stored();
    // Media type parameters and case do not matter.
    let answer = client.post(
        "/v1/events",
        "Application/JSON; charset=utf-8",
        EVENT.as_bytes(),
    );
    assert_eq!(answer.status, 202, "{}", answer.body);
    client.stop();
}

#[test]
fn malformed_query_strings_are_json_400s_naming_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::start(dir.path());
    let series = "/v1/series?model=m&metric=accuracy";
    let cases = [
        ("/v1/alerts?limit=abc".to_string(), "limit", "abc"),
        ("/v1/alerts?limit=0".to_string(), "limit", "0"),
        ("/v1/alerts?state=bogus".to_string(), "state", "bogus"),
        (
            "/v1/alerts?since=not-a-time".to_string(),
            "since",
            "not-a-time",
        ),
        ("/v1/alerts?after=first".to_string(), "after", "first"),
        ("/v1/alerts?colour=red".to_string(), "colour", "colour"),
        ("/v1/decisions?limit=abc".to_string(), "limit", "abc"),
        ("/v1/decisions?after=1.5".to_string(), "after", "1.5"),
        ("/v1/decisions?state=firing".to_string(), "state", "state"),
        ("/v1/models?limit=abc".to_string(), "limit", "abc"),
        ("/v1/models?limit=-1".to_string(), "limit", "-1"),
        (
            "/v1/models?limit=1&limit=2".to_string(),
            "limit",
            "more than once",
        ),
        (format!("{series}&limit=abc"), "limit", "abc"),
        (format!("{series}&from=not-a-time"), "from", "not-a-time"),
        (format!("{series}&to=yesterday"), "to", "yesterday"),
        (format!("{series}&after=nonsense"), "after", "nonsense"),
        (
            "/v1/series?metric=accuracy".to_string(),
            "model",
            "required",
        ),
        ("/v1/series?model=m".to_string(), "metric", "required"),
        (
            "/v1/series?model=&metric=accuracy".to_string(),
            "model",
            "required",
        ),
        ("/v1/models/%FF".to_string(), "name", "UTF-8"),
    ];
    for (path, parameter, mention) in cases {
        let answer = client.get(&path);
        assert_error(&answer, 400);
        assert_eq!(
            answer.body["parameter"], parameter,
            "{path}: {}",
            answer.body
        );
        let error = answer.body["error"].as_str().unwrap();
        assert!(
            error.starts_with(&format!("{parameter}: ")),
            "{path}: {error}"
        );
        assert!(error.contains(mention), "{path}: {error}");
    }
    // Good values of the same parameters are taken.
    for path in [
        "/v1/alerts?limit=5&state=firing&since=2026-11-22T08:00:00Z&after=10&model=m".to_string(),
        "/v1/decisions?limit=5&after=10&model=m".to_string(),
        "/v1/models?limit=5&after=m".to_string(),
        format!(
            "{series}&version=1&instance=default&from=2026-11-22T08:00:00Z&to=2026-11-23T00:00:00%2B01:00&after=5:3&limit=5"
        ),
    ] {
        let answer = client.get(&path);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    }
    client.stop();
}

/// One point as the example's events give it.
#[derive(Clone, Debug, PartialEq)]
struct Expected {
    at: String,
    seq: u64,
    version: String,
    instance: String,
    value: f64,
}

/// The example's events of `model` with `metric`, in the order a series listing gives them
/// (time, then sequence number).
fn expected_points(events: &[String], model: &str, metric: &str) -> Vec<Expected> {
    let mut points: Vec<Expected> = events
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let event: Value = serde_json::from_str(line).unwrap();
            let value = event["metrics"][metric].as_f64()?;
            (event["model"]["name"] == model).then(|| Expected {
                at: event["timestamp"].as_str().unwrap().to_string(),
                seq: index as u64 + 1,
                version: event["model"]["version"].as_str().unwrap().to_string(),
                instance: event["model"]["instance"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string(),
                value,
            })
        })
        .collect();
    points.sort_by(|a, b| (&a.at, a.seq).cmp(&(&b.at, b.seq)));
    points
}

/// Every point of a series query, following `next` with pages of `limit`.
fn all_points(client: &Client, query: &str, limit: usize) -> (Value, Vec<Value>) {
    let base = format!("/v1/series?{query}&limit={limit}");
    let mut path = base.clone();
    let mut points = Vec::new();
    loop {
        let answer = client.get(&path);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        let page = answer.body["points"].as_array().unwrap();
        assert!(page.len() <= limit);
        points.extend(page.iter().cloned());
        match answer.body["next"].as_str() {
            Some(next) => path = format!("{base}&after={next}"),
            None => return (answer.body["model"].clone(), points),
        }
    }
}

#[test]
fn series_takes_version_and_instance_as_optional_filters() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::start(dir.path());
    let events = example_events();
    for chunk in events.chunks(50) {
        let answer = client.post(
            "/v1/events",
            "application/x-ndjson",
            ndjson(chunk).as_bytes(),
        );
        assert_eq!(answer.status, 202, "{}", answer.body);
    }
    let expected = expected_points(&events, "fraud-detector", "accuracy");
    let versions: std::collections::BTreeSet<&str> = expected
        .iter()
        .map(|point| point.version.as_str())
        .collect();
    assert!(
        versions.len() > 1,
        "the example should have several versions"
    );

    let check = |query: &str, keep: &dyn Fn(&Expected) -> bool| {
        let want: Vec<Expected> = expected
            .iter()
            .filter(|point| keep(point))
            .cloned()
            .collect();
        assert!(!want.is_empty(), "{query}");
        for limit in [7, 1000] {
            let (model, got) = all_points(&client, query, limit);
            assert_eq!(model["name"], "fraud-detector");
            let got: Vec<Expected> = got
                .iter()
                .map(|point| Expected {
                    at: point["at"].as_str().unwrap().to_string(),
                    seq: point["seq"].as_u64().unwrap(),
                    version: point["version"].as_str().unwrap().to_string(),
                    instance: point["instance"].as_str().unwrap().to_string(),
                    value: point["value"].as_f64().unwrap(),
                })
                .collect();
            assert_eq!(got, want, "{query} limit {limit}");
        }
    };
    // Neither: every version and instance, merged in time order.
    check("model=fraud-detector&metric=accuracy", &|_| true);
    let (model, _) = all_points(&client, "model=fraud-detector&metric=accuracy", 1);
    assert_eq!(model, serde_json::json!({"name": "fraud-detector"}));
    // Empty values are the same as absent ones.
    check(
        "model=fraud-detector&metric=accuracy&version=&instance=",
        &|_| true,
    );
    // Either one alone, and both.
    for version in &versions {
        check(
            &format!("model=fraud-detector&metric=accuracy&version={version}"),
            &|point| point.version == *version,
        );
    }
    check(
        "model=fraud-detector&metric=accuracy&instance=canary-0",
        &|point| point.instance == "canary-0",
    );
    check(
        "model=fraud-detector&metric=accuracy&version=1.5.0&instance=canary-0",
        &|point| point.version == "1.5.0" && point.instance == "canary-0",
    );
    let (model, _) = all_points(
        &client,
        "model=fraud-detector&metric=accuracy&version=1.5.0&instance=canary-0",
        1000,
    );
    assert_eq!(
        model,
        serde_json::json!({"name": "fraud-detector", "version": "1.5.0", "instance": "canary-0"})
    );
    // Nothing matches: an empty page, not an error.
    for query in [
        "model=fraud-detector&metric=accuracy&version=9.9.9",
        "model=no-such-model&metric=accuracy",
        "model=fraud-detector&metric=no_such_metric",
    ] {
        let (_, points) = all_points(&client, query, 10);
        assert!(points.is_empty(), "{query}");
    }
    // A time range applies across the merged series: [from, to).
    let (from, to) = (&expected[3].at, &expected[9].at);
    let (_, points) = all_points(
        &client,
        &format!("model=fraud-detector&metric=accuracy&from={from}&to={to}"),
        1000,
    );
    let want = expected
        .iter()
        .filter(|point| point.at >= *from && point.at < *to)
        .count();
    assert_eq!(points.len(), want);
    client.stop();
}
