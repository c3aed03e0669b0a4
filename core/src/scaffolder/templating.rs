//! `${{ expr }}` templating with Backstage's semantics on minijinja: no loader, no access to the host,
//! bounded by fuel.

use minijinja::syntax::SyntaxConfig;
use minijinja::Environment;
use serde_json::Value;

/// Fuel for one render: enough for any real template, small enough that a loop bomb stops quickly.
const FUEL: u64 = 2_000_000;

/// A template could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// The sandboxed renderer for step inputs, output and skeleton files.
pub struct Templater {
    env: Environment<'static>,
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
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .variable_delimiters("${{", "}}")
            .build()
            .expect("the ${{ }} delimiters are valid");
        env.set_syntax(syntax);
        env.set_fuel(Some(FUEL));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        Templater { env }
    }

    /// Renders `template` against `context` (a JSON object).
    pub fn render_str(&self, template: &str, context: &Value) -> Result<String, TemplateError> {
        self.env
            .render_str(template, context)
            .map_err(|e| TemplateError(e.to_string()))
    }

    /// Renders every string in `value`. A string that is exactly one `${{ expr }}` keeps the expression's
    /// JSON type; a string rendering to `""` is dropped (`None`), as Backstage drops undefined keys.
    pub fn render_value(
        &self,
        value: &Value,
        context: &Value,
    ) -> Result<Option<Value>, TemplateError> {
        Ok(match value {
            Value::String(s) => {
                let rendered = self.render_str(s, context)?;
                if rendered.is_empty() {
                    None
                } else {
                    Some(Value::String(rendered))
                }
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(v) = self.render_value(item, context)? {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    if let Some(v) = self.render_value(v, context)? {
                        out.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(out))
            }
            other => Some(other.clone()),
        })
    }
}
