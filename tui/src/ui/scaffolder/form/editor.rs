//! The text under a form field's cursor: insertion, deletion and cursor moves for single-line inputs and
//! textareas (the search overlay keeps a bare `String`, so this is the form's own small editor).

use unicode_width::UnicodeWidthStr;

/// Text plus a cursor (a byte offset on a character boundary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Editor {
    pub text: String,
    pub cursor: usize,
}

impl Editor {
    /// `text` with the cursor at its end.
    pub fn new(text: &str) -> Editor {
        Editor {
            text: text.to_string(),
            cursor: text.len(),
        }
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
    }

    pub fn insert(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    pub fn backspace(&mut self) {
        if let Some((i, _)) = self.text[..self.cursor].char_indices().next_back() {
            self.text.replace_range(i..self.cursor, "");
            self.cursor = i;
        }
    }

    pub fn delete(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.text
                .replace_range(self.cursor..self.cursor + c.len_utf8(), "");
        }
    }

    pub fn left(&mut self) {
        if let Some((i, _)) = self.text[..self.cursor].char_indices().next_back() {
            self.cursor = i;
        }
    }

    pub fn right(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    /// To the start of the current line.
    pub fn home(&mut self) {
        self.cursor = self.line_start();
    }

    /// To the end of the current line.
    pub fn end(&mut self) {
        self.cursor = self.line_end();
    }

    /// Ctrl-U: deletes from the start of the line to the cursor (readline's unix-line-discard).
    pub fn clear_before(&mut self) {
        let start = self.line_start();
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// `(line, column in cells)` of the cursor.
    pub fn position(&self) -> (usize, usize) {
        let before = &self.text[..self.cursor];
        let line = before.matches('\n').count();
        let col = UnicodeWidthStr::width(&before[self.line_start()..]);
        (line, col)
    }

    /// Moves to the line above (`up`) or below at the same column; false at the first / last line.
    pub fn vertical(&mut self, up: bool) -> bool {
        let (_, col) = self.position();
        let target_start = if up {
            let start = self.line_start();
            if start == 0 {
                return false;
            }
            self.text[..start - 1].rfind('\n').map_or(0, |i| i + 1)
        } else {
            let end = self.line_end();
            if end == self.text.len() {
                return false;
            }
            end + 1
        };
        let line_end = self.text[target_start..]
            .find('\n')
            .map_or(self.text.len(), |i| target_start + i);
        let mut cursor = target_start;
        let mut used = 0;
        for (i, c) in self.text[target_start..line_end].char_indices() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if used + w > col {
                break;
            }
            used += w;
            cursor = target_start + i + c.len_utf8();
        }
        self.cursor = cursor;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_respect_character_boundaries() {
        let mut e = Editor::new("héllo");
        e.left();
        e.left();
        e.backspace();
        assert_eq!(e.text, "hélo");
        e.home();
        e.delete();
        assert_eq!(e.text, "élo");
        e.end();
        e.insert("!");
        assert_eq!(e.text, "élo!");
        e.left();
        e.clear_before();
        assert_eq!((e.text.as_str(), e.cursor), ("!", 0));
    }

    #[test]
    fn vertical_moves_keep_the_column() {
        let mut e = Editor::new("abcd\nx\nlonger");
        assert!(e.vertical(true));
        assert_eq!(e.position(), (1, 1));
        assert!(e.vertical(true));
        assert_eq!(e.position(), (0, 1));
        assert!(!e.vertical(true));
        e.end();
        assert!(e.vertical(false));
        assert_eq!(e.position(), (1, 1));
    }
}
