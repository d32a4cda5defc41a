//! The store's queries against what the engine produced: filters, order and keyset pages.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use modelwatch_engine::config::{DEFAULT_CONFIG_TOML, default_config, parse_config};
use modelwatch_engine::{
    AlertState, Decision, Engine, Input, ModelId, Output, RuleState, Timestamp, Verdict,
};
use modelwatch_store::{
    AlertFilter, CanaryFilter, DecisionFilter, Listing, MAX_PAGE, Order, Page, PointCursor,
    SeriesQuery, StoredAlert,
};

use crate::backends::Backend;
use crate::{example_inputs, example_store, run_with};

on_each_backend!(
    alerts_filter_and_page_both_ways,
    decisions_filter_and_page,
    canary_verdicts_are_stored_filtered_and_paged,
    series_come_back_in_time_order_within_range_and_in_pages,
    limits_are_capped,
    open_and_firing_alerts_are_each_alerts_latest_transition,
    model_summaries_agree_with_the_engines_end_state,
);

/// Every page of a listing, following the cursors.
fn all_pages<T>(limit: usize, order: Order, mut list: impl FnMut(Page) -> Listing<T>) -> Vec<T> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = list(Page {
            after,
            limit,
            order,
        });
        assert!(page.items.len() <= limit);
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return items,
        }
    }
}

fn alert_ids(alerts: &[StoredAlert]) -> Vec<String> {
    alerts.iter().map(|alert| alert.id.clone()).collect()
}

fn alerts_filter_and_page_both_ways(backend: Backend) {
    let Some((opened, run)) = example_store(backend) else {
        return;
    };
    let store = &opened.store;
    let engine_alerts: Vec<_> = run
        .all_outputs()
        .into_iter()
        .filter_map(|output| match output {
            Output::Alert(alert) => Some(alert),
            _ => None,
        })
        .collect();
    assert!(
        engine_alerts.len() > 3,
        "the example should raise several alerts"
    );

    let everything = AlertFilter::default();
    let oldest = all_pages(2, Order::OldestFirst, |page| {
        store.alerts(&everything, &page).unwrap()
    });
    let expected: Vec<String> = engine_alerts.iter().map(|alert| alert.id.clone()).collect();
    assert_eq!(alert_ids(&oldest), expected);
    let mut newest = alert_ids(&all_pages(3, Order::NewestFirst, |page| {
        store.alerts(&everything, &page).unwrap()
    }));
    newest.reverse();
    assert_eq!(newest, expected);

    // The columns are the engine's.
    let first = &oldest[0];
    let alert = &engine_alerts[0];
    assert_eq!(
        (&first.alert_id, first.seq, first.at, first.state.as_str()),
        (&alert.alert_id, alert.seq, alert.at, alert.state.as_str())
    );
    assert_eq!((&first.model, &first.metric), (&alert.model, &alert.metric));
    assert_eq!(
        (&*first.rule, first.severity.as_str()),
        (&*alert.rule, alert.severity.as_str())
    );

    // Filters.
    let firing = AlertFilter {
        state: Some(AlertState::Firing),
        model: Some("fraud-detector".into()),
        ..AlertFilter::default()
    };
    let listed = store.alerts(&firing, &Page::default()).unwrap();
    let mut expected: Vec<String> = engine_alerts
        .iter()
        .filter(|alert| alert.state == AlertState::Firing)
        .map(|alert| alert.id.clone())
        .collect();
    expected.reverse();
    assert!(!expected.is_empty());
    assert_eq!(alert_ids(&listed.items), expected);

    let one_alert = AlertFilter {
        alert_id: Some(engine_alerts[0].alert_id.clone()),
        ..AlertFilter::default()
    };
    let listed = store.alerts(&one_alert, &Page::default()).unwrap();
    assert!(
        listed
            .items
            .iter()
            .all(|a| a.alert_id == engine_alerts[0].alert_id)
    );
    assert!(!listed.items.is_empty());

    let since = engine_alerts[engine_alerts.len() / 2].at;
    let late = AlertFilter {
        since: Some(since),
        ..AlertFilter::default()
    };
    let listed = store.alerts(&late, &Page::default()).unwrap();
    let expected = engine_alerts
        .iter()
        .filter(|alert| alert.at >= since)
        .count();
    assert_eq!(listed.items.len(), expected);
    let early = AlertFilter {
        until: Some(since),
        ..AlertFilter::default()
    };
    let listed = store.alerts(&early, &Page::default()).unwrap();
    assert_eq!(listed.items.len(), engine_alerts.len() - expected);

    let nobody = AlertFilter {
        model: Some("no-such-model".into()),
        ..AlertFilter::default()
    };
    let listed = store.alerts(&nobody, &Page::default()).unwrap();
    assert_eq!((listed.items.len(), listed.next), (0, None));
}

