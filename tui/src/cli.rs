//! The command line, as clap derives it: global options, subcommands and their arguments.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// stagedoor: a terminal-native developer portal that speaks Backstage.
///
/// With no subcommand it opens the terminal UI (importing `catalog.locations` first when the catalog is
/// empty); when stdout is not a terminal it prints a summary of the catalog instead.
#[derive(Debug, Parser)]
#[command(name = "stagedoor", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file; repeat to merge several, later ones win.
    /// [default: app-config.yaml and, when present, app-config.local.yaml in the current directory]
    #[arg(long = "config", short = 'c', value_name = "FILE", global = true)]
    pub config: Vec<PathBuf>,

    /// Read the catalog from a stagedoor or Backstage backend at this URL instead of the embedded database
    /// (`catalog get`, `catalog list`, `docs`, `search` and `template run`).
    #[arg(long, value_name = "URL", env = "STAGEDOOR_SERVER", global = true)]
    pub server: Option<String>,

    /// Bearer token for --server (a `backend.auth.externalAccess` static token, or a Backstage token).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "STAGEDOOR_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,

    /// Colour theme of the terminal UI: dark, light, high-contrast, or a file NAME.yaml in
    /// $XDG_CONFIG_HOME/stagedoor/themes [default: stagedoor.theme in the configuration, else dark].
    #[arg(long, value_name = "NAME", global = true)]
    pub theme: Option<String>,

    /// Who you are, as a user entity ref such as user:default/jane: "owned by me" in the terminal UI, and
    /// the user templates run for (embedded) [default: stagedoor.identity in the configuration].
    #[arg(long = "as", value_name = "USER_REF", global = true)]
    pub as_user: Option<String>,

    /// Log to stderr: -v info, -vv debug, -vvv trace (RUST_LOG, when set, decides instead).
    #[arg(long, short = 'v', action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with the software catalog.
    #[command(subcommand, arg_required_else_help = true)]
    Catalog(CatalogCommand),
    /// Build and read TechDocs sites (entities with a `backstage.io/techdocs-ref` annotation).
    #[command(subcommand, arg_required_else_help = true)]
    Docs(DocsCommand),
    /// Search the catalog and TechDocs, as Backstage's search page does (`GET /api/search/query` with
    /// --server).
    Search(SearchArgs),
    /// Run software templates (the scaffolder), embedded or on --server.
    #[command(subcommand, arg_required_else_help = true)]
    Template(TemplateCommand),
    /// Tools for developing and benchmarking stagedoor.
    #[command(subcommand, arg_required_else_help = true)]
    Dev(DevCommand),
    /// Serve the Backstage-compatible HTTP API on `backend.listen` (default 0.0.0.0:7007) until
    /// SIGINT or SIGTERM; logs requests at info level unless -v or RUST_LOG say otherwise.
    Serve,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Check catalog files (and the YAML files of directories) without a database.
    Validate(ValidateArgs),
    /// Refresh the catalog from `catalog.locations` into the database.
    Import,
    /// Print one entity.
    Get(GetArgs),
    /// List entities, by name.
    List(ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Create a task from a template and print its log as it runs, then its output links and text. Exit
    /// code: 0 completed, 1 failed or cancelled, 2 bad input (unknown template, invalid values).
    Run(TemplateRunArgs),
}

#[derive(Debug, Args)]
pub struct TemplateRunArgs {
    /// The template: `template:default/NAME`, `default/NAME` or just NAME.
    #[arg(value_name = "REF")]
    pub template: String,

    /// The parameter values as a YAML or JSON mapping. Schema defaults fill what is not given, as the
    /// form does.
    #[arg(long, value_name = "FILE")]
    pub values: Option<PathBuf>,

    /// One value, KEY=VALUE, VALUE read as YAML (`port=8080` is a number, `x=true` a boolean); `a.b=c`
    /// nests. Applied after --values; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// A secret, KEY=VALUE (the task's `secrets.KEY`, never stored or logged); repeatable.
    #[arg(long = "secret", value_name = "KEY=VALUE")]
    pub secret: Vec<String>,

    /// Run in a throw-away workspace and print the files it would create and its log; nothing is
    /// published or registered.
    #[arg(long)]
    pub dry_run: bool,

    /// Output format: the log as it comes and the output, or one JSON document at the end.
    #[arg(long, short = 'o', value_enum, default_value_t = RunFormat::Text)]
    pub output: RunFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Build an entity's docs site if its sources changed since the stored build; without REF, the site
    /// of every entity with a `backstage.io/techdocs-ref` annotation.
    Build(DocsBuildArgs),
    /// Print a page of an entity's docs site rendered for the terminal (building the site first if it
    /// never was).
    Show(DocsShowArgs),
}

#[derive(Debug, Args)]
pub struct DocsBuildArgs {
    /// The entity reference, `[kind:][namespace/]name`; the kind defaults to component.
    #[arg(value_name = "REF")]
    pub entity_ref: Option<String>,
}

#[derive(Debug, Args)]
pub struct DocsShowArgs {
    /// The entity reference, `[kind:][namespace/]name`; the kind defaults to component.
    #[arg(value_name = "REF")]
    pub entity_ref: String,

    /// The page: its file (`sub-page.md`), its URL path (`sub-page/`) or its title (any case)
    /// [default: the home page].
    #[arg(value_name = "PAGE")]
    pub page: Option<String>,

    /// Print the page's markdown source exactly as stored instead of rendering it.
    #[arg(long)]
    pub raw: bool,

