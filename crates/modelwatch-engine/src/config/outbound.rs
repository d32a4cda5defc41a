//! Where the service may connect: the checks every outbound URL passes when the config is read
//! (notifiers, `http` trainers and rollbacks), so that a URL that can never work is refused with
//! its line and column instead of being retried for a day.
//!
//! Pure: nothing here resolves a name or connects; the `url` crate only parses.

use url::Url;

use crate::config::effects::{TemplateFields, expand_template};
use crate::metric::quoted;

/// The lowest and highest port a URL may name.
const PORTS: std::ops::RangeInclusive<u16> = 1..=65535;

/// Checks a URL the service connects or links to: it starts with `http://` or `https://`,
/// holds no white space or control character, names a host, has a port (if any) from 1 to
/// 65535, and parses (an IPv6 host in brackets, `http://[::1]:8080/`).
///
/// # Errors
///
/// The first problem, as a sentence that quotes the URL.
pub fn check_url(text: &str) -> Result<Url, String> {
    check(text, text)
}

/// Checks the URL template of an `http` trainer or rollback: its scheme, host and port are
/// written out (placeholders may stand only in the path, query or fragment, so that the host
/// is known now), and with every placeholder filled in it passes [`check_url`]. The template's
/// own syntax is [`crate::config::check_template`]'s to check.
///
/// # Errors
///
/// The first problem, as a sentence that quotes the template.
pub fn check_url_template(template: &str) -> Result<Url, String> {
    if let Some((_, rest)) = template.split_once("://")
        && authority(rest).contains(['{', '}'])
    {
        return Err(format!(
            "{} has a placeholder or brace before its path; write the scheme, host and port out in full, placeholders may stand only in the path, query or fragment",
            quoted(template)
        ));
    }
    let sample = TemplateFields {
        model: "model",
        version: "1.0.0",
        instance: "default",
        job_id: "0123456789abcdef",
        reason: "reason",
        attempt: 1,
    };
    check(&expand_template(template, &sample, false), template)
}

/// [`check_url`] of `text`, whose messages quote `shown` (the template it was filled in from).
fn check(text: &str, shown: &str) -> Result<Url, String> {
    let Some(rest) = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
    else {
        return Err(format!(
            "{} must start with http:// or https://",
            quoted(shown)
        ));
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{} contains white space or a control character",
            quoted(shown)
        ));
    }
    let host_and_port = authority(rest)
        .rsplit_once('@')
        .map_or(authority(rest), |(_, after)| after);
    let port = port_text(host_and_port);
    if host_and_port.is_empty() || host_and_port.starts_with(':') {
        return Err(format!("{} names no host", quoted(shown)));
    }
    let bad_port = || {
        format!(
            "{} has port {}; a port is a number from {} to {}",
            quoted(shown),
            port.unwrap_or(""),
            PORTS.start(),
            PORTS.end()
        )
    };
    let url = Url::parse(text).map_err(|error| match error {
        url::ParseError::EmptyHost => format!("{} names no host", quoted(shown)),
        url::ParseError::InvalidPort => bad_port(),
        url::ParseError::InvalidIpv6Address => format!(
            "{} has an invalid IPv6 address; write one in brackets, such as http://[::1]:8080/",
            quoted(shown)
        ),
        url::ParseError::IdnaError | url::ParseError::InvalidDomainCharacter => format!(
            "{} has an invalid host name (letters, digits, '-' and '.')",
            quoted(shown)
        ),
        url::ParseError::InvalidIpv4Address => {
            format!("{} has an invalid IPv4 address", quoted(shown))
        }
        other => format!("{} is not a valid URL: {other}", quoted(shown)),
    })?;
    if url.host().is_none() {
        return Err(format!("{} names no host", quoted(shown)));
    }
    if url.port().is_some_and(|port| !PORTS.contains(&port)) {
        return Err(bad_port());
    }
    Ok(url)
}

