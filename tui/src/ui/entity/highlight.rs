//! Syntax highlighting of API definitions and the raw YAML with syntect (pure-Rust regexes), its styles
//! mapped to ratatui's for the colour mode in use: true colour as is, the 16 ANSI colours by nearest match,
//! and no colour at all under `NO_COLOR` (bold/italic/underline only).
//!
//! Highlighting is incremental and lazy: lines are highlighted up to the last one drawn, on first draw, and
//! kept, so a long definition costs nothing until it is scrolled through.

use std::sync::{Mutex, OnceLock};

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, ThemeSet};
use syntect::parsing::{SyntaxReference, SyntaxSet};

use super::super::text::sanitize;
use super::super::theme::{ColorMode, Theme};

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static ThemeSet {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    SET.get_or_init(ThemeSet::load_defaults)
}

/// The syntect theme that suits a stagedoor theme.
fn syntect_theme(theme: &Theme) -> &'static syntect::highlighting::Theme {
    let name = if theme.name.contains("light") {
        "InspiredGitHub"
    } else {
        "base16-ocean.dark"
    };
    let set = themes();
    set.themes
        .get(name)
        .or_else(|| set.themes.values().next())
        .expect("syntect ships themes")
}

/// The language of a text: `language` is a file extension (`yaml`, `json`, `graphql`, `proto`…).
fn syntax(language: &str) -> Option<&'static SyntaxReference> {
    syntaxes().find_syntax_by_extension(language)
}

/// The language of an API definition from `spec.type` and the text itself: OpenAPI and AsyncAPI are JSON
/// when they start with `{`, YAML otherwise; GraphQL, gRPC (protobuf) and tRPC (TypeScript) when syntect
/// knows them; `None` (plain text) otherwise.
pub(crate) fn definition_language(api_type: &str, text: &str) -> Option<&'static str> {
    let json = text.trim_start().starts_with('{') || text.trim_start().starts_with('[');
    let language = match api_type.to_ascii_lowercase().as_str() {
        "graphql" => "graphql",
        "grpc" => "proto",
        "trpc" => "ts",
        _ if json => "json",
        "openapi" | "asyncapi" | "mcp-server" => "yaml",
        _ => return None,
    };
    syntax(language).map(|_| language)
}

/// The language of a markdown code fence's info word (`rust`, `Python`, `sh`, `yml`…) as an extension syntect
/// knows, matched by name or extension. syntect's defaults have no TypeScript, so TypeScript and JSX fences
/// highlight as JavaScript, which is close enough to read.
pub(crate) fn fence_language(token: &str) -> Option<&'static str> {
    let token = token.trim_matches(|c: char| c == '{' || c == '}' || c == '.');
    let token = match token.to_ascii_lowercase().as_str() {
        "" => return None,
        "typescript" | "ts" | "tsx" | "jsx" | "mjs" | "cjs" => "js".to_string(),
        "shell" | "console" | "shell-session" | "zsh" => "sh".to_string(),
        other => other.to_string(),
    };
    let syntax = syntaxes().find_syntax_by_token(&token)?;
    syntax.file_extensions.first().map(String::as_str)
}

/// A code block's lines highlighted for `theme` (plain lines in the base style when the fence's language is
/// unknown); tabs expanded and control characters removed.
pub(crate) fn highlight_code(code: &str, fence: &str, theme: &Theme) -> Vec<Line<'static>> {
    let text = Highlighted::new(code, fence_language(fence));
    text.lines(theme, 0, text.len())
}

/// The name syntect gives a language (tests, the pane title).
pub(crate) fn language_name(language: &str) -> Option<&'static str> {
    syntax(language).map(|s| s.name.as_str())
}

/// A text's lines (sanitized once), highlighted on demand.
pub(crate) struct Highlighted {
    lines: Vec<String>,
    language: Option<&'static str>,
    cache: Mutex<Option<Cache>>,
}

struct Cache {
    key: (String, ColorMode),
    highlighter: HighlightLines<'static>,
    done: Vec<Line<'static>>,
}

impl Highlighted {
    /// `text` in `language` (an extension, or `None` for plain text).
    pub(crate) fn new(text: &str, language: Option<&'static str>) -> Highlighted {
        Highlighted {
            lines: text
                .lines()
                .map(|l| sanitize(&l.replace('\t', "    ")))
                .collect(),
            language: language.filter(|l| syntax(l).is_some()),
            cache: Mutex::new(None),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(crate) fn language(&self) -> Option<&'static str> {
        self.language
    }

    /// The plain text of line `i` (tests).
    #[cfg(test)]
    pub(crate) fn plain(&self, i: usize) -> Option<&str> {
        self.lines.get(i).map(String::as_str)
    }

    /// Lines `from..to`, styled for `theme`.
    pub(crate) fn lines(&self, theme: &Theme, from: usize, to: usize) -> Vec<Line<'static>> {
        let to = to.min(self.lines.len());
        if from >= to {
            return vec![];
        }
        let Some(syntax) = self.language.and_then(syntax) else {
            return self.lines[from..to]
                .iter()
                .map(|l| Line::styled(l.clone(), theme.base))
                .collect();
        };
        let key = (theme.name.clone(), theme.mode);
        let mut guard = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(guard.as_ref(), Some(c) if c.key == key) {
            *guard = Some(Cache {
                key,
                highlighter: HighlightLines::new(syntax, syntect_theme(theme)),
                done: Vec::new(),
            });
        }
        let cache = guard.as_mut().expect("just set");
        while cache.done.len() < to {
            let text = &self.lines[cache.done.len()];
            let with_newline = format!("{text}\n");
            let line = match cache.highlighter.highlight_line(&with_newline, syntaxes()) {
                Ok(tokens) => Line::from(
                    tokens
                        .into_iter()
                        .map(|(style, t)| {
                            Span::styled(
                                t.trim_end_matches('\n').to_string(),
                                convert(style, theme),
                            )
                        })
                        .filter(|s| !s.content.is_empty())
                        .collect::<Vec<_>>(),
                ),
                Err(_) => Line::styled(text.clone(), theme.base),
            };
            cache.done.push(line);
        }
        cache.done[from..to].to_vec()
    }
}

/// A syntect style as ratatui's, in the theme's colour mode, over the theme's base style.
fn convert(style: syntect::highlighting::Style, theme: &Theme) -> Style {
    let mut out = theme.base;
    let c = style.foreground;
    if let Some(colour) = theme.mode.show(Color::Rgb(c.r, c.g, c.b)) {
        out = out.fg(colour);
    }
    if style.font_style.contains(FontStyle::BOLD) {
        out = out.add_modifier(Modifier::BOLD);
    }
    if style.font_style.contains(FontStyle::ITALIC) {
        out = out.add_modifier(Modifier::ITALIC);
    }
    if style.font_style.contains(FontStyle::UNDERLINE) {
        out = out.add_modifier(Modifier::UNDERLINED);
    }
    out
}
