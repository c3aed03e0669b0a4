//! Markdown tables laid out in box-drawing lines: column widths fitted to the width available, cells wrapped
//! inside their column, the header row bold.
//!
//! Widths: every column gets its natural width (its widest cell on one line) when they all fit. Otherwise the
//! narrow columns keep theirs and the rest share what is left evenly, so a long description column wraps
//! while short id columns stay whole. When not even one cell per column fits, the lines come out wider than
//! asked and the renderer cuts them with `…`: a table never makes the page panic.

use pulldown_cmark::Alignment;
use ratatui::style::{Modifier, Style};

use super::wrap::{line_width, push_seg, wrap, Inline, Seg};

/// A table being read: alignments, header cells, body rows; each cell its inline content.
#[derive(Debug, Default)]
pub(super) struct Table {
    pub aligns: Vec<Alignment>,
    pub head: Vec<Vec<Inline>>,
    pub rows: Vec<Vec<Vec<Inline>>>,
    /// Cells of the row being read.
    pub row: Vec<Vec<Inline>>,
}

/// Cells of a row, fitted: for each column, its wrapped lines.
type Fitted = Vec<Vec<Vec<Seg>>>;

/// The table's lines for `width` cells: padding in `base`, borders in `border`.
pub(super) fn layout(table: &Table, width: usize, base: Style, border: Style) -> Vec<Vec<Seg>> {
    let columns = table
        .rows
        .iter()
        .map(Vec::len)
        .chain([table.head.len(), table.aligns.len()])
        .max()
        .unwrap_or(0);
    if columns == 0 {
        return Vec::new();
    }
    let all_rows = || std::iter::once(&table.head).chain(&table.rows);
    let mut natural = vec![1usize; columns];
    for row in all_rows() {
        for (c, cell) in row.iter().enumerate() {
            let w = wrap(cell, usize::MAX)
                .iter()
                .map(|l| line_width(l))
                .max()
                .unwrap_or(0);
            natural[c] = natural[c].max(w);
        }
    }
    let widths = fit(&natural, width.saturating_sub(3 * columns + 1));

    let rule = |left: &str, mid: &str, right: &str| -> Vec<Seg> {
        let mut text = String::from(left);
        for (c, w) in widths.iter().enumerate() {
            if c > 0 {
                text.push_str(mid);
            }
            text.push_str(&"─".repeat(w + 2));
        }
        text.push_str(right);
        vec![Seg::new(text, border)]
    };
    let fitted = |row: &Vec<Vec<Inline>>, bold: bool| -> Fitted {
        (0..columns)
            .map(|c| {
                let mut lines = row
                    .get(c)
                    .map(|cell| wrap(cell, widths[c]))
                    .unwrap_or_default();
                if bold {
                    for seg in lines.iter_mut().flatten() {
                        seg.style = seg.style.add_modifier(Modifier::BOLD);
                    }
                }
                lines
            })
            .collect()
    };

    let mut out = vec![rule("┌", "┬", "┐")];
    if !table.head.is_empty() {
        out.extend(row_lines(
            &fitted(&table.head, true),
            &widths,
            &table.aligns,
            base,
            border,
        ));
        out.push(rule("├", "┼", "┤"));
    }
    for row in &table.rows {
        out.extend(row_lines(
            &fitted(row, false),
            &widths,
            &table.aligns,
            base,
            border,
        ));
    }
    out.push(rule("└", "┴", "┘"));
    out
}

/// Column widths for `natural` widths in `available` cells (at least 1 each).
fn fit(natural: &[usize], available: usize) -> Vec<usize> {
    if natural.iter().sum::<usize>() <= available {
        return natural.to_vec();
    }
    let mut order: Vec<usize> = (0..natural.len()).collect();
    order.sort_by_key(|&c| natural[c]);
    let mut widths = vec![1; natural.len()];
    let mut left = available;
    for (done, &c) in order.iter().enumerate() {
        let share = left / (natural.len() - done);
        let w = natural[c].min(share).max(1);
        widths[c] = w;
        left = left.saturating_sub(w);
    }
    widths
}

/// One row's lines: as many as its tallest cell.
fn row_lines(
    cells: &Fitted,
    widths: &[usize],
    aligns: &[Alignment],
    base: Style,
    border: Style,
) -> Vec<Vec<Seg>> {
    let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
    (0..height)
        .map(|i| {
            let mut line = vec![Seg::new("│", border)];
            for (c, w) in widths.iter().enumerate() {
                let content = cells
                    .get(c)
                    .and_then(|l| l.get(i))
                    .cloned()
                    .unwrap_or_default();
                let pad = w.saturating_sub(line_width(&content));
                let (before, after) = match aligns.get(c) {
                    Some(Alignment::Right) => (pad, 0),
                    Some(Alignment::Center) => (pad / 2, pad - pad / 2),
                    _ => (0, pad),
                };
                push_seg(&mut line, Seg::new(" ".repeat(before + 1), base));
                for seg in content {
                    push_seg(&mut line, seg);
                }
                push_seg(&mut line, Seg::new(" ".repeat(after + 1), base));
                push_seg(&mut line, Seg::new("│", border));
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_columns_keep_their_width() {
        assert_eq!(fit(&[2, 3, 40], 30), [2, 3, 25]);
        assert_eq!(fit(&[2, 3, 4], 30), [2, 3, 4]);
        assert_eq!(fit(&[20, 20], 10), [5, 5]);
        assert_eq!(fit(&[5, 5, 5], 0), [1, 1, 1]);
    }
}
