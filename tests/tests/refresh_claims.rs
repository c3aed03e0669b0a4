//! Refresh claims: processes sharing one database (PostgreSQL replicas, or two portals on one SQLite file)
//! never process the same root at once, and periodic refreshes divide the roots between them.

use std::sync::Arc;
use std::time::Duration;

use stagedoor_core::store::{PgOptions, PostgresStore, SqliteStore, Store};
use stagedoor_tests::pg::TestDatabase;
use stagedoor_tests::stores::fresh_stores;

const LEASE: Duration = Duration::from_secs(60);
const ORIGIN: &str = "file:/catalog/all.yaml";

#[tokio::test]
async fn a_claim_is_exclusive_until_released_and_periodic_claims_wait_for_the_interval() {
    for t in fresh_stores().await {
        let (name, store) = (&t.name, &t.store);
        assert!(
            store.claim_origin(ORIGIN, "a", LEASE, false).await.unwrap(),
            "{name}"
        );
        // Neither a forced nor a periodic claim by another holder gets a live claim.
        assert!(
            !store.claim_origin(ORIGIN, "b", LEASE, false).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.claim_origin(ORIGIN, "b", LEASE, true).await.unwrap(),
            "{name}"
        );
        // Another origin is free.
        assert!(
            store
                .claim_origin("file:/other", "b", LEASE, true)
                .await
                .unwrap(),
            "{name}"
        );

        // Released with the next refresh an hour away: a periodic claim waits, a requested one proceeds.
        store
            .release_origin(ORIGIN, "a", Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(
            !store.claim_origin(ORIGIN, "b", LEASE, true).await.unwrap(),
            "{name}"
        );
        assert!(
            store.claim_origin(ORIGIN, "b", LEASE, false).await.unwrap(),
            "{name}"
        );
        // A release by someone who does not hold the claim changes nothing.
        store
            .release_origin(ORIGIN, "a", Duration::ZERO)
            .await
            .unwrap();
        assert!(
            !store.claim_origin(ORIGIN, "a", LEASE, false).await.unwrap(),
            "{name}"
        );

        // Due at once after this release: a periodic claim gets it.
        store
            .release_origin(ORIGIN, "b", Duration::ZERO)
            .await
            .unwrap();
        assert!(
            store.claim_origin(ORIGIN, "a", LEASE, true).await.unwrap(),
            "{name}"
        );

        // A lease that ran out (its holder died) can be taken over.
        store
            .release_origin(ORIGIN, "a", Duration::ZERO)
            .await
            .unwrap();
        assert!(store
            .claim_origin(ORIGIN, "dead", Duration::ZERO, false)
            .await
            .unwrap());
        assert!(
            store.claim_origin(ORIGIN, "b", LEASE, true).await.unwrap(),
            "{name}"
        );
    }
}

/// Many claimers on two stores sharing one database race for one origin, over and over: each round exactly one
/// wins, whichever store it is on.
async fn race(name: &str, a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let mut wins_by_store = [0usize; 2];
    for round in 0..20 {
        let origin = format!("file:/race/{round}");
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let origin = origin.clone();
            tasks.push(tokio::spawn(async move {
                let won = store
                    .claim_origin(&origin, &format!("holder-{i}"), LEASE, true)
                    .await
                    .unwrap();
                (i % 2, won)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (side, won) = task.await.unwrap();
            if won {
                winners.push(side);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{name}: round {round} winners {winners:?}"
        );
        wins_by_store[winners[0]] += 1;
    }
    assert_eq!(wins_by_store.iter().sum::<usize>(), 20, "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_sqlite_file_never_both_claim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.sqlite");
    let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    race("sqlite-file", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_postgres_database_never_both_claim() {
    let Some(db) = TestDatabase::create("the refresh claim race") else {
        return;
    };
    let a: Arc<dyn Store> =
        Arc::new(PostgresStore::connect(&PgOptions::new(db.url.clone())).unwrap());
    let b: Arc<dyn Store> =
        Arc::new(PostgresStore::connect(&PgOptions::new(db.url.clone())).unwrap());
    race("postgres", a, b).await;
}
