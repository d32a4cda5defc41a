//! Routes take only the parameters they name: `/v1/models/{name}`, `.../versions`,
//! `.../rules`, `.../reference`, `.../drift` and `/v1/whoami` take none (the fuzzer found
//! `/v1/whoami` answering a query it does not take), `/v1/series` refuses names no event could
//! carry, instead of answering nothing, and a method a route does not take is a 405 in the
//! API's error shape.

use super::{RETRAIN_CONFIG, Routes, accuracy, keep_everything};

#[tokio::test]
async fn routes_without_parameters_refuse_any_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, keep_everything()).await;
    routes
        .ingest(&[accuracy("m", "1", "2026-11-23T08:00:00Z", 0.95)])
        .await;
    for (path, parameter) in [
        ("/v1/models/m?verbose=1", "verbose"),
        ("/v1/models/m?limit=abc", "limit"),
        ("/v1/models/m/versions?limit=5", "limit"),
        ("/v1/models/m/versions?status=production", "status"),
        ("/v1/models/m/rules?limit=5", "limit"),
        ("/v1/models/m/reference?version=1", "version"),
        ("/v1/models/m/drift?instance=a", "instance"),
        ("/v1/whoami?limit=1&after=x", "limit"),
    ] {
        let answer = routes.get(path).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert_eq!(answer.body["parameter"], parameter, "{path}");
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.contains("this route takes no parameter"), "{error}");
    }
    for path in [
        "/v1/models/m",
        "/v1/models/m/versions",
        "/v1/models/m/rules",
        "/v1/whoami",
    ] {
        assert_eq!(routes.get(path).await.status, 200, "{path}");
    }
    routes.stop().await;
}

#[tokio::test]
async fn series_refuses_names_no_event_could_carry() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, keep_everything()).await;
    routes
        .ingest(&[accuracy("m", "1", "2026-11-23T08:00:00Z", 0.95)])
        .await;
    for (query, parameter, mention) in [
        (
            "model=m&metric=NOPE!",
            "metric",
            "must start with a lowercase letter",
        ),
        ("model=m&metric=acc-uracy", "metric", "contains '-'"),
        ("model=bad%20name&metric=accuracy", "model", "contains ' '"),
        (
            "model=-m&metric=accuracy",
            "model",
            "must start with a letter or digit",
        ),
        (
            "model=m&metric=accuracy&version=1%0A",
            "version",
            "contains '\\n'",
        ),
        (
            "model=m&metric=accuracy&instance=%2Fx",
            "instance",
            "must start",
        ),
    ] {
        let answer = routes.get(&format!("/v1/series?{query}")).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(answer.body["parameter"], parameter, "{query}");
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.contains(mention), "{query}: {error}");
    }
    // Valid names without points: an empty page, as before.
    for query in [
        "model=m&metric=accuracy",
        "model=m&metric=no_such_metric",
        "model=no-such-model&metric=accuracy",
        "model=m&metric=accuracy&version=&instance=",
    ] {
        let answer = routes.get(&format!("/v1/series?{query}")).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
    }
    routes.stop().await;
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_a_405_in_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, keep_everything()).await;
    for (method, path) in [
        ("GET", "/v1/events"),
        ("GET", "/v1/models/m/versions/1/promote"),
        ("DELETE", "/v1/alerts"),
    ] {
        let answer = routes.send(method, path, "", "").await;
        assert_eq!(answer.status, 405, "{method} {path}: {}", answer.body);
        let error = answer.body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&format!("does not take {method}")),
            "{error}"
        );
    }
    routes.stop().await;
}
