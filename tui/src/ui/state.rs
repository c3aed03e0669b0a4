//! Everything a frame is drawn from: the screen stack (history and breadcrumbs), the input mode, the
//! overlays, the status line and each catalog table's rows, cursor, sort and facets. Only `update` changes
//! it; views only read it.

use std::collections::BTreeSet;

use stagedoor_core::store::{EntityPredicate, FieldMatch, OrderField, SortOrder};
use stagedoor_core::Entity;

use super::docs::state::{Focus, Reader};
use super::entity::EntityPage;
use super::fuzzy::FuzzyFilter;
use super::keymap::{Context, Keymap};
use super::msg::RequestId;
use super::scaffolder::task::TaskView;
use super::scaffolder::tasks::TaskHistory;
use super::scaffolder::templates::TemplateList;
use super::scaffolder::wizard::{Stage as WizardStage, Wizard};
use super::search::state::SearchState;
use super::text::sanitize;
use super::theme::Theme;

/// The smallest terminal the views are laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Rows asked for per portal call: big enough that scrolling rarely waits, small enough that one reply is
/// quick on 100k entities.
pub const PAGE_SIZE: usize = 500;

/// More rows are requested when fewer than this many loaded rows remain below the cursor.
pub const LOOKAHEAD: usize = 100;

/// The facets of the panel, as (title, field).
pub const FACETS: [(&str, &str); 5] = [
    ("owner", "spec.owner"),
    ("type", "spec.type"),
    ("lifecycle", "spec.lifecycle"),
    ("tag", "metadata.tags"),
    ("namespace", "metadata.namespace"),
];

/// A catalog table's kind: one entity kind, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindView {
    Component,
    Api,
    System,
    Domain,
    Resource,
    Group,
    User,
    Template,
    Location,
    All,
}

