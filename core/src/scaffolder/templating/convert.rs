//! Values crossing between minijinja and JSON the way they cross Backstage's sandbox: `JSON.stringify`
//! semantics on the way out (undefined members vanish, whole floats print as integers) and JavaScript's
//! `String(value)` when a value is printed into text. Both are bounded so a huge lazy sequence cannot run away.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};
use serde_json::Value as Json;

/// Most items one conversion walks: far above any real template, far below an out-of-memory.
pub(crate) const MAX_ITEMS: usize = 100_000;
/// Deepest nesting one conversion follows.
const MAX_DEPTH: usize = 128;
/// Most bytes of text one conversion copies (the same bound as a render's output).
const MAX_BYTES: usize = super::MAX_OUTPUT;

/// What a conversion may still spend: items visited and bytes of text copied.
struct Budget {
    items: usize,
    bytes: usize,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            items: MAX_ITEMS,
            bytes: MAX_BYTES,
        }
    }

    fn item(&mut self) -> Result<(), Error> {
        self.items = self.items.checked_sub(1).ok_or_else(too_large)?;
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> Result<(), Error> {
        self.bytes = self.bytes.checked_sub(n).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("value is too large (more than {MAX_BYTES} bytes)"),
            )
        })?;
        Ok(())
    }

    fn fits(&self, len: Option<usize>) -> Result<(), Error> {
        if len.is_some_and(|n| n > self.items) {
            return Err(too_large());
        }
        Ok(())
    }
}

fn too_large() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("value is too large (more than {MAX_ITEMS} items)"),
    )
}

fn too_deep() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("value is nested too deeply (more than {MAX_DEPTH} levels)"),
    )
}

/// `JSON.parse(JSON.stringify(value))`: `None` for what JSON.stringify leaves out (undefined, functions).
pub(crate) fn to_json(value: &Value) -> Result<Option<Json>, Error> {
    to_json_inner(value, 0, &mut Budget::new())
}

fn to_json_inner(value: &Value, depth: usize, budget: &mut Budget) -> Result<Option<Json>, Error> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    budget.item()?;
    Ok(Some(match value.kind() {
        ValueKind::Undefined | ValueKind::Invalid => return Ok(None),
        ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(value.is_true()),
        ValueKind::Number => number_to_json(value),
        ValueKind::String | ValueKind::Bytes => {
            let s = value.to_string();
            budget.bytes(s.len())?;
            Json::String(s)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            budget.fits(value.len())?;
            let mut items = Vec::new();
            for item in value.try_iter()? {
                // JSON.stringify writes undefined array members as null.
                items.push(to_json_inner(&item, depth + 1, budget)?.unwrap_or(Json::Null));
            }
            Json::Array(items)
        }
        ValueKind::Map => {
            budget.fits(value.len())?;
            let mut map = serde_json::Map::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                if let Some(v) = to_json_inner(&item, depth + 1, budget)? {
                    let key = key_string(&key);
                    budget.bytes(key.len())?;
                    map.insert(key, v);
                }
            }
            Json::Object(map)
        }
        // Functions, macros and other engine objects have no JSON form.
        ValueKind::Plain => return Ok(None),
        _ => return Ok(None),
    }))
}

fn key_string(key: &Value) -> String {
    match key.as_str() {
        Some(s) => s.to_string(),
        None => js_string(key).unwrap_or_default(),
    }
}

