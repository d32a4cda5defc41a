//! On PostgreSQL only: the outbox rows a partition's commits write carry that partition, the
//! store of any partition lists them, the effects of a partition (its fenced store) work from
//! its own only, and a store whose lease moved on changes no version.

use modelwatch_store::pg::Fence;
use modelwatch_store::{
    DeliveryFilter, JobFilter, Page, RegistryError, Store, StoreError, StoreLocation,
    VersionChange, VersionStatus,
};

use super::{Harness, at, event};
use crate::backends::Backend;

#[test]
fn outbox_rows_carry_their_partition_and_every_partition_reads_them_on_postgres() {
    let Some(mut h) = Harness::new(Backend::Postgres) else {
        return;
    };
    let StoreLocation::Postgres(url) = h.db.location.clone() else {
        panic!("{:?}", h.db.location)
    };
    // The harness writes partition 2 (under no lease: epoch 0 is the stored one).
    h.db.store = Store::open_at(&StoreLocation::PostgresPartition {
        url: url.clone(),
        partition: 2,
        epoch: 0,
    })
    .unwrap();
    h.commit(event("1.0", 0, 0.95), &["hook"], Vec::new());
    h.commit(event("1.0", 1, 0.5), &["hook"], Vec::new());
    let job = h.only_job();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for table in ["deliveries", "jobs"] {
        let partitions: Vec<i32> = client
            .query(&format!("SELECT DISTINCT partition FROM {table}"), &[])
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(partitions, [2], "{table}");
    }
    // Partition 0's store sees them.
    let reader = h.db.reopen();
    assert_eq!(reader.job(&job.id).unwrap(), Some(job));
    let deliveries = reader
        .deliveries(&DeliveryFilter::default(), &Page::default())
        .unwrap();
    assert_eq!(deliveries.items.len(), 1);
    assert_eq!(
        reader
            .jobs(&JobFilter::default(), &Page::default())
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(reader.model_versions("fraud").unwrap().len(), 1);
    // The effects of a partition (a fenced store) work from its own rows only.
    assert_eq!(
        h.db.store.pending_deliveries("hook", 0, 10).unwrap().len(),
        1
    );
    assert_eq!(h.db.store.open_jobs().unwrap().len(), 1);
    let other = Store::open_at(&StoreLocation::PostgresPartition {
        url: url.clone(),
        partition: 3,
        epoch: 0,
    })
    .unwrap();
    assert!(other.pending_deliveries("hook", 0, 10).unwrap().is_empty());
    assert!(other.open_jobs().unwrap().is_empty());
    assert_eq!(reader.pending_deliveries("hook", 0, 10).unwrap().len(), 1);
}

#[test]
fn a_fenced_out_store_changes_no_version_on_postgres() {
    let Some(mut h) = Harness::new(Backend::Postgres) else {
        return;
    };
    h.commit(event("1", 0, 0.95), &[], Vec::new());
    h.commit(event("2", 1, 0.95), &[], Vec::new());
    let audit_rows = |h: &Harness| h.store().audit(None, &Page::default()).unwrap().items;
    let before = (h.store().model_versions("fraud").unwrap(), audit_rows(&h));
    let pg = h.store_mut().postgres_mut().unwrap();
    pg.fence(Fence { epoch: 3 });
    let error = h
        .store_mut()
        .change_version("fraud", "2", VersionChange::Promote, at(2), "api")
        .unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::Store(StoreError::Fenced {
                partition: 0,
                ours: 3,
                stored: 0
            })
        ),
        "{error}"
    );
    let after = (h.store().model_versions("fraud").unwrap(), audit_rows(&h));
    assert_eq!(after, before);
    assert_eq!(before.0[1].status, VersionStatus::Candidate);
}