impl KindView {
    /// The kind as stored (`None` for all kinds).
    pub fn kind(self) -> Option<&'static str> {
        Some(match self {
            KindView::Component => "Component",
            KindView::Api => "API",
            KindView::System => "System",
            KindView::Domain => "Domain",
            KindView::Resource => "Resource",
            KindView::Group => "Group",
            KindView::User => "User",
            KindView::Template => "Template",
            KindView::Location => "Location",
            KindView::All => return None,
        })
    }

    /// The table's title and breadcrumb.
    pub fn title(self) -> &'static str {
        match self {
            KindView::Component => "Components",
            KindView::Api => "APIs",
            KindView::System => "Systems",
            KindView::Domain => "Domains",
            KindView::Resource => "Resources",
            KindView::Group => "Groups",
            KindView::User => "Users",
            KindView::Template => "Templates",
            KindView::Location => "Locations",
            KindView::All => "All entities",
        }
    }

    /// Backstage's catalog table columns for this kind.
    pub fn columns(self) -> &'static [Column] {
        use ColumnId::*;
        match self {
            KindView::Component | KindView::Api => {
                const C: &[Column] = &[
                    col(Name),
                    col(System),
                    col(Owner),
                    col(Type),
                    col(Lifecycle),
                    col(Description),
                    col(Tags),
                ];
                C
            }
            KindView::Resource => {
                const C: &[Column] = &[
                    col(Name),
                    col(System),
                    col(Owner),
                    col(Type),
                    col(Description),
                    col(Tags),
                ];
                C
            }
            KindView::System => {
                const C: &[Column] = &[
                    col(Name),
                    col(Domain),
                    col(Owner),
                    col(Description),
                    col(Tags),
                ];
                C
            }
            KindView::Domain => {
                const C: &[Column] = &[col(Name), col(Owner), col(Description), col(Tags)];
                C
            }
            KindView::Group => {
                const C: &[Column] = &[
                    col(Name),
                    col(Type),
                    col(Parent),
                    col(Description),
                    col(Tags),
                ];
                C
            }
            KindView::User => {
                const C: &[Column] = &[col(Name), col(Email), col(Description), col(Tags)];
                C
            }
            KindView::Template => {
                const C: &[Column] = &[
                    col(Name),
                    col(Type),
                    col(Owner),
                    col(Description),
                    col(Tags),
                ];
                C
            }
            KindView::Location => {
                const C: &[Column] = &[col(Name), col(Type), col(Target), col(Description)];
                C
            }
            KindView::All => {
                const C: &[Column] = &[
                    col(Kind),
                    col(Name),
                    col(Owner),
                    col(Type),
                    col(Description),
                    col(Tags),
                ];
                C
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnId {
    Kind,
    Name,
    System,
    Domain,
    Owner,
    Type,
    Lifecycle,
    Parent,
    Email,
    Target,
    Description,
    Tags,
}

/// A table column: its header, the entity field it shows and sorts by, and how it sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub id: ColumnId,
    pub title: &'static str,
    pub field: &'static str,
    /// Cells of room it wants; the description takes what is left.
    pub width: u16,
    /// Lower is dropped first when the terminal is narrow.
    pub keep: u8,
    pub sortable: bool,
}

const fn col(id: ColumnId) -> Column {
    use ColumnId::*;
    let (title, field, width, keep, sortable) = match id {
        Kind => ("KIND", "kind", 10, 9, true),
        Name => ("NAME", "metadata.name", 20, 10, true),
        System => ("SYSTEM", "spec.system", 16, 4, true),
        Domain => ("DOMAIN", "spec.domain", 17, 4, true),
        Owner => ("OWNER", "spec.owner", 14, 8, true),
        Type => ("TYPE", "spec.type", 9, 7, true),
        Lifecycle => ("LIFECYCLE", "spec.lifecycle", 12, 6, true),
        Parent => ("PARENT", "spec.parent", 15, 5, true),
        Email => ("EMAIL", "spec.profile.email", 26, 6, true),
        Target => ("TARGET", "spec.target", 30, 6, true),
        Description => ("DESCRIPTION", "metadata.description", 16, 5, true),
        Tags => ("TAGS", "metadata.tags", 16, 2, false),
    };
    Column {
        id,
        title,
        field,
        width,
        keep,
        sortable,
    }
}

/// What a `:` command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    View(KindView),
    /// `:docs [REF]`: the TechDocs reader (the entity shown when no ref is given).
    Docs,
    /// `:templates`: the software templates, to run one.
    Templates,
    /// `:tasks`: the scaffolder's tasks, newest first.
    Tasks,
    Quit,
}

/// The commands of `:` mode: (name, aliases, what it does).
pub const COMMANDS: [(&str, &[&str], Command); 13] = [
    (
        "components",
        &["comp", "component"],
        Command::View(KindView::Component),
    ),
    ("apis", &["api"], Command::View(KindView::Api)),
    (
        "systems",
        &["sys", "system"],
        Command::View(KindView::System),
    ),
    (
        "domains",
        &["domain", "dom"],
        Command::View(KindView::Domain),
    ),
    (
        "resources",
        &["res", "resource"],
        Command::View(KindView::Resource),
    ),
    ("groups", &["grp", "group"], Command::View(KindView::Group)),
    ("users", &["user"], Command::View(KindView::User)),
    ("templates", &["tpl", "template"], Command::Templates),
    ("tasks", &["task"], Command::Tasks),
    (
        "locations",
        &["loc", "location"],
        Command::View(KindView::Location),
    ),
    ("all", &[], Command::View(KindView::All)),
    ("docs", &["doc", "techdocs"], Command::Docs),
    ("quit", &["q", "q!"], Command::Quit),
];

/// One table row, sanitized once when it arrives (never per frame).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// One cell per column of the view.
    pub cells: Vec<String>,
    /// Name, title, description and tags, what `/` matches against.
    pub haystack: String,
}

