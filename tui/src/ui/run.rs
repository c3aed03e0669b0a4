//! The terminal loop: raw mode and the alternate screen (restored on exit, on panic, on Ctrl-C and on
//! SIGTERM), mouse capture, and one `select!` over terminal events, portal replies, signals and a tick.
//! Drawing happens after each message; the portal is only ever reached through `effects`.

use std::io::stdout;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream,
};
use crossterm::execute;
use futures_util::StreamExt as _;
use ratatui::backend::Backend;
use ratatui::Terminal;
use stagedoor_core::Portal;
use tokio::sync::mpsc;

use super::effects;
use super::msg::{Effect, Msg};
use super::state::App;
use super::update::{start, update};
use super::views;

/// Where the TUI's log goes: `$XDG_STATE_HOME/stagedoor/stagedoor.log` (`~/.local/state/...` without it),
/// since anything written to stderr would tear the screen.
pub fn log_file() -> Option<PathBuf> {
    Some(state_dir()?.join("stagedoor.log"))
}

/// The TUI's state directory: `$XDG_STATE_HOME/stagedoor` (`~/.local/state/stagedoor` without it), for the
/// log and the recent searches.
pub fn state_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("stagedoor"))
}

/// Runs the UI until the user quits. The terminal is restored on every way out.
pub async fn run(portal: Arc<dyn Portal>, mut app: App) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    // ratatui's hook restores the screen on panic; mouse capture is ours to undo, before it runs.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture, DisableBracketedPaste);
        previous(info);
    }));
    // Bracketed paste, so text pasted into a wizard field arrives whole rather than as keys.
    let _ = execute!(stdout(), EnableMouseCapture, EnableBracketedPaste);
    let result = event_loop(&mut terminal, portal, &mut app).await;
    let _ = execute!(stdout(), DisableMouseCapture, DisableBracketedPaste);
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    portal: Arc<dyn Portal>,
    app: &mut App,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let size = terminal.size()?;
    app.width = size.width;
    app.height = size.height;
    let run_effects = |effects: Vec<Effect>| {
        for effect in effects.into_iter().filter(effects::replies) {
            effects::spawn(effect, portal.clone(), tx.clone());
        }
    };
    run_effects(start(app));
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(120));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        terminal.draw(|frame| views::draw(frame, app))?;
        #[cfg(unix)]
        let terminate = term.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => Msg::Key(key),
                Some(Ok(Event::Mouse(mouse))) => Msg::Mouse(mouse),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(Event::Paste(text))) => Msg::Paste(text),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(anyhow::anyhow!("cannot read the terminal: {e}")),
                None => Msg::Quit,
            },
            Some(msg) = rx.recv() => msg,
            _ = tick.tick() => Msg::Tick,
            _ = tokio::signal::ctrl_c() => Msg::Quit,
            _ = terminate => Msg::Quit,
        };
        let effects = update(app, msg);
        // The clipboard is the terminal's: OSC 52 goes out through the backend, between frames.
        for effect in &effects {
            if let Effect::Copy { text } = effect {
                use std::io::Write as _;
                let backend = terminal.backend_mut();
                let _ = backend.write_all(effects::osc52(text).as_bytes());
                let _ = std::io::Write::flush(backend);
            }
        }
        run_effects(effects);
        if app.quit {
            tracing::info!("quit");
            return Ok(());
        }
    }
}

/// Delivers `effects`, and everything their replies lead to, through `update` as the loop does, drawing
/// after every message, until no portal request is outstanding. The loop without a terminal to read keys
/// from: `settle(&mut terminal, portal, &mut app, start(&mut app))` on a `TestBackend` ends on the first
/// complete frame (rows and facets), which is what the first-frame benchmark measures.
pub async fn settle<B: Backend>(
    terminal: &mut Terminal<B>,
    portal: Arc<dyn Portal>,
    app: &mut App,
    effects: Vec<Effect>,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let size = terminal.size()?;
    app.width = size.width;
    app.height = size.height;
    let mut outstanding = 0usize;
    let run_effects = |effects: Vec<Effect>, outstanding: &mut usize| {
        // No terminal to copy to here: `Copy` is dropped (it has no reply to wait for).
        for effect in effects.into_iter().filter(effects::replies) {
            *outstanding += 1;
            effects::spawn(effect, portal.clone(), tx.clone());
        }
    };
    run_effects(effects, &mut outstanding);
    terminal.draw(|frame| views::draw(frame, app))?;
    while outstanding > 0 {
        let Some(msg) = rx.recv().await else { break };
        // Each effect ends with exactly one reply; import progress, docs build lines and a streamed
        // task's events come on the side.
        let reply = !matches!(
            msg,
            Msg::ImportStarted { .. }
                | Msg::ImportProgress(_)
                | Msg::DocsLog { .. }
                | Msg::TaskLoaded { .. }
                | Msg::TaskEvents { .. }
        );
        if reply {
            outstanding -= 1;
        }
        let more = update(app, msg);
        run_effects(more, &mut outstanding);
        terminal.draw(|frame| views::draw(frame, app))?;
    }
    Ok(())
}
