//! What the terminal-free UI tests share: an app on an embedded portal over the repository's sample catalog
//! (imported into a temporary directory), drawn on a `TestBackend`, with every effect a key causes run by the
//! real loop helper (`run::settle`), and the key-sequence notation the tests type in.

#![allow(dead_code)] // Each test file uses its own part of this.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stagedoor::ui::keymap::Keymap;
use stagedoor::ui::msg::{Effect, Msg};
use stagedoor::ui::state::App;
use stagedoor::ui::theme::{ColorMode, Theme};
use stagedoor::ui::update::{start, update};
use stagedoor::ui::views;
use stagedoor_core::Portal;
use tokio::runtime::Runtime;

pub fn theme() -> Theme {
    Theme::built_in("dark", ColorMode::Ansi16).unwrap()
}

pub struct Harness {
    _dir: tempfile::TempDir,
    pub rt: Runtime,
    pub portal: Arc<dyn Portal>,
    pub app: App,
    pub terminal: Terminal<TestBackend>,
    /// What the app asked the terminal to copy (OSC 52).
    pub copied: Vec<String>,
}

impl Harness {
    pub fn new(width: u16, height: u16) -> Harness {
        Harness::with_state(width, height, None)
    }

    /// With the app's state files (recent searches) under `state`: a temporary directory passed to the app
    /// rather than through `XDG_STATE_HOME`, which every test thread shares.
    pub fn with_state(width: u16, height: u16, state: Option<PathBuf>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/all.yaml");
        let config = stagedoor_core::devgen::catalog_config(&root, dir.path());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let local = Arc::new(stagedoor_core::LocalPortal::from_config(config).unwrap());
        // Templates run in this process, as in the embedded TUI (the workers are tokio tasks).
        {
            let _runtime = rt.enter();
            local.start_task_workers();
        }
        let portal: Arc<dyn Portal> = local;
        let app =
            App::new(theme(), Keymap::default(), "embedded".into(), true).with_state_dir(state);
        let terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut h = Harness {
            _dir: dir,
            rt,
            portal,
            app,
            terminal,
            copied: Vec::new(),
        };
        let effects = start(&mut h.app);
        h.deliver(effects);
        h
    }

    pub fn deliver(&mut self, effects: Vec<Effect>) {
        for e in &effects {
            if let Effect::Copy { text } = e {
                self.copied.push(text.clone());
            }
        }
        self.rt
            .block_on(stagedoor::ui::run::settle(
                &mut self.terminal,
                self.portal.clone(),
                &mut self.app,
                effects,
            ))
            .unwrap();
    }

    pub fn send(&mut self, msg: Msg) {
        let effects = update(&mut self.app, msg);
        self.deliver(effects);
    }

    /// Types `keys` (see [`parse_keys`]).
    pub fn press(&mut self, keys: &str) {
        for msg in parse_keys(keys) {
            self.send(msg);
        }
    }

    pub fn screen(&mut self) -> String {
        self.terminal.draw(|f| views::draw(f, &self.app)).unwrap();
        self.terminal.backend().to_string()
    }
}

pub fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

/// Characters as themselves (upper case with Shift); `<enter>`, `<esc>`, `<tab>`, `<backtab>`, `<bs>`,
/// `<down>`, `<up>`, `<left>`, `<right>`, `<pgdn>`, `<pgup>` as named; `<c-k>` is Ctrl-K.
pub fn parse_keys(keys: &str) -> Vec<Msg> {
    let mut out = Vec::new();
    let mut rest = keys;
    while let Some(c) = rest.chars().next() {
        let msg = if c == '<' && rest.contains('>') {
            let end = rest.find('>').unwrap();
            let name = &rest[1..end];
            rest = &rest[end + 1..];
            if let Some(ctrl) = name.strip_prefix("c-") {
                key(
                    KeyCode::Char(ctrl.chars().next().unwrap()),
                    KeyModifiers::CONTROL,
                )
            } else {
                let code = match name {
                    "enter" => KeyCode::Enter,
                    "esc" => KeyCode::Esc,
                    "tab" => KeyCode::Tab,
                    "backtab" => KeyCode::BackTab,
                    "bs" => KeyCode::Backspace,
                    "down" => KeyCode::Down,
                    "up" => KeyCode::Up,
                    "left" => KeyCode::Left,
                    "right" => KeyCode::Right,
                    "pgdn" => KeyCode::PageDown,
                    "pgup" => KeyCode::PageUp,
                    other => panic!("unknown key <{other}>"),
                };
                key(code, KeyModifiers::NONE)
            }
        } else {
            rest = &rest[c.len_utf8()..];
            let modifiers = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            key(KeyCode::Char(c), modifiers)
        };
        out.push(msg);
    }
    out
}
