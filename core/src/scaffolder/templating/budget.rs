//! One render's allocation budget. Each value is capped on its own (strings at [`super::MAX_OUTPUT`],
//! sequences at [`super::convert::MAX_ITEMS`]), but a template can keep many of them alive (one per `set`
//! line, per macro argument, per captured block); so everything the engine functions, the filters and the
//! formatter produce is also charged to a per-render total, which bounds a render's memory as a whole.

use std::sync::atomic::{AtomicUsize, Ordering};

use minijinja::value::{Object, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// Most bytes one render may produce through the charged routes, counted cumulatively (freed values are
/// not refunded, so this is an upper bound on what they can hold at once).
pub(crate) const RENDER_BUDGET: usize = 8 * super::MAX_OUTPUT;

/// The temp (per render, shared with the macros it calls) that holds what was spent.
const TEMP: &str = "__sd_spent";

#[derive(Debug, Default)]
struct Spent(AtomicUsize);

impl Object for Spent {}

/// Charges `bytes` to the render `state` belongs to; fails once the render has spent [`RENDER_BUDGET`].
pub(crate) fn charge(state: &State, bytes: usize) -> Result<(), Error> {
    let spent = state.get_or_set_temp_object(TEMP, Spent::default);
    let before = spent.0.fetch_add(bytes, Ordering::Relaxed);
    if before.saturating_add(bytes) > RENDER_BUDGET {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("template allocates too much (more than {RENDER_BUDGET} bytes in one render)"),
        ));
    }
    Ok(())
}

/// Charges what `value` holds (a string's bytes; the slots of a materialised sequence or map, and of the
/// sequences and maps inside it, as `batch` and `groupby` build) and hands it back. Strings inside a
/// sequence are usually the input's, shared rather than copied, so only slots are counted there. Lazy
/// iterables hold nothing until something materialises them.
pub(crate) fn charged(state: &State, value: Value) -> Result<Value, Error> {
    let bytes = match value.kind() {
        ValueKind::String => value.as_str().map_or(0, str::len),
        ValueKind::Bytes => value.as_bytes().map_or(0, <[u8]>::len),
        _ => slots(&value, 0).saturating_mul(std::mem::size_of::<Value>()),
    };
    charge(state, bytes)?;
    Ok(value)
}

/// Deepest nesting [`slots`] counts: what a filter can build from its input in one call.
const SLOT_DEPTH: usize = 3;

fn slots(value: &Value, depth: usize) -> usize {
    match value.kind() {
        ValueKind::Seq | ValueKind::Map => {
            let own = value.len().unwrap_or(0);
            if depth >= SLOT_DEPTH {
                return own;
            }
            let Ok(items) = value.try_iter() else {
                return own;
            };
            items.fold(own, |n, item| {
                // A map iterates its keys: count the values behind them.
                let item = match value.kind() {
                    ValueKind::Map => value.get_item(&item).unwrap_or(item),
                    _ => item,
                };
                n.saturating_add(slots(&item, depth + 1))
            })
        }
        _ => 0,
    }
}
