//! Bearer-token authentication of the `/v1/...` routes, and who the caller is.
//!
//! A [`Token`] keeps only the SHA-256 digest of its value, its scopes and where it came from
//! (`env NAME` or `file PATH`, its name): the value itself is never stored, printed or logged,
//! and `Debug` shows the name only. Two tokens of one value are refused when [`Auth`] is built
//! (the error names both, never the value), so a value is exactly one token with exactly the
//! scopes it names. A request's `Authorization: Bearer <token>` is hashed and compared with
//! every configured digest by a fixed-time byte comparison, without stopping at the first
//! match. Missing or unknown token: 401 with `WWW-Authenticate: Bearer`; a token without the
//! route's scope: 403 naming the scope. `POST /v1/events` and job reports need `ingest`, every
//! `GET /v1/...` (and `POST /v1/canary/{model}`, a read) needs `read`, and the changes made by
//! hand (retention, retrain, cancel, registry) need `admin`, a scope of its own: `ingest` and
//! `read` together are not `admin`, while an `admin` token may also ingest and read.
//! `/healthz`, `/readyz` and `/metrics` stay open (probes and Prometheus scrape without a token
//! by default). With no tokens configured nothing is checked (`serve` then only listens on
//! loopback unless told otherwise) and every caller is [`Caller::ANONYMOUS`].
//!
//! A refused request's body is read up to a small bound before the answer (`limits::drain`),
//! so that a client still sending it gets the 401 or 403 instead of a reset connection.
//!
//! The middleware puts the [`Caller`] (the token's name) into the request's extensions, for the
//! routes that record who made a change (the audit log), and into the response's, for the
//! request log.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{ApiError, limits};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `POST /v1/events` and `POST /v1/jobs/{id}/complete`.
    Ingest,
    /// Every `GET /v1/...` route and `POST /v1/canary/{model}`.
    Read,
    /// The changes made by hand: retention, retrain, cancel, registry changes. An admin token
    /// may also ingest and read.
    Admin,
}

impl Scope {
    /// The scope's name on the command line and in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    /// The bit a route needs.
    fn bit(self) -> u8 {
        match self {
            Scope::Ingest => 0b001,
            Scope::Read => 0b010,
            Scope::Admin => 0b100,
        }
    }

    /// The bits a token of this scope holds: its own, and for `admin` the other two.
    fn grants(self) -> u8 {
        match self {
            Scope::Ingest | Scope::Read => self.bit(),
            Scope::Admin => Scope::Admin.bit() | Scope::Ingest.bit() | Scope::Read.bit(),
        }
    }

    /// Parses `ingest`, `read` or `admin`.
    ///
    /// # Errors
    ///
    /// A message naming the unknown scope.
    pub fn parse(name: &str) -> Result<Scope, String> {
        match name.trim() {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!(
                "unknown scope {other:?}; expected ingest, read or admin"
            )),
        }
    }
}

/// One configured bearer token: its value's digest, its scopes and its name (where it came
/// from).
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
    scopes: u8,
    source: Arc<str>,
}

impl Token {
    /// A token with this value and these scopes; `source` names it (where the value came
    /// from), shown by `Debug`, in messages and in the audit log instead of the value.
    pub fn new(source: impl Into<String>, value: &str, scopes: &[Scope]) -> Token {
        Token {
            digest: digest(value.as_bytes()),
            scopes: scopes.iter().fold(0, |bits, scope| bits | scope.grants()),
            source: Arc::from(source.into()),
        }
    }

    /// Where the value came from, e.g. `env MODELWATCH_TOKEN`: the token's name.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Token")
            .field("source", &self.source)
            .field("scopes", &self.scopes)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Two configured tokens hold the same value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the tokens {first} and {second} hold the same value; give every token a value of its own \
     (one token may carry several scopes, e.g. ingest,read)"
)]
pub struct DuplicateToken {
    /// The first token's name, e.g. `env A`.
    pub first: String,
    /// The second token's name, e.g. `file /x`.
    pub second: String,
}

/// Who made a request: the name of the token it presented (such as `env MODELWATCH_TOKEN`),
/// or [`Caller::ANONYMOUS`] when authentication is off. Never the token's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(Arc<str>);

impl Caller {
    /// The caller when no token is configured.
    pub const ANONYMOUS: &'static str = "anonymous";

    /// The caller's name, as the audit log and the request log show it.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// A caller by this name, for tests of what logs it.
    #[cfg(test)]
    pub(super) fn named(name: &str) -> Caller {
        Caller(Arc::from(name))
    }

    fn anonymous() -> Caller {
        Caller(Arc::from(Caller::ANONYMOUS))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Caller, Response> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::Internal("the route has no authentication layer to name its caller".into())
                .into_response()
        })
    }
}

/// The configured tokens; empty means no authentication.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    tokens: Arc<[Token]>,
}

