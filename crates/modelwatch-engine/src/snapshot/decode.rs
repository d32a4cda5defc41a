//! Decoding a snapshot: the header and checksum checked, then the engine's parts restored
//! from their state under the config in force, each mismatch refused with the reason.

use super::*;

fn restore_canaries(
    config: &Arc<Config>,
    stored: Vec<CanaryRuleState<'_>>,
) -> Result<CanaryTracker, SnapshotError> {
    let expected: Vec<String> = config.canaries.iter().map(canary_rule_key).collect();
    if !stored
        .iter()
        .map(|rule| &*rule.key)
        .eq(expected.iter().map(String::as_str))
    {
        return Err(SnapshotError::CanaryRules {
            snapshot: stored.iter().map(|rule| rule.key.to_string()).collect(),
            config: expected,
        });
    }
    let mut tracker = CanaryTracker::new(config.clone());
    for ((rule, state), stored) in config.canaries.iter().zip(&mut tracker.rules).zip(stored) {
        let capacity = usize::try_from(rule.window).unwrap_or(usize::MAX);
        let window = |values: Vec<f64>, what: &dyn Fn() -> String| {
            if values.len() > capacity {
                return Err(SnapshotError::Corrupt(format!(
                    "{} holds {} values; rule {} keeps {capacity}",
                    what(),
                    values.len(),
                    rule.name
                )));
            }
            Ok(Window {
                values: values.into(),
            })
        };
        state.models.reserve(stored.models.len());
        for model in stored.models {
            let name = model.name.into_owned();
            let baseline = window(model.baseline, &|| format!("the baseline window of {name}"))?;
            let mut windows = ModelWindows {
                baseline,
                candidates: HashMap::default(),
            };
            for candidate in model.candidates {
                let version = candidate.version.into_owned();
                let what = || format!("the window of candidate {name} {version}");
                if (candidate.window.len() as u64) > candidate.points
                    || (candidate.done && !candidate.window.is_empty())
                {
                    return Err(SnapshotError::Corrupt(format!(
                        "{} holds {} values after {} points{}",
                        what(),
                        candidate.window.len(),
                        candidate.points,
                        if candidate.done {
                            ", judging ended"
                        } else {
                            ""
                        }
                    )));
                }
                let restored = Candidate {
                    window: window(candidate.window, &what)?,
                    points: candidate.points,
                    last: candidate.last.map(|verdict| match verdict {
                        VerdictState::Pass => Verdict::Pass,
                        VerdictState::Fail => Verdict::Fail,
                    }),
                    done: candidate.done,
                };
                if windows.candidates.insert(version, restored).is_some() {
                    return Err(SnapshotError::Corrupt(format!(
                        "a candidate of {name} under rule {} is stored twice",
                        rule.name
                    )));
                }
            }
            if state.models.insert(name.clone(), windows).is_some() {
                return Err(SnapshotError::Corrupt(format!(
                    "the canary windows of {name} under rule {} are stored twice",
                    rule.name
                )));
            }
        }
    }
    Ok(tracker)
}

