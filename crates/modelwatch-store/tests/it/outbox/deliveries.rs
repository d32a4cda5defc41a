//! Notifications: the rows commits write, the attempts the notifiers report, and their reads.

use modelwatch_store::{
    DeliveryFilter, DeliveryResult, DeliveryState, EffectUpdate, Order, Page, delivery_id,
};

use super::{Harness, at, event};
use crate::backends::Backend;

on_each_backend!(
    an_alert_with_notifiers_becomes_one_pending_delivery_per_notifier,
    deliveries_page_in_stream_order_and_a_skipped_one_is_over,
    retention_deletes_notifications_that_ended_before_the_cutoff_and_keeps_pending_ones,
);

fn an_alert_with_notifiers_becomes_one_pending_delivery_per_notifier(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    h.commit(event("1", 0, 0.95), &["hook", "am"], Vec::new());
    let outputs = h.commit(event("1", 1, 0.5), &["hook", "am"], Vec::new());
    let alert_id = outputs[0].id().to_string();
    let hook = h.store().pending_deliveries("hook", 0, 10).unwrap();
    let am = h.store().pending_deliveries("am", 0, 10).unwrap();
    assert_eq!(hook.len(), 1);
    assert_eq!(am.len(), 1);
    assert_eq!(hook[0].id, delivery_id(&alert_id, "hook"));
    assert_ne!(hook[0].id, am[0].id);
    assert_eq!(hook[0].output_id, alert_id);
    assert_eq!(hook[0].seq, outputs[0].seq());
    assert_eq!(hook[0].created_at, at(1));
    assert_eq!(hook[0].state, DeliveryState::Pending);
    assert_eq!(
        (hook[0].attempts, hook[0].last_attempt_at, hook[0].done_at),
        (0, None, None)
    );
    assert_eq!(
        hook[0].output,
        serde_json::to_string(&outputs[0]).unwrap(),
        "the output's JSON"
    );
    let body: serde_json::Value = serde_json::from_str(&hook[0].output).unwrap();
    assert_eq!(body["state"], "firing");

    // A failed attempt keeps it pending and counts; success ends it; later reports change nothing.
    let id = hook[0].id.clone();
    h.effects(vec![EffectUpdate::Delivery {
        id: id.clone(),
        at: at(2),
        result: DeliveryResult::Failed {
            error: "HTTP 503".to_string(),
            give_up: false,
        },
    }]);
    let after_failure = h.store().pending_deliveries("hook", 0, 10).unwrap();
    assert_eq!(after_failure[0].attempts, 1);
    assert_eq!(after_failure[0].last_attempt_at, Some(at(2)));
    assert_eq!(after_failure[0].last_error.as_deref(), Some("HTTP 503"));
    h.effects(vec![
        EffectUpdate::Delivery {
            id: id.clone(),
            at: at(3),
            result: DeliveryResult::Delivered,
        },
        EffectUpdate::Delivery {
            id: id.clone(),
            at: at(4),
            result: DeliveryResult::Failed {
                error: "late".to_string(),
                give_up: true,
            },
        },
    ]);
    assert!(
        h.store()
            .pending_deliveries("hook", 0, 10)
            .unwrap()
            .is_empty()
    );
    let listed = h
        .store()
        .deliveries(
            &DeliveryFilter {
                notifier: Some("hook".to_string()),
                ..DeliveryFilter::default()
            },
            &Page::default(),
        )
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].state, DeliveryState::Delivered);
    assert_eq!(listed.items[0].attempts, 2);
    assert_eq!(listed.items[0].done_at, Some(at(3)));
    assert_eq!(listed.items[0].last_error.as_deref(), Some("HTTP 503"));

    // Giving up ends the other one.
    h.effects(vec![EffectUpdate::Delivery {
        id: am[0].id.clone(),
        at: at(5),
        result: DeliveryResult::Failed {
            error: "HTTP 400: bad request".to_string(),
            give_up: true,
        },
    }]);
    let given_up = h
        .store()
        .deliveries(
            &DeliveryFilter {
                state: Some(DeliveryState::GivenUp),
                ..DeliveryFilter::default()
            },
            &Page::default(),
        )
        .unwrap();
    assert_eq!(given_up.items.len(), 1);
    assert_eq!(given_up.items[0].notifier, "am");
    assert_eq!(given_up.items[0].done_at, Some(at(5)));
    let by_output = h
        .store()
        .deliveries(
            &DeliveryFilter {
                output_id: Some(alert_id.clone()),
                ..DeliveryFilter::default()
            },
            &Page::default(),
        )
        .unwrap();
    assert_eq!(by_output.items.len(), 2);
}

