//! `stagedoor-server`: the HTTP backend alone, without the terminal UI's dependencies.

fn main() -> std::process::ExitCode {
    eprintln!("error: the HTTP server is not built yet; see issue 3");
    std::process::ExitCode::from(1)
}
