//! Tests of the markdown renderer: snapshots of the TechDocs fixture pages and of a page using every
//! construct, drawn into a `TestBackend`; link spots, anchors (the same as core's), wrapping, escape
//! sequences and narrow widths.

use std::path::PathBuf;
use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::widgets::Paragraph;
use ratatui::Terminal;

use super::*;
use crate::ui::text::width as text_width;
use crate::ui::theme::ColorMode;

fn theme() -> Theme {
    Theme::built_in("dark", ColorMode::TrueColor).expect("dark theme")
}

fn fixture(name: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/techdocs/backstage-documented-component/docs")
        .join(name);
    std::fs::read_to_string(path).ok()
}

fn render(md: &str, width: u16) -> RenderedPage {
    render_markdown(md, "page.md", width, &theme())
}

/// The page drawn the way the reader draws it: a plain paragraph of its lines, as tall as the page.
fn screen(page: &RenderedPage) -> String {
    let height = u16::try_from(page.lines.len().max(1)).unwrap_or(u16::MAX);
    let mut terminal = Terminal::new(TestBackend::new(page.width, height)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(Paragraph::new(page.lines.clone()), f.area()))
        .expect("draw");
    terminal.backend().to_string()
}

/// Every construct the renderer knows, once.
const EVERYTHING: &str = r#"---
title: Everything
tags: [a, b]
---

# Everything *at once*

