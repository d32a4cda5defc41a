//! The top-level sections of a config file, and how a section written wrongly is still read.
//!
//! A section under a misspelled name (`[[rulez]]`, `[retrian]`) is reported and then read as
//! the section it is closest to; one with the wrong brackets (`[rules]` for `[[rules]]`,
//! `[[jobs]]` for `[jobs]`) is reported and read all the same. Either way the errors inside it
//! are reported too, instead of hiding behind the error on its name. What is read from such a
//! section is thrown away: the config has an error anyway.

use toml::de::{DeTable, DeValue};

use super::{Known, Reader, Value};
use crate::metric::quoted;

/// A top-level section of the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Section {
    Rules,
    Metrics,
    Retrain,
    Notifiers,
    Trainers,
    Rollbacks,
    Jobs,
    Outbound,
    Models,
}

impl Section {
    /// Every section, in the order the unknown-key message lists them.
    pub(super) const ALL: [Section; 9] = [
        Section::Rules,
        Section::Metrics,
        Section::Retrain,
        Section::Notifiers,
        Section::Trainers,
        Section::Rollbacks,
        Section::Jobs,
        Section::Outbound,
        Section::Models,
    ];

    /// The key of the section in the file.
    pub(super) fn key(self) -> &'static str {
        match self {
            Section::Rules => "rules",
            Section::Metrics => "metrics",
            Section::Retrain => "retrain",
            Section::Notifiers => "notifiers",
            Section::Trainers => "trainers",
            Section::Rollbacks => "rollbacks",
            Section::Jobs => "jobs",
            Section::Outbound => "outbound",
            Section::Models => "models",
        }
    }

    /// The section whose key is `key`, if any.
    pub(super) fn named(key: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .find(|section| section.key() == key)
    }

    /// The section a misspelled `key` most likely means: the closest by edit distance (case
    /// ignored, a swap of two neighbours counting as one edit), within one edit for keys up to
    /// five letters and two for longer ones.
    pub(super) fn closest(key: &str) -> Option<Section> {
        let key = key.to_lowercase();
        Section::ALL
            .into_iter()
            .map(|section| (edit_distance(&key, section.key()), section))
            .filter(|(distance, section)| *distance <= if section.key().len() <= 5 { 1 } else { 2 })
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, section)| section)
    }
}

impl Reader<'_> {
    /// Reports the top-level keys that name no section. A key close to a section's
    /// (`rulez`) is returned with that section, to be read as it once the rest is known.
    pub(super) fn unknown_sections<'v, 'i>(
        &mut self,
        root: &'v DeTable<'i>,
    ) -> Vec<(&'v str, Section, &'v Value<'i>)> {
        let mut misspelled = Vec::new();
        for (key, value) in root.iter() {
            let name: &str = key.get_ref();
            if Section::named(name).is_some() {
                continue;
            }
            let message = match Section::closest(name) {
                Some(section) => {
                    misspelled.push((name, section, value));
                    format!(
                        "unknown key {}; did you mean {}? its contents are checked as {}",
                        quoted(name),
                        section.key(),
                        section.key()
                    )
                }
                None => {
                    let keys: Vec<&str> =
                        Section::ALL.iter().map(|section| section.key()).collect();
                    format!(
                        "unknown key {}; expected one of: {}",
                        quoted(name),
                        keys.join(", ")
                    )
                }
            };
            self.error(key.span(), name, message);
        }
        misspelled
    }

    /// Reads `value`, found under the misspelled key `path`, as `section`, for its errors.
    pub(super) fn misspelled_section(
        &mut self,
        section: Section,
        path: &str,
        value: &Value<'_>,
        known: &Known<'_>,
    ) {
        match section {
            Section::Rules => {
                self.rules(value, path, known);
            }
            Section::Metrics => {
                self.metrics(value, path);
            }
            Section::Retrain => {
                self.retrain(value, path);
            }
            Section::Notifiers => {
                self.notifiers(value, path);
            }
            Section::Trainers | Section::Rollbacks => {
                self.trainers(value, path);
            }
            Section::Jobs => {
                self.jobs(value, path);
            }
            Section::Outbound => {
                self.outbound(value, path);
            }
            Section::Models => {
                self.models(value, path);
            }
        }
    }

    /// The entries of an array of tables such as `[[rules]]` at `path`, each with its path. A
    /// single table (`[rules]`) is reported and read as one entry.
    pub(super) fn entries<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        path: &str,
    ) -> Vec<(String, &'v Value<'i>)> {
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| (format!("{path}[{index}]"), item))
                .collect(),
            DeValue::Table(_) => {
                let message = format!(
                    "must be an array of tables ([[{path}]]), got table; its keys are checked as one entry"
                );
                self.error(value.span(), path, message);
                vec![(path.to_string(), value)]
            }
            other => {
                let message = format!(
                    "must be an array of tables ([[{path}]]), got {}",
                    other.type_str()
                );
                self.error(value.span(), path, message);
                Vec::new()
            }
        }
    }

    /// The table of a section such as `[jobs]` at `path`. An array of tables (`[[jobs]]`) is
    /// reported and each of its entries read as the table, with its own path.
    pub(super) fn section_tables<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        path: &str,
    ) -> Vec<(String, &'v DeTable<'i>)> {
        if let DeValue::Array(items) = value.get_ref()
            && !items.is_empty()
            && items.iter().all(|item| item.get_ref().as_table().is_some())
        {
            let message = format!(
                "must be a table ([{path}]), got an array of tables ([[{path}]]); each entry is checked as the table"
            );
            self.error(value.span(), path, message);
            return items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    Some((format!("{path}[{index}]"), item.get_ref().as_table()?))
                })
                .collect();
        }
        self.table(value, path)
            .map(|table| (path.to_string(), table))
            .into_iter()
            .collect()
    }
}

/// The optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbours, each one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            table[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (table[(i - 1) * width + j] + 1)
                    .min(table[i * width + j - 1] + 1)
                    .min(table[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(table[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    table[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_one_or_two_edits_from_a_section_means_it() {
        assert_eq!(edit_distance("retrian", "retrain"), 1);
        assert_eq!(edit_distance("", "jobs"), 4);
        for (key, meant) in [
            ("rulez", Some(Section::Rules)),
            ("rule", Some(Section::Rules)),
            ("Rules", Some(Section::Rules)),
            ("retrian", Some(Section::Retrain)),
            ("notifier", Some(Section::Notifiers)),
            ("notfiers", Some(Section::Notifiers)),
            ("trainer", Some(Section::Trainers)),
            ("rollback", Some(Section::Rollbacks)),
            ("job", Some(Section::Jobs)),
            ("metric", Some(Section::Metrics)),
            ("outbund", Some(Section::Outbound)),
            ("Outbound", Some(Section::Outbound)),
            ("logs", None),
            ("alerts", None),
            ("r", None),
        ] {
            assert_eq!(Section::closest(key), meant, "{key}");
        }
    }
}