/// Decodes a snapshot and checks it against `config` (see the module docs).
pub(crate) fn decode(config: Arc<Config>, bytes: &[u8]) -> Result<Parts, SnapshotError> {
    let truncated = SnapshotError::Truncated { len: bytes.len() };
    match bytes.get(..SNAPSHOT_MAGIC.len()) {
        Some(magic) if magic == SNAPSHOT_MAGIC => {}
        // A prefix of the magic: the start of a snapshot, cut short.
        None if SNAPSHOT_MAGIC.starts_with(bytes) => return Err(truncated),
        _ => return Err(SnapshotError::BadMagic),
    }
    let Some((header, rest)) = bytes.split_at_checked(HEADER_LEN) else {
        return Err(truncated);
    };
    let format = header
        .get(SNAPSHOT_MAGIC.len()..)
        .and_then(|version| <[u8; 4]>::try_from(version).ok())
        .map_or(0, u32::from_le_bytes);
    if format != SNAPSHOT_FORMAT {
        return Err(SnapshotError::Format {
            found: format,
            supported: SNAPSHOT_FORMAT,
        });
    }
    let Some((body, digest)) = rest
        .len()
        .checked_sub(DIGEST_LEN)
        .and_then(|body_len| rest.split_at_checked(body_len))
    else {
        return Err(truncated);
    };
    if Sha256::digest(body).as_slice() != digest {
        return Err(SnapshotError::Checksum);
    }
    let (state, left) = postcard::take_from_bytes::<EngineState<'_>>(body).map_err(decode_error)?;
    if !left.is_empty() {
        return Err(SnapshotError::Corrupt(format!(
            "{} bytes after the state",
            left.len()
        )));
    }
    if state.next_seq == 0 {
        return Err(SnapshotError::Corrupt(
            "the next sequence number is 0; inputs are numbered from 1".to_string(),
        ));
    }
    let instances = restore_instances(&config, &state.rules, state.instances)?;
    let policy = restore_policy(&config, state.models)?;
    let canaries = restore_canaries(&config, state.canaries)?;
    let quality = state
        .quality
        .restore(config.clone())
        .map_err(SnapshotError::Corrupt)?;
    let drift_alerts = state
        .drift_alerts
        .restore(config.clone())
        .map_err(|message| {
            SnapshotError::Corrupt(format!("snapshot does not fit the config: {message}"))
        })?;
    Ok(Parts {
        evaluator: Evaluator {
            config,
            series: instances.values().map(HashMap::len).sum(),
            instances,
        },
        policy,
        canaries,
        quality,
        drift_alerts,
        next_seq: state.next_seq,
        clock: Timestamp::from_nanos(state.clock),
    })
}

fn decode_error(error: postcard::Error) -> SnapshotError {
    SnapshotError::Corrupt(match error {
        // postcard drops the message of a custom error: these come from values that do not
        // fit (a detector's checks, an unknown enum variant).
        postcard::Error::SerdeDeCustom => {
            "a value is out of range: an unknown variant, or a detector state that does not \
             fit its parameters"
                .to_string()
        }
        other => other.to_string(),
    })
}

