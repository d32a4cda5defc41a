//! Unit tests for `adwin`: the optimised port against a literal, unoptimised transcription of
//! River 0.26.1's algorithm (as specified in the reference notes), bit for bit, on streams built
//! to stress every shortcut: batching, ring buffers, the division-free pre-test and the clock.

use super::*;

/// River's ADWIN written out directly: one `Vec` per row, shifting on removal, River's
/// `evaluate_cut` on every split, insert and compress after every point. Trailing empty rows are
/// dropped (River would panic on them with `max_buckets = 1`).
struct LiteralAdwin {
    delta: f64,
    clock: i32,
    max_buckets: usize,
    min_window_length: f64,
    grace_period: f64,
    rows: Vec<Vec<(f64, f64)>>,
    total: f64,
    variance: f64,
    width: f64,
    tick: i32,
    drift_detected: bool,
}

impl LiteralAdwin {
    fn new(params: AdwinParams) -> LiteralAdwin {
        LiteralAdwin {
            delta: params.delta,
            clock: params.clock as i32,
            max_buckets: params.max_buckets as usize,
            min_window_length: f64::from(params.min_window_length),
            grace_period: f64::from(params.grace_period),
            rows: vec![Vec::new()],
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            drift_detected: false,
        }
    }

    fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            let params = AdwinParams {
                delta: self.delta,
                clock: self.clock as u32,
                max_buckets: self.max_buckets as u32,
                min_window_length: self.min_window_length as u32,
                grace_period: self.grace_period as u32,
            };
            *self = LiteralAdwin::new(params);
        }
        self.rows[0].push((x, 0.0));
        self.width += 1.0;
        let mut incremental_variance = 0.0;
        if self.width > 1.0 {
            let deviation = x - self.total / (self.width - 1.0);
            incremental_variance = (self.width - 1.0) * deviation * deviation / self.width;
        }
        self.variance += incremental_variance;
        self.total += x;
        let mut row = 0;
        while self.rows[row].len() == self.max_buckets + 1 {
            let size = (1u64 << row) as f64;
            let (total0, variance0) = self.rows[row][0];
            let (total1, variance1) = self.rows[row][1];
            let mean0 = total0 / size;
            let mean1 = total1 / size;
            let merged = (
                total0 + total1,
                variance0 + variance1 + size * 0.5 * (mean0 - mean1) * (mean0 - mean1),
            );
            if row + 1 == self.rows.len() {
                self.rows.push(Vec::new());
            }
            self.rows[row + 1].push(merged);
            self.rows[row].drain(..2);
            if self.rows[row + 1].len() <= self.max_buckets {
                break;
            }
            row += 1;
        }
        self.tick = self.tick.wrapping_add(1);
        let mut change = false;
        if self.tick % self.clock == 0 && self.width > self.grace_period {
            while self.cut_once() {
                change = true;
            }
        }
        self.drift_detected = change;
        change
    }

    /// One scan; deletes the oldest bucket and returns true at the first cut.
    fn cut_once(&mut self) -> bool {
        let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
        let mwl = self.min_window_length;
        for row in (0..self.rows.len()).rev() {
            let size = (1u64 << row) as f64;
            for k in 0..self.rows[row].len() {
                n0 += size;
                n1 -= size;
                u0 += self.rows[row][k].0;
                u1 -= self.rows[row][k].0;
                if row == 0 && k == self.rows[row].len() - 1 {
                    return false;
                }
                let delta_mean = u0 / n0 - u1 / n1;
                if n1 >= mwl && n0 >= mwl {
                    let delta_prime = (2.0 * self.width.ln() / self.delta).ln();
                    let m = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0);
                    let epsilon = (2.0 * m * (self.variance / self.width) * delta_prime).sqrt()
                        + 2.0 / 3.0 * delta_prime * m;
                    if delta_mean.abs() > epsilon {
                        self.delete_oldest();
                        return true;
                    }
                }
            }
        }
        false
    }

    fn delete_oldest(&mut self) {
        let last = self.rows.len() - 1;
        let size = (1u64 << last) as f64;
        let (bucket_total, bucket_variance) = self.rows[last].remove(0);
        let bucket_mean = bucket_total / size;
        self.width -= size;
        self.total -= bucket_total;
        let window_mean = self.total / self.width;
        self.variance -= bucket_variance
            + size * self.width * (bucket_mean - window_mean) * (bucket_mean - window_mean)
                / (size + self.width);
        while self.rows.len() > 1 && self.rows.last().is_some_and(Vec::is_empty) {
            self.rows.pop();
        }
    }
}

/// A small deterministic generator for test streams.
struct TestRng(u64);

impl TestRng {
    fn next_unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        (self.next_unit() * n as f64) as u64
    }
}

