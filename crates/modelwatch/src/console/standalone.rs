//! The console as one self-contained HTML page: every script and stylesheet inlined, and the
//! answers of the API inlined as a JSON map of path to answer, which `js/source.js` reads
//! instead of fetching. A report (`replay --report`) is this page with the answers of its
//! events; it opens from disk with no server and no network, read-only.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{ASSETS, asset};

/// The id of the element holding the answers (`js/source.js` looks for it).
pub const DATA_ELEMENT_ID: &str = "modelwatch-data";

/// Why the page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// `index.html` names a file the binary does not embed.
    #[error("index.html loads console/{0}, which is not embedded")]
    MissingAsset(String),
    /// An embedded file is not UTF-8 text.
    #[error("console/{0} is not UTF-8 text")]
    NotText(String),
}

/// The console's page with its files inlined and `answers` (API path without `limit` and
/// `after`, other parameters sorted by name, to the answer's JSON; a listing's answer holds
/// every item and `"next": null`) as its data.
///
/// # Errors
///
/// [`StandaloneError`] when the embedded page names a file that is not embedded or not text,
/// which the console's tests rule out.
pub fn standalone_page(answers: &Map<String, Value>) -> Result<String, StandaloneError> {
    let text = |name: &str| -> Result<&'static str, StandaloneError> {
        let found = asset(name).ok_or_else(|| StandaloneError::MissingAsset(name.to_string()))?;
        std::str::from_utf8(found.bytes).map_err(|_| StandaloneError::NotText(name.to_string()))
    };
    let page = text(ASSETS[0].name)?;
    // `</` cannot end the element early once written `<\/`, a JSON escape of the same text.
    let data = Value::Object(answers.clone())
        .to_string()
        .replace("</", "<\\/");
    let mut out = String::with_capacity(page.len() + data.len() + 200_000);
    let mut data_written = false;
    for line in page.lines() {
        let trimmed = line.trim();
        if let Some(name) = between(trimmed, "<link rel=\"stylesheet\" href=\"console/", "\">") {
            let _ = writeln!(out, "<style>\n{}\n</style>", text(name)?);
        } else if let Some(name) = between(trimmed, "<script src=\"console/", "\"></script>") {
            if !data_written {
                let _ = writeln!(
                    out,
                    "<script type=\"application/json\" id=\"{DATA_ELEMENT_ID}\">{data}</script>"
                );
                data_written = true;
            }
            // A script's own `</script` would end the element: none of ours has one (tested).
            let _ = writeln!(out, "<script>\n{}\n</script>", text(name)?);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// The text of `line` between `start` and `end`, when it is exactly that.
fn between<'a>(line: &'a str, start: &str, end: &str) -> Option<&'a str> {
    line.strip_prefix(start)?.strip_suffix(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_inlines_every_file_and_the_answers_without_a_fetch_of_its_own_files() {
        let mut answers = Map::new();
        answers.insert(
            "/v1/models".to_string(),
            serde_json::json!({"items": [{"name": "m</script>"}], "next": null}),
        );
        let page = standalone_page(&answers).unwrap();
        assert!(
            !page.contains("src=\"console/"),
            "a script is still fetched"
        );
        assert!(
            !page.contains("href=\"console/"),
            "a stylesheet is still fetched"
        );
        assert!(page.contains(r#"{"items":[{"name":"m<\/script>"}],"next":null}"#));
        // Every script of the page, once each, and nothing that closes one early.
        for script in ["uPlot.iife.min.js", "source.js", "app.js"] {
            let body = std::str::from_utf8(asset(script).unwrap().bytes).unwrap();
            assert!(!body.contains("</script"), "{script}");
            assert_eq!(page.matches(body.trim()).count(), 1, "{script}");
        }
        assert_eq!(
            page.matches("<script").count(),
            11,
            "ten scripts and the data"
        );
        // The data comes before the script that reads it.
        let data = page.find(DATA_ELEMENT_ID).unwrap();
        assert!(data < page.find("MW.source =").unwrap());
    }
}
