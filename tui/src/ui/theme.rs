//! Colour themes: the YAML files under `themes/` (and the user's `$XDG_CONFIG_HOME/stagedoor/themes/`)
//! turned into ratatui styles, with `NO_COLOR` (no colours, only modifiers) and 16-colour terminals
//! (24-bit colours mapped to the nearest ANSI colour) handled here so views never think about either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The themes shipped in the binary, so it works from any directory.
const BUILT_IN: [(&str, &str); 3] = [
    ("dark", include_str!("../../../themes/dark.yaml")),
    ("light", include_str!("../../../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.yaml"),
    ),
];

pub const DEFAULT_THEME: &str = "dark";

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(
        "theme '{name}' not found (built in: dark, light, high-contrast; user themes in {dir})"
    )]
    NotFound { name: String, dir: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// How many colours to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// 24-bit colours as written.
    TrueColor,
    /// The 16 ANSI colours, nearest match.
    Ansi16,
    /// No colours at all (`NO_COLOR`): selection and emphasis by modifiers only.
    None,
}

impl ColorMode {
    /// From the environment: `NO_COLOR` set and non-empty wins; `COLORTERM=truecolor|24bit` gives true colour;
    /// otherwise the 16 ANSI colours, which every terminal has.
    pub fn detect() -> ColorMode {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorMode::None;
        }
        match std::env::var("COLORTERM").as_deref() {
            Ok("truecolor") | Ok("24bit") => ColorMode::TrueColor,
            _ => ColorMode::Ansi16,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    fg: String,
    bg: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[allow(dead_code)]
    description: String,
    base: Pair,
    accent: String,
    selection: Pair,
    highlight: Pair,
    border: String,
    border_focused: String,
    title: String,
    muted: String,
    error: String,
    warning: String,
    success: String,
    info: String,
    kind: BTreeMap<String, String>,
    markdown: Markdown,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Markdown {
    heading: String,
    code: String,
    link: String,
    quote: String,
}

/// Resolved styles for every role a view draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub mode: ColorMode,
    pub base: Style,
    pub accent: Style,
    pub selection: Style,
    pub highlight: Style,
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub muted: Style,
    pub error: Style,
    pub warning: Style,
    pub success: Style,
    pub info: Style,
    pub heading: Style,
    pub code: Style,
    pub link: Style,
    pub quote: Style,
    kinds: BTreeMap<String, Style>,
}

impl Theme {
    /// The style of an entity kind (case-insensitive); unknown kinds draw as base text.
    pub fn kind(&self, kind: &str) -> Style {
        self.kinds
            .get(&kind.to_ascii_lowercase())
            .copied()
            .unwrap_or(self.base)
    }

    /// The style of a lifecycle value: production, experimental and deprecated are coloured.
    pub fn lifecycle(&self, lifecycle: &str) -> Style {
        match lifecycle.to_ascii_lowercase().as_str() {
            "production" => self.success,
            "experimental" => self.warning,
            "deprecated" => self.error,
            _ => self.base,
        }
    }

    /// The built-in dark theme in `mode` (what tests and the first frame use).
    pub fn built_in(name: &str, mode: ColorMode) -> Option<Theme> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        parse(text, name, mode).ok()
    }

    /// Finds `name` in the user's theme directory first (so a user can override a built-in), then among the
    /// built-ins.
    pub fn load(name: &str, mode: ColorMode) -> Result<Theme, ThemeError> {
        let dir = user_theme_dir();
        if let Some(dir) = &dir {
            let path = dir.join(format!("{name}.yaml"));
            if path.is_file() {
                return load_file(&path, mode);
            }
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => parse(text, name, mode),
            None => Err(ThemeError::NotFound {
                name: name.to_string(),
                dir: dir.map_or_else(
                    || "$XDG_CONFIG_HOME/stagedoor/themes".to_string(),
                    |d| d.display().to_string(),
                ),
            }),
        }
    }
}

/// `$XDG_CONFIG_HOME/stagedoor/themes`, or `~/.config/stagedoor/themes` (also on macOS, as terminal users
/// expect).
pub fn user_theme_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("stagedoor").join("themes"))
}

