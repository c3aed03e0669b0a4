//! Drawing: one function from [`App`] to a frame. The layout functions here are also what `update` uses to
//! turn a mouse click into a row and to size pages, so both always agree on where things are.

pub mod catalog;
pub mod chrome;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Block;
use ratatui::Frame;

use super::docs;
use super::entity;
use super::scaffolder;
use super::state::{App, Screen};

/// The frame's regions: two header lines, the body, the status/command line and the hint bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub body: Rect,
    pub line: Rect,
    pub hints: Rect,
}

pub fn areas(width: u16, height: u16) -> Areas {
    let [header, body, line, hints] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(Rect::new(0, 0, width, height));
    Areas {
        header,
        body,
        line,
        hints,
    }
}

/// Lines a list or table in the body shows at once (borders and the header row taken off).
pub fn page_height(app: &App) -> usize {
    usize::from(areas(app.width, app.height).body.height.saturating_sub(3)).max(1)
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    frame.render_widget(Block::default().style(app.theme.base), area);
    if app.too_small() {
        chrome::too_small(frame, area, app);
        return;
    }
    let a = areas(area.width, area.height);
    chrome::header(frame, a.header, app);
    match app.screen() {
        Screen::Catalog(c) => catalog::render(frame, a.body, app, c),
        Screen::Loading {
            entity_ref, error, ..
        } => chrome::loading_entity(frame, a.body, app, entity_ref, error.as_deref()),
        Screen::Entity { page, .. } => entity::render(frame, a.body, page, &app.theme),
        Screen::Docs(reader) => docs::view::render(frame, a.body, app, reader),
        Screen::Templates(list) => scaffolder::templates::render(frame, a.body, app, list),
        Screen::Wizard(w) => scaffolder::wizard::render(frame, a.body, app, w),
        Screen::Task(v) => scaffolder::task::render(frame, a.body, app, v),
        Screen::Tasks(h) => scaffolder::tasks::render(frame, a.body, app, h),
    }
    chrome::line(frame, a.line, app);
    chrome::hints(frame, a.hints, app);
    if app.help {
        chrome::help(frame, a.body, app);
    }
    if app.search.open {
        super::search::view::render(frame, area, app);
    }
}