fn restore_instances(
    config: &Config,
    rule_names: &[Cow<'_, str>],
    stored: Vec<InstanceState<'_>>,
) -> Result<HashMap<ModelId, HashMap<String, Series>>, SnapshotError> {
    let mut instances: HashMap<ModelId, HashMap<String, Series>> = HashMap::default();
    instances.reserve(stored.len());
    for instance in stored {
        let model = ModelId::new(instance.name, instance.version, instance.instance);
        let mut metrics: HashMap<String, Series> = HashMap::default();
        metrics.reserve(instance.series.len());
        for series in instance.series {
            let metric = series.metric.into_owned();
            let restored = restore_series(config, rule_names, &model, &metric, series.trackers)?;
            let series = Series {
                points: series.points,
                last_value: series.last_value,
                last_at: Timestamp::from_nanos(series.last_at),
                trackers: restored,
            };
            if metrics.insert(metric.clone(), series).is_some() {
                return Err(SnapshotError::Corrupt(format!(
                    "series {model} {metric} is stored twice"
                )));
            }
        }
        if instances.contains_key(&model) {
            return Err(SnapshotError::Corrupt(format!(
                "model instance {model} is stored twice"
            )));
        }
        instances.insert(model, metrics);
    }
    Ok(instances)
}

fn restore_series(
    config: &Config,
    rule_names: &[Cow<'_, str>],
    model: &ModelId,
    metric: &str,
    stored: Vec<TrackerState<'_>>,
) -> Result<Vec<RuleTracker>, SnapshotError> {
    let label = || format!("{model} {metric}");
    for tracker in &stored {
        let index = tracker.rule;
        let Some(rule) = config.rules.get(index) else {
            return Err(SnapshotError::RuleOutOfRange {
                series: label(),
                index,
                rules: config.rules.len(),
            });
        };
        let Some(then) = rule_names.get(index) else {
            return Err(SnapshotError::Corrupt(format!(
                "series {} names rule index {index}; the snapshot lists {} rules",
                label(),
                rule_names.len()
            )));
        };
        if **then != *rule.name {
            return Err(SnapshotError::RuleRenamed {
                index,
                snapshot: then.to_string(),
                config: rule.name.to_string(),
            });
        }
    }
    let expected = config.rules_for(model, metric);
    if !stored
        .iter()
        .map(|tracker| tracker.rule)
        .eq(expected.iter().copied())
    {
        let names = |indices: &mut dyn Iterator<Item = usize>| -> Vec<String> {
            indices
                .filter_map(|index| config.rules.get(index))
                .map(|rule| rule.name.to_string())
                .collect()
        };
        return Err(SnapshotError::RulesDiffer {
            series: label(),
            snapshot: names(&mut stored.iter().map(|tracker| tracker.rule)),
            config: names(&mut expected.into_iter()),
        });
    }
    let mut trackers = Vec::with_capacity(stored.len());
    for tracker in stored {
        let Some(rule) = config.rules.get(tracker.rule) else {
            return Err(SnapshotError::Corrupt("a rule index moved".to_string()));
        };
        let detector = tracker.detector.into_owned();
        if detector.kind() != rule.detector.kind() {
            return Err(SnapshotError::DetectorKind {
                rule: rule.name.to_string(),
                series: label(),
                snapshot: detector.kind(),
                config: rule.detector.kind(),
            });
        }
        // What `Series::new` builds: an unseeded kswin takes the series' own seed.
        let expected = if rule.detector.uses_random_seed() {
            rule.detector
                .with_seed(series_seed(&rule.name, model, metric))
        } else {
            rule.detector.clone()
        };
        if detector.spec() != expected {
            return Err(SnapshotError::DetectorParams {
                rule: rule.name.to_string(),
                series: label(),
                kind: detector.kind(),
            });
        }
        trackers.push(RuleTracker {
            rule: tracker.rule,
            detector,
            condition: rule.detector.condition().copied(),
            phase: match tracker.phase {
                PhaseState::Quiet => Phase::Quiet,
                PhaseState::Pending => Phase::Pending,
                PhaseState::Firing => Phase::Firing,
                PhaseState::Warning => Phase::Warning,
            },
            ready: tracker.ready,
            held: tracker.held,
            alert_id: tracker.alert_id.map(Cow::into_owned),
            last_statistic: tracker.last_statistic,
        });
    }
    Ok(trackers)
}

fn restore_policy(
    config: &Config,
    stored: Vec<ModelState<'_>>,
) -> Result<RetrainPolicy, SnapshotError> {
    let mut policy = RetrainPolicy::new(config.retrain.clone());
    policy.models.reserve(stored.len());
    // The config's own names, so that restored requests share them as live ones do.
    let rule_name = |name: Cow<'_, str>| -> Arc<str> {
        config
            .rules
            .iter()
            .find(|rule| *rule.name == *name)
            .map_or_else(|| Arc::from(name.as_ref()), |rule| rule.name.clone())
    };
    let asker = |(alert_id, rule): Asker<'_>| (alert_id.into_owned(), rule_name(rule));
    for model in stored {
        let name = model.name.into_owned();
        let deferred = model.deferred.map(|deferred| Deferred {
            until: Timestamp::from_nanos(deferred.until),
            alerts: deferred.alerts.into_iter().map(asker).collect(),
            change: deferred.change.map(asker),
        });
        policy.deferred_count += usize::from(deferred.is_some());
        let state = ModelRetrain {
            clock: Timestamp::from_nanos(model.clock),
            cooldown_secs: config.retrain.cooldown_for(&name),
            outstanding: model.outstanding.map(Cow::into_owned),
            last_granted: model.last_granted.map(Timestamp::from_nanos),
            deferred,
            decisions: model.decisions,
        };
        if policy.models.contains_key(&name) {
            return Err(SnapshotError::Corrupt(format!(
                "the retrain state of model {name} is stored twice"
            )));
        }
        policy.models.insert(name, state);
    }
    Ok(policy)
}