impl Auth {
    /// Checks requests against these tokens.
    ///
    /// # Errors
    ///
    /// [`DuplicateToken`] when two of them hold the same value (which would otherwise make one
    /// value a token of both their scopes).
    pub fn new(tokens: Vec<Token>) -> Result<Auth, DuplicateToken> {
        for (index, token) in tokens.iter().enumerate() {
            if let Some(earlier) = tokens[..index].iter().find(|t| t.digest == token.digest) {
                return Err(DuplicateToken {
                    first: earlier.source.to_string(),
                    second: token.source.to_string(),
                });
            }
        }
        Ok(Auth {
            tokens: tokens.into(),
        })
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The token this presented value is (none when it matches no token). Every configured
    /// digest is compared in full, whether or not an earlier one matched; values are unique
    /// (`Auth::new`), so at most one matches.
    fn matching(&self, presented: &[u8]) -> Option<&Token> {
        let presented = digest(presented);
        let found = self
            .tokens
            .iter()
            .enumerate()
            .fold(0usize, |found, (index, token)| {
                let difference = presented
                    .iter()
                    .zip(token.digest.iter())
                    .fold(0u8, |difference, (a, b)| difference | (a ^ b));
                let difference = std::hint::black_box(difference);
                // All ones when the digests are equal, 0 otherwise, without a branch.
                let mask = usize::from(difference == 0).wrapping_neg();
                found | (index.wrapping_add(1) & mask)
            });
        found
            .checked_sub(1)
            .and_then(|index| self.tokens.get(index))
    }

    /// The caller and the scopes its token holds, if it may use a route that needs `needed`.
    fn check(
        &self,
        request: &Request,
        needed: Scope,
    ) -> Result<(Caller, Granted), (ApiError, Option<Caller>)> {
        if !self.enabled() {
            return Ok((
                Caller::anonymous(),
                Granted {
                    scopes: Scope::Admin.grants(),
                    checked: false,
                },
            ));
        }
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or((
                ApiError::Unauthorized {
                    message: "missing bearer token: send Authorization: Bearer <token>",
                },
                None,
            ))?;
        let Some(token) = self.matching(presented.as_bytes()) else {
            return Err((
                ApiError::Unauthorized {
                    message: "invalid bearer token",
                },
                None,
            ));
        };
        let caller = Caller(token.source.clone());
        if token.scopes & needed.bit() == 0 {
            return Err((ApiError::Forbidden { scope: needed }, Some(caller)));
        }
        Ok((
            caller,
            Granted {
                scopes: token.scopes,
                checked: true,
            },
        ))
    }
}

/// The scopes the caller's token holds (every scope when authentication is off), put into the
/// request's extensions by [`require`] for `GET /v1/whoami`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Granted {
    scopes: u8,
    /// Whether a token was checked (false: authentication is off).
    checked: bool,
}

impl Granted {
    /// The scopes held, in the order ingest, read, admin.
    pub(super) fn scopes(self) -> Vec<Scope> {
        [Scope::Ingest, Scope::Read, Scope::Admin]
            .into_iter()
            .filter(|scope| self.scopes & scope.bit() != 0)
            .collect()
    }

    /// Whether the server checks tokens.
    pub(super) fn authentication(self) -> bool {
        self.checked
    }
}

/// The middleware of the protected routes: the token must carry `scope`. The caller goes into
/// the request's extensions (for the handler) and the response's (for the request log).
pub(super) async fn require(
    State((auth, scope)): State<(Auth, Scope)>,
    mut request: Request,
    next: Next,
) -> Response {
    let (mut response, caller) = match auth.check(&request, scope) {
        Ok((caller, granted)) => {
            request.extensions_mut().insert(caller.clone());
            request.extensions_mut().insert(granted);
            (next.run(request).await, Some(caller))
        }
        Err((error, caller)) => {
            let mut response = error.into_response();
            // Read what is left of a small body, so that a client still sending it reads the
            // refusal rather than a reset; past that, the connection closes.
            if !limits::drain(request.into_body()).await {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            (response, caller)
        }
    };
    if let Some(caller) = caller {
        response.extensions_mut().insert(caller);
    }
    response
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let token = Token::new("env T", "s3cret-value", &[Scope::Read]);
        let shown = format!("{token:?} {:?}", Auth::new(vec![token.clone()]).unwrap());
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("env T"));
    }

    #[test]
    fn a_token_has_exactly_its_scopes_and_admin_is_one_of_its_own() {
        let auth = Auth::new(vec![
            Token::new("a", "one", &[Scope::Ingest, Scope::Read]),
            Token::new("b", "two", &[Scope::Admin]),
            Token::new("c", "three", &[Scope::Read]),
        ])
        .unwrap();
        let scopes = |value: &[u8]| auth.matching(value).map(|token| token.scopes);
        let both = Scope::Ingest.bit() | Scope::Read.bit();
        assert_eq!(scopes(b"one"), Some(both));
        assert_eq!(scopes(b"one").unwrap() & Scope::Admin.bit(), 0);
        assert_eq!(scopes(b"two"), Some(both | Scope::Admin.bit()));
        assert_eq!(scopes(b"three"), Some(Scope::Read.bit()));
        assert_eq!(auth.matching(b"three").unwrap().source(), "c");
        assert_eq!(scopes(b"four"), None);
        assert_eq!(scopes(b""), None);
    }

    #[test]
    fn one_value_twice_is_refused_naming_both_tokens_never_the_value() {
        let error = Auth::new(vec![
            Token::new("env A", "shared-5e1f", &[Scope::Ingest]),
            Token::new("env B", "other", &[Scope::Read]),
            Token::new("file /x", "shared-5e1f", &[Scope::Read]),
        ])
        .unwrap_err();
        assert_eq!(error.first, "env A");
        assert_eq!(error.second, "file /x");
        let message = error.to_string();
        assert!(
            message.contains("env A") && message.contains("file /x"),
            "{message}"
        );
        assert!(!message.contains("shared-5e1f"), "{message}");
    }
}
