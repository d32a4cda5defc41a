//! A column's values as the tests take them: numbers, or categories, missing values removed.

use std::cmp::Ordering;

/// Whether a column is compared as numbers or as categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Numbers.
    Numerical,
    /// Categories (strings, booleans, or numbers declared categorical).
    Categorical,
}

impl ColumnType {
    /// `numerical` or `categorical`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Numerical => "numerical",
            ColumnType::Categorical => "categorical",
        }
    }
}

/// One value of a categorical column. Two categories are equal when they are the same value
/// of the same kind (`1` and `1.0` are the same number). Sorted as Python sorts one kind of
/// value (numbers numerically, text by code point, `false` before `true`); across kinds:
/// booleans, then numbers, then text.
#[derive(Clone, Debug)]
pub enum Category {
    /// A boolean.
    Bool(bool),
    /// A number (never NaN).
    Number(f64),
    /// Text.
    Text(String),
}

impl Category {
    fn rank(&self) -> u8 {
        match self {
            Category::Bool(_) => 0,
            Category::Number(_) => 1,
            Category::Text(_) => 2,
        }
    }
}

impl PartialEq for Category {
    fn eq(&self, other: &Category) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Category {}

impl PartialOrd for Category {
    fn partial_cmp(&self, other: &Category) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Category {
    fn cmp(&self, other: &Category) -> Ordering {
        match (self, other) {
            (Category::Bool(a), Category::Bool(b)) => a.cmp(b),
            (Category::Number(a), Category::Number(b)) => a.total_cmp(b),
            (Category::Text(a), Category::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// The values of one column on one side, missing values removed.
#[derive(Clone, Copy, Debug)]
pub enum Sample<'a> {
    /// A numerical column's values (finite).
    Numerical(&'a [f64]),
    /// A categorical column's values.
    Categorical(&'a [Category]),
}

impl Sample<'_> {
    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Sample::Numerical(values) => values.len(),
            Sample::Categorical(values) => values.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column's type.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Sample::Numerical(_) => ColumnType::Numerical,
            Sample::Categorical(_) => ColumnType::Categorical,
        }
    }
}
