//! Bearer-token authentication of the `/v1/...` routes.
//!
//! A [`Token`] keeps only the SHA-256 digest of its value, its scopes and where it came from
//! (`env NAME` or `file PATH`): the value itself is never stored, printed or logged, and
//! `Debug` shows the source only. A request's `Authorization: Bearer <token>` is hashed and
//! compared with every configured digest by a fixed-time byte comparison, without stopping at
//! the first match. Missing or unknown token: 401 with `WWW-Authenticate: Bearer`; a token
//! without the route's scope: 403 naming the scope. `POST /v1/events` needs `ingest`, every
//! `GET /v1/...` (and `POST /v1/canary/{model}`, a read) needs `read`; `admin` implies both. `/healthz`, `/readyz` and `/metrics` stay
//! open (probes and Prometheus scrape without a token by default). With no tokens configured
//! nothing is checked (`serve` then only listens on loopback unless told otherwise).

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::ApiError;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `POST /v1/events`.
    Ingest,
    /// Every `GET /v1/...` route.
    Read,
    /// Both of the others.
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

    fn bits(self) -> u8 {
        match self {
            Scope::Ingest => 0b01,
            Scope::Read => 0b10,
            Scope::Admin => 0b11,
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

/// One configured bearer token: its value's digest, its scopes and its source.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
    scopes: u8,
    source: String,
}

impl Token {
    /// A token with this value and these scopes; `source` says where the value came from
    /// (shown by `Debug` and in messages instead of the value).
    pub fn new(source: impl Into<String>, value: &str, scopes: &[Scope]) -> Token {
        Token {
            digest: digest(value.as_bytes()),
            scopes: scopes.iter().fold(0, |bits, scope| bits | scope.bits()),
            source: source.into(),
        }
    }

    /// Where the value came from, e.g. `env MODELWATCH_TOKEN`.
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

/// The configured tokens; empty means no authentication.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    tokens: Arc<[Token]>,
}

impl Auth {
    /// Checks requests against these tokens.
    pub fn new(tokens: Vec<Token>) -> Auth {
        Auth {
            tokens: tokens.into(),
        }
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The scopes granted to this presented value (0 when it matches no token). Every
    /// configured digest is compared in full, whether or not an earlier one matched.
    fn granted(&self, presented: &[u8]) -> u8 {
        let presented = digest(presented);
        self.tokens.iter().fold(0, |granted, token| {
            let difference = presented
                .iter()
                .zip(token.digest.iter())
                .fold(0u8, |difference, (a, b)| difference | (a ^ b));
            let difference = std::hint::black_box(difference);
            // 0xff when the digests are equal, 0 otherwise, without a branch.
            let mask = u8::from(difference == 0).wrapping_neg();
            granted | (token.scopes & mask)
        })
    }

    fn check(&self, request: &Request, needed: Scope) -> Result<(), ApiError> {
        if !self.enabled() {
            return Ok(());
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
            .ok_or(ApiError::Unauthorized {
                message: "missing bearer token: send Authorization: Bearer <token>",
            })?;
        let granted = self.granted(presented.as_bytes());
        if granted == 0 {
            return Err(ApiError::Unauthorized {
                message: "invalid bearer token",
            });
        }
        if granted & needed.bits() != needed.bits() {
            return Err(ApiError::Forbidden { scope: needed });
        }
        Ok(())
    }
}

/// The middleware of the protected routes: the token must carry `scope`.
pub(super) async fn require(
    State((auth, scope)): State<(Auth, Scope)>,
    request: Request,
    next: Next,
) -> Response {
    match auth.check(&request, scope) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
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
        let shown = format!("{token:?} {:?}", Auth::new(vec![token.clone()]));
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("env T"));
    }

    #[test]
    fn every_matching_token_grants_its_scopes_and_admin_implies_both() {
        let auth = Auth::new(vec![
            Token::new("a", "one", &[Scope::Ingest]),
            Token::new("b", "two", &[Scope::Admin]),
            Token::new("c", "one", &[Scope::Read]),
        ]);
        assert_eq!(auth.granted(b"one"), 0b11);
        assert_eq!(auth.granted(b"two"), 0b11);
        assert_eq!(auth.granted(b"three"), 0);
        assert_eq!(auth.granted(b""), 0);
    }
}