impl Row {
    pub fn from_entity(entity: &Entity, columns: &[Column]) -> Row {
        let text = |path: &str| -> String {
            match entity.get_path(path) {
                Some(serde_json::Value::String(s)) => sanitize(s),
                Some(serde_json::Value::Array(items)) => sanitize(
                    &items
                        .iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => sanitize(&other.to_string()),
            }
        };
        let cells = columns
            .iter()
            .map(|c| match c.id {
                ColumnId::Name => sanitize(entity.name()),
                _ => text(c.field),
            })
            .collect();
        let haystack = [
            sanitize(entity.name()),
            entity.title().map(sanitize).unwrap_or_default(),
            entity.description().map(sanitize).unwrap_or_default(),
            sanitize(&entity.tags().join(" ")),
        ]
        .join(" ");
        Row {
            kind: sanitize(entity.kind()),
            namespace: sanitize(entity.namespace()),
            name: sanitize(entity.name()),
            cells,
            haystack,
        }
    }

    /// The row's entity ref, to open it.
    pub fn entity_ref(&self) -> stagedoor_core::EntityRef {
        stagedoor_core::EntityRef::new(&self.kind, &self.namespace, &self.name)
    }
}

/// One facet of the panel with its counted values and the values switched on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FacetGroup {
    pub title: &'static str,
    pub field: &'static str,
    pub values: Vec<(String, u64)>,
    pub selected: BTreeSet<String>,
}

/// What the identity (`stagedoor.identity`, `--as`) owns, for the facet panel's "owned by me" entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// No identity: no entry.
    Unknown,
    /// The user entity is being fetched.
    Loading(RequestId),
    /// The user ref and its groups (`memberOf` targets), canonical.
    Ready(Vec<String>),
    /// The entry is shown disabled, with this reason.
    Unavailable(String),
}

/// A table's "owned by me" toggle, present when an identity is known.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnedFilter {
    pub on: bool,
    /// The ownership refs the filter matches `relations.ownedBy` against (empty until known).
    pub refs: Vec<String>,
    /// The table's kind owned by the identity, when counted.
    pub count: Option<u64>,
    pub count_request: Option<RequestId>,
}

/// Whether a view's data is there yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// Waiting for this request.
    Loading(RequestId),
    Ready,
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Table,
    Facets,
}

/// A catalog table.
pub struct CatalogState {
    pub view: KindView,
    pub rows: Vec<Row>,
    /// Matching entities on the portal (with the facet filter), from the first page's count.
    pub total: u64,
    /// Where the next page starts; `None` once everything is loaded.
    pub next_cursor: Option<String>,
    /// The first page, or a following page, is on its way.
    pub load: Load,
    /// The page request in flight (first or following), to drop stale replies.
    pub page_request: Option<RequestId>,
    pub facets_request: Option<RequestId>,
    /// The fuzzy filter's query, and the rows it lets through (indices into `rows`, best first).
    pub filter: String,
    pub visible: Vec<usize>,
    /// The query and row count `visible` was computed for (see `refilter`).
    filtered_by: String,
    filtered_rows: usize,
    /// The cursor, an index into `visible`, and the first visible line of the table.
    pub selected: usize,
    pub offset: usize,
    /// Index into the sortable columns, and the direction.
    pub sort: usize,
    pub order: SortOrder,
    pub facets: Vec<FacetGroup>,
    /// The "owned by me" entry at the top of the facet panel; `None` without an identity.
    pub owned: Option<OwnedFilter>,
    /// The cursor in the facet panel, an index into [`CatalogState::facet_values`], and the panel's
    /// first visible line.
    pub facet_cursor: usize,
    pub facet_offset: usize,
    pub pane: Pane,
}

impl CatalogState {
    pub fn new(view: KindView) -> CatalogState {
        CatalogState {
            view,
            rows: Vec::new(),
            total: 0,
            next_cursor: None,
            load: Load::Ready,
            page_request: None,
            facets_request: None,
            filter: String::new(),
            visible: Vec::new(),
            filtered_by: String::new(),
            filtered_rows: 0,
            selected: 0,
            offset: 0,
            sort: 0,
            order: SortOrder::Asc,
            facets: FACETS
                .iter()
                .map(|(title, field)| FacetGroup {
                    title,
                    field,
                    ..FacetGroup::default()
                })
                .collect(),
            owned: None,
            facet_cursor: 0,
            facet_offset: 0,
            pane: Pane::Table,
        }
    }

