//! Where the effects' requests go: a [`Transport`] sends one JSON `POST` and tells the
//! answer's status, never its body. [`Network`] sends it with reqwest (what `serve` uses);
//! the in-process tests put a switchboard of their own in its place, so that tokio's paused
//! clock drives retries and time limits without real sockets (a paused clock jumps ahead
//! while the runtime waits on a socket: tokio issue 4522). The time limit of a request is
//! [`post`]'s, the same whatever the transport.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use modelwatch_engine::config::HostAllowlist;

use super::http;

/// One request of the effects: a `POST` with a JSON body.
pub(crate) struct Post {
    pub(crate) url: String,
    /// Headers besides `Content-Type: application/json`, in order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl fmt::Debug for Post {
    /// The URL and the headers' names: their values may be secrets (a bearer token).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        formatter
            .debug_struct("Post")
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// What an answer says, as far as the effects look: never its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The answer's `Retry-After`, when it gave one in seconds.
    pub(crate) retry_after: Option<Duration>,
}

/// A request on its way: the answer, or a sentence of our own saying why none came.
pub(crate) type Sending<'a> = Pin<Box<dyn Future<Output = Result<Reply, String>> + Send + 'a>>;

/// Sends the effects' requests.
pub(crate) trait Transport: Send + Sync + fmt::Debug {
    /// Sends `post` and waits for the answer's status, without a time limit of its own (see
    /// [`post`]). No redirect is followed: a 3xx is the answer.
    fn send(&self, post: Post) -> Sending<'_>;
}

/// The network, through reqwest ([`http::client`]: redirects are not followed).
#[derive(Clone, Debug)]
pub(crate) struct Network {
    client: reqwest::Client,
}

impl Network {
    /// A transport over [`http::client`].
    pub(crate) fn new() -> Result<Network, reqwest::Error> {
        Ok(Network {
            client: http::client()?,
        })
    }
}

impl Transport for Network {
    fn send(&self, post: Post) -> Sending<'_> {
        Box::pin(async move {
            let mut request = self
                .client
                .post(&post.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json");
            for (name, value) in &post.headers {
                request = request.header(name, value);
            }
            // The answer's body is never read: it may hold anything.
            let response = request
                .body(post.body)
                .send()
                .await
                .map_err(|error| describe(&error))?;
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Ok(Reply {
                status: response.status().as_u16(),
                retry_after,
            })
        })
    }
}

/// Sends `post` through `transport` within `timeout`.
///
/// # Errors
///
/// Why no answer came, as a sentence of our own: `timed out after 10 s`, `cannot connect:
/// connection refused`, ...
pub(crate) async fn post(
    transport: &dyn Transport,
    post: Post,
    timeout: Duration,
) -> Result<Reply, String> {
    match tokio::time::timeout(timeout, transport.send(post)).await {
        Ok(result) => result,
        Err(_) => Err(format!("timed out after {} s", timeout.as_secs())),
    }
}

/// Whether the config's `[outbound] allow_hosts` lets a request go to `url` (without a list,
/// every host may be reached). The config is refused at load when a URL's host is not on the
/// list, and templates cannot change a host, so this is the last guard, not the first: a
/// request it stops is refused for good, never sent.
///
/// # Errors
///
/// Why the request may not go, as a sentence of our own.
pub(crate) fn check_host(url: &str, allow: Option<&HostAllowlist>) -> Result<(), String> {
    let Some(allow) = allow else {
        return Ok(());
    };
    match url::Url::parse(url) {
        Ok(parsed) if allow.allows_url(&parsed) => Ok(()),
        Ok(parsed) => Err(format!(
            "the host {:?} is not in [outbound] allow_hosts; the request was not sent",
            parsed.host_str().unwrap_or("")
        )),
        Err(_) => Err("the URL does not parse; the request was not sent".to_string()),
    }
}

/// A failed request as a short sentence of our own: what failed (connecting, or the exchange)
/// and the operating system's word for why when there is one (`connection refused`), else the
/// innermost cause our client gives.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_string();
    }
    let kind = if error.is_connect() {
        "cannot connect"
    } else if error.is_builder() {
        "the request cannot be built"
    } else {
        "the request failed"
    };
    let mut cause: &dyn std::error::Error = error;
    let mut io_kind = None;
    while let Some(source) = cause.source() {
        cause = source;
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
    }
    let reason = match io_kind {
        Some(kind) if kind != std::io::ErrorKind::Other => kind.to_string(),
        _ => cause.to_string().chars().take(MAX_REASON).collect(),
    };
    format!("{kind}: {reason}")
}

/// Most characters of a client error's innermost cause kept in a reason.
const MAX_REASON: usize = 160;

#[cfg(test)]
mod tests {
    use super::*;

    fn allowlist(hosts: &str) -> HostAllowlist {
        let text = format!("[outbound]\nallow_hosts = [{hosts}]\n");
        modelwatch_engine::config::parse_config(&text)
            .unwrap()
            .config
            .effects
            .outbound
            .unwrap()
    }

    #[test]
    fn only_hosts_on_the_allowlist_are_reached_when_there_is_one() {
        assert_eq!(check_host("http://anything.example/x", None), Ok(()));
        let allow = allowlist(r#""hooks.example.com", "*.corp.example""#);
        assert_eq!(
            check_host("https://hooks.example.com/a", Some(&allow)),
            Ok(())
        );
        assert_eq!(
            check_host("http://x.corp.example:81/a?b=c", Some(&allow)),
            Ok(())
        );
        let refused = check_host("http://evil.example/a", Some(&allow)).unwrap_err();
        assert!(
            refused.contains("\"evil.example\" is not in [outbound] allow_hosts"),
            "{refused}"
        );
        // A user part cannot smuggle a host past the check.
        let refused = check_host("http://hooks.example.com@evil.example/", Some(&allow));
        assert!(refused.is_err());
        assert!(check_host("http://[zz/", Some(&allow)).is_err());
    }
}
