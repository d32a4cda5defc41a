//! The CBPE port replays cases generated with NannyML 0.13.1 and scikit-learn 1.9.1
//! (`tools/cbpe_reference.py`, files in `tests/golden/cbpe/`) and must agree with them.

use std::path::{Path, PathBuf};

use modelwatch_engine::quality::cbpe::{self, Calibration, Reference};
use modelwatch_engine::quality::isotonic::Calibrator;
use serde::Deserialize;

/// Largest relative difference allowed from NannyML's values: none, the port repeats numpy's
/// arithmetic (pairwise sums, sequential cumulative sums, rounding) operation for operation.
/// A plain sequential sum instead of numpy's pairwise one already breaks this.
const TOLERANCE: f64 = 0.0;

#[derive(Deserialize)]
struct CbpeCase {
    name: String,
    chunk_size: usize,
    needs_calibration: bool,
    reference: ReferenceRows,
    analysis: AnalysisRows,
    chunks: Vec<Chunk>,
}

#[derive(Deserialize)]
struct ReferenceRows {
    scores: Vec<f64>,
    y_true: Vec<u8>,
}

#[derive(Deserialize)]
struct AnalysisRows {
    scores: Vec<f64>,
    y_pred: Vec<u8>,
}

#[derive(Deserialize)]
struct Chunk {
    start: usize,
    end: usize,
    estimated: NannymlEstimates,
}

#[derive(Deserialize)]
struct NannymlEstimates {
    accuracy: Option<f64>,
    precision: Option<f64>,
    recall: Option<f64>,
    f1: Option<f64>,
    roc_auc: Option<f64>,
}

impl NannymlEstimates {
    fn by_name(&self, name: &str) -> Option<f64> {
        match name {
            "estimated_accuracy" => self.accuracy,
            "estimated_precision" => self.precision,
            "estimated_recall" => self.recall,
            "estimated_f1" => self.f1,
            "estimated_roc_auc" => self.roc_auc,
            other => panic!("unknown metric {other}"),
        }
    }
}

#[derive(Deserialize)]
struct IsotonicFile {
    cases: Vec<IsotonicCase>,
}

#[derive(Deserialize)]
struct IsotonicCase {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
    x_thresholds: Vec<f64>,
    y_thresholds: Vec<f64>,
    queries: Vec<f64>,
    predictions: Vec<f64>,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cbpe")
}

fn cbpe_cases() -> Vec<CbpeCase> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json")
                && path.file_stem().is_some_and(|stem| stem != "isotonic")
        })
        .collect();
    paths.sort();
    let cases: Vec<CbpeCase> = paths
        .iter()
        .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
        .collect();
    assert!(
        cases.len() >= 8,
        "expected the generated cases, found {}",
        cases.len()
    );
    cases
}

fn relative_difference(ours: f64, theirs: f64) -> f64 {
    if ours == theirs {
        0.0
    } else {
        (ours - theirs).abs() / theirs.abs().max(f64::MIN_POSITIVE)
    }
}

fn bools(values: &[u8]) -> Vec<bool> {
    values.iter().map(|&v| v == 1).collect()
}

#[test]
fn isotonic_calibrator_matches_scikit_learn() {
    let text = std::fs::read_to_string(golden_dir().join("isotonic.json")).unwrap();
    let file: IsotonicFile = serde_json::from_str(&text).unwrap();
    assert!(file.cases.len() >= 8);
    for case in &file.cases {
        let calibrator = Calibrator::fit_values(&case.x, &case.y).unwrap();
        let (x, y) = calibrator.parts();
        assert_eq!(
            x,
            case.x_thresholds.as_slice(),
            "{}: X_thresholds_",
            case.name
        );
        assert_eq!(
            y,
            case.y_thresholds.as_slice(),
            "{}: y_thresholds_",
            case.name
        );
        for (&query, &expected) in case.queries.iter().zip(&case.predictions) {
            assert_eq!(
                calibrator.apply(query).to_bits(),
                expected.to_bits(),
                "{}: predict({query})",
                case.name
            );
        }
        // The thresholds read back make the same calibrator.
        let back = Calibrator::from_parts(x.to_vec(), y.to_vec()).unwrap();
        assert_eq!(back, calibrator);
    }
}

