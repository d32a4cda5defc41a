//! Where the service may connect: the checks every outbound URL passes when the config is read
//! (notifiers, `http` trainers and rollbacks), so that a URL that can never work is refused with
//! its line and column instead of being retried for a day; and the optional allowlist of hosts
//! (`[outbound] allow_hosts`), which the config checks every such URL against and the service
//! can check again when it sends.
//!
//! Pure: nothing here resolves a name or connects; the `url` crate only parses.

use std::fmt;

use url::{Host, Url};

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

/// One entry of a [`HostAllowlist`]: a host, or every subdomain of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost(HostPattern);

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    /// This host only: a domain name (lowercase ASCII, without a trailing dot) or an IP
    /// address.
    Exact(Host<String>),
    /// Every subdomain of this domain, at any depth, but not the domain itself.
    Subdomains(String),
}

impl AllowedHost {
    /// Reads an entry: a domain name (`hooks.example.com`), a leading wildcard for its
    /// subdomains (`*.corp.example`), an IPv4 address (`10.0.0.5`) or an IPv6 address, in
    /// brackets or not (`[::1]`). Names are compared as URLs spell them: lowercase, in ASCII
    /// (punycode), without a trailing dot; addresses by value.
    ///
    /// # Errors
    ///
    /// What is wrong with the entry, as a sentence that quotes it.
    pub fn parse(text: &str) -> Result<AllowedHost, String> {
        let shown = quoted(text);
        if text.is_empty() {
            return Err("an empty host; write a host name, *.domain or an IP address".to_string());
        }
        if text == "*" || text == "*." {
            return Err(format!(
                "{shown} would allow every host; leave out allow_hosts to allow them all"
            ));
        }
        if text.contains(['/', '@', '?', '#']) || port_text(text).is_some() && !is_bare_ipv6(text) {
            return Err(format!(
                "{shown} must be a host alone, without scheme, user, port or path"
            ));
        }
        if let Some(domain) = text.strip_prefix("*.") {
            return match normalised(domain) {
                Some(Host::Domain(domain)) if !domain.contains('*') => {
                    Ok(AllowedHost(HostPattern::Subdomains(domain)))
                }
                _ => Err(format!(
                    "{shown}: a wildcard stands only before a domain name, such as *.corp.example"
                )),
            };
        }
        if text.contains('*') {
            return Err(format!(
                "{shown}: a wildcard stands only at the start, as in *.corp.example"
            ));
        }
        match normalised(text) {
            Some(host) => Ok(AllowedHost(HostPattern::Exact(host))),
            None => Err(format!(
                "{shown} is not a host name, an IPv4 address or an IPv6 address"
            )),
        }
    }

    fn matches(&self, host: &Host<String>) -> bool {
        match (&self.0, host) {
            (HostPattern::Exact(allowed), host) => allowed == host,
            (HostPattern::Subdomains(domain), Host::Domain(name)) => name
                .strip_suffix(domain.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
            (HostPattern::Subdomains(_), Host::Ipv4(_) | Host::Ipv6(_)) => false,
        }
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            HostPattern::Exact(host) => write!(f, "{host}"),
            HostPattern::Subdomains(domain) => write!(f, "*.{domain}"),
        }
    }
}

/// The hosts the service may connect to (`[outbound] allow_hosts`); without one, any host.
/// The config refuses a notifier, trainer or rollback whose URL's host it does not allow; the
/// service can check each request again with [`HostAllowlist::allows_url`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    hosts: Vec<AllowedHost>,
}

impl HostAllowlist {
    /// The allowlist of these entries (none: nothing is allowed).
    pub fn new(hosts: Vec<AllowedHost>) -> HostAllowlist {
        HostAllowlist { hosts }
    }

    /// The entries, in config order.
    pub fn hosts(&self) -> &[AllowedHost] {
        &self.hosts
    }

    /// Whether `host` (a URL's host as `Url::host_str` gives it: a name, an IPv4 address or
    /// an IPv6 address in brackets; a bare IPv6 address is taken too) matches an entry: the
    /// same host, or a subdomain of a `*.` entry. A host that does not parse matches nothing.
    pub fn allows(&self, host: &str) -> bool {
        normalised(host).is_some_and(|host| self.hosts.iter().any(|entry| entry.matches(&host)))
    }

