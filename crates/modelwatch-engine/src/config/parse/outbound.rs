//! Reads the URLs the service connects to (notifiers' `url`, `http` backends' `url`
//! templates) and links to (`link_base`), each checked by `config/outbound.rs` and every
//! problem located, in the style of `parse.rs`.

use super::{Reader, Value};
use crate::config::outbound::{check_url, check_url_template};

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

impl Reader<'_> {
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
        match checked {
            Ok(_) => Some(text),
            Err(message) => {
                self.error(value.span(), path, message);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