fn decisions_filter_and_page(backend: Backend) {
    let Some((opened, run)) = example_store(backend) else {
        return;
    };
    let store = &opened.store;
    let engine_decisions: Vec<_> = run
        .all_outputs()
        .into_iter()
        .filter_map(|output| match output {
            Output::Retrain(decision) => Some(decision),
            _ => None,
        })
        .collect();
    assert!(!engine_decisions.is_empty());

    let listed = all_pages(1, Order::OldestFirst, |page| {
        store.decisions(&DecisionFilter::default(), &page).unwrap()
    });
    let ids: Vec<&str> = listed.iter().map(|d| d.id.as_str()).collect();
    let expected: Vec<&str> = engine_decisions.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, expected);
    for (row, decision) in listed.iter().zip(&engine_decisions) {
        assert_eq!(row.decision, decision.decision.as_str());
        assert_eq!(row.reason, decision.reason.as_str());
        assert_eq!(row.job_id, decision.job_id);
        assert_eq!(
            (row.seq, row.at, &row.model),
            (decision.seq, decision.at, &decision.model)
        );
    }

    // The built-in config has no trainer: its retrains are recommended.
    let recommended = DecisionFilter {
        decision: Some(Decision::Recommended),
        ..DecisionFilter::default()
    };
    let listed = store.decisions(&recommended, &Page::default()).unwrap();
    let expected = engine_decisions
        .iter()
        .filter(|d| d.decision == Decision::Recommended)
        .count();
    assert!(expected > 0);
    assert_eq!(listed.items.len(), expected);
    assert!(listed.items.iter().all(|d| d.decision == "recommended"));
}

fn canary_verdicts_are_stored_filtered_and_paged(backend: Backend) {
    let text = format!(
        r#"{DEFAULT_CONFIG_TOML}
[[rules]]
name = "canary-accuracy"
metric = "accuracy"
actions = ["rollback"]
canary = {{ candidate = {{ instance = "canary-*" }}, baseline = {{ instance = "default" }}, window = 40, min_samples = 10, every = 5 }}

[[rules]]
name = "canary-f1"
metric = "f1"
actions = ["promote"]
canary = {{ candidate = {{ version = "1.5.*" }}, baseline = {{ version = "1.4.*" }}, window = 20, min_samples = 5, every = 2, tolerance = 0.5 }}
"#
    );
    let config = Arc::new(parse_config(&text).unwrap().config);
    let run = run_with(config.clone(), example_inputs());
    let engine_verdicts: Vec<_> = run
        .all_outputs()
        .into_iter()
        .filter_map(|output| match output {
            Output::Canary(verdict) => Some(verdict),
            _ => None,
        })
        .collect();
    let rules: BTreeSet<&str> = engine_verdicts.iter().map(|v| &*v.rule).collect();
    assert_eq!(rules.len(), 2, "{engine_verdicts:?}");
    assert!(engine_verdicts.iter().any(|v| v.verdict == Verdict::Fail));

    let Some(mut opened) = backend.open() else {
        return;
    };
    let store = &mut opened.store;
    let n = run.records.len();
    let mut written = 0;
    for start in (0..n).step_by(25) {
        let committed = store
            .commit(&run.batch(start..(start + 25).min(n)))
            .unwrap();
        written += committed.written.canary_verdicts;
    }
    assert_eq!(written, engine_verdicts.len() as u64);
    let store = opened.reopen();
    drop(opened.store);
    assert_eq!(store.counts().unwrap().canary_verdicts, written);

    let listed = all_pages(1, Order::OldestFirst, |page| {
        store
            .canary_verdicts(&CanaryFilter::default(), &page)
            .unwrap()
    });
    assert_eq!(listed.len(), engine_verdicts.len());
    for (row, verdict) in listed.iter().zip(&engine_verdicts) {
        assert_eq!(
            (
                &row.id,
                row.seq,
                row.at,
                row.rule.as_str(),
                &row.model,
                &row.metric
            ),
            (
                &verdict.id,
                verdict.seq,
                verdict.at,
                &*verdict.rule,
                &verdict.model,
                &verdict.metric
            )
        );
        assert_eq!(row.verdict, verdict.verdict.as_str());
        assert_eq!(
            row.output,
            serde_json::to_string(&Output::Canary(verdict.clone())).unwrap()
        );
    }
    let newest = all_pages(2, Order::NewestFirst, |page| {
        store
            .canary_verdicts(&CanaryFilter::default(), &page)
            .unwrap()
    });
    assert!(
        newest
            .iter()
            .rev()
            .map(|v| &v.id)
            .eq(listed.iter().map(|v| &v.id))
    );

    let count = |filter: CanaryFilter| {
        store
            .canary_verdicts(&filter, &Page::default())
            .unwrap()
            .items
            .len()
    };
    let expected = |keep: &dyn Fn(&modelwatch_engine::CanaryVerdict) -> bool| {
        engine_verdicts.iter().filter(|v| keep(v)).count()
    };
    assert_eq!(
        count(CanaryFilter {
            verdict: Some(Verdict::Fail),
            ..CanaryFilter::default()
        }),
        expected(&|v| v.verdict == Verdict::Fail)
    );
    assert_eq!(
        count(CanaryFilter {
            model: Some("fraud-detector".into()),
            version: Some("1.5.0".into()),
            rule: Some("canary-f1".into()),
            ..CanaryFilter::default()
        }),
        expected(&|v| &*v.rule == "canary-f1")
    );
    assert_eq!(
        count(CanaryFilter {
            model: Some("no-such-model".into()),
            ..CanaryFilter::default()
        }),
        0
    );
    let first = &engine_verdicts[0];
    assert_eq!(
        count(CanaryFilter {
            since: Some(first.at),
            until: Some(Timestamp::from_nanos(first.at.as_nanos() + 1)),
            ..CanaryFilter::default()
        }),
        expected(&|v| v.at == first.at)
    );
}