fn deliveries_page_in_stream_order_and_a_skipped_one_is_over(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    // Three transitions (firing, resolved, firing) told to one notifier.
    h.commit(event("1", 0, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 1, 0.5), &["hook"], Vec::new());
    h.commit(event("1", 2, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 3, 0.5), &["hook"], Vec::new());
    let pending = h.store().pending_deliveries("hook", 0, 10).unwrap();
    assert_eq!(pending.len(), 3);
    assert!(pending.windows(2).all(|pair| pair[0].pos < pair[1].pos));
    assert_eq!(
        h.store()
            .pending_deliveries("hook", pending[0].pos, 1)
            .unwrap(),
        [pending[1].clone()],
        "after a position, at most the limit"
    );
    assert!(
        h.store()
            .pending_deliveries("other", 0, 10)
            .unwrap()
            .is_empty()
    );
    // A skipped one is over without an attempt.
    h.effects(vec![EffectUpdate::Delivery {
        id: pending[1].id.clone(),
        at: at(9),
        result: DeliveryResult::Skipped,
    }]);
    let skipped = h
        .store()
        .deliveries(
            &DeliveryFilter {
                state: Some(DeliveryState::Skipped),
                ..DeliveryFilter::default()
            },
            &Page::default(),
        )
        .unwrap();
    assert_eq!(skipped.items.len(), 1);
    assert_eq!(
        (skipped.items[0].attempts, skipped.items[0].done_at),
        (0, Some(at(9)))
    );
    // Pages of one, both ways, with cursors.
    let mut page = Page {
        after: None,
        limit: 1,
        order: Order::OldestFirst,
    };
    let mut oldest_first = Vec::new();
    loop {
        let listing = h
            .store()
            .deliveries(&DeliveryFilter::default(), &page)
            .unwrap();
        oldest_first.extend(listing.items.into_iter().map(|delivery| delivery.id));
        match listing.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    let ids: Vec<String> = pending.iter().map(|delivery| delivery.id.clone()).collect();
    assert_eq!(oldest_first, ids);
    let newest = h
        .store()
        .deliveries(
            &DeliveryFilter::default(),
            &Page {
                after: Some(pending[2].pos),
                limit: 10,
                order: Order::NewestFirst,
            },
        )
        .unwrap();
    let newest: Vec<String> = newest.items.into_iter().map(|d| d.id).collect();
    assert_eq!(newest, [ids[1].clone(), ids[0].clone()]);
}

fn retention_deletes_notifications_that_ended_before_the_cutoff_and_keeps_pending_ones(
    backend: Backend,
) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    // Three transitions (firing, resolved, firing) told to one notifier, created at 1, 2, 3.
    h.commit(event("1", 0, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 1, 0.5), &["hook"], Vec::new());
    h.commit(event("1", 2, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 3, 0.5), &["hook"], Vec::new());
    let pending = h.store().pending_deliveries("hook", 0, 10).unwrap();
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
        h.store()
            .deliveries(&DeliveryFilter::default(), &Page::default())
            .unwrap()
            .items
            .into_iter()
            .rev()
            .map(|delivery| delivery.id)
            .collect()
    };
    let step = |deleted, done| modelwatch_store::Step { deleted, done };
    // A cutoff at 15: only the one that ended at 10 goes.
    let first = h.store_mut().delete_old_deliveries(at(15), 100).unwrap();
    assert_eq!(first, step(1, true));
    assert_eq!(left(&h), [pending[1].id.clone(), pending[2].id.clone()]);
    // Much later: the given-up one goes too, step by step; the pending one stays.
    let second = h.store_mut().delete_old_deliveries(at(1_000), 1).unwrap();
    assert_eq!(second, step(1, false));
    let third = h.store_mut().delete_old_deliveries(at(1_000), 1).unwrap();
    assert_eq!(third, step(0, true));
    assert_eq!(left(&h), [pending[2].id.clone()]);
    assert_eq!(
        h.store().pending_deliveries("hook", 0, 10).unwrap().len(),
        1
    );
}