A paragraph with *emphasis*, **strong**, ~~struck~~, `inline code`, a [relative link](other.md#part),
an autolink <https://example.com/x> and an image ![the diagram](img/diagram.png). It is long enough to wrap
at eighty columns, more than once, so wrapping can be seen in the snapshot.

Line with a hard break\
after it.

日本語のテキストは空白なしで折り返されます。絵文字も 🎉 数えます。

## Lists

- first
- second, which is long enough that it has to wrap onto the next line at a narrow width
  - nested one
  - nested two
    1. deep ordered
    2. deep ordered again
- third

1. one
2. two

Between lists.

10. ten
11. eleven

- [x] done task
- [ ] open task

## Table

| Name | Kind | Description |
|:-----|:----:|------------:|
| payments | service | Takes the money and gives back a receipt, eventually |
| `ledger` | library | [Docs](ledger.md) |

## Code

```rust
fn main() {
	println!("hello");
}
```

    indented code block
    second line

## Quotes and admonitions

> A quote
> over two lines.
>
> > Nested.

!!! warning "Mind the gap"
    Admonition body with **bold**.

??? tip "Click to open"
    Hidden details.

> [!CAUTION]
> GitHub alert.

---

<div class="raw">
  <script>alert(1)</script>
</div>

Footnote here[^note] and again[^2].

[^note]: The note, with a [link](https://example.com/fn).
[^2]: Second.

## Everything *at once*
"#;

#[test]
fn snapshot_everything_80() {
    let page = render(EVERYTHING, 80);
    insta::assert_snapshot!("everything_80", screen(&page));
}

#[test]
fn snapshot_everything_40() {
    let page = render(EVERYTHING, 40);
    insta::assert_snapshot!("everything_40", screen(&page));
}

#[test]
fn snapshot_fixture_pages() {
    for (name, snap) in [
        ("index.md", "fixture_index"),
        ("extensions.md", "fixture_extensions"),
        ("code/code-sample.md", "fixture_code_sample"),
        ("sub-page.md", "fixture_sub_page"),
        ("deeper-nav/index.md", "fixture_deeper_nav"),
    ] {
        let Some(md) = fixture(name) else {
            return;
        };
        let page = render_markdown(&md, name, 80, &theme());
        insta::assert_snapshot!(snap, screen(&page));
    }
}

#[test]
fn styles_carry_the_markup() {
    let theme = theme();
    let page = render_markdown(
        "# One\n\n## Two\n\nA [link](x.md), `code` and **bold**.\n\n| H |\n|---|\n| c |\n",
        "page.md",
        80,
        &theme,
    );
    let style_of = |line: usize, text: &str| {
        page.lines[line]
            .spans
            .iter()
            .find(|s| s.content.contains(text))
            .map(|s| s.style)
            .unwrap_or_else(|| panic!("no {text:?} on line {line}: {:?}", page.lines[line]))
    };
    let h1 = style_of(0, "One");
    assert!(h1
        .add_modifier
        .contains(Modifier::BOLD | Modifier::UNDERLINED));
    assert_eq!(h1.fg, theme.heading.fg);
    let h2 = style_of(page.headings[1].line, "Two");
    assert!(h2.add_modifier.contains(Modifier::BOLD));
    assert!(!h2.add_modifier.contains(Modifier::UNDERLINED));
    let para = page.links[0].line;
    let link = style_of(para, "link");
    assert!(link.add_modifier.contains(Modifier::UNDERLINED));
    assert_eq!(link.fg, theme.link.fg);
    assert_eq!(style_of(para, "code").fg, theme.code.fg);
    assert!(style_of(para, "bold").add_modifier.contains(Modifier::BOLD));
    let header = page
        .plain
        .iter()
        .position(|l| l.contains("│ H │"))
        .expect("header");
    assert!(style_of(header, "H").add_modifier.contains(Modifier::BOLD));
    let cell = page
        .plain
        .iter()
        .position(|l| l.contains("│ c │"))
        .expect("cell");
    assert!(!style_of(cell, "c").add_modifier.contains(Modifier::BOLD));
}

#[test]
fn plain_is_the_text_of_each_line() {
    let page = render(EVERYTHING, 80);
    assert_eq!(page.lines.len(), page.plain.len());
    for (line, plain) in page.lines.iter().zip(&page.plain) {
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(&text, plain);
    }
    assert!(
        !page.plain.iter().any(|l| l.contains("tags:")),
        "front matter hidden"
    );
}

#[test]
fn anchors_match_core() {
    let mut pages: Vec<(String, String)> = vec![("everything.md".into(), EVERYTHING.into())];
    for name in [
        "index.md",
        "extensions.md",
        "code/code-sample.md",
        "sub-page.md",
    ] {
        if let Some(md) = fixture(name) {
            pages.push((name.to_string(), md));
        }
    }
    pages.push((
        "tricky.md".into(),
        "# Hello, World!\n## Hello World\n## Žluťoučký kůň\n## `code` and *em*\n## !!!\n## !!!\n\
         Setext\nheading\n---\n"
            .into(),
    ));
    for (location, md) in pages {
        let core = stagedoor_core::techdocs::page::render_page(&location, &md);
        let page = render_markdown(&md, &location, 80, &theme());
        let ours: Vec<(&str, u8)> = page
            .headings
            .iter()
            .map(|h| (h.anchor.as_str(), h.level))
            .collect();
        let theirs: Vec<(&str, u8)> = core
            .headings
            .iter()
            .map(|h| (h.anchor.as_str(), h.level))
            .collect();
        assert_eq!(ours, theirs, "{location}");
        for heading in &page.headings {
            assert_eq!(page.anchors.get(&heading.anchor), Some(&heading.line));
            assert!(
                page.plain[heading.line].contains(heading.title.split(' ').next().unwrap_or("")),
                "{location}: {:?} at {}",
                heading,
                page.plain[heading.line]
            );
        }
    }
}

#[test]
fn link_spots_point_at_the_link_text() {
    let page = render(EVERYTHING, 80);
    let hrefs: Vec<&str> = page.links.iter().map(|l| l.href.as_str()).collect();
    assert_eq!(
        hrefs,
        [
            "other.md#part",
            "https://example.com/x",
            "ledger.md",
            "#fn:1",
            "#fn:2",
            "https://example.com/fn"
        ]
    );
    for link in &page.links {
        let line = &page.plain[link.line];
        let shown = cells(line, usize::from(link.start), usize::from(link.end));
        assert!(
            link.text.starts_with(&shown) || shown.starts_with(&link.text),
            "{link:?} shows {shown:?} on {line:?}"
        );
        assert!(link.end > link.start);
    }
    let relative = &page.links[0];
    assert_eq!(relative.text, "relative link");
    let fn_def = page.anchors.get("fn:1").copied().expect("footnote anchor");
    assert!(page.plain[fn_def].starts_with("[1] The note"));
}

#[test]
fn link_columns_are_exact() {
    let page = render("Go [there](a.md) now, or [日本](b.md).", 80);
    assert_eq!(
        page.links[0],
        LinkSpot {
            line: 0,
            start: 3,
            end: 8,
            href: "a.md".into(),
            text: "there".into()
        }
    );
    // Wide characters count two cells each.
    assert_eq!((page.links[1].start, page.links[1].end), (17, 21));
    // Inside a list item the marker's cells count too.
    let page = render("- see [x](y.md)", 80);
    assert_eq!((page.links[0].start, page.links[0].end), (6, 7));
}

/// The cells `[start, end)` of `line`.
fn cells(line: &str, start: usize, end: usize) -> String {
    let mut col = 0;
    let mut out = String::new();
    for c in line.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]));
        if col >= start && col + w <= end {
            out.push(c);
        }
        col += w;
    }
    out
}