/// Streams that exercise shortcuts: abrupt and gradual shifts, a large offset with tiny noise
/// (cancellation), ties, spikes, negative values, slow trends and exact constants.
fn stress_stream(rng: &mut TestRng, shape: u64, len: usize) -> Vec<f64> {
    let mut level = 0.0;
    (0..len)
        .map(|index| {
            let noise = rng.next_unit() - 0.5;
            if index % 300 == 0 {
                level = (rng.next_unit() - 0.5) * 4.0;
            }
            match shape {
                0 => level + noise,
                1 => 1e6 + level * 1e-6 + noise * 1e-7,
                2 => (rng.below(3) as f64) + if index > len / 2 { 1.0 } else { 0.0 },
                3 => {
                    if rng.below(50) == 0 {
                        -1e4
                    } else {
                        noise
                    }
                }
                4 => index as f64 * 1e-3 + noise,
                5 => 0.75,
                _ => -3.0 * level + noise * 1e3,
            }
        })
        .collect()
}

#[test]
fn matches_a_literal_port_of_river_bit_for_bit() {
    let mut rng = TestRng(2026);
    let mut n_drifts = 0;
    for case in 0..120 {
        let params = AdwinParams {
            delta: [0.002, 0.1, 0.5, 1e-5][case % 4],
            clock: [32, 1, 5, 7, 64][case % 5],
            max_buckets: [5, 1, 2, 3, 8][(case / 5) % 5],
            min_window_length: [5, 1, 2, 10][(case / 3) % 4],
            grace_period: [10, 0, 3, 50][(case / 7) % 4],
        };
        let stream = stress_stream(&mut rng, (case % 7) as u64, 1500);
        let mut fast = Adwin::new(params);
        let mut literal = LiteralAdwin::new(params);
        for (index, &x) in stream.iter().enumerate() {
            let expected = literal.update(x);
            assert_eq!(
                fast.update(x),
                expected,
                "case {case} {params:?}: drift at {index}"
            );
            n_drifts += usize::from(expected);
            assert_eq!(fast.width, literal.width, "case {case}: width at {index}");
            assert_eq!(
                fast.total.to_bits(),
                literal.total.to_bits(),
                "case {case}: total at {index}"
            );
            assert_eq!(
                fast.variance().to_bits(),
                literal.variance.to_bits(),
                "case {case}: variance at {index}"
            );
        }
    }
    assert!(
        n_drifts > 100,
        "the stress streams must make ADWIN cut often, got {n_drifts}"
    );
}

#[test]
fn tick_wraps_like_river_i32() {
    let mut adwin = Adwin::new(AdwinParams {
        clock: 3,
        ..AdwinParams::default()
    });
    adwin.tick = i32::MAX - 1;
    adwin.tick_phase = (i32::MAX - 1).rem_euclid(3);
    // i32::MAX is not a multiple of 3; i32::MIN = -2^31 is not either, but -2^31 + 2 is.
    let phases: Vec<i32> = (0..4)
        .map(|_| {
            adwin.update(0.0);
            adwin.tick_phase
        })
        .collect();
    let expected: Vec<i32> = [i32::MAX, i32::MIN, i32::MIN + 1, i32::MIN + 2]
        .iter()
        .map(|tick| tick.rem_euclid(3))
        .collect();
    assert_eq!(phases, expected);
}

#[test]
fn explain_reports_the_first_cut_on_drift() {
    let mut adwin = Adwin::new(AdwinParams {
        clock: 1,
        ..AdwinParams::default()
    });
    for _ in 0..1000 {
        adwin.update(0.0);
    }
    let mut drifted = false;
    for _ in 0..100 {
        if adwin.update(10.0) {
            drifted = true;
            break;
        }
    }
    assert!(drifted);
    let explanation = adwin.explain();
    assert_eq!(explanation.statistic, "mean_difference");
    let bound = explanation.bound.unwrap();
    assert!(explanation.value > bound, "{explanation:?}");
    assert!(
        explanation.n_seen > adwin.width(),
        "n_seen is the width before the cut"
    );
    assert_eq!(explanation.n_needed, 11);
    adwin.update(10.0);
    let explanation = adwin.explain();
    assert_eq!(
        (explanation.statistic, explanation.value, explanation.bound),
        ("mean", 10.0, None)
    );
    assert_eq!(explanation.n_seen, 1);
}

#[test]
fn reset_keeps_storage_but_forgets_everything() {
    let mut adwin = Adwin::new(AdwinParams::default());
    for index in 0..5000 {
        adwin.update(f64::from(index % 7));
    }
    let allocated_rows = adwin.rows.n_allocated_rows();
    adwin.reset();
    assert_eq!(
        (adwin.width(), adwin.total(), adwin.variance()),
        (0, 0.0, 0.0)
    );
    assert_eq!(adwin.rows.n_allocated_rows(), allocated_rows);
    let mut fresh = Adwin::new(AdwinParams::default());
    for index in 0..3000 {
        let x = f64::from(index % 5);
        assert_eq!(adwin.update(x), fresh.update(x));
        assert_eq!(adwin.variance().to_bits(), fresh.variance().to_bits());
    }
}

#[test]
fn signals_not_ready_within_the_grace_period() {
    let mut adwin = Adwin::new(AdwinParams {
        grace_period: 3,
        ..AdwinParams::default()
    });
    let signals: Vec<Signal> = (0..5).map(|_| adwin.update_signal(1.0)).collect();
    assert_eq!(
        signals,
        [
            Signal::NotReady,
            Signal::NotReady,
            Signal::NotReady,
            Signal::Stable,
            Signal::Stable
        ]
    );
}
