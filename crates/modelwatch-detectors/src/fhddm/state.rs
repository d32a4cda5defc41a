//! FHDDM's serialized state (feature `serde`): what a snapshot holds, checked before it
//! becomes a detector again.

use super::*;

/// What a serialized [`Fhddm`] holds (the serialized fields, in order), checked before it
/// becomes one.
#[derive(serde::Deserialize)]
pub(super) struct FhddmState {
    params: FhddmParams,
    window: Vec<f64>,
    next: usize,
    len: usize,
    full: bool,
    counting: bool,
    ones: u32,
    short_ones: u32,
    test: CountTest,
    short_test: CountTest,
    n_one: f64,
    extreme: f64,
    short_extreme: f64,
    short_others: u32,
    statistic: f64,
    short_statistic: f64,
    drift_detected: bool,
}

impl TryFrom<FhddmState> for Fhddm {
    type Error = String;

    /// Refuses a window of another size, positions out of range, and counts of 1s (and of
    /// other values) that disagree with the window; recomputes what `params` determine.
    fn try_from(state: FhddmState) -> Result<Fhddm, String> {
        // As `new` treats it; the bound keeps a corrupt size from allocating without limit.
        let size = state.params.sliding_window_size.max(1);
        if size > MAX_SLIDING_WINDOW_SIZE {
            return Err(format!("fhddm: sliding_window_size {size} out of range"));
        }
        let mut fhddm = Fhddm::new(state.params);
        if state.window.len() != size || state.next >= size || state.len >= size {
            return Err(format!(
                "fhddm: a window of {} points (next {}, holding {}) does not fit a window of {size}",
                state.window.len(),
                state.next,
                state.len
            ));
        }
        // The `n` slots before `next`, newest first.
        let window = &state.window;
        let latest = |n: usize| (1..=n).map(move |back| window[(state.next + size - back) % size]);
        let count = |n: usize, what: fn(f64) -> bool| latest(n).filter(|&x| what(x)).count();
        let counts_agree = (!state.counting
            || count(state.len, |x| x == 1.0) == state.ones as usize)
            && (fhddm.short == 0
                || (count(fhddm.short, |x| x == 1.0) == state.short_ones as usize
                    && count(fhddm.short, is_other) == state.short_others as usize));
        if !counts_agree {
            return Err("fhddm: the counts of 1s disagree with the window".to_string());
        }
        fhddm.window = state.window;
        fhddm.next = state.next;
        fhddm.len = state.len;
        fhddm.full = state.full;
        fhddm.counting = state.counting;
        fhddm.ones = state.ones;
        fhddm.short_ones = state.short_ones;
        fhddm.test = state.test;
        fhddm.short_test = state.short_test;
        fhddm.n_one = state.n_one;
        fhddm.extreme = state.extreme;
        fhddm.short_extreme = state.short_extreme;
        fhddm.short_others = state.short_others;
        fhddm.statistic = state.statistic;
        fhddm.short_statistic = state.short_statistic;
        fhddm.drift_detected = state.drift_detected;
        Ok(fhddm)
    }
}