    /// Whether the host of `url` is allowed ([`HostAllowlist::allows`]); a URL without a host
    /// is not.
    pub fn allows_url(&self, url: &Url) -> bool {
        url.host_str().is_some_and(|host| self.allows(host))
    }
}

impl fmt::Display for HostAllowlist {
    /// The entries, separated by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, host) in self.hosts.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{host}")?;
        }
        Ok(())
    }
}

/// A host as URLs compare it: a domain in lowercase ASCII without a trailing dot, or an IP
/// address (a bare IPv6 address is put in brackets first).
fn normalised(host: &str) -> Option<Host<String>> {
    let bracketed;
    let host = if is_bare_ipv6(host) {
        bracketed = format!("[{host}]");
        &bracketed
    } else {
        host
    };
    match Host::parse(host).ok()? {
        Host::Domain(name) => {
            let name = name
                .strip_suffix('.')
                .map_or_else(|| name.clone(), str::to_string);
            (!name.is_empty()).then_some(Host::Domain(name))
        }
        address => Some(address),
    }
}

/// Whether `host` looks like an IPv6 address without brackets (two colons or more).
fn is_bare_ipv6(host: &str) -> bool {
    !host.starts_with('[') && host.matches(':').count() >= 2
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

    fn allowlist(entries: &[&str]) -> HostAllowlist {
        HostAllowlist::new(
            entries
                .iter()
                .map(|entry| AllowedHost::parse(entry).unwrap())
                .collect(),
        )
    }

    #[test]
    fn the_allowlist_matches_hosts_exactly_and_subdomains_by_wildcard() {
        let list = allowlist(&[
            "Hooks.Example.com",
            "*.corp.example",
            "10.0.0.5",
            "[::1]",
            "2001:db8::7",
        ]);
        assert_eq!(
            list.to_string(),
            "hooks.example.com, *.corp.example, 10.0.0.5, [::1], [2001:db8::7]"
        );
        for host in [
            "hooks.example.com",
            "HOOKS.example.com",
            "hooks.example.com.",
            "a.corp.example",
            "a.b.corp.example",
            "10.0.0.5",
            "[::1]",
            "::1",
            "[0:0:0:0:0:0:0:1]",
            "[2001:db8::7]",
        ] {
            assert!(list.allows(host), "{host}");
        }
        for host in [
            "example.com",
            "evil-hooks.example.com",
            "hooks.example.com.evil",
            "corp.example",
            "acorp.example",
            "10.0.0.6",
            "[::2]",
            "",
            "exa mple",
        ] {
            assert!(!list.allows(host), "{host}");
        }
        // Addresses compare by value, as URLs read them.
        let url = check_url("http://0x0a.0.0.5:8080/x").unwrap();
        assert!(list.allows_url(&url));
        assert!(list.allows_url(&check_url("https://x.Corp.Example/").unwrap()));
        assert!(!list.allows_url(&check_url("https://corp.example/").unwrap()));
        assert!(!HostAllowlist::default().allows("hooks.example.com"));
    }

    #[test]
    fn bad_allowlist_entries_are_refused_with_a_reason() {
        for (entry, message) in [
            ("", "an empty host"),
            ("*", "\"*\" would allow every host"),
            (
                "https://hooks.example.com",
                "must be a host alone, without scheme, user, port or path",
            ),
            ("hooks.example.com:443", "must be a host alone"),
            ("[::1]:80", "must be a host alone"),
            ("hooks.example.com/x", "must be a host alone"),
            ("a.*.example", "a wildcard stands only at the start"),
            ("*.10.0.0.1", "a wildcard stands only before a domain name"),
            ("*.*.example", "a wildcard stands only before a domain name"),
            (
                "exa mple.com",
                "is not a host name, an IPv4 address or an IPv6 address",
            ),
            ("[zz", "is not a host name"),
        ] {
            let error = AllowedHost::parse(entry).unwrap_err();
            assert!(error.contains(message), "{entry:?}: {error}");
        }
    }
}
