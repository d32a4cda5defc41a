//! Drift references given whole: an uploaded one (`Input::Reference`) replaces the config's for
//! every version and instance of its model from its sequence number on, a file named in the
//! config (its rows handed to the config, as the binary does) applies to every version, both
//! survive a snapshot, and what is in force reads back.

use std::sync::Arc;

use modelwatch_engine::config::ReferenceSource;
use modelwatch_engine::drift::ColumnType;
use modelwatch_engine::quality::ReferenceOrigin;
use modelwatch_engine::reference::Cell;
use modelwatch_engine::{
    Config, Engine, Input, ModelId, Prediction, ReferenceTable, ReferenceUpload, Timestamp,
    parse_config,
};
use proptest::prelude::*;

use crate::snapshot::{check_every_cut, feed};
use crate::traffic_drift::{drift_points, models, prediction, value};

/// A reference with the columns of `prediction(n, shift)` for `n` in `rows`.
fn table(rows: std::ops::Range<i64>, shift: f64) -> Arc<ReferenceTable> {
    let x = |n: i64| shift + ((n * 7919) % 101) as f64 / 25.0 - 2.0;
    let column = |f: &dyn Fn(i64) -> Cell| rows.clone().map(f).collect::<Vec<Cell>>();
    Arc::new(
        ReferenceTable::new(vec![
            ("x".to_string(), column(&|n| Cell::Number(x(n)))),
            (
                "c".to_string(),
                column(&|n| Cell::Text(["a", "b", "c"][(n % 3) as usize].to_string())),
            ),
            (
                "level".to_string(),
                column(&|n| Cell::Number((n % 3) as f64)),
            ),
            (
                "prediction".to_string(),
                column(&|n| Cell::Text(if x(n) > shift { "yes" } else { "no" }.to_string())),
            ),
        ])
        .unwrap(),
    )
}

fn upload(model: &str, table: Arc<ReferenceTable>, secs: i64) -> Input {
    Input::Reference(
        ReferenceUpload::new(
            model,
            table,
            Some(Timestamp::from_secs(1_800_000_000 + secs)),
        )
        .unwrap(),
    )
}

fn config(text: &str) -> Arc<Config> {
    Arc::new(parse_config(text).unwrap().config)
}

#[test]
fn an_upload_replaces_the_first_predictions_from_the_next_window_on() {
    let mut engine = Engine::new(config(&models("")));
    // 100 predictions make the version's reference, one window of 50 compared with it, then
    // a reference shifted by 3 is uploaded: the next windows drift in x.
    let mut inputs: Vec<Input> = (0..150).map(|n| prediction(n, 0.0)).collect();
    inputs.push(upload("m", table(0..200, 3.0), 150));
    inputs.extend((150..250).map(|n| prediction(n, 0.0)));
    let outputs = feed(&mut engine, &inputs);
    let points = drift_points(&outputs);
    let seqs: Vec<u64> = points.iter().map(|point| point.seq).collect();
    assert_eq!(seqs, [150, 201, 251]);
    assert!(
        value(points[0], "drift.x").unwrap() > 0.05,
        "{}",
        points[0].message
    );
    for point in &points[1..] {
        assert!(value(point, "drift.x").unwrap() < 0.05, "{}", point.message);
        assert!(
            point.message.contains("against a reference of 200"),
            "{}",
            point.message
        );
        // The upload has no `gap` column: only the reference's columns are compared.
        assert!(value(point, "drift.gap").is_none());
    }
    let in_force = engine.reference_in_force("m").unwrap();
    assert_eq!(
        in_force.origin,
        ReferenceOrigin::Upload {
            seq: 151,
            at: Timestamp::from_secs(1_800_000_150)
        }
    );
    assert_eq!(in_force.table.unwrap().rows(), 200);
}

#[test]
fn with_an_upload_first_predictions_are_not_collected() {
    let mut engine = Engine::new(config(&models("")));
    let mut inputs = vec![upload("m", table(0..100, 0.0), 0)];
    inputs.extend((0..100).map(|n| prediction(n, 0.0)));
    // A new version and instance of the model compares with the same upload.
    inputs.extend((0..50).map(|n| {
        match prediction(n, 3.0) {
            Input::Prediction(p) => Input::Prediction(
                Prediction::new(
                    ModelId::new("m", "2", "canary"),
                    p.timestamp,
                    format!("v2-{n}"),
                    p.output,
                    None,
                    None,
                    p.features,
                )
                .unwrap(),
            ),
            other => other,
        }
    }));
    let outputs = feed(&mut engine, &inputs);
    let points = drift_points(&outputs);
    let seqs: Vec<u64> = points.iter().map(|point| point.seq).collect();
    assert_eq!(seqs, [51, 101, 151]);
    assert!(value(points[0], "drift.x").unwrap() > 0.05);
    assert_eq!(points[2].model, ModelId::new("m", "2", "canary"));
    assert!(
        value(points[2], "drift.x").unwrap() < 0.05,
        "{}",
        points[2].message
    );
}

