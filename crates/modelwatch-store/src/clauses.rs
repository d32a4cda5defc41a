//! [`Clauses`]: the `WHERE` clause of a listing, built from a filter's fields (column names
//! come from the store's own code, never from callers; values are bound, never spliced).

use modelwatch_engine::Timestamp;
use rusqlite::types::Value;

/// A `WHERE` clause under construction: conditions joined by `AND`, values in order.
#[derive(Default)]
pub(crate) struct Clauses {
    pub(crate) conditions: Vec<String>,
    pub(crate) values: Vec<Value>,
}

impl Clauses {
    pub(crate) fn push(&mut self, condition: &str, values: impl IntoIterator<Item = Value>) {
        self.conditions.push(condition.to_string());
        self.values.extend(values);
    }

    pub(crate) fn equals(&mut self, column: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(&format!("{column} = ?"), [Value::Text(value.to_string())]);
        }
    }

    pub(crate) fn time_range(&mut self, since: Option<Timestamp>, until: Option<Timestamp>) {
        if let Some(since) = since {
            self.push("time >= ?", [Value::Integer(since.as_nanos())]);
        }
        if let Some(until) = until {
            self.push("time < ?", [Value::Integer(until.as_nanos())]);
        }
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}