/// The authority of a URL after its `scheme://`: up to the first `/`, `\` (which URLs of
/// the http schemes read as `/`), `?` or `#`.
fn authority(rest: &str) -> &str {
    &rest[..rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len())]
}

/// The port written in `host:port` or `[v6]:port`, if any.
fn port_text(host_and_port: &str) -> Option<&str> {
    let after_host = match host_and_port.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, after)| after),
        None => host_and_port
            .find(':')
            .map_or("", |colon| &host_and_port[colon..]),
    };
    after_host.strip_prefix(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_urls_pass_and_keep_their_parts() {
        for (text, host, port) in [
            (
                "https://hooks.example.com/modelwatch",
                "hooks.example.com",
                None,
            ),
            ("http://localhost:9093", "localhost", Some(9093)),
            ("http://[::1]:8080/hook?team=ml#x", "[::1]", Some(8080)),
            ("http://[2001:db8::7]/", "[2001:db8::7]", None),
            ("http://10.0.0.5:1/a/b?c=d&e", "10.0.0.5", Some(1)),
            (
                "https://user:pw@Hooks.Example.COM:65535/",
                "hooks.example.com",
                Some(65535),
            ),
        ] {
            let url = check_url(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!((url.host_str(), url.port()), (Some(host), port), "{text}");
        }
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (text, message) in [
            (
                "http://[zz/",
                "\"http://[zz/\" has an invalid IPv6 address; write one in brackets",
            ),
            (
                "http://example.com:99999/",
                "\"http://example.com:99999/\" has port 99999; a port is a number from 1 to 65535",
            ),
            (
                "http://example.com:0/",
                "\"http://example.com:0/\" has port 0; a port is a number from 1 to 65535",
            ),
            (
                "http://example.com:http/",
                "\"http://example.com:http/\" has port http; a port is",
            ),
            (
                "http://[::1]:70000/",
                "\"http://[::1]:70000/\" has port 70000; a port is",
            ),
            ("https://", "\"https://\" names no host"),
            ("http://:80/x", "\"http://:80/x\" names no host"),
            ("http:///x", "\"http:///x\" names no host"),
            ("http://user@/x", "\"http://user@/x\" names no host"),
            (
                "ftp://example.com/",
                "\"ftp://example.com/\" must start with http:// or https://",
            ),
            (
                "example.com",
                "\"example.com\" must start with http:// or https://",
            ),
            (
                "http://exa mple.com/",
                "\"http://exa mple.com/\" contains white space",
            ),
            (
                "http://example.com/\n",
                "contains white space or a control character",
            ),
            (
                "http://exa<mple.com/",
                "\"http://exa<mple.com/\" has an invalid host name",
            ),
            (
                "http://999.1.1.1/",
                "\"http://999.1.1.1/\" has an invalid IPv4 address",
            ),
        ] {
            let error = check_url(text).unwrap_err();
            assert!(error.contains(message), "{text}: {error}");
        }
    }

    #[test]
    fn a_url_template_has_its_scheme_host_and_port_written_out() {
        let url = check_url_template(
            "https://airflow.example.com:8443/dags/{model}/runs?job={job_id}#{attempt}",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://airflow.example.com:8443/dags/model/runs?job=0123456789abcdef#1"
        );
        for (template, message) in [
            (
                "http://{model}.example.com/",
                "has a placeholder or brace before its path",
            ),
            (
                "http://example.com:{attempt}/",
                "has a placeholder or brace before its path",
            ),
            (
                "http://{model}@example.com/",
                "has a placeholder or brace before its path",
            ),
            (
                "http://example.com{model}",
                "has a placeholder or brace before its path",
            ),
            (
                "{model}.example.com",
                "\"{model}.example.com\" must start with http:// or https://",
            ),
            (
                "http://example.com:99999/{model}",
                "\"http://example.com:99999/{model}\" has port 99999",
            ),
        ] {
            let error = check_url_template(template).unwrap_err();
            assert!(error.contains(message), "{template}: {error}");
        }
    }
}
