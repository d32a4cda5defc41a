//! Data drift of one column, as Evidently 0.7.23 computes it: the statistical tests and
//! distances of its legacy data-drift report, their default thresholds and decisions, and its
//! automatic choice of a test. Pure functions over a reference sample and a current one, with
//! missing values already removed (`docs/drift.md`).
//!
//! - `sample.rs`: [`Sample`], [`Category`], [`ColumnType`].
//! - `method.rs`: [`Method`] (names, default thresholds, allowed column types, the decision)
//!   and [`auto_method`].
//! - one module per family of tests: `ks` (Kolmogorov-Smirnov, exact and asymptotic, as
//!   SciPy's `ks_2samp`), `distance` (normed Wasserstein, energy distance), `binning` (psi,
//!   kl_div, jensenshannon and Evidently's binning), `hellinger`, `categorical` (chisquare, z),
//!   `rank` (Mann-Whitney, Cramér-von Mises, Anderson-Darling), `parametric` (t-test,
//!   Epps-Singleton), `contingency` (g-test, Fisher's exact, TVD), and `special` (the special
//!   functions SciPy uses: the normal, chi-square and t distributions, Bessel functions).
//! - `histograms`: [`Histograms`], the two sides' shares per bin or category as Evidently
//!   bins them, to show what a comparison read.
//! - `prepared`: [`PreparedColumn`], a reference column prepared once (typed, sorted,
//!   counted) and scored against many windows with work on the window alone, bit for bit as
//!   [`score`].

mod binning;
mod categorical;
mod contingency;
mod distance;
mod hellinger;
mod histograms;
mod ks;
mod method;
mod parametric;
pub mod prepared;
mod rank;
mod sample;
mod sort;
pub mod special;

pub use histograms::{Histograms, histograms};
pub use method::{Drifted, Method, auto_method};
pub use prepared::PreparedColumn;
pub use sample::{Category, ColumnType, Sample};

/// Why a test gives no score for a column.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DriftError {
    /// The method does not apply to the column's type (Evidently refuses it too).
    #[error("{method} does not apply to {column_type} columns")]
    WrongType {
        /// The method named.
        method: &'static str,
        /// The column's type.
        column_type: &'static str,
    },
    /// A side has no value once missing values are removed.
    #[error("the {side} has no value")]
    Empty {
        /// `reference` or `current`.
        side: &'static str,
    },
    /// The method needs the two samples to have the same size (g_test, fisher_exact).
    #[error(
        "{method} needs the reference and the current window to have as many values ({reference} and {current} here)"
    )]
    UnequalSizes {
        /// The method.
        method: &'static str,
        /// Reference values.
        reference: usize,
        /// Current values.
        current: usize,
    },
    /// The method's score is not a number on these values (Evidently's is NaN: never
    /// drifted).
    #[error("{method}: {reason}")]
    Undefined {
        /// The method.
        method: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// The method refuses these values (Evidently raises an error on them).
    #[error("{method}: {reason}")]
    Refused {
        /// The method.
        method: &'static str,
        /// Why, in words.
        reason: String,
    },
}

/// The score of `method` for one column: a p-value or a distance, as [`Method::is_p_value`]
/// says; [`Method::drifted`] compares it with a threshold. Numerical samples of whole numbers
/// are taken as read with NumPy's integer dtype (pandas reads a column of integers with no
/// missing cell so), which only changes the Sturges width rule of the binned methods and
/// hellinger; see [`score_floats`].
///
/// # Errors
///
/// [`DriftError`] when the method does not apply to the samples' type, a side is empty, or the
/// method cannot score these values.
pub fn score(
    method: Method,
    reference: &Sample<'_>,
    current: &Sample<'_>,
) -> Result<f64, DriftError> {
    score_read_as(method, reference, current, false)
}

/// [`score`] of numerical samples read as floats (NumPy's float dtype, even for whole numbers:
/// pandas reads a column of integers with a missing cell in either file so): the Sturges width
/// is not raised to 1.
///
/// # Errors
///
/// As [`score`].
pub fn score_floats(
    method: Method,
    reference: &Sample<'_>,
    current: &Sample<'_>,
) -> Result<f64, DriftError> {
    score_read_as(method, reference, current, true)
}

/// [`score`], or [`score_floats`] when `floats`.
fn score_read_as(
    method: Method,
    reference: &Sample<'_>,
    current: &Sample<'_>,
    floats: bool,
) -> Result<f64, DriftError> {
    if reference.is_empty() {
        return Err(DriftError::Empty { side: "reference" });
    }
    if current.is_empty() {
        return Err(DriftError::Empty { side: "current" });
    }
    let column_type = reference.column_type();
    if !method.allows(column_type) || current.column_type() != column_type {
        return Err(DriftError::WrongType {
            method: method.name(),
            column_type: column_type.as_str(),
        });
    }
    match (method, reference, current) {
        (Method::Ks, Sample::Numerical(r), Sample::Numerical(c)) => ks::p_value(r, c),
        (Method::Wasserstein, Sample::Numerical(r), Sample::Numerical(c)) => {
            distance::wasserstein_normed(r, c)
        }
        (Method::Ed, Sample::Numerical(r), Sample::Numerical(c)) => distance::energy(r, c),
        (Method::Psi, r, c) => binning::psi(r, c, floats),
        (Method::KlDiv, r, c) => binning::kl_div(r, c, floats),
        (Method::JensenShannon, r, c) => binning::jensenshannon(r, c, floats),
        (Method::Hellinger, r, c) => hellinger::hellinger(r, c, floats),
        (Method::ChiSquare, Sample::Categorical(r), Sample::Categorical(c)) => {
            categorical::chisquare(r, c)
        }
        (Method::Z, Sample::Categorical(r), Sample::Categorical(c)) => categorical::z(r, c),
        (Method::MannW, Sample::Numerical(r), Sample::Numerical(c)) => rank::mann_whitney(r, c),
        (Method::CramerVonMises, Sample::Numerical(r), Sample::Numerical(c)) => {
            rank::cramer_von_mises(r, c)
        }
        (Method::Anderson, Sample::Numerical(r), Sample::Numerical(c)) => rank::anderson(r, c),
        (Method::TTest, Sample::Numerical(r), Sample::Numerical(c)) => parametric::t_test(r, c),
        (Method::Es, Sample::Numerical(r), Sample::Numerical(c)) => {
            parametric::epps_singleton(r, c)
        }
        (Method::GTest, Sample::Categorical(r), Sample::Categorical(c)) => {
            contingency::g_test(r, c)
        }
        (Method::FisherExact, Sample::Categorical(r), Sample::Categorical(c)) => {
            contingency::fisher_exact(r, c)
        }
        (Method::Tvd, Sample::Categorical(r), Sample::Categorical(c)) => contingency::tvd(r, c),
        _ => Err(DriftError::WrongType {
            method: method.name(),
            column_type: column_type.as_str(),
        }),
    }
}
