//! One module per subcommand; [`run`] dispatches to them and owns the tokio runtime.

mod docs;
mod gen_catalog;
mod get;
mod import;
mod list;
mod overview;
mod search;
mod serve;
mod template;
mod tui;
mod validate;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{CatalogCommand, Cli, Command, DevCommand, DocsCommand, TemplateCommand};
use crate::setup;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Whether this command line opens the terminal UI: no subcommand, on a terminal. Scripts that pipe
/// `stagedoor` still get the printed summary.
pub fn opens_tui(cli: &Cli) -> bool {
    cli.command.is_none() && std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// Runs the command the user asked for; the exit code says whether it found problems.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let tui = opens_tui(&cli);
    let source = setup::Source {
        config: cli.config,
        server: cli.server,
        token: cli.token,
    };
    match cli.command {
        None if tui => runtime()?.block_on(tui::run(
            &source,
            cli.theme.as_deref(),
            cli.as_user.as_deref(),
        )),
        None => runtime()?.block_on(overview::run(source.local_only("stagedoor")?)),
        Some(Command::Catalog(CatalogCommand::Validate(args))) => validate::run(&args),
        Some(Command::Catalog(CatalogCommand::Import)) => {
            runtime()?.block_on(import::run(source.local_only("catalog import")?))
        }
        Some(Command::Catalog(CatalogCommand::Get(args))) => {
            runtime()?.block_on(get::run(&source, &args))
        }
        Some(Command::Catalog(CatalogCommand::List(args))) => {
            runtime()?.block_on(list::run(&source, &args))
        }
        Some(Command::Docs(DocsCommand::Build(args))) => {
            runtime()?.block_on(docs::build(&source, &args))
        }
        Some(Command::Docs(DocsCommand::Show(args))) => {
            runtime()?.block_on(docs::show(&source, &args))
        }
        Some(Command::Search(args)) => runtime()?.block_on(search::run(&source, &args)),
        Some(Command::Template(TemplateCommand::Run(args))) => {
            runtime()?.block_on(template::run(&source, &args, cli.as_user.as_deref()))
        }
        Some(Command::Dev(DevCommand::GenCatalog(args))) => gen_catalog::run(&args),
        Some(Command::Serve) => runtime()?.block_on(serve::run(source.local_only("serve")?)),
    }
}
