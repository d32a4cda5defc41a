//! Reads `[[models]]`: each entry's name glob, task, positive class, window, label horizon and
//! calibration. Same style as `parse.rs`: every error located, all of them collected.

use std::ops::Range;

use toml::de::DeValue;

use super::{Reader, Value, join};
use crate::config::models::{
    CalibrationSetting, DEFAULT_DRIFT_WINDOW, DEFAULT_LABEL_HORIZON_SECS, DEFAULT_QUALITY_WINDOW,
    DriftCorrection, DriftSettings, MAX_DRIFT_ROWS, MAX_QUALITY_WINDOW, ModelSettings,
    ModelsConfig, ReferenceSource, Task,
};
use crate::drift::ColumnType;
use crate::metric::quoted;

/// The longest label horizon: ten years.
const MAX_LABEL_HORIZON_SECS: i64 = 10 * 366 * 24 * 3600;

/// The keys of a `[[models]]` entry, but the drift keys.
const MODEL_KEYS: &[&str] = &[
    "name",
    "task",
    "positive",
    "window",
    "label_horizon_secs",
    "calibration",
    "reference",
];

/// The drift keys of a `[[models]]` entry, which need a `reference`.
const DRIFT_KEYS: &[&str] = &[
    "drift_window",
    "drift_share",
    "drift_method",
    "drift_methods",
    "drift_min_samples",
    "drift_correction",
    "drift_calibrate",
    "drift_categorical",
    "drift_numerical",
];

