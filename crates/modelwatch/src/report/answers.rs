//! Every answer the console's pages read (docs/console.md, "How a report reuses it"), asked of
//! serve's router in process (no socket): each listing read page after page along its cursor
//! and kept whole with `"next": null`, under the key the console's `MW.api.canonical` gives
//! its path (the path without `limit` and `after`, the other parameters sorted by name and
//! form-encoded as `URLSearchParams` writes them; path segments as `encodeURIComponent`
//! writes them).

use std::collections::BTreeSet;
use std::future::poll_fn;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use serde_json::{Map, Value};
use tower_service::Service as _;

use super::ReportError;

/// The page size asked for (the routes give at most this many).
const PAGE: usize = 1_000;

/// The filters the listing pages offer (`js/tables.js`), each kept as its own answer so that
/// a filtered view of a report shows too.
const ALERT_STATES: &[&str] = &[
    "pending", "firing", "resolved", "inactive", "drift", "warning",
];
const JOB_STATES: &[&str] = &[
    "queued",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
];
const JOB_KINDS: &[&str] = &["retrain", "rollback"];
const DELIVERY_STATES: &[&str] = &["pending", "delivered", "given_up", "skipped"];

/// The answers of every path a report's pages read, by canonical path.
pub(super) async fn collect(router: Router) -> Result<Map<String, Value>, ReportError> {
    let mut reader = Reader {
        router,
        answers: Map::new(),
    };
    // The overview and the listing pages, unfiltered and by each filter of theirs.
    let models = reader.listing("/v1/models", &[], "items").await?;
    reader.listing("/v1/alerts", &[], "items").await?;
    reader.listing("/v1/decisions", &[], "items").await?;
    let jobs = reader.listing("/v1/jobs", &[], "items").await?;
    reader.listing("/v1/deliveries", &[], "items").await?;
    reader.listing("/v1/audit", &[], "items").await?;
    for state in ALERT_STATES {
        reader
            .listing("/v1/alerts", &[("state", state)], "items")
            .await?;
    }
    for state in JOB_STATES {
        reader
            .listing("/v1/jobs", &[("state", state)], "items")
            .await?;
    }
    for kind in JOB_KINDS {
        reader
            .listing("/v1/jobs", &[("kind", kind)], "items")
            .await?;
    }
    for state in DELIVERY_STATES {
        reader
            .listing("/v1/deliveries", &[("state", state)], "items")
            .await?;
    }
    // Each job's page, with its attempts.
    for id in strings(&jobs, "id") {
        reader
            .single(&format!("/v1/jobs/{}", component(&id)))
            .await?;
    }
    // Each model's pages: the model, its rules, its registry, its quality and drift, one chart a
    // metric.
    for model in &models {
        let Some(name) = model.get("name").and_then(Value::as_str) else {
            continue;
        };
        let route = format!("/v1/models/{}", component(name));
        reader.single(&route).await?;
        reader.single(&format!("{route}/rules")).await?;
        reader.optional(&format!("{route}/versions")).await?;
        reader.optional(&format!("{route}/drift")).await?;
        reader.optional(&format!("{route}/reference")).await?;
        for listing in ["/v1/alerts", "/v1/decisions", "/v1/jobs", "/v1/audit"] {
            reader.listing(listing, &[("model", name)], "items").await?;
        }
        let latest = model
            .get("latest")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let metrics: BTreeSet<String> = strings(latest, "metric").collect();
        for metric in &metrics {
            reader
                .listing(
                    "/v1/series",
                    &[("metric", metric), ("model", name)],
                    "points",
                )
                .await?;
        }
    }
    Ok(reader.answers)
}

/// The string field `field` of each object of `items`.
fn strings<'a>(items: &'a [Value], field: &'a str) -> impl Iterator<Item = String> + 'a {
    items
        .iter()
        .filter_map(move |item| item.get(field).and_then(Value::as_str))
        .map(str::to_string)
}

/// The router and the answers read so far.
struct Reader {
    router: Router,
    answers: Map<String, Value>,
}

impl Reader {
    /// Keeps the answer of `path`, which must be found.
    async fn single(&mut self, path: &str) -> Result<(), ReportError> {
        let body = self.get_ok(path).await?;
        self.answers.insert(path.to_string(), body);
        Ok(())
    }

