//! The cluster's membership on PostgreSQL (`pg::Leases`): a partition's live owner and the
//! address its heartbeat recorded, as a node forwarding a request looks it up.

use modelwatch_store::StoreLocation;
use modelwatch_store::pg::{Leases, PartitionOwner};

use crate::backends::Backend;

#[test]
fn the_owner_of_a_partition_is_the_holder_of_its_live_lease_with_its_address() {
    let Some(opened) = Backend::Postgres.open() else {
        return;
    };
    let StoreLocation::Postgres(url) = &opened.location else {
        panic!("a PostgreSQL store");
    };
    let mut leases = Leases::open(url).unwrap();
    let ttl_ms = 60_000;
    assert_eq!(leases.owner(0).unwrap(), None, "never taken");
    leases
        .heartbeat("a", Some("http://127.0.0.1:8780"), ttl_ms)
        .unwrap();
    leases.heartbeat("b", None, ttl_ms).unwrap();
    let lease = leases.acquire(0, "a", ttl_ms).unwrap().unwrap();
    leases.acquire(1, "b", ttl_ms).unwrap().unwrap();
    assert_eq!(
        leases.owner(0).unwrap(),
        Some(PartitionOwner {
            node: "a".to_string(),
            address: Some("http://127.0.0.1:8780".to_string()),
        })
    );
    assert_eq!(
        leases.owner(1).unwrap(),
        Some(PartitionOwner {
            node: "b".to_string(),
            address: None,
        }),
        "a node that advertises nothing"
    );
    // A later heartbeat records the address it gives.
    leases
        .heartbeat("a", Some("http://node-a:8780"), ttl_ms)
        .unwrap();
    let owner = leases.owner(0).unwrap().unwrap();
    assert_eq!(owner.address.as_deref(), Some("http://node-a:8780"));
    // A released lease has no owner; nor does the lease of a node that left, once it expired.
    leases.release(lease, "a").unwrap();
    assert_eq!(leases.owner(0).unwrap(), None);
    leases.leave("b").unwrap();
    let owner = leases.owner(1).unwrap().unwrap();
    assert_eq!(
        (owner.node.as_str(), owner.address),
        ("b", None),
        "the lease still runs: its node's address is gone with its row"
    );
}