impl Reader<'_> {
    /// `[[models]]` at `path`.
    pub(super) fn models(&mut self, value: &Value<'_>, path: &str) -> ModelsConfig {
        let mut entries = Vec::new();
        for (item_path, item) in self.entries(value, path) {
            if let Some(settings) = self.model_settings(item, &item_path) {
                entries.push(settings);
            }
        }
        ModelsConfig { entries }
    }

    fn model_settings(&mut self, item: &Value<'_>, path: &str) -> Option<ModelSettings> {
        let fields = self.table(item, path)?;
        let keys: Vec<&str> = MODEL_KEYS.iter().chain(DRIFT_KEYS).copied().collect();
        self.only_keys(fields, &keys, path);
        let errors_before = self.errors.len();
        let name = match fields.get("name") {
            Some(value) => self.glob(value, &join(path, "name")),
            None => {
                self.error(
                    item.span(),
                    &join(path, "name"),
                    "missing; name the models (a glob such as \"fraud*\")".to_string(),
                );
                None
            }
        };
        let task = match fields.get("task") {
            Some(value) => self.choice(
                value,
                &join(path, "task"),
                "a task",
                &Task::ALL,
                Task::as_str,
            ),
            None => {
                self.error(
                    item.span(),
                    &join(path, "task"),
                    "missing; one of binary, multiclass, regression".to_string(),
                );
                None
            }
        };
        let positive = fields
            .get("positive")
            .and_then(|value| self.class_name(value, &join(path, "positive")));
        match (task, fields.get("positive")) {
            (Some(Task::Binary), None) => self.error(
                item.span(),
                &join(path, "positive"),
                "missing; a binary model names its positive class, as written in outputs and labels"
                    .to_string(),
            ),
            (Some(task @ (Task::Multiclass | Task::Regression)), Some(value)) => self.error(
                value.span(),
                &join(path, "positive"),
                format!("only binary models have a positive class, not {} ones", task.as_str()),
            ),
            _ => {}
        }
        let window = match fields.get("window") {
            None => Some(DEFAULT_QUALITY_WINDOW),
            Some(value) => self
                .integer(
                    value,
                    &join(path, "window"),
                    1..i64::from(MAX_QUALITY_WINDOW) + 1,
                )
                .and_then(|window| u32::try_from(window).ok()),
        };
        let label_horizon_secs = match fields.get("label_horizon_secs") {
            None => Some(DEFAULT_LABEL_HORIZON_SECS),
            Some(value) => self
                .integer(
                    value,
                    &join(path, "label_horizon_secs"),
                    1..MAX_LABEL_HORIZON_SECS + 1,
                )
                .and_then(|secs| u64::try_from(secs).ok()),
        };
        let calibration = match fields.get("calibration") {
            None => Some(CalibrationSetting::Auto),
            Some(value) => self.choice(
                value,
                &join(path, "calibration"),
                "a calibration",
                &CalibrationSetting::ALL,
                CalibrationSetting::as_str,
            ),
        };
        let drift = self.drift_settings(fields, path);
        if self.errors.len() > errors_before {
            return None;
        }
        Some(ModelSettings {
            name: name?,
            task: task?,
            positive,
            window: window?,
            label_horizon_secs: label_horizon_secs?,
            calibration: calibration?,
            drift,
        })
    }

    /// The drift keys of a `[[models]]` entry: `None` without `reference`.
    fn drift_settings(
        &mut self,
        fields: &toml::de::DeTable<'_>,
        path: &str,
    ) -> Option<DriftSettings> {
        let Some(reference) = fields.get("reference") else {
            for &key in DRIFT_KEYS {
                if let Some(value) = fields.get(key) {
                    let message = format!(
                        "{key} needs a reference to compare with: add reference = {{ first = N }} or {{ file = \"path\" }}"
                    );
                    self.error(value.span(), &join(path, key), message);
                }
            }
            return None;
        };
        let reference_path = join(path, "reference");
        let source = self.table(reference, &reference_path).and_then(|table| {
            self.only_keys(table, &["first", "file"], &reference_path);
            match (table.get("first"), table.get("file")) {
                (Some(value), None) => self
                    .integer(
                        value,
                        &join(&reference_path, "first"),
                        1..i64::from(MAX_DRIFT_ROWS) + 1,
                    )
                    .and_then(|n| u32::try_from(n).ok())
                    .map(ReferenceSource::First),
                (None, Some(value)) => {
                    let field = join(&reference_path, "file");
                    self.string(value, &field).and_then(|path| {
                        if path.trim().is_empty() {
                            self.error(value.span(), &field, "must name a file".to_string());
                            return None;
                        }
                        Some(ReferenceSource::File {
                            path: path.to_string(),
                            table: None,
                        })
                    })
                }
                (Some(_), Some(_)) => {
                    self.error(
                        reference.span(),
                        &reference_path,
                        "give either first or file, not both".to_string(),
                    );
                    None
                }
                (None, None) => {
                    self.error(
                        reference.span(),
                        &reference_path,
                        "missing first or file: the reference is the first N predictions of \
                         each version (first = N) or a CSV or JSON Lines file (file = \"path\")"
                            .to_string(),
                    );
                    None
                }
            }
        });
        let window = match fields.get("drift_window") {
            None => Some(DEFAULT_DRIFT_WINDOW),
            Some(value) => self
                .integer(
                    value,
                    &join(path, "drift_window"),
                    1..i64::from(MAX_DRIFT_ROWS) + 1,
                )
                .and_then(|n| u32::try_from(n).ok()),
        };
        let share = match fields.get("drift_share") {
            None => Some(0.5),
            Some(value) => self
                .number(value, &join(path, "drift_share"))
                .and_then(|share| {
                    if (0.0..=1.0).contains(&share) {
                        Some(share)
                    } else {
                        self.error(
                            value.span(),
                            &join(path, "drift_share"),
                            "must be a share from 0 to 1".to_string(),
                        );
                        None
                    }
                }),
        };
        let method = fields
            .get("drift_method")
            .and_then(|value| self.drift_method(value, &join(path, "drift_method")));
        let mut methods = Vec::new();
        if let Some(value) = fields.get("drift_methods") {
            let methods_path = join(path, "drift_methods");
            if let Some(table) = self.table(value, &methods_path) {
                for (column, method) in table.iter() {
                    let column: &str = column.get_ref();
                    if let Some(method) = self.drift_method(method, &join(&methods_path, column)) {
                        methods.push((column.to_string(), method));
                    }
                }
            }
        }
        methods.sort_by(|a, b| a.0.cmp(&b.0));
        let min_samples = match fields.get("drift_min_samples") {
            None => Some(0),
            Some(value) => self
                .integer(
                    value,
                    &join(path, "drift_min_samples"),
                    0..i64::from(MAX_DRIFT_ROWS) + 1,
                )
                .and_then(|n| u32::try_from(n).ok()),
        };
        let correction = match fields.get("drift_correction") {
            None => Some(DriftCorrection::None),
            Some(value) => self.choice(
                value,
                &join(path, "drift_correction"),
                "a correction",
                &DriftCorrection::ALL,
                DriftCorrection::as_str,
            ),
        };
        let calibrate = match fields.get("drift_calibrate") {
            None => Some(None),
            Some(value) => self
                .number(value, &join(path, "drift_calibrate"))
                .and_then(|k| {
                    if k > 0.0 {
                        Some(Some(k))
                    } else {
                        self.error(
                            value.span(),
                            &join(path, "drift_calibrate"),
                            "must be a positive number of standard deviations (k)".to_string(),
                        );
                        None
                    }
                }),
        };
        let types = self.drift_types(fields, path);
        Some(DriftSettings {
            reference: source?,
            window: window?,
            share: share?,
            method,
            methods,
            min_samples: min_samples?,
            correction: correction?,
            calibrate: calibrate?,
            types: types?,
        })
    }

    /// `drift_categorical` and `drift_numerical`: columns whose type is declared, each in at
    /// most one of them; sorted by column.
    fn drift_types(
        &mut self,
        fields: &toml::de::DeTable<'_>,
        path: &str,
    ) -> Option<Vec<(String, ColumnType)>> {
        let mut types: Vec<(String, ColumnType)> = Vec::new();
        let mut ok = true;
        for (key, column_type) in [
            ("drift_categorical", ColumnType::Categorical),
            ("drift_numerical", ColumnType::Numerical),
        ] {
            let Some(value) = fields.get(key) else {
                continue;
            };
            let key_path = join(path, key);
            let Some(columns) = self.column_names(value, &key_path, "[\"zip_code\"]") else {
                ok = false;
                continue;
            };
            for (index, (column, span)) in columns.into_iter().enumerate() {
                if types.iter().any(|(name, _)| *name == column) {
                    let message = format!(
                        "column {} is declared both categorical and numerical",
                        quoted(&column)
                    );
                    self.error(span, &format!("{key_path}[{index}]"), message);
                    ok = false;
                } else {
                    types.push((column, column_type));
                }
            }
        }
        types.sort_by(|a, b| a.0.cmp(&b.0));
        ok.then_some(types)
    }

    /// An array of distinct, non-empty column names (`example` shows one in the error), each
    /// with its span; every bad item reported.
    pub(super) fn column_names(
        &mut self,
        value: &Value<'_>,
        path: &str,
        example: &str,
    ) -> Option<Vec<(String, Range<usize>)>> {
        let DeValue::Array(items) = value.get_ref() else {
            let message = format!(
                "must be an array of column names such as {example}, got {}",
                value.get_ref().type_str()
            );
            self.error(value.span(), path, message);
            return None;
        };
        let mut columns: Vec<(String, Range<usize>)> = Vec::with_capacity(items.len());
        let mut ok = true;
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            match self.string(item, &item_path) {
                Some("") => {
                    self.error(item.span(), &item_path, "must not be empty".to_string());
                    ok = false;
                }
                Some(column) if columns.iter().any(|(seen, _)| seen == column) => {
                    let message = format!("column {} is listed twice", quoted(column));
                    self.error(item.span(), &item_path, message);
                    ok = false;
                }
                Some(column) => columns.push((column.to_string(), item.span())),
                None => ok = false,
            }
        }
        ok.then_some(columns)
    }

    fn drift_method(&mut self, value: &Value<'_>, path: &str) -> Option<crate::drift::Method> {
        use crate::drift::Method;
        self.choice(value, path, "a drift method", &Method::ALL, Method::name)
    }

    /// A string naming one of `choices` (each spelt by `name`); otherwise an error saying it is
    /// not `what` and listing them.
    fn choice<T: Copy>(
        &mut self,
        value: &Value<'_>,
        path: &str,
        what: &str,
        choices: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        let text = self.string(value, path)?;
        let found = choices.iter().copied().find(|choice| name(*choice) == text);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|choice| name(*choice)).collect();
            let message = format!(
                "{} is not {what}; one of {}",
                quoted(text),
                names.join(", ")
            );
            self.error(value.span(), path, message);
        }
        found
    }

    /// A class as the config writes it: a string, or an integer or boolean standing for its
    /// JSON text.
    fn class_name(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        let text = match value.get_ref() {
            DeValue::String(text) => text.to_string(),
            DeValue::Integer(integer) => {
                match i64::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(number) => number.to_string(),
                    Err(_) => {
                        self.error(value.span(), path, "is out of range".to_string());
                        return None;
                    }
                }
            }
            DeValue::Boolean(flag) => flag.to_string(),
            other => {
                let message = format!(
                    "must be a string, an integer or a boolean (a class), got {}",
                    other.type_str()
                );
                self.error(value.span(), path, message);
                return None;
            }
        };
        if let Err(message) = crate::traffic::check_class(&text) {
            self.error(value.span(), path, message);
            return None;
        }
        Some(text)
    }
}