fn load_file(path: &Path, mode: ColorMode) -> Result<Theme, ThemeError> {
    let text = std::fs::read_to_string(path).map_err(|e| ThemeError::Invalid {
        file: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse(&text, &path.display().to_string(), mode)
}

fn parse(text: &str, file: &str, mode: ColorMode) -> Result<Theme, ThemeError> {
    let invalid = |message: String| ThemeError::Invalid {
        file: file.to_string(),
        message,
    };
    let t: ThemeFile = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let color = |key: &str, value: &str| -> Result<Option<Color>, ThemeError> {
        parse_color(value).map(|c| mode.show(c)).ok_or_else(|| {
            invalid(format!(
                "{key}: '{value}' is not a colour (\"#rrggbb\" or an ANSI name)"
            ))
        })
    };
    let fg = |key: &str, value: &str| -> Result<Style, ThemeError> {
        Ok(match color(key, value)? {
            Some(c) => Style::new().fg(c),
            None => Style::new(),
        })
    };
    let pair = |key: &str, p: &Pair| -> Result<Style, ThemeError> {
        let mut style = fg(&format!("{key}.fg"), &p.fg)?;
        if let Some(c) = color(&format!("{key}.bg"), &p.bg)? {
            style = style.bg(c);
        }
        Ok(style)
    };
    // Without colours, roles that must stand out do so by modifiers.
    let marked = |style: Style, modifier: Modifier| {
        if mode == ColorMode::None {
            style.add_modifier(modifier)
        } else {
            style
        }
    };
    let mut kinds = BTreeMap::new();
    for (kind, value) in &t.kind {
        kinds.insert(
            kind.to_ascii_lowercase(),
            fg(&format!("kind.{kind}"), value)?,
        );
    }
    Ok(Theme {
        name: t.name,
        mode,
        base: pair("base", &t.base)?,
        accent: marked(fg("accent", &t.accent)?, Modifier::BOLD),
        selection: marked(pair("selection", &t.selection)?, Modifier::REVERSED),
        highlight: marked(pair("highlight", &t.highlight)?, Modifier::UNDERLINED),
        border: fg("border", &t.border)?,
        border_focused: marked(fg("border_focused", &t.border_focused)?, Modifier::BOLD),
        title: fg("title", &t.title)?.add_modifier(Modifier::BOLD),
        muted: marked(fg("muted", &t.muted)?, Modifier::DIM),
        error: marked(fg("error", &t.error)?, Modifier::BOLD),
        warning: fg("warning", &t.warning)?,
        success: fg("success", &t.success)?,
        info: fg("info", &t.info)?,
        heading: fg("markdown.heading", &t.markdown.heading)?.add_modifier(Modifier::BOLD),
        code: fg("markdown.code", &t.markdown.code)?,
        link: fg("markdown.link", &t.markdown.link)?.add_modifier(Modifier::UNDERLINED),
        quote: marked(fg("markdown.quote", &t.markdown.quote)?, Modifier::ITALIC),
        kinds,
    })
}

/// A theme colour; `reset` is the terminal's own default.
fn parse_color(value: &str) -> Option<Color> {
    let v = value.trim();
    if let Some(hex) = v.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    Some(match v {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "dark_gray" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

/// The 16 ANSI colours with their usual xterm values, for nearest-colour matching.
const ANSI: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

impl ColorMode {
    /// `c` as this mode can show it (24-bit colours mapped to the nearest ANSI colour in 16-colour mode);
    /// `None` means "no colour".
    pub fn show(self, c: Color) -> Option<Color> {
        match (self, c) {
            (ColorMode::None, _) => None,
            (ColorMode::Ansi16, Color::Rgb(r, g, b)) => Some(nearest_ansi(r, g, b)),
            (_, c) => Some(c),
        }
    }
}

fn nearest_ansi(r: u8, g: u8, b: u8) -> Color {
    let distance = |(ar, ag, ab): (u8, u8, u8)| {
        let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
        d(r, ar) + d(g, ag) + d(b, ab)
    };
    ANSI.iter()
        .min_by_key(|(_, rgb)| distance(*rgb))
        .map_or(Color::Reset, |(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_in_every_mode() {
        for (name, _) in BUILT_IN {
            for mode in [ColorMode::TrueColor, ColorMode::Ansi16, ColorMode::None] {
                let theme =
                    Theme::built_in(name, mode).unwrap_or_else(|| panic!("{name} {mode:?}"));
                assert_eq!(theme.name, name);
                for kind in [
                    "component",
                    "api",
                    "system",
                    "domain",
                    "resource",
                    "group",
                    "user",
                    "location",
                    "template",
                ] {
                    if mode != ColorMode::None {
                        assert!(theme.kind(kind).fg.is_some(), "{name}: kind {kind}");
                    }
                }
            }
        }
    }

    #[test]
    fn no_color_uses_modifiers_only() {
        let t = Theme::built_in("dark", ColorMode::None).unwrap();
        for style in [t.base, t.selection, t.error, t.kind("component")] {
            assert_eq!(style.fg, None);
            assert_eq!(style.bg, None);
        }
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn sixteen_colour_mode_maps_to_ansi() {
        let t = Theme::built_in("dark", ColorMode::Ansi16).unwrap();
        assert!(!matches!(t.base.fg, Some(Color::Rgb(..))));
        assert!(!matches!(t.kind("api").fg, Some(Color::Rgb(..))));
        assert_eq!(nearest_ansi(250, 10, 10), Color::LightRed);
    }

    #[test]
    fn bad_theme_files_name_the_file_and_key() {
        let err = parse("name: x\n", "mine.yaml", ColorMode::TrueColor)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("mine.yaml: "), "{err}");
        let dark = BUILT_IN[0]
            .1
            .replace("accent: \"#5fb3f0\"", "accent: \"#5fb3f\"");
        let err = parse(&dark, "mine.yaml", ColorMode::TrueColor)
            .unwrap_err()
            .to_string();
        assert!(err.contains("accent: '#5fb3f' is not a colour"), "{err}");
        let err = Theme::load("no-such-theme", ColorMode::TrueColor)
            .unwrap_err()
            .to_string();
        assert!(err.contains("theme 'no-such-theme' not found"), "{err}");
    }

    #[test]
    fn lifecycles_are_coloured_by_meaning() {
        let t = Theme::built_in("dark", ColorMode::TrueColor).unwrap();
        assert_eq!(t.lifecycle("Production"), t.success);
        assert_eq!(t.lifecycle("deprecated"), t.error);
        assert_eq!(t.lifecycle("beta"), t.base);
    }
}