#[test]
fn wrapping_fits_the_width() {
    for width in [40u16, 100] {
        let page = render(EVERYTHING, width);
        assert_eq!(page.width, width);
        for line in &page.plain {
            assert!(
                text_width(line) <= usize::from(width),
                "{width}: {line:?} is {} wide",
                text_width(line)
            );
        }
    }
    let long = "word ".repeat(60);
    let narrow = render(&long, 40);
    let wide = render(&long, 100);
    assert!(narrow.lines.len() > wide.lines.len());
    assert!(narrow.plain.iter().all(|l| text_width(l) <= 40));
    assert!(narrow.plain[0].len() > 30, "{:?}", narrow.plain[0]);
    // Continuation lines of a list item line up under its text.
    let page = render("- a list item that wraps onto a second line", 20);
    assert_eq!(
        page.plain,
        ["• a list item that", "  wraps onto a", "  second line"]
    );
}

#[test]
fn escape_sequences_are_neutralised() {
    let md = "# Title \u{1b}[31mred\u{1b}[0m\n\nText \u{1b}]0;pwned\u{7}here \u{1b}[2J and \u{9b}1m.\n\n\
              ```\ncode \u{1b}[5mblink\n```\n\n| a\u{1b}[1m | b |\n|---|---|\n| \u{1b}[7m | x |\n\n\
              [link\u{1b}[4m](http://e\u{1b}x)\n";
    let page = render(md, 80);
    for line in &page.lines {
        for span in &line.spans {
            assert!(
                !span
                    .content
                    .chars()
                    .any(|c| c.is_control() || c == '\u{9b}'),
                "{:?}",
                span.content
            );
        }
    }
    for link in &page.links {
        assert!(!link.href.chars().any(char::is_control));
        assert!(!link.text.chars().any(char::is_control));
    }
    assert!(page.plain[0].contains("Title red"), "{:?}", page.plain[0]);
    assert!(
        page.plain.iter().any(|l| l.contains("Text here and .")),
        "{:#?}",
        page.plain
    );
}

