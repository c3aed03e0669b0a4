//! Catalog text made safe and sized for the terminal: control characters and escape sequences stripped
//! (an entity's description must never move the cursor or change colours), widths measured in cells.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` with terminal escape sequences and control characters removed; newlines and tabs become spaces.
pub fn sanitize(text: &str) -> String {
    clean(text, false)
}

/// `text` with terminal escape sequences and control characters removed, newlines and tabs kept: for a whole
/// document whose layout (markdown indentation, code) matters, before it is parsed.
pub fn strip_escapes(text: &str) -> String {
    clean(text, true)
}

fn clean(text: &str, keep_layout: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // ESC starts a sequence: CSI (`ESC [` ... final byte 0x40..=0x7e), OSC (`ESC ]` ... BEL or
            // `ESC \`), or a two-character escape. All of it goes.
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') | Some('P') | Some('_') | Some('^') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            // C1 CSI is an escape sequence on some terminals.
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            '\n' | '\t' if keep_layout => out.push(c),
            '\r' if keep_layout => {}
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            // Bidirectional overrides can make text render differently from what it is.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Display width in terminal cells.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` cells, ending in `…` when cut; wide characters are never split.
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_stripped() {
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(sanitize("x\u{1b}]0;title\u{7}y"), "xy");
        assert_eq!(
            sanitize("x\u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\y"),
            "xlinky"
        );
        assert_eq!(sanitize("line1\nline2\tend\r"), "line1 line2 end ");
        assert_eq!(sanitize("bell\u{7}\u{0}\u{8}"), "bell");
        assert_eq!(sanitize("a\u{202e}b"), "ab");
        assert_eq!(sanitize("ünïcødé 日本"), "ünïcødé 日本");
    }

    #[test]
    fn layout_kept_when_asked() {
        assert_eq!(strip_escapes("a\u{1b}[1mb\r\n\tc\u{7}"), "ab\n\tc");
    }

    #[test]
    fn truncation_counts_cells() {
        assert_eq!(truncate("payments", 20), "payments");
        assert_eq!(truncate("payments-service", 8), "payment…");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
        assert_eq!(width("日本"), 4);
        assert_eq!(truncate("abc", 0), "");
    }
}
