//! Commit records of requests spanning partitions, on PostgreSQL: the first decision wins,
//! and a record is forgotten only once nobody can ask for it again.

use modelwatch_store::Batch;
use modelwatch_store::pg::{Decision, RequestAttempt};

use crate::backends::Backend;

fn attempt(request: &str, attempt: u32) -> RequestAttempt {
    RequestAttempt {
        request: request.to_string(),
        attempt,
    }
}

/// Whoever decides first decides for everyone: a late abort reads the commit, a late
/// commit reads the abort.
#[test]
fn the_first_decision_of_a_request_wins() {
    let Some(opened) = Backend::Postgres.open() else {
        return;
    };
    let pg = opened.store.postgres().unwrap();
    let committed = attempt("r1", 0);
    assert_eq!(
        pg.decide_request(&committed, Decision::Commit, &[(0, 4), (3, 5)])
            .unwrap(),
        Decision::Commit
    );
    assert_eq!(
        pg.decide_request(&committed, Decision::Abort, &[]).unwrap(),
        Decision::Commit
    );
    let abandoned = attempt("r2", 0);
    assert_eq!(
        pg.decide_request(&abandoned, Decision::Abort, &[]).unwrap(),
        Decision::Abort
    );
    assert_eq!(
        pg.decide_request(&abandoned, Decision::Commit, &[(1, 9)])
            .unwrap(),
        Decision::Abort
    );
    // Another connection sees the same.
    let other = opened.reopen();
    let asked = [attempt("r1", 0), attempt("r2", 0), attempt("r3", 0)];
    let mut found = other.postgres().unwrap().request_decisions(&asked).unwrap();
    found.sort();
    assert_eq!(
        found,
        vec![
            (attempt("r1", 0), Decision::Commit),
            (attempt("r2", 0), Decision::Abort)
        ]
    );
    // The last attempt of a request retried after an abandoned one.
    assert_eq!(pg.last_request_attempt("r3").unwrap(), None);
    assert_eq!(
        pg.decide_request(&attempt("r2", 1), Decision::Commit, &[(1, 10)])
            .unwrap(),
        Decision::Commit
    );
    assert_eq!(
        pg.last_request_attempt("r2").unwrap(),
        Some((1, Decision::Commit))
    );
}

/// A committed request's record stays until every partition it names committed past its
/// part; an abandoned one stays for a day.
#[test]
fn a_commit_record_is_forgotten_once_its_partitions_passed_it() {
    let Some(mut opened) = Backend::Postgres.open() else {
        return;
    };
    let here = attempt("here", 0);
    let spanning = attempt("spanning", 0);
    let abandoned = attempt("abandoned", 0);
    {
        let pg = opened.store.postgres().unwrap();
        pg.decide_request(&here, Decision::Commit, &[(0, 7)])
            .unwrap();
        // Partition 5 never committed anything.
        pg.decide_request(&spanning, Decision::Commit, &[(0, 7), (5, 8)])
            .unwrap();
        pg.decide_request(&abandoned, Decision::Abort, &[]).unwrap();
        assert_eq!(pg.forget_decided_requests().unwrap(), 0);
    }
    // Partition 0 (this store's) commits through sequence 6, then 7.
    for log_seq in [6, 7] {
        let moved = Batch {
            log_seq: Some(log_seq),
            ..Batch::new()
        };
        opened.store.commit(&moved).unwrap();
    }
    let pg = opened.store.postgres().unwrap();
    assert_eq!(pg.forget_decided_requests().unwrap(), 1);
    let mut left = pg
        .request_decisions(&[here.clone(), spanning.clone(), abandoned.clone()])
        .unwrap();
    left.sort();
    assert_eq!(
        left,
        vec![(abandoned, Decision::Abort), (spanning, Decision::Commit)]
    );
}
