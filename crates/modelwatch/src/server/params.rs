//! Query strings, parsed by hand: each route's parameter struct names the parameters it takes
//! ([`FromParams`]) and documents them for the OpenAPI document (`utoipa::IntoParams`, derived
//! on the same struct), and every problem (an unknown or repeated parameter, a limit that is
//! not a positive number, a time that is not RFC 3339, ...) is a 400 in the API's error shape
//! naming the parameter, never axum's plain-text rejection.

use std::str::FromStr;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use modelwatch_engine::Timestamp;
use modelwatch_store::{Page, PointCursor};
use utoipa::IntoParams;

use super::error::ApiError;

/// A route's parsed query string: `T` says which parameters the route takes and parses them.
#[derive(Debug)]
pub(super) struct QueryParams<T>(pub(super) T);

/// The query parameters of one route.
pub(super) trait FromParams: Sized {
    /// Every parameter the route takes; any other is a 400.
    const NAMES: &'static [&'static str];

    /// Takes the parameters out of `params`.
    ///
    /// # Errors
    ///
    /// [`ApiError::BadQuery`] naming the first bad parameter.
    fn from_params(params: &mut Params) -> Result<Self, ApiError>;
}

impl<S: Send + Sync, T: FromParams> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let mut params = Params::from_uri(&parts.uri, T::NAMES)?;
        T::from_params(&mut params).map(QueryParams)
    }
}

/// The query of a route that takes no parameter: any parameter is a 400 naming it.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct NoParams {}

impl FromParams for NoParams {
    const NAMES: &'static [&'static str] = &[];

    fn from_params(_: &mut Params) -> Result<NoParams, ApiError> {
        Ok(NoParams {})
    }
}

/// The name/value pairs of a query string, each name known to the route and given once.
#[derive(Debug)]
pub(super) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub(super) fn from_uri(uri: &axum::http::Uri, names: &[&str]) -> Result<Params, ApiError> {
        // Percent-decoding is lossy (never fails), so this only fails on what is not a query.
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|rejection| ApiError::bad_query("query", rejection.body_text()))?;
        for (index, (name, _)) in pairs.iter().enumerate() {
            if !names.contains(&name.as_str()) {
                let takes = if names.is_empty() {
                    "no parameter".to_string()
                } else {
                    names.join(", ")
                };
                return Err(ApiError::bad_query(
                    name.as_str(),
                    format!("unknown parameter {name:?}; this route takes {takes}"),
                ));
            }
            if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(ApiError::bad_query(name.as_str(), "given more than once"));
            }
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if given (possibly empty).
    pub(super) fn text(&mut self, name: &str) -> Option<String> {
        let index = self.pairs.iter().position(|(given, _)| given == name)?;
        Some(self.pairs.swap_remove(index).1)
    }

    /// The value of `name`; absent and empty are the same.
    pub(super) fn non_empty(&mut self, name: &str) -> Option<String> {
        self.text(name).filter(|value| !value.is_empty())
    }

    /// The value of `name`, which must be given and not empty.
    pub(super) fn required(&mut self, name: &'static str) -> Result<String, ApiError> {
        self.non_empty(name)
            .ok_or_else(|| ApiError::bad_query(name, "required"))
    }

    /// The value of `name` parsed as a `T`; `problem` says what is wrong when it does not parse.
    pub(super) fn parse<T: FromStr>(
        &mut self,
        name: &'static str,
        problem: &str,
    ) -> Result<Option<T>, ApiError> {
        self.text(name)
            .map(|text| {
                text.parse()
                    .map_err(|_| ApiError::bad_query(name, format!("{text:?} {problem}")))
            })
            .transpose()
    }

    /// `limit`: a positive whole number; [`Page::default`]'s when absent.
    pub(super) fn limit(&mut self) -> Result<usize, ApiError> {
        match self.parse::<usize>("limit", "is not a positive whole number")? {
            None => Ok(Page::default().limit),
            Some(0) => Err(ApiError::bad_query(
                "limit",
                "\"0\" is not a positive whole number",
            )),
            Some(limit) => Ok(limit),
        }
    }

    /// `after`, a listing's cursor: a previous page's `next`.
    pub(super) fn cursor(&mut self) -> Result<Option<i64>, ApiError> {
        self.parse("after", "is not a cursor; pass a previous page's \"next\"")
    }

    /// The RFC 3339 time of `name`, if given.
    pub(super) fn time(&mut self, name: &'static str) -> Result<Option<Timestamp>, ApiError> {
        self.text(name)
            .map(|text| {
                Timestamp::parse_rfc3339(&text)
                    .map_err(|message| ApiError::bad_query(name, message))
            })
            .transpose()
    }
}

/// A listing's page from its `after` (a previous page's `next`) and `limit`, newest first.
pub(super) fn newest_first(after: Option<i64>, limit: usize) -> Page {
    Page {
        after,
        limit,
        order: Page::default().order,
    }
}

/// A series cursor: `<nanoseconds>:<seq>`, as a page's `next` gives it.
pub(super) fn parse_cursor(text: &str) -> Result<PointCursor, ApiError> {
    let bad = || {
        ApiError::bad_query(
            "after",
            format!("{text:?} is not a cursor; pass a previous page's \"next\""),
        )
    };
    let (at, seq) = text.split_once(':').ok_or_else(bad)?;
    Ok(PointCursor {
        at: Timestamp::from_nanos(at.parse().map_err(|_| bad())?),
        seq: seq.parse().map_err(|_| bad())?,
    })
}
