//! Reads `[[models]]`: each entry's name glob, task, positive class, window, label horizon and
//! calibration. Same style as `parse.rs`: every error located, all of them collected.

use toml::de::DeValue;

use super::{Reader, Value, join};
use crate::config::models::{
    CalibrationSetting, DEFAULT_LABEL_HORIZON_SECS, DEFAULT_QUALITY_WINDOW, MAX_QUALITY_WINDOW,
    ModelSettings, ModelsConfig, Task,
};
use crate::metric::quoted;

/// The longest label horizon: ten years.
const MAX_LABEL_HORIZON_SECS: i64 = 10 * 366 * 24 * 3600;

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
        self.only_keys(
            fields,
            &[
                "name",
                "task",
                "positive",
                "window",
                "label_horizon_secs",
                "calibration",
            ],
            path,
        );
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
            Some(value) => self.string(value, &join(path, "task")).and_then(|text| {
                let task = Task::from_name(text);
                if task.is_none() {
                    let message = format!(
                        "{} is not a task; one of binary, multiclass, regression",
                        quoted(text)
                    );
                    self.error(value.span(), &join(path, "task"), message);
                }
                task
            }),
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
            Some(value) => self
                .string(value, &join(path, "calibration"))
                .and_then(|text| {
                    let setting = CalibrationSetting::from_name(text);
                    if setting.is_none() {
                        let message = format!(
                            "{} is not a calibration; one of auto, isotonic, none",
                            quoted(text)
                        );
                        self.error(value.span(), &join(path, "calibration"), message);
                    }
                    setting
                }),
        };
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
        })
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
