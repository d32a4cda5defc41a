//! What the notifiers and HTTP backends share: the client, the webhook signature, retry
//! delays with jitter, and how an HTTP answer counts (delivered, retry, give up).

use std::hash::{Hash, Hasher};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::transport::Reply;

/// The header carrying the signature's time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-modelwatch-timestamp";
/// The header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-modelwatch-signature";
/// The header carrying a delivery's id, the same for every attempt.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The HTTP client of every effect: rustls with the ring provider, no cookies, no proxy
/// guessing beyond reqwest's defaults, and no redirects followed: a redirect is an answer
/// (see [`classify`]), so a notification and its signature go to the configured URL only.
///
/// # Errors
///
/// reqwest's, when the TLS setup fails.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a provider of its own (`rustls-no-provider`): ring it is.
    // Installing twice is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("modelwatch/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// `sha256=<hex>`: the HMAC-SHA256, keyed with the secret, of the timestamp, a dot and the
/// body, as a webhook receiver recomputes it.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails; an empty MAC would only ever be
    // refused by the receiver.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut text = String::with_capacity(7 + digest.len() * 2);
    text.push_str("sha256=");
    for byte in digest {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The wait before retry number `attempt` (1 after the first failure): `initial` doubled per
/// further attempt, capped at `max`, then scaled into [1/2, 1] of itself by a jitter drawn
/// from a hash of `key` and `attempt`, so that retries of different deliveries spread out and
/// the same delivery always waits the same (tests can tell); in whole milliseconds.
pub fn backoff(initial: Duration, max: Duration, attempt: u32, key: &str) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    let grown = initial.saturating_mul(1u32 << doublings).min(max);
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    attempt.hash(&mut hasher);
    let fraction = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
    // Whole milliseconds, rounded up (so never below half): tokio's timers count in them, so
    // the wait is exactly what it says, in a paused test as in production.
    let millis = u64::try_from(grown.as_millis()).unwrap_or(u64::MAX) as f64;
    Duration::from_millis((millis * (0.5 + 0.5 * fraction)).ceil() as u64)
}

/// How an HTTP attempt went, for retrying. The errors are sentences of our own (a status, a
/// timeout, a connection failure): never what the target wrote in its answer, which may hold
/// anything and would be shown to every client of `GET /v1/deliveries` and `GET /v1/jobs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 2xx.
    Accepted,
    /// Worth trying again: a connection error, a timeout, 408, 429 or 5xx. `retry_after`
    /// from the answer's `Retry-After` (seconds), when it gave one.
    Retry {
        /// What happened.
        error: String,
        /// What the server asked to wait.
        retry_after: Option<Duration>,
    },
    /// Refused for good: a redirect (3xx: the configured URL is not where the target wants
    /// the request, and it will not be tomorrow either; it is never followed) or any other
    /// 4xx (the request itself is wrong; sending it again would not help).
    Refused {
        /// What happened.
        error: String,
    },
}

/// Classifies the outcome of a request: its answer's status, or why none came.
pub(crate) fn answer(result: Result<Reply, String>) -> Answer {
    match result {
        Ok(reply) => classify(reply.status, reply.retry_after),
        Err(error) => Answer::Retry {
            error,
            retry_after: None,
        },
    }
}

/// How a status counts; `retry_after` as the answer asked.
pub fn classify(status: u16, retry_after: Option<Duration>) -> Answer {
    let named = status_name(status);
    match status {
        200..=299 => Answer::Accepted,
        300..=399 => Answer::Refused {
            error: format!("the target redirected ({named}) to a location that is not followed"),
        },
        408 | 429 | 500..=599 => Answer::Retry {
            error: format!("the target answered {named}"),
            retry_after,
        },
        _ => Answer::Refused {
            error: format!("the target answered {named}"),
        },
    }
}

/// `500 Internal Server Error`, or the bare number for a status without a standard name.
fn status_name(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // Computed independently with Python's hmac module:
        // hmac.new(b"key", b'1700000000.{"a":1}', "sha256").hexdigest()
        assert_eq!(
            signature(b"key", 1_700_000_000, br#"{"a":1}"#),
            "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }

    #[test]
    fn a_status_counts_as_accepted_retried_or_refused_in_words_of_our_own() {
        assert_eq!(classify(204, None), Answer::Accepted);
        let retry = |status, after| Answer::Retry {
            error: format!("the target answered {status}"),
            retry_after: after,
        };
        assert_eq!(
            classify(503, Some(Duration::from_secs(7))),
            retry("503 Service Unavailable", Some(Duration::from_secs(7)))
        );
        assert_eq!(classify(429, None), retry("429 Too Many Requests", None));
        assert_eq!(classify(408, None), retry("408 Request Timeout", None));
        assert_eq!(classify(599, None), retry("599", None));
        assert_eq!(
            classify(301, None),
            Answer::Refused {
                error: "the target redirected (301 Moved Permanently) to a location that is \
                        not followed"
                    .to_string()
            }
        );
        assert_eq!(
            classify(404, None),
            Answer::Refused {
                error: "the target answered 404 Not Found".to_string()
            }
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for attempt in 1..=8 {
            let full = initial.saturating_mul(1 << (attempt - 1)).min(max);
            let wait = backoff(initial, max, attempt, "delivery");
            assert!(
                wait >= full / 2 && wait <= full,
                "{attempt}: {wait:?} of {full:?}"
            );
            assert_eq!(wait, backoff(initial, max, attempt, "delivery"));
            assert_eq!(wait.subsec_nanos() % 1_000_000, 0, "{wait:?} in whole ms");
        }
        let spread: std::collections::HashSet<_> = (0..20)
            .map(|key| backoff(initial, max, 3, &key.to_string()))
            .collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
        assert!(backoff(initial, max, u32::MAX, "x") <= max);
    }
}