#[test]
fn a_reference_file_given_to_the_config_applies_to_every_version() {
    let text = models("").replace("first = 100", "file = \"reference.csv\"");
    let mut parsed = parse_config(&text).unwrap().config;
    // Without its rows (the engine alone reads no file), nothing is compared.
    let unread = Arc::new(parsed.clone());
    let shifted: Vec<Input> = (0..100).map(|n| prediction(n, 3.0)).collect();
    assert!(drift_points(&feed(&mut Engine::new(unread), &shifted)).is_empty());
    let files: Vec<(String, String)> = parsed
        .models
        .reference_files_mut()
        .map(|(name, path, slot)| {
            *slot = Some(table(0..100, 0.0));
            (name, path.to_string())
        })
        .collect();
    assert_eq!(files, [("m".to_string(), "reference.csv".to_string())]);
    let config = Arc::new(parsed);
    let mut engine = Engine::new(config.clone());
    let points_of = feed(&mut engine, &shifted);
    let points = drift_points(&points_of);
    assert_eq!(points.len(), 2);
    assert!(value(points[0], "drift.x").unwrap() < 0.05);
    let in_force = engine.reference_in_force("m").unwrap();
    assert_eq!(
        in_force.origin,
        ReferenceOrigin::File {
            path: "reference.csv".to_string()
        }
    );
    let types: Vec<(String, ColumnType)> = in_force
        .table
        .unwrap()
        .column_types()
        .map(|(name, kind)| (name.to_string(), kind))
        .collect();
    assert_eq!(types[0], ("c".to_string(), ColumnType::Categorical));
    assert_eq!(
        types[2],
        ("prediction".to_string(), ColumnType::Categorical)
    );
    assert_eq!(types[3], ("x".to_string(), ColumnType::Numerical));
    // Replay with the same config gives the same outputs.
    let again = feed(&mut Engine::new(config), &shifted);
    assert_eq!(format!("{again:?}"), format!("{points_of:?}"));
}

#[test]
fn the_config_takes_first_or_file_but_not_both() {
    for (reference, problem) in [
        (
            "{ first = 10, file = \"a.csv\" }",
            "give either first or file",
        ),
        ("{ }", "missing first or file"),
        ("{ file = \"\" }", "must name a file"),
        ("{ file = 3 }", "must be a string"),
    ] {
        let text = models("").replace("{ first = 100 }", reference);
        let error = parse_config(&text).unwrap_err().to_string();
        assert!(error.contains(problem), "{reference}: {error}");
    }
    let text = models("").replace("first = 100", "file = \"a.jsonl\"");
    let parsed = parse_config(&text).unwrap().config;
    let drift = parsed.models.entries[0].drift.as_ref().unwrap();
    assert_eq!(
        drift.reference,
        ReferenceSource::File {
            path: "a.jsonl".to_string(),
            table: None
        }
    );
}

#[test]
fn first_n_shows_each_versions_rows_and_a_model_without_drift_has_none() {
    let text = format!(
        "{}\n[[models]]\nname = \"plain\"\ntask = \"regression\"\n",
        models("")
    );
    let mut engine = Engine::new(config(&text));
    let mut inputs: Vec<Input> = (0..30).map(|n| prediction(n, 0.0)).collect();
    inputs.push(upload("plain", table(0..10, 0.0), 30));
    inputs.push(upload("other", table(0..10, 0.0), 31));
    feed(&mut engine, &inputs);
    let in_force = engine.reference_in_force("m").unwrap();
    assert_eq!(in_force.origin, ReferenceOrigin::First { n: 100 });
    assert_eq!(in_force.versions.len(), 1);
    assert_eq!(in_force.versions[0].rows, 30);
    assert_eq!(in_force.versions[0].columns.len(), 5);
    assert!(engine.reference_in_force("plain").is_none());
    assert!(engine.reference_in_force("other").is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn an_upload_survives_a_snapshot_at_every_point(
        shifts in prop::collection::vec(0u8..3, 30..50),
        at in 0usize..30,
    ) {
        let text = models("").replace("first = 100", "first = 10").replace("drift_window = 50", "drift_window = 7");
        let mut inputs: Vec<Input> = shifts
            .iter()
            .enumerate()
            .map(|(n, shift)| prediction(n as i64, f64::from(*shift)))
            .collect();
        inputs.insert(at, upload("m", table(0..20, 1.0), at as i64));
        check_every_cut(&config(&text), &inputs)?;
    }
}

#[test]
fn the_wire_form_reads_back_only_where_service_inputs_are_taken() {
    use modelwatch_engine::{BatchError, Format, MetricCatalog, WireParser};
    let input = upload("m", table(0..3, 0.0), 0);
    let text = serde_json::to_string(&input).unwrap();
    assert!(
        text.starts_with(r#"{"reference":{"model":"m","columns":{"c":["a","b","c"]"#),
        "{text}"
    );
    let catalog = MetricCatalog::new();
    let read = WireParser::new(&catalog)
        .accepting_jobs()
        .parse_batch(&text, Format::Auto);
    assert_eq!(read.unwrap(), vec![input]);
    let Err(BatchError::Invalid { errors, .. }) =
        WireParser::new(&catalog).parse_batch(&text, Format::Auto)
    else {
        panic!("ingest must refuse a reference");
    };
    assert!(
        errors[0]
            .message
            .contains("PUT /v1/models/{name}/reference"),
        "{errors:?}"
    );
    for (bad, problem) in [
        (
            r#"{"reference":{"model":"m","columns":{"a":[1,2],"b":[1]}}}"#,
            "reference.columns.b: 1 values where",
        ),
        (
            r#"{"reference":{"model":"m","columns":{"a":[[1]]}}}"#,
            "must be an array of values",
        ),
        (r#"{"reference":{"model":"m","columns":{}}}"#, "no column"),
        (
            r#"{"reference":{"model":"m","columns":{"a":[]}}}"#,
            "no row",
        ),
        (
            r#"{"reference":{"columns":{"a":[1]}}}"#,
            "reference.model: missing",
        ),
        (
            r#"{"reference":{"model":"m","columns":{"a":[1]}},"metrics":{"x":1}}"#,
            "carries nothing but",
        ),
    ] {
        let error = WireParser::new(&catalog)
            .accepting_jobs()
            .parse_batch(bad, Format::Auto)
            .unwrap_err()
            .to_string();
        assert!(error.contains(problem), "{bad}: {error}");
    }
}
