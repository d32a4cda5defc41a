//! The methods Evidently 0.7.23 ships for tabular columns: their names, default thresholds,
//! the column types they take, how a score becomes a decision, and the automatic choice.

use super::sample::ColumnType;

/// A drift test or distance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Two-sample Kolmogorov-Smirnov p-value (`ks`).
    Ks,
    /// Wasserstein distance over the reference's standard deviation (`wasserstein`).
    Wasserstein,
    /// Population stability index (`psi`).
    Psi,
    /// Kullback-Leibler divergence (`kl_div`).
    KlDiv,
    /// Jensen-Shannon distance (`jensenshannon`).
    JensenShannon,
    /// Hellinger distance (`hellinger`).
    Hellinger,
    /// Chi-square test p-value (`chisquare`).
    ChiSquare,
    /// Two-proportion z-test p-value (`z`).
    Z,
    /// G-test p-value (`g_test`).
    GTest,
    /// Fisher's exact test p-value (`fisher_exact`).
    FisherExact,
    /// Total variation distance, permutation p-value (`TVD`).
    Tvd,
    /// One-sided Mann-Whitney U test p-value (`mannw`).
    MannW,
    /// Student's t-test p-value (`t_test`).
    TTest,
    /// Energy distance (`ed`).
    Ed,
    /// Two-sample Cramér-von Mises p-value (`cramer_von_mises`).
    CramerVonMises,
    /// k-sample Anderson-Darling p-value (`anderson`).
    Anderson,
    /// Epps-Singleton test p-value (`es`).
    Es,
}

/// How a score compares with its threshold when the column drifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drifted {
    /// A p-value at or below the threshold (`ks`, `cramer_von_mises`).
    AtOrBelow,
    /// A p-value below the threshold.
    Below,
    /// A distance at or above the threshold.
    AtOrAbove,
    /// A distance above the threshold (`ed`).
    Above,
}

impl Method {
    /// Every method, in the order the docs list them.
    pub const ALL: [Method; 17] = [
        Method::Ks,
        Method::Wasserstein,
        Method::Psi,
        Method::KlDiv,
        Method::JensenShannon,
        Method::Hellinger,
        Method::ChiSquare,
        Method::Z,
        Method::GTest,
        Method::FisherExact,
        Method::Tvd,
        Method::MannW,
        Method::TTest,
        Method::Ed,
        Method::CramerVonMises,
        Method::Anderson,
        Method::Es,
    ];

    /// Evidently's short name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::Wasserstein => "wasserstein",
            Method::Psi => "psi",
            Method::KlDiv => "kl_div",
            Method::JensenShannon => "jensenshannon",
            Method::Hellinger => "hellinger",
            Method::ChiSquare => "chisquare",
            Method::Z => "z",
            Method::GTest => "g_test",
            Method::FisherExact => "fisher_exact",
            Method::Tvd => "TVD",
            Method::MannW => "mannw",
            Method::TTest => "t_test",
            Method::Ed => "ed",
            Method::CramerVonMises => "cramer_von_mises",
            Method::Anderson => "anderson",
            Method::Es => "es",
        }
    }

    /// The method with this short name.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|method| method.name() == name)
    }

    /// Evidently's default threshold.
    pub fn default_threshold(self) -> f64 {
        match self {
            Method::Ks
            | Method::ChiSquare
            | Method::Z
            | Method::MannW
            | Method::TTest
            | Method::Es => 0.05,
            _ => 0.1,
        }
    }

    /// Whether the score is a p-value (small means drift) rather than a distance.
    pub fn is_p_value(self) -> bool {
        matches!(self.comparison(), Drifted::AtOrBelow | Drifted::Below)
    }

    /// How the score compares with the threshold when the column drifted.
    pub fn comparison(self) -> Drifted {
        match self {
            Method::Ks | Method::CramerVonMises => Drifted::AtOrBelow,
            Method::ChiSquare
            | Method::Z
            | Method::GTest
            | Method::FisherExact
            | Method::Tvd
            | Method::MannW
            | Method::TTest
            | Method::Anderson
            | Method::Es => Drifted::Below,
            Method::Wasserstein
            | Method::Psi
            | Method::KlDiv
            | Method::JensenShannon
            | Method::Hellinger => Drifted::AtOrAbove,
            Method::Ed => Drifted::Above,
        }
    }

    /// Whether a column with `score` drifted at `threshold`.
    pub fn drifted(self, score: f64, threshold: f64) -> bool {
        match self.comparison() {
            Drifted::AtOrBelow => score <= threshold,
            Drifted::Below => score < threshold,
            Drifted::AtOrAbove => score >= threshold,
            Drifted::Above => score > threshold,
        }
    }

    /// Whether the score of categories depends on the order of the values, not only on their
    /// counts: TVD's permutations shuffle the pooled values in the order given. The other
    /// tests of categories count them.
    pub fn counts_only(self) -> bool {
        self != Method::Tvd
    }

    /// Whether the method takes columns of this type.
    pub fn allows(self, column_type: ColumnType) -> bool {
        match self {
            Method::Psi | Method::KlDiv | Method::JensenShannon | Method::Hellinger => true,
            Method::ChiSquare | Method::Z | Method::GTest | Method::FisherExact | Method::Tvd => {
                column_type == ColumnType::Categorical
            }
            _ => column_type == ColumnType::Numerical,
        }
    }
}

/// Evidently's automatic choice (`_get_default_stattest`): by the column's type, the reference
/// size `n_reference` (missing values removed) and the number of distinct values `n_unique`
/// over reference and current together.
pub fn auto_method(column_type: ColumnType, n_reference: usize, n_unique: usize) -> Method {
    match (column_type, n_reference <= 1000) {
        (_, true) if n_unique <= 2 => Method::Z,
        (ColumnType::Numerical, true) if n_unique <= 5 => Method::ChiSquare,
        (ColumnType::Numerical, true) => Method::Ks,
        (ColumnType::Categorical, true) => Method::ChiSquare,
        (ColumnType::Numerical, false) if n_unique <= 5 => Method::JensenShannon,
        (ColumnType::Numerical, false) => Method::Wasserstein,
        (ColumnType::Categorical, false) => Method::JensenShannon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_choice_follows_evidentlys_table() {
        use ColumnType::{Categorical, Numerical};
        assert_eq!(auto_method(Numerical, 1000, 2), Method::Z);
        assert_eq!(auto_method(Numerical, 1000, 3), Method::ChiSquare);
        assert_eq!(auto_method(Numerical, 1000, 6), Method::Ks);
        assert_eq!(auto_method(Categorical, 10, 2), Method::Z);
        assert_eq!(auto_method(Categorical, 10, 9), Method::ChiSquare);
        assert_eq!(auto_method(Numerical, 1001, 5), Method::JensenShannon);
        assert_eq!(auto_method(Numerical, 1001, 6), Method::Wasserstein);
        assert_eq!(auto_method(Categorical, 1001, 2), Method::JensenShannon);
    }

    #[test]
    fn names_round_trip_and_decisions_use_each_methods_comparison() {
        for method in Method::ALL {
            assert_eq!(Method::from_name(method.name()), Some(method));
        }
        assert!(Method::Ks.drifted(0.05, 0.05));
        assert!(!Method::ChiSquare.drifted(0.05, 0.05));
        assert!(Method::Wasserstein.drifted(0.1, 0.1));
        assert!(!Method::Ed.drifted(0.1, 0.1));
    }
}