fn series_come_back_in_time_order_within_range_and_in_pages(backend: Backend) {
    let Some((opened, run)) = example_store(backend) else {
        return;
    };
    let store = &opened.store;
    let model = ModelId::new("fraud-detector", "1.4.0", "default");
    let expected: Vec<(Timestamp, u64, f64)> = run
        .records
        .iter()
        .filter_map(|record| match &record.input {
            Input::Event(event) if event.model == model => event
                .metric("macro_score")
                .map(|value| (event.timestamp.unwrap(), record.seq, value)),
            _ => None,
        })
        .collect();
    assert!(expected.len() > 20);

    let query = |from, to, after, limit, order| SeriesQuery {
        model: model.clone(),
        metric: "macro_score".into(),
        from,
        to,
        after,
        limit,
        order,
    };
    let page = store
        .series(&query(None, None, None, MAX_PAGE, Order::OldestFirst))
        .unwrap();
    let got: Vec<_> = page.points.iter().map(|p| (p.at, p.seq, p.value)).collect();
    assert_eq!(got, expected);
    assert_eq!(page.next, None);

    // Pages, newest first, follow the cursors to the start.
    let mut got = Vec::new();
    let mut after: Option<PointCursor> = None;
    loop {
        let page = store
            .series(&query(None, None, after, 7, Order::NewestFirst))
            .unwrap();
        got.extend(page.points.iter().map(|p| (p.at, p.seq, p.value)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    got.reverse();
    assert_eq!(got, expected);

    // [from, to).
    let (from, to) = (expected[5].0, expected[15].0);
    let page = store
        .series(&query(
            Some(from),
            Some(to),
            None,
            MAX_PAGE,
            Order::OldestFirst,
        ))
        .unwrap();
    let got: Vec<_> = page.points.iter().map(|p| (p.at, p.seq, p.value)).collect();
    assert_eq!(got, expected[5..15]);

    // Another instance or metric has its own series.
    let other = SeriesQuery {
        metric: "no_such_metric".into(),
        ..query(None, None, None, 10, Order::OldestFirst)
    };
    assert!(store.series(&other).unwrap().points.is_empty());
}

fn limits_are_capped(backend: Backend) {
    let Some((opened, run)) = example_store(backend) else {
        return;
    };
    let store = &opened.store;
    let page = Page {
        limit: 0,
        ..Page::default()
    };
    let listed = store.alerts(&AlertFilter::default(), &page).unwrap();
    assert_eq!(listed.items.len(), 1);
    let all = store.inputs_after(0, usize::MAX).unwrap();
    assert_eq!(all.len(), run.records.len());
}

/// `open_alerts` and `firing_alerts` against the engine's transitions: for each alert id its
/// latest one, when that leaves the alert open (or firing), in stream order.
fn open_and_firing_alerts_are_each_alerts_latest_transition(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let run = crate::example();
    opened
        .store
        .commit(&run.batch(0..run.records.len()))
        .unwrap();
    let mut latest: BTreeMap<String, (usize, modelwatch_engine::AlertEvent)> = BTreeMap::new();
    for (index, output) in run.all_outputs().into_iter().enumerate() {
        if let Output::Alert(alert) = output {
            latest.insert(alert.alert_id.clone(), (index, alert));
        }
    }
    let mut latest: Vec<(usize, modelwatch_engine::AlertEvent)> = latest.into_values().collect();
    latest.sort_by_key(|(index, _)| *index);
    let ids = |states: &[&str], model: Option<&str>| -> Vec<String> {
        latest
            .iter()
            .map(|(_, alert)| alert)
            .filter(|alert| states.contains(&alert.state.as_str()))
            .filter(|alert| model.is_none_or(|model| alert.model.name == model))
            .map(|alert| alert.id.clone())
            .collect()
    };
    let firing = ids(&["firing", "warning"], None);
    assert!(!firing.is_empty(), "the example leaves alerts firing");
    assert_eq!(alert_ids(&opened.store.firing_alerts().unwrap()), firing);
    let models: BTreeSet<&str> = latest.iter().map(|(_, a)| a.model.name.as_str()).collect();
    for model in models {
        let open = ids(&["pending", "firing", "warning"], Some(model));
        assert_eq!(alert_ids(&opened.store.open_alerts(model).unwrap()), open);
    }
}

/// (model, version, instance, metric).
type SeriesKey = (String, String, String, String);

fn model_summaries_agree_with_the_engines_end_state(backend: Backend) {
    let Some((opened, run)) = example_store(backend) else {
        return;
    };
    let store = &opened.store;
    let mut engine = Engine::new(Arc::new(default_config().unwrap()));
    for record in &run.records {
        engine.process(&record.input, &mut Vec::new());
    }
    let statuses = engine.status();

    // The latest point of every series, straight from the records.
    let mut expected_latest: BTreeMap<SeriesKey, (Timestamp, u64, f64)> = BTreeMap::new();
    for record in &run.records {
        if let Input::Event(event) = &record.input {
            let at = event.timestamp.unwrap();
            for (metric, value) in &event.metrics {
                let key = (
                    event.model.name.clone(),
                    event.model.version.clone(),
                    event.model.instance.clone(),
                    metric.clone(),
                );
                let entry = expected_latest
                    .entry(key)
                    .or_insert((at, record.seq, *value));
                if (at, record.seq) >= (entry.0, entry.1) {
                    *entry = (at, record.seq, *value);
                }
            }
        }
    }
    let expected_models: BTreeSet<String> =
        expected_latest.keys().map(|key| key.0.clone()).collect();

    // Model names, in pages of one.
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.model_names(after.as_deref(), 1).unwrap();
        names.extend(page.names);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(names, expected_models.iter().cloned().collect::<Vec<_>>());
    assert!(!names.is_empty());

    let mut got_latest = BTreeMap::new();
    let mut open_ids = BTreeSet::new();
    for name in &names {
        for latest in store.latest_points(name).unwrap() {
            let key = (
                latest.model.name.clone(),
                latest.model.version.clone(),
                latest.model.instance.clone(),
                latest.metric.clone(),
            );
            let point = latest.point;
            assert!(
                got_latest
                    .insert(key, (point.at, point.seq, point.value))
                    .is_none()
            );
        }
        for alert in store.open_alerts(name).unwrap() {
            assert_eq!(&alert.model.name, name);
            assert!(["pending", "firing", "warning"].contains(&alert.state.as_str()));
            assert!(open_ids.insert(alert.alert_id));
        }
    }
    assert_eq!(got_latest, expected_latest);
    assert!(store.latest_points("no-such-model").unwrap().is_empty());
    assert!(store.open_alerts("no-such-model").unwrap().is_empty());

    // The engine's status agrees: every rule's latest value, and its open alerts.
    for status in &statuses {
        let key = (
            status.model.name.clone(),
            status.model.version.clone(),
            status.model.instance.clone(),
            status.metric.clone(),
        );
        let (at, _, value) = got_latest[&key];
        assert_eq!((at, value), (status.last_at, status.last_value), "{key:?}");
    }
    let engine_open: BTreeSet<String> = statuses
        .iter()
        .filter(|status| {
            matches!(
                status.state,
                RuleState::Firing | RuleState::Pending | RuleState::Warning
            )
        })
        .filter_map(|status| status.alert_id.clone())
        .collect();
    assert!(!engine_open.is_empty());
    assert_eq!(open_ids, engine_open);
}
