//! PostgreSQL for tests: a fresh database per test on the server `STAGEDOOR_TEST_POSTGRES` names, dropped
//! when the test ends. Without the variable, tests say they were skipped and pass.

use stagedoor_core::store::scratch::ScratchDatabase;

/// The variable holding the server's URL, e.g. `postgres://postgres@127.0.0.1:5432/test`.
pub const ENV: &str = "STAGEDOOR_TEST_POSTGRES";

/// The configured server URL, or `None` after printing that `test` was skipped.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!("skipped {test} on PostgreSQL: {ENV} is not set");
            None
        }
    }
}

/// A database created for one test and dropped (with any connections still open) when this is dropped.
pub struct TestDatabase(ScratchDatabase);

impl std::ops::Deref for TestDatabase {
    type Target = ScratchDatabase;

    fn deref(&self) -> &ScratchDatabase {
        &self.0
    }
}

impl TestDatabase {
    /// Creates `stagedoor_test_<unique>` on the configured server; `None` (test skipped) without one.
    pub fn create(test: &str) -> Option<TestDatabase> {
        let server = server_url(test)?;
        Some(TestDatabase(ScratchDatabase::create(
            &server,
            "stagedoor_test",
        )))
    }

    /// A URL for the same server naming another, not yet existing database (the store must create it),
    /// and the guard that drops it.
    pub fn sibling_url(&self, suffix: &str) -> (String, ScratchDatabase) {
        let sibling = self.0.sibling(suffix);
        (sibling.url.clone(), sibling)
    }
}