    pub fn columns(&self) -> &'static [Column] {
        self.view.columns()
    }

    pub fn sortable(&self) -> Vec<&'static Column> {
        self.columns().iter().filter(|c| c.sortable).collect()
    }

    pub fn sort_column(&self) -> &'static Column {
        let sortable = self.sortable();
        sortable[self.sort % sortable.len()]
    }

    pub fn order_field(&self) -> OrderField {
        OrderField {
            field: self.sort_column().field.to_string(),
            order: self.order,
        }
    }

    /// The fields a table row needs: its columns and what `/` and Enter use; never the whole entity.
    pub fn projection(&self) -> Vec<String> {
        let mut fields: Vec<String> = [
            "kind",
            "metadata.name",
            "metadata.namespace",
            "metadata.title",
            "metadata.description",
            "metadata.tags",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in self.columns() {
            if !fields.iter().any(|f| f == c.field) {
                fields.push(c.field.to_string());
            }
        }
        fields
    }

    /// The kind filter plus the switched-on facet values (values of one facet ORed, facets ANDed), and
    /// `relations.ownedBy` in the identity's refs when "owned by me" is on.
    pub fn predicate(&self) -> Option<EntityPredicate> {
        let mut all = self.kind_predicate().into_iter().collect::<Vec<_>>();
        if let Some(owned) = self.owned.as_ref().filter(|o| o.on && !o.refs.is_empty()) {
            all.push(owned_predicate(&owned.refs));
        }
        for group in &self.facets {
            if !group.selected.is_empty() {
                all.push(EntityPredicate::Field {
                    key: group.field.to_string(),
                    matcher: FieldMatch::In(group.selected.iter().cloned().collect()),
                });
            }
        }
        match all.len() {
            0 => None,
            1 => all.pop(),
            _ => Some(EntityPredicate::All(all)),
        }
    }

    pub fn kind_predicate(&self) -> Option<EntityPredicate> {
        self.view.kind().map(|k| EntityPredicate::Field {
            key: "kind".to_string(),
            matcher: FieldMatch::In(vec![k.to_string()]),
        })
    }

    /// The kind filter and `relations.ownedBy` in `refs`: what the "owned by me" count counts.
    pub fn owned_count_predicate(&self, refs: &[String]) -> EntityPredicate {
        let owned = owned_predicate(refs);
        match self.kind_predicate() {
            Some(kind) => EntityPredicate::All(vec![kind, owned]),
            None => owned,
        }
    }

    /// How many filters are switched on (facet values and "owned by me").
    pub fn selected_filters(&self) -> usize {
        let owned = self.owned.as_ref().is_some_and(|o| o.on);
        self.facets.iter().map(|g| g.selected.len()).sum::<usize>() + usize::from(owned)
    }

    /// Recomputes the rows the filter lets through, keeping the cursor on the same row when it still shows.
    pub fn refilter(&mut self, fuzzy: &FuzzyFilter) {
        let keep = self.visible.get(self.selected).copied();
        // A query typed on from the last one searches only the last matches, if no rows came in between.
        let narrowing = self.filtered_rows == self.rows.len()
            && FuzzyFilter::narrows(&self.filtered_by, &self.filter);
        let rows = &self.rows;
        let row = |i: usize| (i, rows[i].name.as_str(), rows[i].haystack.as_str());
        self.visible = if narrowing {
            let previous = std::mem::take(&mut self.visible);
            fuzzy.rank(&self.filter, previous.into_iter().map(row))
        } else {
            fuzzy.rank(&self.filter, (0..rows.len()).map(row))
        };
        self.filtered_by = self.filter.clone();
        self.filtered_rows = self.rows.len();
        self.selected = keep
            .and_then(|k| self.visible.iter().position(|&i| i == k))
            .unwrap_or(0);
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.visible.get(self.selected).map(|&i| &self.rows[i])
    }

    /// The facet panel's lines: "owned by me" when there is an identity, then a header per non-empty group
    /// and its values.
    pub fn facet_lines(&self) -> Vec<FacetLine> {
        let mut lines = Vec::new();
        if self.owned.is_some() {
            lines.push(FacetLine::Owned);
        }
        for (g, group) in self.facets.iter().enumerate() {
            if group.values.is_empty() {
                continue;
            }
            lines.push(FacetLine::Header(g));
            for v in 0..group.values.len() {
                lines.push(FacetLine::Value(g, v));
            }
        }
        lines
    }

    /// The lines the facet cursor moves over ("owned by me" and the values; not the headers).
    pub fn facet_values(&self) -> Vec<FacetLine> {
        self.facet_lines()
            .into_iter()
            .filter(FacetLine::selectable)
            .collect()
    }

    /// Whether scrolling (or a filter with few matches) wants the next page.
    pub fn wants_more(&self, page_height: usize) -> bool {
        self.next_cursor.is_some()
            && self.page_request.is_none()
            && self.visible.len().saturating_sub(self.selected) < LOOKAHEAD.max(page_height * 2)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacetLine {
    /// The "owned by me" toggle.
    Owned,
    Header(usize),
    Value(usize, usize),
}

impl FacetLine {
    pub fn selectable(&self) -> bool {
        !matches!(self, FacetLine::Header(_))
    }
}

/// `relations.ownedBy` in `refs`.
pub fn owned_predicate(refs: &[String]) -> EntityPredicate {
    EntityPredicate::Field {
        key: "relations.ownedBy".to_string(),
        matcher: FieldMatch::In(refs.to_vec()),
    }
}

pub enum Screen {
    Catalog(Box<CatalogState>),
    /// An entity being fetched (the breadcrumb shows its ref), then its page.
    Loading {
        entity_ref: stagedoor_core::EntityRef,
        id: RequestId,
        error: Option<String>,
    },
    Entity {
        page: Box<EntityPage>,
        related_request: Option<RequestId>,
    },
    /// The TechDocs reader.
    Docs(Box<Reader>),
    /// The software templates (`:templates`).
    Templates(Box<TemplateList>),
    /// A template's wizard: its pages, the review, a dry run.
    Wizard(Box<Wizard>),
    /// One task's live view.
    Task(Box<TaskView>),
    /// The task history (`:tasks`).
    Tasks(Box<TaskHistory>),
}

impl Screen {
    pub fn crumb(&self) -> String {
        match self {
            Screen::Catalog(c) => c.view.title().to_string(),
            Screen::Loading { entity_ref, .. } => entity_ref.canonical(),
            Screen::Entity { page, .. } => page.title(),
            Screen::Docs(reader) => reader.crumb(),
            Screen::Templates(_) => "Templates".to_string(),
            Screen::Wizard(w) => w.title.clone(),
            Screen::Task(v) => format!("Task {}", v.task_id.chars().take(8).collect::<String>()),
            Screen::Tasks(_) => "Tasks".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// `:` and what has been typed after it.
    Command(String),
    /// `/` and the live query.
    Filter(String),
    /// `/` in the docs reader: the in-page search being typed.
    Search(String),
}

/// The connection to the portal, for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    /// The last call failed for a connection reason (unreachable, refused token).
    Failed(String),
}

/// The embedded import before the first load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub id: RequestId,
    /// The store was empty and the import runs (before that, the store is being checked).
    pub importing: bool,
    pub roots: Option<usize>,
    pub done: usize,
    pub entities: usize,
    pub last: Option<String>,
}

pub struct App {
    pub screens: Vec<Screen>,
    pub mode: Mode,
    pub help: bool,
    /// Candidates Tab found for the command line, shown under it.
    pub completions: Vec<String>,
    /// One line under the table: the last error or notice.
    pub status: Option<Status>,
    pub connection: Connection,
    /// What the header says the catalog comes from (`embedded app-config.yaml`, `https://...`).
    pub source: String,
    /// Whether this portal is the embedded one, which imports when empty.
    pub embedded: bool,
    pub import: Option<Import>,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
    pub theme: Theme,
    pub keymap: Keymap,
    pub fuzzy: FuzzyFilter,
    pub next_id: RequestId,
    /// Who "owned by me" means (`stagedoor.identity`, `--as`), and what it owns.
    pub identity: Option<stagedoor_core::EntityRef>,
    pub ownership: Ownership,
    /// The global search overlay (`Ctrl-K`, `s`).
    pub search: SearchState,
    /// Spinner frame.
    pub tick: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Info(String),
    Error(String),
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, source: String, embedded: bool) -> App {
        App {
            screens: vec![Screen::Catalog(Box::new(CatalogState::new(
                KindView::Component,
            )))],
            mode: Mode::Normal,
            help: false,
            completions: Vec::new(),
            status: None,
            connection: Connection::Connecting,
            source,
            embedded,
            import: None,
            width: MIN_WIDTH,
            height: MIN_HEIGHT,
            quit: false,
            theme,
            keymap,
            fuzzy: FuzzyFilter::default(),
            next_id: 0,
            identity: None,
            ownership: Ownership::Unknown,
            search: SearchState::default(),
            tick: 0,
        }
    }

    /// Where state kept between runs goes (the recent searches); `None` keeps nothing. Tests pass a
    /// temporary directory here rather than setting `XDG_STATE_HOME`, which is process-wide.
    pub fn with_state_dir(mut self, dir: Option<std::path::PathBuf>) -> App {
        self.search.recent.path = dir.map(|d| d.join(super::search::state::RECENT_FILE));
        self
    }

    /// Sets who "owned by me" means; `start` then fetches the user entity.
    pub fn with_identity(mut self, identity: Option<stagedoor_core::EntityRef>) -> App {
        self.identity = identity;
        for screen in &mut self.screens {
            if let Screen::Catalog(c) = screen {
                c.owned = self.identity.is_some().then(OwnedFilter::default);
            }
        }
        self
    }

    /// A new table, with the "owned by me" entry when there is an identity.
    pub fn new_catalog(&self, view: KindView) -> CatalogState {
        let mut c = CatalogState::new(view);
        if self.identity.is_some() {
            c.owned = Some(OwnedFilter {
                refs: match &self.ownership {
                    Ownership::Ready(refs) => refs.clone(),
                    _ => Vec::new(),
                },
                ..OwnedFilter::default()
            });
        }
        c
    }

    pub fn request_id(&mut self) -> RequestId {
        self.next_id += 1;
        self.next_id
    }

    pub fn screen(&self) -> &Screen {
        self.screens
            .last()
            .expect("the screen stack is never empty")
    }

    pub fn screen_mut(&mut self) -> &mut Screen {
        self.screens
            .last_mut()
            .expect("the screen stack is never empty")
    }

    pub fn catalog(&self) -> Option<&CatalogState> {
        match self.screen() {
            Screen::Catalog(c) => Some(c),
            _ => None,
        }
    }

    pub fn catalog_mut(&mut self) -> Option<&mut CatalogState> {
        match self.screen_mut() {
            Screen::Catalog(c) => Some(c),
            _ => None,
        }
    }

    /// Which bindings apply now.
    pub fn context(&self) -> Context {
        if self.search.open {
            return Context::SearchOverlay;
        }
        match self.screen() {
            Screen::Catalog(c) if c.pane == Pane::Facets => Context::Facets,
            Screen::Catalog(_) => Context::Table,
            // The contents list moves and opens like the nav.
            Screen::Docs(r) if matches!(r.focus, Focus::Nav | Focus::Toc) => Context::DocsNav,
            Screen::Docs(_) => Context::DocsPage,
            Screen::Templates(_) | Screen::Tasks(_) => Context::Scaffolder,
            Screen::Wizard(w) if matches!(w.stage, WizardStage::Page) => Context::Wizard,
            Screen::Wizard(_) => Context::Review,
            Screen::Task(_) => Context::Task,
            _ => Context::Entity,
        }
    }

    pub fn reader(&self) -> Option<&Reader> {
        match self.screen() {
            Screen::Docs(r) => Some(r),
            _ => None,
        }
    }

    pub fn reader_mut(&mut self) -> Option<&mut Reader> {
        match self.screen_mut() {
            Screen::Docs(r) => Some(r),
            _ => None,
        }
    }

    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    pub fn breadcrumbs(&self) -> Vec<String> {
        self.screens.iter().map(Screen::crumb).collect()
    }
}