    /// When to style the output with escape codes: auto (only when stdout is a terminal and NO_COLOR
    /// is not set), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Wrap at this many columns [default: the terminal's width, or 80 when stdout is not a terminal].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(20..))]
    pub width: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Write a deterministic generated catalog (same count, same bytes).
    GenCatalog(GenCatalogArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Catalog files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The entity reference, `kind:[namespace/]name` (e.g. `component:default/artist-lookup`).
    #[arg(value_name = "REF")]
    pub entity_ref: String,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = EntityFormat::Yaml)]
    pub output: EntityFormat,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only entities of this kind (added to every --filter).
    #[arg(long, short = 'k', value_name = "KIND")]
    pub kind: Option<String>,

    /// A Backstage filter (`kind=component,spec.type=service`); repeat for alternatives (any may match).
    #[arg(long, short = 'f', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// At most this many entities.
    #[arg(long, short = 'l', value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for; treated as text (no query syntax), at most `search.maxTermLength` characters
    /// (100 by default).
    #[arg(value_name = "TERM")]
    pub term: String,

    /// Only documents of this type; repeat for several [default: all].
    #[arg(long = "type", short = 't', value_enum, value_name = "TYPE")]
    pub types: Vec<SearchType>,

    /// Only documents whose FIELD is VALUE (`kind=component`, `lifecycle=production`); repeat a field for
    /// alternatives, different fields must all match.
    #[arg(long, short = 'f', value_name = "FIELD=VALUE")]
    pub filter: Vec<String>,

    /// At most this many results (the page size, `pageLimit`) [default: 25]; at most
    /// `search.maxPageLimit` (100 by default).
    #[arg(long, short = 'l', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Output format: an aligned table, or the search answer as JSON.
    #[arg(long, short = 'o', value_enum, default_value_t = SearchFormat::Table)]
    pub output: SearchFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchType {
    SoftwareCatalog,
    Techdocs,
}

impl SearchType {
    /// The document type as the search API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchType::SoftwareCatalog => stagedoor_core::search::TYPE_SOFTWARE_CATALOG,
            SearchType::Techdocs => stagedoor_core::search::TYPE_TECHDOCS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct GenCatalogArgs {
    /// How many entities (documents) to write, the root Location included.
    #[arg(long, short = 'n', value_name = "N")]
    pub entities: usize,

    /// The directory to write `all.yaml` and `entities-NNNN.yaml` into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Yaml,
}

/// A mistake in how the command was called (malformed ref, bad filter): exit code 2, like clap's own errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn list_defaults() {
        let cli =
            Cli::try_parse_from(["stagedoor", "catalog", "list", "--config", "a.yaml"]).unwrap();
        assert_eq!(cli.config, vec![PathBuf::from("a.yaml")]);
        match cli.command {
            Some(Command::Catalog(CatalogCommand::List(args))) => {
                assert_eq!(args.limit, 50);
                assert_eq!(args.output, ListFormat::Table);
                assert!(args.kind.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn serve_takes_the_global_config() {
        let cli = Cli::try_parse_from(["stagedoor", "serve", "-c", "a.yaml", "--config", "b.yaml"])
            .unwrap();
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert_eq!(
            cli.config,
            vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]
        );
    }

    #[test]
    fn serve_help() {
        let err = Cli::try_parse_from(["stagedoor", "serve", "--help"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = err.to_string();
        assert!(help.contains("Backstage-compatible HTTP API"), "{help}");
        assert!(help.contains("--config"), "{help}");
    }

    #[test]
    fn bare_stagedoor_takes_theme_and_server() {
        let cli = Cli::try_parse_from([
            "stagedoor",
            "--theme",
            "light",
            "--server",
            "http://localhost:7007",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.theme.as_deref(), Some("light"));
        assert_eq!(cli.server.as_deref(), Some("http://localhost:7007"));
    }

    #[test]
    fn docs_show_defaults() {
        let cli = Cli::try_parse_from(["stagedoor", "docs", "show", "svc"]).unwrap();
        match cli.command {
            Some(Command::Docs(DocsCommand::Show(args))) => {
                assert_eq!(args.entity_ref, "svc");
                assert!(args.page.is_none());
                assert!(!args.raw);
                assert_eq!(args.color, ColorChoice::Auto);
                assert!(args.width.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["stagedoor", "docs", "show", "svc", "--width", "5"]).is_err());
    }

    #[test]
    fn search_arguments() {
        let cli = Cli::try_parse_from([
            "stagedoor",
            "search",
            "shipment tracker",
            "--type",
            "techdocs",
            "-t",
            "software-catalog",
            "--filter",
            "kind=component",
            "--limit",
            "5",
            "-o",
            "json",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Search(args)) => {
                assert_eq!(args.term, "shipment tracker");
                assert_eq!(
                    args.types,
                    vec![SearchType::Techdocs, SearchType::SoftwareCatalog]
                );
                assert_eq!(args.types[1].as_str(), "software-catalog");
                assert_eq!(args.filter, vec!["kind=component"]);
                assert_eq!(args.limit, Some(5));
                assert_eq!(args.output, SearchFormat::Json);
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["stagedoor", "search"][..],
            &["stagedoor", "search", "x", "--type", "tools"],
            &["stagedoor", "search", "x", "--limit", "0"],
            &["stagedoor", "search", "x", "--limit", "many"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn zero_limit_is_refused() {
        assert!(Cli::try_parse_from(["stagedoor", "catalog", "list", "--limit", "0"]).is_err());
    }
}