/// Replays every case with NannyML's recorded calibration decision. Returns the largest
/// relative difference seen, and counts the estimates compared and those left absent.
fn replay(case: &CbpeCase) -> (f64, usize, usize) {
    let calibration = if case.needs_calibration {
        Calibration::Isotonic
    } else {
        Calibration::None
    };
    let y_true = bools(&case.reference.y_true);
    let reference = Reference::fit(&case.reference.scores, &y_true, calibration).unwrap();
    assert_eq!(reference.calibrator().is_some(), case.needs_calibration);
    let y_pred = bools(&case.analysis.y_pred);
    let n_rows = case.analysis.scores.len();
    let expected_chunks = n_rows.div_ceil(case.chunk_size);
    assert_eq!(case.chunks.len(), expected_chunks, "{}: chunks", case.name);

    let (mut worst, mut compared, mut absent) = (0.0_f64, 0, 0);
    for (index, chunk) in case.chunks.iter().enumerate() {
        // NannyML's SizeBasedChunker(incomplete="keep"): [i*K, min((i+1)*K, n) - 1].
        let start = index * case.chunk_size;
        let end = (start + case.chunk_size).min(n_rows);
        assert_eq!((chunk.start, chunk.end), (start, end - 1), "{}", case.name);
        let ours = cbpe::estimate(
            &reference,
            &case.analysis.scores[start..end],
            &y_pred[start..end],
        );
        for name in [
            "estimated_accuracy",
            "estimated_f1",
            "estimated_precision",
            "estimated_recall",
            "estimated_roc_auc",
        ] {
            let ours = ours.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let theirs = chunk.estimated.by_name(name);
            let context = format!("{} chunk {index} {name}", case.name);
            match (ours, theirs) {
                (Some(ours), Some(theirs)) => {
                    let difference = relative_difference(ours, theirs);
                    assert!(
                        difference <= TOLERANCE,
                        "{context}: ours {ours:e}, NannyML {theirs:e}"
                    );
                    worst = worst.max(difference);
                    compared += 1;
                }
                // Undefined: NannyML gives NaN, or a made-up 0 (precision, recall, f1 with a
                // zero denominator), which we leave absent.
                (None, None) => absent += 1,
                (None, Some(theirs)) => {
                    assert_eq!(theirs, 0.0, "{context}: absent, NannyML {theirs}");
                    assert_ne!(name, "estimated_accuracy", "{context}");
                    absent += 1;
                }
                (Some(ours), None) => panic!("{context}: ours {ours}, NannyML NaN"),
            }
        }
        let names: Vec<&str> = ours.iter().map(|(name, _)| *name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "{}: estimates sorted by name", case.name);
    }
    (worst, compared, absent)
}

#[test]
fn estimates_match_nannyml_with_its_calibration_decision() {
    let (mut worst, mut compared, mut absent) = (0.0_f64, 0, 0);
    for case in cbpe_cases() {
        let (case_worst, case_compared, case_absent) = replay(&case);
        println!(
            "{}: {case_compared} estimates, max relative difference {case_worst:e}, {case_absent} absent",
            case.name
        );
        worst = worst.max(case_worst);
        compared += case_compared;
        absent += case_absent;
        if case.name != "degenerate_last_chunk" {
            assert_eq!(case_absent, 0, "{}: nothing undefined expected", case.name);
        }
    }
    println!("all cases: {compared} estimates, max relative difference {worst:e}, {absent} absent");
    // The degenerate case's last chunk: precision, recall and f1 (NannyML: 0) and roc_auc
    // (NannyML: NaN) are undefined; accuracy is 1.
    assert_eq!(absent, 4);
}

#[test]
fn auto_calibration_takes_nannymls_shortcuts() {
    let (mut agree, mut total) = (0, 0);
    for case in cbpe_cases() {
        let y_true = bools(&case.reference.y_true);
        let shortcut = cbpe::calibration_shortcut_applies(&case.reference.scores, &y_true);
        let auto = Reference::fit(&case.reference.scores, &y_true, Calibration::Auto).unwrap();
        if shortcut {
            assert!(!case.needs_calibration, "{}: NannyML calibrated", case.name);
            assert!(auto.calibrator().is_none(), "{}", case.name);
        } else {
            assert!(auto.calibrator().is_some(), "{}", case.name);
        }
        total += 1;
        if auto.calibrator().is_some() == case.needs_calibration {
            agree += 1;
            continue;
        }
        // Where they disagree, how far Auto's estimates are from NannyML's.
        let y_pred = bools(&case.analysis.y_pred);
        let mut largest = 0.0_f64;
        for (index, chunk) in case.chunks.iter().enumerate() {
            let start = index * case.chunk_size;
            let end = (start + case.chunk_size).min(case.analysis.scores.len());
            let ours = cbpe::estimate(
                &auto,
                &case.analysis.scores[start..end],
                &y_pred[start..end],
            );
            for (name, value) in ours {
                if let Some(theirs) = chunk.estimated.by_name(name) {
                    largest = largest.max((value - theirs).abs());
                }
            }
        }
        println!(
            "{}: auto calibrates, NannyML does not; largest absolute difference {largest:.4}",
            case.name
        );
    }
    println!("auto agrees with NannyML's calibration decision on {agree} of {total} cases");
    assert!(
        total > agree,
        "a case where NannyML declines calibration without a shortcut"
    );
}

#[test]
fn a_reference_survives_a_snapshot() {
    let case = cbpe_cases()
        .into_iter()
        .find(|c| c.needs_calibration)
        .unwrap();
    let y_true = bools(&case.reference.y_true);
    let reference = Reference::fit(&case.reference.scores, &y_true, Calibration::Isotonic).unwrap();
    let bytes = postcard::to_allocvec(&reference).unwrap();
    let back: Reference = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, reference);
    // A corrupted calibrator is refused on reading, not at `apply`.
    let text = serde_json::to_string(&reference)
        .unwrap()
        .replacen("\"x\":[", "\"x\":[2.0,", 1)
        .replacen("\"y\":[", "\"y\":[0.5,", 1);
    let error = serde_json::from_str::<Reference>(&text).unwrap_err();
    assert!(error.to_string().contains("strictly increasing"), "{error}");
}
