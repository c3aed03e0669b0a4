//! The engine functions behind `~`, `*` and slices (see [`super::ops`]), refused before they allocate past
//! the caps and charged to the render's budget: `~` joins as Nunjucks does (JavaScript's `String()`), `*`
//! and slices give minijinja's own results. `+` is [`super::convert::js_add`].

use std::sync::OnceLock;

use minijinja::value::{Value, ValueKind};
use minijinja::{context, Environment, Error, ErrorKind, Expression, State};

use super::budget;
use super::convert::{js_add, MAX_ITEMS};
use super::MAX_OUTPUT;

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// Nunjucks' `a ~ b`, which it compiles to JavaScript's `a + "" + b`: both sides as JavaScript's `String()`
/// spells them (`null`, `undefined`, `true`, arrays as `a,b`), joined; at most [`MAX_OUTPUT`] bytes.
pub(crate) fn concat(state: &State, a: Value, b: Value) -> Result<Value, Error> {
    let left = js_add(a, Value::from(""))?;
    budget::charged(state, js_add(left, b)?)
}

/// minijinja's `a * b`: numbers multiply; a string times a count repeats up to [`MAX_OUTPUT`] bytes and a
/// sequence times a count up to [`MAX_ITEMS`] items.
pub(crate) fn mul(state: &State, a: Value, b: Value) -> Result<Value, Error> {
    // Which side repeats, as minijinja picks it: a string on either side first, then a sequence.
    let repeat = |v: &Value, kinds: &[ValueKind]| kinds.contains(&v.kind());
    let strings = [ValueKind::String];
    let seqs = [ValueKind::Seq, ValueKind::Iterable];
    let pair = if repeat(&a, &strings) {
        Some((&a, &b))
    } else if repeat(&b, &strings) {
        Some((&b, &a))
    } else if repeat(&a, &seqs) {
        Some((&a, &b))
    } else if repeat(&b, &seqs) {
        Some((&b, &a))
    } else {
        None
    };
    if let Some((unit, count)) = pair {
        if let Some(n) = count.as_usize() {
            if let Some(s) = unit.as_str() {
                if s.len().checked_mul(n).is_none_or(|len| len > MAX_OUTPUT) {
                    return Err(invalid(format!(
                        "repeated string is too large (more than {MAX_OUTPUT} bytes)"
                    )));
                }
            } else if let Some(len) = unit.len() {
                if len.checked_mul(n).is_none_or(|len| len > MAX_ITEMS) {
                    return Err(invalid(format!(
                        "repeated sequence is too large (more than {MAX_ITEMS} items)"
                    )));
                }
            }
        }
    }
    budget::charged(state, minijinja_mul(a, b)?)
}

/// minijinja's `v[start:stop:step]` (a missing part is `none`). A slice is never larger than what it
/// slices, but it is a new value: charged, so slices kept in many places (or in each frame of a recursive
/// macro) count.
pub(crate) fn slice(
    state: &State,
    v: Value,
    start: Value,
    stop: Value,
    step: Value,
) -> Result<Value, Error> {
    static EXPR: OnceLock<Result<Expression<'static, 'static>, Error>> = OnceLock::new();
    let value = eval(
        &EXPR,
        "v[start:stop:step]",
        context! { v => v, start => start, stop => stop, step => step },
    )?;
    budget::charged(state, value)
}

/// The engine's own `*`, for everything the caps let through (and its own errors for the rest).
fn minijinja_mul(a: Value, b: Value) -> Result<Value, Error> {
    static EXPR: OnceLock<Result<Expression<'static, 'static>, Error>> = OnceLock::new();
    eval(&EXPR, "a * b", context! { a => a, b => b })
}

/// Evaluates a constant expression in a bare engine, compiled once into `slot`.
fn eval(
    slot: &'static OnceLock<Result<Expression<'static, 'static>, Error>>,
    source: &'static str,
    ctx: Value,
) -> Result<Value, Error> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    let env = ENV.get_or_init(Environment::empty);
    match slot.get_or_init(|| env.compile_expression(source)) {
        Ok(expr) => expr.eval(ctx),
        // A constant expression: it compiles, but an error must not become a panic.
        Err(e) => Err(invalid(format!("cannot evaluate `{source}`: {e}"))),
    }
}
