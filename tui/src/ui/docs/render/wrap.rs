//! Styled word wrapping and truncation for the markdown renderer: inline content (runs of text, each in one
//! style and maybe part of a link) broken into lines of at most a given number of cells.
//!
//! Words break at spaces; runs of spaces collapse to one (as a browser shows them) and are dropped at line
//! starts. A word wider than the line is cut between characters, so CJK text without spaces and long URLs
//! still fit. Widths are terminal cells (`unicode-width`), never bytes or chars.

use ratatui::style::Style;
use unicode_width::UnicodeWidthChar;

use super::super::super::text::width as text_width;

/// A run of text in one style, maybe part of link `link` (an index into the renderer's links).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Seg {
    pub text: String,
    pub style: Style,
    pub link: Option<usize>,
}

impl Seg {
    pub fn new(text: impl Into<String>, style: Style) -> Seg {
        Seg {
            text: text.into(),
            style,
            link: None,
        }
    }

    pub fn width(&self) -> usize {
        text_width(&self.text)
    }
}

/// Inline content of a block: text runs and hard line breaks.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Inline {
    Text(Seg),
    Break,
}

/// Total width of a line's segments.
pub(super) fn line_width(line: &[Seg]) -> usize {
    line.iter().map(Seg::width).sum()
}

/// Appends `seg` to `line`, merging it into the last segment when style and link are the same (fewer spans
/// to draw).
pub(super) fn push_seg(line: &mut Vec<Seg>, seg: Seg) {
    if seg.text.is_empty() {
        return;
    }
    match line.last_mut() {
        Some(last) if last.style == seg.style && last.link == seg.link => {
            last.text.push_str(&seg.text)
        }
        _ => line.push(seg),
    }
}

fn push_char(line: &mut Vec<Seg>, c: char, style: Style, link: Option<usize>) {
    match line.last_mut() {
        Some(last) if last.style == style && last.link == link => last.text.push(c),
        _ => line.push(Seg {
            text: c.to_string(),
            style,
            link,
        }),
    }
}

fn char_width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Greedy wrapping state: the lines so far, the word being read and the space before it.
struct Wrapper {
    width: usize,
    lines: Vec<Vec<Seg>>,
    line_width: usize,
    word: Vec<Seg>,
    word_width: usize,
    /// A space seen since the last word, in the style it was written in (an underlined link keeps its
    /// underline between its words).
    space: Option<(Style, Option<usize>)>,
}

impl Wrapper {
    fn current(&mut self) -> &mut Vec<Seg> {
        if self.lines.is_empty() {
            self.lines.push(Vec::new());
        }
        let last = self.lines.len() - 1;
        &mut self.lines[last]
    }

    fn new_line(&mut self) {
        self.lines.push(Vec::new());
        self.line_width = 0;
    }

    fn flush_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let word = std::mem::take(&mut self.word);
        let word_width = std::mem::replace(&mut self.word_width, 0);
        let space = self.space.take();
        if self.line_width > 0 {
            if let Some((style, link)) = space {
                if self.line_width + 1 + word_width <= self.width {
                    push_char(self.current(), ' ', style, link);
                    self.line_width += 1;
                } else {
                    self.new_line();
                }
            }
        }
        if self.line_width + word_width <= self.width {
            for seg in word {
                push_seg(self.current(), seg);
            }
            self.line_width += word_width;
            return;
        }
        // Wider than what is left even on a fresh line: cut between characters.
        if self.line_width > 0 && word_width <= self.width {
            self.new_line();
            for seg in word {
                push_seg(self.current(), seg);
            }
            self.line_width = word_width;
            return;
        }
        for seg in word {
            for c in seg.text.chars() {
                let w = char_width(c);
                if self.line_width + w > self.width && self.line_width > 0 {
                    self.new_line();
                }
                push_char(self.current(), c, seg.style, seg.link);
                self.line_width += w;
            }
        }
    }
}

/// `inline` broken into lines of at most `width` cells (at least one line, maybe empty).
pub(super) fn wrap(inline: &[Inline], width: usize) -> Vec<Vec<Seg>> {
    let mut w = Wrapper {
        width: width.max(1),
        lines: vec![Vec::new()],
        line_width: 0,
        word: Vec::new(),
        word_width: 0,
        space: None,
    };
    for item in inline {
        match item {
            Inline::Break => {
                w.flush_word();
                w.space = None;
                w.new_line();
            }
            Inline::Text(seg) => {
                for c in seg.text.chars() {
                    if c == ' ' {
                        w.flush_word();
                        // Spaces at a line start (or before anything) are dropped.
                        if w.line_width > 0 && w.space.is_none() {
                            w.space = Some((seg.style, seg.link));
                        }
                    } else {
                        push_char(&mut w.word, c, seg.style, seg.link);
                        w.word_width += char_width(c);
                    }
                }
            }
        }
    }
    w.flush_word();
    w.lines
}

/// `line` cut to at most `max` cells, ending in `…` (in the style of the text it replaces) when cut.
pub(super) fn truncate(line: Vec<Seg>, max: usize) -> Vec<Seg> {
    if line_width(&line) <= max {
        return line;
    }
    if max == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut used = 0;
    let mut last_style = Style::default();
    'segs: for seg in line {
        last_style = seg.style;
        for c in seg.text.chars() {
            let w = char_width(c);
            if used + w > max - 1 {
                break 'segs;
            }
            push_char(&mut out, c, seg.style, seg.link);
            used += w;
        }
    }
    push_char(&mut out, '…', last_style, None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Vec<Seg>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.iter().map(|s| s.text.as_str()).collect())
            .collect()
    }

    fn plain(s: &str) -> Inline {
        Inline::Text(Seg::new(s, Style::default()))
    }

    #[test]
    fn wraps_at_spaces_and_collapses_them() {
        let lines = wrap(&[plain("  the quick   brown fox jumps")], 10);
        assert_eq!(text(&lines), ["the quick", "brown fox", "jumps"]);
    }

    #[test]
    fn words_across_styles_stay_together() {
        let bold = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let inline = [
            plain("aaaa "),
            Inline::Text(Seg::new("bold", bold)),
            plain(", next"),
        ];
        assert_eq!(text(&wrap(&inline, 8)), ["aaaa", "bold,", "next"]);
    }

    #[test]
    fn long_words_and_wide_characters_are_cut() {
        assert_eq!(
            text(&wrap(&[plain("ab abcdefghij")], 4)),
            ["ab", "abcd", "efgh", "ij"]
        );
        assert_eq!(
            text(&wrap(&[plain("日本語のテキスト")], 5)),
            ["日本", "語の", "テキ", "スト"]
        );
        assert_eq!(text(&wrap(&[plain("x")], 0)), ["x"]);
    }

    #[test]
    fn hard_breaks() {
        let lines = wrap(&[plain("one"), Inline::Break, plain(" two")], 20);
        assert_eq!(text(&lines), ["one", "two"]);
    }

    #[test]
    fn truncation_marks_the_cut() {
        let line = vec![
            Seg::new("hello ", Style::default()),
            Seg::new("world", Style::default()),
        ];
        assert_eq!(text(&[truncate(line.clone(), 8)]), ["hello w…"]);
        assert_eq!(text(&[truncate(line.clone(), 11)]), ["hello world"]);
        assert!(truncate(line, 0).is_empty());
    }
}
