//! Deterministic generated catalogs (`stagedoor dev gen-catalog`) for benchmarks and scale tests.
