//! Keyset listings on PostgreSQL: a `WHERE` clause built from a filter ([`Clauses`]) and one
//! page of rows after a cursor ([`PgStore::list`]), as SQLite's (`crate::query`).

use postgres::Row;
use postgres::types::ToSql;

use super::PgStore;
use crate::StoreError;
use crate::query::{Listing, MAX_PAGE, Order, Page};

/// A value bound to a statement.
type Param = Box<dyn ToSql + Sync + Send>;

/// A `WHERE` clause under construction, with `$n` placeholders: conditions joined by `AND`,
/// values in order (column names come from the store's code, values are always bound).
#[derive(Default)]
pub(super) struct Clauses {
    conditions: Vec<String>,
    values: Vec<Param>,
}

impl Clauses {
    /// Adds `column <operator> $n` with `value` as `$n`.
    fn compare(&mut self, column: &str, operator: &str, value: Param) {
        self.values.push(value);
        self.conditions
            .push(format!("{column} {operator} ${}", self.values.len()));
    }

    /// Adds `column = value` when there is a value.
    pub(super) fn equals(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.compare(column, "=", Box::new(value.to_string()));
        }
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

impl PgStore {
    /// One keyset page of `select` (which must read `pos`) under `clauses`: up to the page's
    /// limit of rows after its cursor, each read by `read`; `pos` gives a row's cursor.
    pub(super) fn list<T: Send>(
        &self,
        select: &str,
        mut clauses: Clauses,
        page: &Page,
        read: impl Fn(&Row) -> Result<T, postgres::Error> + Send,
        pos: impl Fn(&T) -> i64,
    ) -> Result<Listing<T>, StoreError> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let (direction, comparison) = match page.order {
            Order::OldestFirst => ("ASC", ">"),
            Order::NewestFirst => ("DESC", "<"),
        };
        if let Some(after) = page.after {
            clauses.compare("pos", comparison, Box::new(after));
        }
        let where_clause = clauses.where_clause();
        let mut values = clauses.values;
        values.push(Box::new(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
        let sql = format!(
            "{select}{where_clause} ORDER BY pos {direction} LIMIT ${}",
            values.len()
        );
        let error = self.error("listing rows");
        let mut items = self.call(|client| {
            let params: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|value| -> &(dyn ToSql + Sync) { value.as_ref() })
                .collect();
            client
                .query(&sql, &params)
                .and_then(|rows| rows.iter().map(read).collect::<Result<Vec<T>, _>>())
                .map_err(error)
        })?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(pos)
        } else {
            None
        };
        Ok(Listing { items, next })
    }
}
