//! Scratch probe (not committed): latency of store calls on PostgreSQL.
use stagedoor_core::store::{PgOptions, PostgresStore, Store};
use stagedoor_core::EntityRef;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let url = std::env::args().nth(1).unwrap();
    let store = PostgresStore::connect(&PgOptions::new(url)).unwrap();
    let r = EntityRef::parse("group:default/engineering").unwrap();
    for _ in 0..50 {
        store.entity_by_ref(&r).await.unwrap();
    }
    let t = Instant::now();
    for _ in 0..500 {
        store.entity_by_ref(&r).await.unwrap();
    }
    println!("entity_by_ref: {:?}", t.elapsed() / 500);
    let t = Instant::now();
    for _ in 0..500 {
        store.entity_count().await.unwrap();
    }
    println!("entity_count: {:?}", t.elapsed() / 500);
}
