//! `${{ expr }}` templating with Backstage's semantics on minijinja: Nunjucks syntax and results where real
//! templates rely on them, Backstage's type preservation for step inputs, and a sandbox (no loader, no host
//! access, a vetted filter set, fuel, recursion, size and output limits, and a per-render allocation budget).
//!
//! - [`compat`]: rewrites the JavaScript-isms of Nunjucks expressions (`===`, `.length`, `{key: v}`) for minijinja.
//! - [`ops`]: rewrites binary `~`, `+` and `*` and slices into engine functions: [`binops::concat`],
//!   JavaScript's addition ([`convert::js_add`]), [`binops::mul`] and [`binops::slice`], each capped.
//! - [`budget`]: one render's allocation total, charged by those functions, the filters and the formatter.
//! - [`filters`]: Nunjucks' and Backstage's filters, each bounded in what it allocates.
//! - [`convert`]: values into JSON (`JSON.stringify`) and into text (`String(value)`), and [`is_truthy`].

mod binops;
mod budget;
mod compat;
mod convert;
mod filters;
mod ops;

use std::io;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value as MjValue;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value;

pub use convert::is_truthy;
pub use filters::{parse_repo_url, RepoUrl};

/// Fuel for one render: enough for any real template, small enough that a loop bomb stops quickly.
const FUEL: u64 = 2_000_000;
/// Largest output of one render (a skeleton file or one string).
pub const MAX_OUTPUT: usize = 16 * 1024 * 1024;
/// Most text and JSON one [`Templater::render_value`] tree may produce in total: each string in it is
/// capped on its own, but an input tree can hold many of them.
const MAX_TREE_OUTPUT: usize = 4 * MAX_OUTPUT;
/// Nesting allowed at run time (macro calls, loops); minijinja's own parser limit guards parsing.
const RECURSION_LIMIT: usize = 200;

/// A template could not be parsed or evaluated: a bare message naming the problem and, when known, its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl TemplateError {
    fn from_minijinja(err: &minijinja::Error) -> TemplateError {
        let mut msg = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        if err.kind() == ErrorKind::TemplateNotFound {
            // There is no loader: say why rather than which file was missing.
            msg.push_str(
                " (include, import and extends are not available in scaffolder templates)",
            );
        }
        if let Some(line) = err.line() {
            msg.push_str(&format!(" (line {line})"));
        }
        TemplateError(msg)
    }
}

/// How `fetch:template` configures the engine (its `cookiecutterCompat`, `trimBlocks` and `lstripBlocks`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplaterOptions {
    /// `{{ }}` variables instead of `${{ }}`, plus the `jsonify` filter.
    pub cookiecutter_compat: bool,
    /// Drop the first newline after a block tag.
    pub trim_blocks: bool,
    /// Strip whitespace before a block tag at the start of a line.
    pub lstrip_blocks: bool,
}

/// The sandboxed renderer for step inputs, output and skeleton files. Build one per task (or per
/// `fetch:template` call); rendering is `&self` and needs no further setup per string.
pub struct Templater {
    env: Environment<'static>,
    var_start: &'static str,
}

impl std::fmt::Debug for Templater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templater")
    }
}

impl Default for Templater {
    fn default() -> Self {
        Templater::new()
    }
}

impl Templater {
    /// The `${{ }}` engine Backstage uses for step inputs and skeleton files.
    pub fn new() -> Templater {
        Templater::with_options(TemplaterOptions::default())
    }

    /// An engine configured as `fetch:template`'s inputs ask.
    pub fn with_options(options: TemplaterOptions) -> Templater {
        let var_start = if options.cookiecutter_compat {
            "{{"
        } else {
            "${{"
        };
        let mut env = Environment::new();
        // Constant delimiters: building the syntax cannot fail, and minijinja's defaults are the fallback.
        if let Ok(syntax) = SyntaxConfig::builder()
            .variable_delimiters(var_start, "}}")
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        // Nunjucks: undefined prints nothing and `a.b.c` on an undefined `a` is undefined, not an error.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Nunjucks keeps a template's final newline (Jinja drops it).
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(options.trim_blocks);
        env.set_lstrip_blocks(options.lstrip_blocks);
        env.set_formatter(|out, state, value| {
            let text = convert::js_string(value)?;
            // Output goes to a capped writer, but captured output (macros, `set` blocks) does not: the
            // budget bounds what printing can pile up there.
            budget::charge(state, text.len())?;
            out.write_str(&text)
                .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
        });
        // Globals: `range` and `dict` only. `debug` would print the engine's state and `namespace` is not
        // Nunjucks (and lets loops accumulate); `null` is JavaScript's literal.
        env.remove_global("debug");
        env.remove_global("namespace");
        env.add_global("null", MjValue::from(()));
        // The targets of the operator rewrite; calling them by name does no more than the operators do.
        env.add_function(ops::JS_ADD, |state: &minijinja::State, a, b| {
            budget::charged(state, convert::js_add(a, b)?)
        });
        env.add_function(ops::CONCAT, binops::concat);
        // Charges a repeated body's text (see `compat::rewrite_template`); returns nothing.
        env.add_function(
            compat::TEXT_CHARGE,
            |state: &minijinja::State, bytes: usize| -> Result<MjValue, minijinja::Error> {
                budget::charge(state, bytes)?;
                Ok(MjValue::UNDEFINED)
            },
        );
        env.add_function(ops::MUL, binops::mul);
        env.add_function(ops::SLICE, binops::slice);
        filters::install(&mut env, options.cookiecutter_compat);
        Templater { env, var_start }
    }

