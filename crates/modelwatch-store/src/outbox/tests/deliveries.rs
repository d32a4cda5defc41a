//! Notifications on SQLite: the deletion of those that are over. (What commits write and the
//! attempts the notifiers report are tested on every backend in `tests/it/outbox`.)

use super::*;
use crate::Page;

#[test]
fn retention_deletes_notifications_that_ended_before_the_cutoff_and_keeps_pending_ones() {
    let mut h = Harness::new();
    // Three transitions (firing, resolved, firing) told to one notifier, created at 1, 2, 3.
    h.commit(event("1", 0, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 1, 0.5), &["hook"], Vec::new());
    h.commit(event("1", 2, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 3, 0.5), &["hook"], Vec::new());
    let pending = h.store.pending_deliveries("hook", 0, 10).unwrap();
    assert_eq!(pending.len(), 3);
    // The first delivered at 10, the second given up at 20; the third is still pending.
    h.effects(vec![
        EffectUpdate::Delivery {
            id: pending[0].id.clone(),
            at: at(10),
            result: DeliveryResult::Delivered,
        },
        EffectUpdate::Delivery {
            id: pending[1].id.clone(),
            at: at(20),
            result: DeliveryResult::Failed {
                error: "HTTP 410".to_string(),
                give_up: true,
            },
        },
    ]);
    let left = |h: &Harness| -> Vec<String> {
        h.store
            .deliveries(&DeliveryFilter::default(), &Page::default())
            .unwrap()
            .items
            .into_iter()
            .rev()
            .map(|delivery| delivery.id)
            .collect()
    };
    // A cutoff at 15: only the one that ended at 10 goes.
    let step = h.store.delete_old_deliveries(at(15), 100).unwrap();
    assert_eq!(
        step,
        crate::Step {
            deleted: 1,
            done: true
        }
    );
    assert_eq!(left(&h), [pending[1].id.clone(), pending[2].id.clone()]);
    // Much later: the given-up one goes too, step by step; the pending one stays.
    let first = h.store.delete_old_deliveries(at(1_000), 1).unwrap();
    assert_eq!(
        first,
        crate::Step {
            deleted: 1,
            done: false
        }
    );
    let second = h.store.delete_old_deliveries(at(1_000), 1).unwrap();
    assert_eq!(
        second,
        crate::Step {
            deleted: 0,
            done: true
        }
    );
    assert_eq!(left(&h), [pending[2].id.clone()]);
    assert_eq!(h.store.pending_deliveries("hook", 0, 10).unwrap().len(), 1);
}
