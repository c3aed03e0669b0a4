//! The docs reader against a 16 ms frame budget, on a generated page of about 5,000 lines (headings,
//! paragraphs with links, lists, code blocks) on a 120x40 `TestBackend`:
//!
//! - `docs_reader/5k_lines/first_frame`: the page's markdown arrives (`DocsPageLoaded` through `update`:
//!   rendered at the pane's width, the TOC and links indexed), then the first frame is drawn;
//! - `docs_reader/5k_lines/scroll_step`: one `j` (through `update`) and the frame drawn, the page already
//!   rendered: drawing touches only the ~36 visible lines.
//!
//! `cargo bench -p stagedoor --bench docs_reader`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stagedoor::ui::docs::update::open;
use stagedoor::ui::keymap::Keymap;
use stagedoor::ui::msg::{Effect, Msg};
use stagedoor::ui::state::App;
use stagedoor::ui::theme::{ColorMode, Theme, DEFAULT_THEME};
use stagedoor::ui::update::update;
use stagedoor::ui::views;
use stagedoor_core::techdocs::publish::{DocsPage, DocsSite};
use stagedoor_core::techdocs::site::NavItem;
use stagedoor_core::EntityRef;

// The binary's allocator, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A page of about `lines` markdown lines: sections of a heading, paragraphs with links, a list and a
/// fenced code block.
fn markdown(lines: usize) -> String {
    let mut out = String::from("# A long page\n\n");
    let mut n = 2;
    let mut section = 0;
    while n < lines {
        section += 1;
        out.push_str(&format!("## Section {section}\n\n"));
        for p in 0..3 {
            out.push_str(&format!(
                "Paragraph {p} of section {section} explains how the [shipment tracker](architecture.md#api-surface)\n\
                 books shipments and keeps each one's timeline, with `inline code`, **bold** and _emphasis_,\n\
                 and a link to [the runbook](operations/runbook.md) and [an outside page](https://example.com/{section}).\n\n"
            ));
        }
        out.push_str("- first item\n- second item with [a link](#section-1)\n  - nested item\n\n");
        out.push_str("```kotlin\nfun main() {\n    println(\"hello\")\n}\n```\n\n");
        // A heading (2), three paragraphs (4 each), the list (4) and the code block (6).
        n += 24;
    }
    out
}

fn site() -> DocsSite {
    DocsSite {
        site_name: "Bench".into(),
        site_description: None,
        etag: String::new(),
        build_timestamp: 0,
        nav: vec![NavItem::Page {
            title: None,
            path: "index.md".into(),
        }],
        pages: vec![DocsPage {
            location: "index.md".into(),
            url: String::new(),
            title: "A long page".into(),
            headings: Vec::new(),
        }],
        warnings: Vec::new(),
    }
}

fn app() -> App {
    let theme = Theme::built_in(DEFAULT_THEME, ColorMode::TrueColor).expect("theme");
    let mut app = App::new(theme, Keymap::default(), "bench".into(), false);
    app.width = 120;
    app.height = 40;
    app
}

/// The reader opened, its site in, its page's markdown on the way: what `DocsPageLoaded` then completes.
fn waiting_for_page() -> (App, u64) {
    let mut app = app();
    let r = EntityRef::parse("component:default/bench").expect("ref");
    let effects = open(&mut app, r);
    let Some(Effect::LoadDocsSite { id, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    let effects = update(
        &mut app,
        Msg::DocsSiteLoaded {
            id,
            synced: false,
            result: Ok(Some(site())),
        },
    );
    let Some(Effect::LoadDocsPage { id, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    (app, id)
}

fn bench(c: &mut Criterion) {
    // The real renderer folds some markdown lines (a fence, blank runs): ask for a little more.
    let text = markdown(5_300);
    let mut group = c.benchmark_group("docs_reader/5k_lines");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");

    // Check once what is measured: a page of about 5,000 rendered lines, on screen.
    let (mut app, id) = waiting_for_page();
    update(
        &mut app,
        Msg::DocsPageLoaded {
            id,
            location: "index.md".into(),
            result: Ok(Some(text.clone())),
        },
    );
    let lines = app
        .reader()
        .and_then(|r| r.page())
        .map_or(0, |p| p.lines.len());
    eprintln!("rendered page: {lines} lines");
    assert!(lines >= 5_000, "{lines}");

    group.bench_function("first_frame", |b| {
        b.iter_batched(
            waiting_for_page,
            |(mut app, id)| {
                update(
                    &mut app,
                    Msg::DocsPageLoaded {
                        id,
                        location: "index.md".into(),
                        result: Ok(Some(text.clone())),
                    },
                );
                terminal.draw(|f| views::draw(f, &app)).expect("draw");
                black_box(app)
            },
            criterion::BatchSize::SmallInput,
        )
    });

    // Start mid-page so every step moves.
    for _ in 0..2_000 {
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
        );
    }
    let mut down = true;
    group.bench_function("scroll_step", |b| {
        b.iter(|| {
            let c = if down { 'j' } else { 'k' };
            down = !down;
            update(
                &mut app,
                Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            );
            terminal.draw(|f| views::draw(f, &app)).expect("draw");
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
