//! Reads `[outbound]` (the allowlist of hosts) and the URLs the service connects to
//! (notifiers' `url`, `http` backends' `url` templates) or links to (`link_base`), each checked
//! by `config/outbound.rs` and every problem located, in the style of `parse.rs`.

use toml::de::DeValue;

use super::{Reader, Value, join};
use crate::config::outbound::{AllowedHost, HostAllowlist, check_url, check_url_template};
use crate::metric::quoted;

/// What a URL of the config is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum UrlUse {
    /// A notifier's target: a fixed URL.
    Notifier,
    /// An `http` trainer's or rollback's target: a template, whose placeholders may stand in
    /// its path, query and fragment.
    Backend,
    /// The base of links in notifications: never connected to.
    Link,
}

impl UrlUse {
    /// Whether the service connects to the URL, so that `[outbound] allow_hosts` applies.
    fn connects(self) -> bool {
        match self {
            UrlUse::Notifier | UrlUse::Backend => true,
            UrlUse::Link => false,
        }
    }
}

impl Reader<'_> {
    /// `[outbound]` at `section`: `Some` allowlist when it has `allow_hosts`, even an empty
    /// one (then no host is allowed).
    pub(super) fn outbound(&mut self, value: &Value<'_>, section: &str) -> Option<HostAllowlist> {
        let mut allowlist = None;
        for (path, table) in self.section_tables(value, section) {
            self.only_keys(table, &["allow_hosts"], &path);
            let Some(value) = table.get("allow_hosts") else {
                continue;
            };
            let list_path = join(&path, "allow_hosts");
            let DeValue::Array(items) = value.get_ref() else {
                let message = format!(
                    "must be an array of hosts such as [\"hooks.example.com\", \"*.corp.example\", \"10.0.0.5\"], got {}",
                    value.get_ref().type_str()
                );
                self.error(value.span(), &list_path, message);
                continue;
            };
            let mut hosts = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let item_path = format!("{list_path}[{index}]");
                let Some(text) = self.string(item, &item_path) else {
                    continue;
                };
                match AllowedHost::parse(text) {
                    Ok(host) => hosts.push(host),
                    Err(message) => self.error(item.span(), &item_path, message),
                }
            }
            allowlist = Some(HostAllowlist::new(hosts));
        }
        allowlist
    }

    /// An http(s) URL, checked for what it is used for.
    pub(super) fn url(&mut self, value: &Value<'_>, path: &str, usage: UrlUse) -> Option<String> {
        let (text, checked) = match usage {
            UrlUse::Notifier | UrlUse::Link => {
                let text = self.string(value, path)?.to_string();
                let checked = check_url(&text);
                (text, checked)
            }
            UrlUse::Backend => {
                let text = self.template(value, path)?;
                let checked = check_url_template(&text);
                (text, checked)
            }
        };
        let url = match checked {
            Ok(url) => url,
            Err(message) => {
                self.error(value.span(), path, message);
                return None;
            }
        };
        if let Some(allowlist) = &self.allowlist
            && usage.connects()
            && !allowlist.allows_url(&url)
        {
            let host = url.host_str().unwrap_or_default();
            let message = if allowlist.hosts().is_empty() {
                format!(
                    "{}: host {} is not allowed; [outbound] allow_hosts is empty, which allows no host",
                    quoted(&text),
                    quoted(host)
                )
            } else {
                format!(
                    "{}: host {} is not in [outbound] allow_hosts ({allowlist})",
                    quoted(&text),
                    quoted(host)
                )
            };
            self.error(value.span(), path, message);
            return None;
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests;