    /// Keeps the answer of `path` if there is one; a 404 (no registry, no drift settings) is
    /// left out, which the page shows as not in the report.
    async fn optional(&mut self, path: &str) -> Result<(), ReportError> {
        let (status, body) = self.get(path).await?;
        match status {
            200 => {
                self.answers.insert(path.to_string(), body);
                Ok(())
            }
            404 => Ok(()),
            _ => Err(answer_error(path, status, &body)),
        }
    }

    /// Reads every page of the listing `route?params` and keeps them as one answer: the first
    /// page with every element of `field` and `"next": null`. Hands back the elements.
    async fn listing(
        &mut self,
        route: &str,
        params: &[(&str, &str)],
        field: &str,
    ) -> Result<Vec<Value>, ReportError> {
        let key = canonical(route, params);
        let mut all = Vec::new();
        let mut first: Option<Map<String, Value>> = None;
        let mut after: Option<String> = None;
        loop {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", &PAGE.to_string());
            if let Some(after) = &after {
                query.append_pair("after", after);
            }
            let separator = if key.contains('?') { '&' } else { '?' };
            let path = format!("{key}{separator}{}", query.finish());
            let Value::Object(mut page) = self.get_ok(&path).await? else {
                return Err(answer_error(&path, 200, &Value::Null));
            };
            if let Some(Value::Array(items)) = page.get_mut(field).map(Value::take) {
                all.extend(items);
            }
            let next = match page.get("next") {
                Some(Value::String(next)) => Some(next.clone()),
                Some(Value::Number(next)) => Some(next.to_string()),
                _ => None,
            };
            first.get_or_insert(page);
            match next {
                // A cursor that does not move would read the same page for ever.
                Some(next) if after.as_ref() != Some(&next) => after = Some(next),
                _ => break,
            }
        }
        let mut answer = first.unwrap_or_default();
        answer.insert(field.to_string(), Value::Array(all.clone()));
        answer.insert("next".to_string(), Value::Null);
        self.answers.insert(key, Value::Object(answer));
        Ok(all)
    }

    /// The answer of `path`, which must be a 200.
    async fn get_ok(&mut self, path: &str) -> Result<Value, ReportError> {
        match self.get(path).await? {
            (200, body) => Ok(body),
            (status, body) => Err(answer_error(path, status, &body)),
        }
    }

    /// `GET path` of the router: the status and the body's JSON (`null` when it is not JSON).
    async fn get(&mut self, path: &str) -> Result<(u16, Value), ReportError> {
        let request = Request::get(path)
            .body(Body::empty())
            .map_err(|error| answer_error(path, 0, &Value::String(error.to_string())))?;
        // A router is always ready and never fails: its errors are answers.
        let router = &mut self.router;
        let ready =
            poll_fn(|cx| <Router as tower_service::Service<Request<Body>>>::poll_ready(router, cx));
        let response = match ready.await {
            Ok(()) => match router.call(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|error| answer_error(path, status, &Value::String(error.to_string())))?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

fn answer_error(path: &str, status: u16, body: &Value) -> ReportError {
    ReportError::Answer {
        path: path.to_string(),
        status,
        body: body.to_string(),
    }
}

/// `route` with `params` as `MW.api.canonical` writes them: sorted by name, form-encoded.
pub(super) fn canonical(route: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return route.to_string();
    }
    let mut sorted = params.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in sorted {
        query.append_pair(name, value);
    }
    format!("{route}?{}", query.finish())
}

/// A path segment as `encodeURIComponent` writes it: ASCII letters, digits and `-_.!~*'()`
/// as they are, every other byte of the UTF-8 text as `%XX`.
pub(super) fn component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_the_console_writes_them() {
        // URLSearchParams: sorted names, `+` for a space, `%XX` for the rest.
        assert_eq!(
            canonical(
                "/v1/series",
                &[("model", "fraud det/1"), ("metric", "drift.a&b")]
            ),
            "/v1/series?metric=drift.a%26b&model=fraud+det%2F1"
        );
        assert_eq!(canonical("/v1/models", &[]), "/v1/models");
        // encodeURIComponent keeps `-_.!~*'()`.
        assert_eq!(component("fraud-detector"), "fraud-detector");
        assert_eq!(component("a b/é(1)"), "a%20b%2F%C3%A9(1)");
    }
}
