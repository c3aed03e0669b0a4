//! The `stagedoor` library half: the terminal UI, in a library so its tests, snapshot tests and benchmarks
//! reach it. The binary (`main.rs`) adds the command line.

pub mod ui;