#[test]
fn a_very_wide_table_in_a_narrow_pane() {
    let header = (0..20)
        .map(|i| format!("column number {i}"))
        .collect::<Vec<_>>();
    let md = format!(
        "| {} |\n|{}\n| {} |\n",
        header.join(" | "),
        "---|".repeat(20),
        (0..20)
            .map(|i| format!("value {i} is rather long"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for width in [30u16, 10, 1, 0] {
        let page = render(&md, width);
        assert!(!page.lines.is_empty());
        assert!(page
            .plain
            .iter()
            .all(|l| text_width(l) <= usize::from(width)));
    }
    let page = render(&md, 30);
    assert!(page.plain[0].ends_with('…'), "{:?}", page.plain[0]);
}

#[test]
fn table_cells_wrap_in_fitted_columns() {
    let md = "| id | description |\n|---|---|\n| 1 | a description that is much longer than the width allows |\n";
    let page = render(md, 30);
    assert_eq!(page.plain[0], "┌────┬───────────────────────┐");
    assert!(page.plain[1].starts_with("│ id │ description"));
    assert!(page.plain.len() > 5, "{:#?}", page.plain);
    assert!(
        page.plain.iter().all(|l| text_width(l) == 30),
        "{:#?}",
        page.plain
    );
}

#[test]
fn admonitions_and_details() {
    let Some(md) = fixture("extensions.md") else {
        return;
    };
    let page = render_markdown(&md, "extensions.md", 80, &theme());
    let text = page.plain.join("\n");
    assert!(
        text.contains("┃ Warn\n┃ Defining admonitions can be addicting."),
        "{text}"
    );
    assert!(text.contains("┃ ▾ How do I get support?"), "{text}");
    assert!(
        text.contains("┃ ▸ What is 4 plus 4?\n┃ The answer is 8."),
        "{text}"
    );
    assert!(text.contains("☑ Phase 1\n☑ Phase 2\n☐ Phase 3"), "{text}");
    // The example inside a fence stays code.
    assert!(text.contains("▎ !!! warn"), "{text}");
    assert!(!text.contains('\u{E000}'));
}

#[test]
fn code_is_highlighted_and_cut_not_wrapped() {
    let md = format!(
        "```python\ndef f():\n    return '{}'\n```\n",
        "x".repeat(100)
    );
    let page = render(&md, 40);
    assert_eq!(page.plain.len(), 2);
    assert_eq!(page.plain[0], "▎ def f():");
    assert!(page.plain[1].ends_with('…'));
    assert_eq!(text_width(&page.plain[1]), 40);
    // Highlighted: more than the gutter and one span of text.
    assert!(page.lines[0].spans.len() > 2, "{:?}", page.lines[0]);
}

#[test]
fn empty_and_tiny_inputs() {
    assert!(render("", 80).lines.is_empty());
    for width in [0u16, 1, 2, 5] {
        let page = render(EVERYTHING, width);
        assert!(page
            .plain
            .iter()
            .all(|l| text_width(l) <= usize::from(width)));
    }
    let deep = (0..40)
        .map(|d| format!("{}- level {d}\n", "  ".repeat(d)))
        .collect::<String>();
    let page = render(&deep, 20);
    assert!(page.plain.iter().all(|l| text_width(l) <= 20));
}

#[test]
fn a_long_page_renders_and_draws_fast() {
    let section = "## Section\n\nSome *text* with a [link](x.md) and `code`, long enough to wrap at least once at \
                   eighty columns for sure.\n\n- item one\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\
                   ```\nplain code\n```\n\n";
    let md = section.repeat(350);
    let started = Instant::now();
    let page = render(&md, 80);
    let rendered = started.elapsed();
    assert!(page.lines.len() > 5_000, "{}", page.lines.len());
    let mut terminal = Terminal::new(TestBackend::new(80, 50)).expect("terminal");
    let started = Instant::now();
    terminal
        .draw(|f| {
            let visible = page.lines[2_500..2_550].to_vec();
            f.render_widget(Paragraph::new(visible), f.area())
        })
        .expect("draw");
    let drawn = started.elapsed();
    assert!(drawn.as_millis() < 16, "frame took {drawn:?}");
    // Generous for debug builds on a loaded machine; release renders this in a few milliseconds.
    assert!(rendered.as_millis() < 2_000, "render took {rendered:?}");
    assert_eq!(page.headings.len(), 350);
    assert_eq!(page.headings[349].anchor, "section_349");
}