fn number_to_json(value: &Value) -> Json {
    if let Some(i) = value.as_i64() {
        return Json::from(i);
    }
    if let Ok(u) = u64::try_from(value.clone()) {
        return Json::from(u);
    }
    match f64::try_from(value.clone()) {
        // JSON.stringify(3.0) is "3"; NaN and Infinity become null.
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Json::from(f as i64),
        Ok(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Err(_) => Json::Null,
    }
}

/// JSON into the engine.
pub(crate) fn from_json(json: &Json) -> Value {
    Value::from_serialize(json)
}

/// `String(value)` as Nunjucks prints a value: undefined and null print nothing, arrays join their members
/// with commas, objects print `[object Object]`, whole floats print without `.0`.
pub(crate) fn js_string(value: &Value) -> Result<String, Error> {
    let mut out = String::new();
    write_js(&mut out, value, 0, &mut Budget::new())?;
    Ok(out)
}

fn write_js(
    out: &mut String,
    value: &Value,
    depth: usize,
    budget: &mut Budget,
) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    budget.item()?;
    let before = out.len();
    match value.kind() {
        ValueKind::Undefined | ValueKind::None | ValueKind::Invalid => {}
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => match number_to_json(value) {
            // JavaScript spells the non-finite numbers `NaN`, `Infinity`, `-Infinity`.
            Json::Null => match f64::try_from(value.clone()) {
                Ok(f) if f.is_infinite() && f > 0.0 => out.push_str("Infinity"),
                Ok(f) if f.is_infinite() => out.push_str("-Infinity"),
                _ => out.push_str(&value.to_string()),
            },
            n => out.push_str(&n.to_string()),
        },
        ValueKind::Seq | ValueKind::Iterable => {
            budget.fits(value.len())?;
            for (i, item) in value.try_iter()?.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_js(out, &item, depth + 1, budget)?;
            }
        }
        ValueKind::Map => out.push_str("[object Object]"),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            budget.bytes(s.len())?;
            out.push_str(s);
        }
        _ => out.push_str(&value.to_string()),
    }
    // Members of arrays count their own text; charge what this level added besides.
    if !matches!(
        value.kind(),
        ValueKind::String | ValueKind::Seq | ValueKind::Iterable
    ) {
        budget.bytes(out.len() - before)?;
    }
    Ok(())
}

/// JavaScript's `a + b`, the target of the `+` rewrite: after `ToPrimitive` (arrays print joined, objects as
/// `[object Object]`), a string on either side concatenates both sides' `String()`; otherwise both sides
/// add as numbers (`undefined` is NaN, `null` and `false` are 0, `true` is 1). Integers stay integers.
pub(crate) fn js_add(a: Value, b: Value) -> Result<Value, Error> {
    let (pa, pb) = (to_primitive(&a)?, to_primitive(&b)?);
    if let (Prim::Num(x), Prim::Num(y)) = (&pa, &pb) {
        if let (Some(x), Some(y)) = (as_int(x), as_int(y)) {
            if let Some(sum) = x.checked_add(y) {
                return Ok(Value::from(sum));
            }
        }
        return Ok(Value::from(to_f64(x) + to_f64(y)));
    }
    let (sa, sb) = (pa.into_string(), pb.into_string());
    if sa.len() + sb.len() > MAX_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("value is too large (more than {MAX_BYTES} bytes)"),
        ));
    }
    Ok(Value::from(sa + &sb))
}

/// A value after JavaScript's `ToPrimitive`, for `+`: a string, or something that converts to a number.
enum Prim {
    Str(String),
    Num(Value),
}

impl Prim {
    /// JavaScript's `String()` of a primitive: unlike printing into a template, `undefined` and `null`
    /// spell themselves.
    fn into_string(self) -> String {
        match self {
            Prim::Str(s) => s,
            Prim::Num(v) => match v.kind() {
                ValueKind::Undefined | ValueKind::Invalid => "undefined".to_string(),
                ValueKind::None => "null".to_string(),
                _ => js_string(&v).unwrap_or_default(),
            },
        }
    }
}

fn to_primitive(v: &Value) -> Result<Prim, Error> {
    Ok(match v.kind() {
        ValueKind::Undefined
        | ValueKind::Invalid
        | ValueKind::None
        | ValueKind::Bool
        | ValueKind::Number => Prim::Num(v.clone()),
        _ => Prim::Str(js_string(v)?),
    })
}

/// A numeric primitive as an integer, when it is one exactly (`true` is 1, `null` is 0).
fn as_int(v: &Value) -> Option<i64> {
    match v.kind() {
        ValueKind::Bool => Some(i64::from(v.is_true())),
        ValueKind::None => Some(0),
        ValueKind::Number if v.is_integer() => v.as_i64(),
        _ => None,
    }
}