    /// Renders `template` against `context` (a JSON object) to text.
    pub fn render_str(&self, template: &str, context: &Value) -> Result<String, TemplateError> {
        self.render_with(template, &convert::from_json(context))
    }

    /// Converts `context` once for many renders (a skeleton's files and paths share one context).
    pub fn context(&self, context: &Value) -> TemplateContext {
        TemplateContext(convert::from_json(context))
    }

    /// [`Templater::render_str`] against a context converted once with [`Templater::context`].
    pub fn render_str_in(
        &self,
        template: &str,
        context: &TemplateContext,
    ) -> Result<String, TemplateError> {
        self.render_with(template, &context.0)
    }

    /// [`Templater::render_value`] against a context converted once with [`Templater::context`].
    pub fn render_value_in(
        &self,
        value: &Value,
        context: &TemplateContext,
    ) -> Result<Option<Value>, TemplateError> {
        self.render_value_with(value, &context.0)
    }

    fn render_with(&self, template: &str, ctx: &MjValue) -> Result<String, TemplateError> {
        let source = compat::rewrite_template(template, self.var_start);
        let tmpl = self
            .env
            .template_from_str(&source)
            .map_err(|e| TemplateError::from_minijinja(&e))?;
        let mut out = CappedWriter::default();
        match tmpl.render_captured_to(ctx, &mut out) {
            Ok(_) => {}
            Err(_) if out.overflowed => {
                return Err(TemplateError(format!(
                    "rendered output is too large (more than {MAX_OUTPUT} bytes)"
                )))
            }
            Err(e) => return Err(TemplateError::from_minijinja(&e)),
        }
        String::from_utf8(out.buf)
            .map_err(|_| TemplateError("rendered output is not valid UTF-8".to_string()))
    }

    /// Evaluates one expression (the inside of `${{ }}`) to JSON: `None` when it is undefined.
    pub fn eval_expression(
        &self,
        expr: &str,
        context: &Value,
    ) -> Result<Option<Value>, TemplateError> {
        self.eval_with(expr, &convert::from_json(context))
    }

    fn eval_with(&self, expr: &str, ctx: &MjValue) -> Result<Option<Value>, TemplateError> {
        let source = ops::rewrite_ops(&compat::rewrite_expr(expr), false, false);
        let compiled = self
            .env
            .compile_expression(&source)
            .map_err(|e| TemplateError::from_minijinja(&e))?;
        let value = compiled
            .eval(ctx)
            .map_err(|e| TemplateError::from_minijinja(&e))?;
        convert::to_json(&value).map_err(|e| TemplateError::from_minijinja(&e))
    }

    /// Renders every string in `value` as Backstage's workflow runner does:
    /// - a string that is exactly one `${{ expr }}` keeps the expression's JSON type (number, boolean,
    ///   array, object, null, string), as Backstage's `${{ (expr) | dump }}` + `JSON.parse` does; an
    ///   undefined result is `None`;
    /// - any other string renders to text, and `""` becomes `None`;
    /// - `None` drops the key from an object and the member from an array.
    pub fn render_value(
        &self,
        value: &Value,
        context: &Value,
    ) -> Result<Option<Value>, TemplateError> {
        // Convert the context once for the whole tree.
        self.render_value_with(value, &convert::from_json(context))
    }

    fn render_value_with(
        &self,
        value: &Value,
        ctx: &MjValue,
    ) -> Result<Option<Value>, TemplateError> {
        let mut left = MAX_TREE_OUTPUT;
        self.render_tree(value, ctx, &mut left)
    }

    fn render_tree(
        &self,
        value: &Value,
        ctx: &MjValue,
        left: &mut usize,
    ) -> Result<Option<Value>, TemplateError> {
        Ok(match value {
            Value::String(s) => {
                if let Some(expr) = compat::single_expression(s, self.var_start) {
                    let result = self.eval_with(expr, ctx)?;
                    spend(left, result.as_ref().map_or(0, json_size))?;
                    return Ok(result);
                }
                let rendered = self.render_with(s, ctx)?;
                spend(left, rendered.len())?;
                if rendered.is_empty() {
                    None
                } else {
                    Some(Value::String(rendered))
                }
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(v) = self.render_tree(item, ctx, left)? {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    if let Some(v) = self.render_tree(v, ctx, left)? {
                        out.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(out))
            }
            other => Some(other.clone()),
        })
    }
}

/// Takes `n` bytes from what a [`Templater::render_value`] tree may still produce.
fn spend(left: &mut usize, n: usize) -> Result<(), TemplateError> {
    *left = left.checked_sub(n).ok_or_else(|| {
        TemplateError(format!(
            "rendered values are too large (more than {MAX_TREE_OUTPUT} bytes in one input)"
        ))
    })?;
    Ok(())
}

/// Roughly what a JSON value holds: its strings' and keys' bytes and a few bytes per node. Values from
/// the engine are at most 128 levels deep (`convert::to_json`), so recursion is bounded.
fn json_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 8,
        Value::Array(items) => items.iter().map(json_size).fold(8, usize::saturating_add),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| k.len().saturating_add(json_size(v)))
            .fold(8, usize::saturating_add),
        _ => 8,
    }
}

/// A JSON context already converted for the engine; cheap to clone.
#[derive(Debug, Clone)]
pub struct TemplateContext(MjValue);

/// Collects output and refuses to grow past [`MAX_OUTPUT`].
#[derive(Default)]
struct CappedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            self.overflowed = true;
            return Err(io::Error::other("output too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
