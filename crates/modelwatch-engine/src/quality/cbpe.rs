//! Confidence-based performance estimation (CBPE) for binary classifiers, as NannyML computes it.
