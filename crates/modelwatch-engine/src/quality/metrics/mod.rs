//! Realized quality metrics over one window of labeled predictions, equal to scikit-learn's.