/// JavaScript's `Number()` of a numeric primitive.
fn to_f64(v: &Value) -> f64 {
    match v.kind() {
        ValueKind::Bool => f64::from(u8::from(v.is_true())),
        ValueKind::None => 0.0,
        ValueKind::Number => f64::try_from(v.clone()).unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// Backstage's `isTruthy` for a step's `if:`: JavaScript truthiness, except that an empty array is false.
pub fn is_truthy(value: Option<&Json>) -> bool {
    match value {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(Json::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Json::String(s)) => !s.is_empty(),
        Some(Json::Array(a)) => !a.is_empty(),
        Some(Json::Object(_)) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trip_drops_undefined_members() {
        let v = Value::from_serialize(json!({"a": 1, "b": [1, null], "c": {"d": "x"}}));
        assert_eq!(
            to_json(&v).unwrap(),
            Some(json!({"a": 1, "b": [1, null], "c": {"d": "x"}}))
        );
        assert_eq!(to_json(&Value::UNDEFINED).unwrap(), None);
        assert_eq!(to_json(&Value::from(3.0)).unwrap(), Some(json!(3)));
        assert_eq!(to_json(&Value::from(1.5)).unwrap(), Some(json!(1.5)));
    }

    #[test]
    fn js_strings() {
        let s = |j: Json| js_string(&from_json(&j)).unwrap();
        assert_eq!(s(json!(null)), "");
        assert_eq!(s(json!(["a", "b", [1, 2]])), "a,b,1,2");
        assert_eq!(s(json!({"a": 1})), "[object Object]");
        assert_eq!(s(json!(true)), "true");
        assert_eq!(s(json!(3)), "3");
        assert_eq!(js_string(&Value::from(3.0)).unwrap(), "3");
        assert_eq!(js_string(&Value::from(2.5)).unwrap(), "2.5");
        assert_eq!(js_string(&Value::from(f64::NAN)).unwrap(), "NaN");
        assert_eq!(js_string(&Value::from(f64::INFINITY)).unwrap(), "Infinity");
        assert_eq!(
            js_string(&Value::from(f64::NEG_INFINITY)).unwrap(),
            "-Infinity"
        );
    }

    #[test]
    fn js_addition() {
        let add = |a: Json, b: Json| js_add(from_json(&a), from_json(&b)).unwrap();
        assert_eq!(add(json!("port "), json!(8080)), Value::from("port 8080"));
        assert_eq!(add(json!(1), json!("a")), Value::from("1a"));
        assert_eq!(add(json!(null), json!("x")), Value::from("nullx"));
        assert_eq!(add(json!(true), json!(1)), Value::from(2));
        assert_eq!(add(json!([1, 2]), json!("x")), Value::from("1,2x"));
        assert_eq!(add(json!([1, null]), json!(1)), Value::from("1,1"));
        assert_eq!(
            add(json!({"a": 1}), json!(1)),
            Value::from("[object Object]1")
        );
        assert_eq!(add(json!(2), json!(3)), Value::from(5));
        assert_eq!(add(json!(1.5), json!(1)), Value::from(2.5));
        assert_eq!(add(json!(null), json!(null)), Value::from(0));
        assert_eq!(
            add(json!(i64::MAX), json!(1)),
            Value::from(i64::MAX as f64 + 1.0)
        );
        let u = |b: Value| js_add(Value::UNDEFINED, b).unwrap();
        assert_eq!(u(Value::from("/")), Value::from("undefined/"));
        assert!(f64::try_from(u(Value::from(1))).unwrap().is_nan());
        assert_eq!(js_string(&u(Value::from(1))).unwrap(), "NaN");
        let big = Value::from("x".repeat(MAX_BYTES / 2 + 1));
        assert!(js_add(big.clone(), big).is_err());
    }

    #[test]
    fn truthiness_is_backstage_is_truthy() {
        for falsy in [
            json!(false),
            json!(null),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
        ] {
            assert!(!is_truthy(Some(&falsy)), "{falsy} should be falsy");
        }
        assert!(!is_truthy(None));
        for truthy in [
            json!(true),
            json!(1),
            json!("false"),
            json!("0"),
            json!([0]),
            json!({}),
        ] {
            assert!(is_truthy(Some(&truthy)), "{truthy} should be truthy");
        }
    }
}
