//! Nunjucks-to-minijinja source rewriting: splits a template into text and tags, and inside tags (outside
//! string literals) rewrites the JavaScript-isms real Backstage templates use (`===`, `!==`, `.length`,
//! bare object-literal keys, `elseif`, `verbatim`, `for k, v in obj`) into what minijinja understands, and
//! hands each tag to [`super::ops`] for `~`, JavaScript's `+` and `*`.

use super::ops::rewrite_ops;

/// What a piece of template source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    Text,
    Variable,
    Block,
    Comment,
}

/// One piece of a template: `inner` is the tag's content without its delimiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment<'a> {
    pub kind: SegmentKind,
    pub inner: &'a str,
}

/// Splits `src` into text, `var_start … }}`, `{% … %}` and `{# … #}` segments. Tag ends inside string
/// literals do not count; an unterminated tag runs to the end (minijinja then reports it).
pub(crate) fn segments<'a>(src: &'a str, var_start: &str) -> Vec<Segment<'a>> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut in_raw = false;
    while !rest.is_empty() {
        if in_raw {
            // Everything up to `{% endraw %}` is text, whatever it looks like.
            match find_end_raw(rest) {
                Some(pos) => {
                    if pos > 0 {
                        out.push(text(&rest[..pos]));
                    }
                    rest = &rest[pos..];
                    in_raw = false;
                }
                None => {
                    out.push(text(rest));
                    break;
                }
            }
            continue;
        }
        let next = next_tag(rest, var_start);
        let Some((pos, kind, open, close)) = next else {
            out.push(text(rest));
            break;
        };
        if pos > 0 {
            out.push(text(&rest[..pos]));
        }
        let body = &rest[pos + open..];
        let end = if kind == SegmentKind::Comment {
            body.find(close)
        } else {
            find_close(body, close)
        };
        let (inner, consumed) = match end {
            Some(e) => (&body[..e], pos + open + e + close.len()),
            None => (body, rest.len()),
        };
        if kind == SegmentKind::Block && matches!(first_word(inner), "raw" | "verbatim") {
            in_raw = true;
        }
        out.push(Segment { kind, inner });
        rest = &rest[consumed..];
    }
    out
}

/// The first tag opener in `rest`: position, kind, opener length and closer. One pass over the text, so
/// a long file with many tags is not rescanned per tag.
fn next_tag(rest: &str, var_start: &str) -> Option<(usize, SegmentKind, usize, &'static str)> {
    let bytes = rest.as_bytes();
    let dollar = var_start.starts_with('$');
    let mut from = 0;
    while let Some(p) = rest[from..].find('{').map(|p| p + from) {
        match bytes.get(p + 1) {
            Some(b'%') => return Some((p, SegmentKind::Block, 2, "%}")),
            Some(b'#') => return Some((p, SegmentKind::Comment, 2, "#}")),
            Some(b'{') if !dollar => return Some((p, SegmentKind::Variable, 2, "}}")),
            Some(b'{') if p > 0 && bytes[p - 1] == b'$' => {
                return Some((p - 1, SegmentKind::Variable, 3, "}}"))
            }
            _ => {}
        }
        from = p + 1;
    }
    None
}

fn text(s: &str) -> Segment<'_> {
    Segment {
        kind: SegmentKind::Text,
        inner: s,
    }
}

/// The tag's first word, whitespace-control markers aside.
fn first_word(inner: &str) -> &str {
    inner
        .trim_start_matches(['-', '+'])
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(['-', '+'])
}

fn find_end_raw(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = s[from..].find("{%") {
        let at = from + p;
        let body = &s[at + 2..];
        if let Some(e) = body.find("%}") {
            if matches!(first_word(&body[..e]), "endraw" | "endverbatim") {
                return Some(at);
            }
        }
        from = at + 2;
    }
    None
}

/// Position of `close` in `body`, skipping string literals.
fn find_close(body: &str, close: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'') => i = skip_string(bytes, i, q),
            _ if body[i..].starts_with(close) => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Index just past the string literal starting at `start` (quote `q`), honouring backslash escapes.
pub(super) fn skip_string(bytes: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The engine function that charges a repeated body's text to the render's budget.
pub(crate) const TEXT_CHARGE: &str = "__sd_text";

/// Bodies with less text than this are not charged: fuel bounds what they can pile up.
const TEXT_CHARGE_MIN: usize = 32;

/// Rewrites a whole template: tags are rewritten, text and comments are kept byte for byte.
///
/// minijinja has no hook on the template's own text, and text emitted inside a macro, a `call` body or a
/// captured block is kept in memory rather than written to the capped output. So each repeatable body
/// (`for`, `macro`, `call`) with text in it starts with `{% set … = __sd_text(N) %}`, N being the text
/// directly in that body: every pass through the body charges the render's budget for the text it emits.
/// The inserted tag sits right after the opening tag and repeats its whitespace-control marker, so the
/// output's whitespace is unchanged.
pub(crate) fn rewrite_template(src: &str, var_start: &str) -> String {
    let segs = segments(src, var_start);
    let charges = body_text(&segs);
    let mut out = String::with_capacity(src.len() + 16);
    let mut rest = src;
    for (i, seg) in segs.iter().enumerate() {
        // Segments are consecutive slices of `src`: copy the delimiters between them unchanged.
        let offset = seg.inner.as_ptr() as usize - rest.as_ptr() as usize;
        out.push_str(&rest[..offset]);
        match seg.kind {
            SegmentKind::Variable => {
                out.push_str(&rewrite_ops(&rewrite_expr(seg.inner), false, true))
            }
            SegmentKind::Block => out.push_str(&rewrite_block(seg.inner)),
            SegmentKind::Text | SegmentKind::Comment => out.push_str(seg.inner),
        }
        rest = &rest[offset + seg.inner.len()..];
        if let Some(n) = charges[i].filter(|&n| n >= TEXT_CHARGE_MIN) {
            if let Some(after) = rest.strip_prefix("%}") {
                let marker = match seg.inner.as_bytes().last() {
                    Some(b'-') => "-",
                    Some(b'+') => "+",
                    _ => "",
                };
                // A variable of its own: `set` must not shadow the function in nested bodies.
                out.push_str(&format!(
                    "%}}{{% set {TEXT_CHARGE}_charged = {TEXT_CHARGE}({n}) {marker}%}}"
                ));
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// For each segment that opens a repeatable body (`for`, `macro`, `call`), the bytes of text directly
/// inside it (nested repeatable bodies count their own).
fn body_text(segs: &[Segment<'_>]) -> Vec<Option<usize>> {
    let mut charges = vec![None; segs.len()];
    let mut open: Vec<(usize, usize)> = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        match seg.kind {
            SegmentKind::Text => {
                if let Some(top) = open.last_mut() {
                    top.1 += seg.inner.len();
                }
            }
            SegmentKind::Block => match first_word(seg.inner) {
                "for" | "macro" | "call" => open.push((i, 0)),
                "endfor" | "endmacro" | "endcall" => {
                    if let Some((at, n)) = open.pop() {
                        charges[at] = Some(n);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    // Unclosed bodies (minijinja reports them) still get their charge.
    for (at, n) in open {
        charges[at] = Some(n);
    }
    charges
}

/// Block tags: the Nunjucks-only keywords, then the expression rewrites.
fn rewrite_block(inner: &str) -> String {
    let word = first_word(inner);
    let renamed = match word {
        "elseif" => Some("elif"),
        "verbatim" => Some("raw"),
        "endverbatim" => Some("endraw"),
        _ => None,
    };
    if let Some(new) = renamed {
        return inner.replacen(word, new, 1);
    }
    let rewritten = rewrite_ops(&rewrite_expr(inner), true, true);
    if word == "for" {
        return rewrite_for_pairs(&rewritten);
    }
    rewritten
}

/// `for k, v in obj` iterates an object's entries in Nunjucks; minijinja needs `obj|items`. The filter
/// `_nj_pairs` turns a map into its entries and passes anything else through.
fn rewrite_for_pairs(inner: &str) -> String {
    let Some(in_pos) = top_level_keyword(inner, "in") else {
        return inner.to_string();
    };
    let target = &inner[..in_pos];
    if !target.contains(',') {
        return inner.to_string();
    }
    let iter = &inner[in_pos + 2..];
    if top_level_keyword(iter, "if").is_some() || top_level_keyword(iter, "recursive").is_some() {
        return inner.to_string();
    }
    let trimmed = iter.trim_end();
    let (expr, marker) = match trimmed.strip_suffix('-') {
        Some(e) => (e, "-"),
        None => (trimmed, ""),
    };
    format!("{target}in ({})|_nj_pairs {marker}", expr.trim())
}

/// Byte offset of `word` as a standalone word outside strings.
fn top_level_keyword(s: &str, word: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'') => i = skip_string(bytes, i, q),
            c if is_ident(c) => {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                if &s[start..i] == word {
                    return Some(start);
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Expression rewrites outside string literals: `===`/`!==` become `==`/`!=`, `x.length` becomes
/// `x|_js_length`, and a bare identifier used as an object-literal key is quoted.
pub(crate) fn rewrite_expr(src: &str) -> String {
    let bytes = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 8);
    // Open brackets, to know whether an identifier sits directly in an object literal.
    let mut brackets: Vec<u8> = Vec::new();
    // The last significant (non-space) byte emitted, to tell `{a:` / `,a:` keys from other identifiers.
    let mut last_sig: u8 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' => {
                let end = skip_string(bytes, i, c);
                out.push_str(&src[i..end]);
                i = end;
                last_sig = c;
                continue;
            }
            b'=' if src[i..].starts_with("===") => {
                out.push_str("==");
                i += 3;
                last_sig = b'=';
                continue;
            }
            b'!' if src[i..].starts_with("!==") => {
                out.push_str("!=");
                i += 3;
                last_sig = b'=';
                continue;
            }
            b'(' | b'[' | b'{' => brackets.push(c),
            b')' | b']' | b'}' => {
                brackets.pop();
            }
            b'.' if src[i..].starts_with(".length")
                && (is_ident(last_sig) || matches!(last_sig, b')' | b']'))
                && !bytes.get(i + 7).is_some_and(|&n| is_ident(n)) =>
            {
                out.push_str("|_js_length");
                i += 7;
                last_sig = b'h';
                continue;
            }
            _ if is_ident(c) && !c.is_ascii_digit() => {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                let word = &src[start..i];
                let next = src[i..].trim_start().as_bytes().first().copied();
                let is_key = brackets.last() == Some(&b'{')
                    && matches!(last_sig, b'{' | b',')
                    && next == Some(b':');
                if is_key {
                    out.push('"');
                    out.push_str(word);
                    out.push('"');
                } else {
                    out.push_str(word);
                }
                last_sig = b'a';
                continue;
            }
            _ => {}
        }
        // `i` is always on a character boundary: every branch above consumes whole ASCII tokens.
        let ch = src[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        if !ch.is_whitespace() {
            last_sig = if ch.is_ascii() { c } else { b'a' };
        }
        i += ch.len_utf8();
    }
    out
}

/// The expression of a string that is exactly one `var_start expr }}` tag (whitespace-control markers
/// stripped), as Backstage's `isSingleTemplateString` decides; `None` for anything else.
pub(crate) fn single_expression<'a>(src: &'a str, var_start: &str) -> Option<&'a str> {
    let segs = segments(src, var_start);
    match segs.as_slice() {
        [Segment {
            kind: SegmentKind::Variable,
            inner,
        }] if src.starts_with(var_start) && src.ends_with("}}") => {
            let e = inner.strip_prefix(['-', '+']).unwrap_or(inner);
            let e = e.strip_suffix(['-', '+']).unwrap_or(e);
            Some(e)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_equality_is_rewritten_outside_strings_only() {
        assert_eq!(rewrite_expr(" a === 'x' "), " a == 'x' ");
        assert_eq!(rewrite_expr(" a !== true "), " a != true ");
        assert_eq!(rewrite_expr(" a == '===' "), " a == '===' ");
        assert_eq!(rewrite_expr(r#" "it\"s !==" "#), r#" "it\"s !==" "#);
    }

    #[test]
    fn length_property_becomes_a_filter() {
        assert_eq!(rewrite_expr(" a.b.length > 0 "), " a.b|_js_length > 0 ");
        assert_eq!(rewrite_expr(" a[0].length "), " a[0]|_js_length ");
        assert_eq!(rewrite_expr(" a.lengthy "), " a.lengthy ");
        assert_eq!(rewrite_expr(" 'x.length' "), " 'x.length' ");
    }

    #[test]
    fn bare_object_keys_are_quoted() {
        assert_eq!(
            rewrite_expr(r#" x | f({ defaultKind:"group", ns: a.b }) "#),
            r#" x | f({ "defaultKind":"group", "ns": a.b }) "#
        );
        assert_eq!(rewrite_expr(" a[1:2] "), " a[1:2] ");
        assert_eq!(rewrite_expr(" a if b else c "), " a if b else c ");
    }

    #[test]
    fn block_keywords_and_pair_loops() {
        let t = "{% if a === 1 %}x{% elseif b %}y{% endif %}";
        assert_eq!(
            rewrite_template(t, "${{"),
            "{% if a == 1 %}x{% elif b %}y{% endif %}"
        );
        assert_eq!(
            rewrite_template("{%- for k, v in obj -%}", "${{"),
            "{%- for k, v in (obj)|_nj_pairs -%}"
        );
        assert_eq!(
            rewrite_template("{% for v in obj %}", "${{"),
            "{% for v in obj %}"
        );
    }

    #[test]
    fn raw_blocks_and_comments_are_untouched() {
        let t = "{% raw %}${{ a === b }}{% endraw %}{# a === b #}${{ a === b }}";
        assert_eq!(
            rewrite_template(t, "${{"),
            "{% raw %}${{ a === b }}{% endraw %}{# a === b #}${{ a == b }}"
        );
    }

    #[test]
    fn unicode_survives() {
        assert_eq!(
            rewrite_template("é ${{ 'ü' ~ a }} ∑", "${{"),
            "é ${{ __sd_concat('ü', a) }} ∑"
        );
        assert_eq!(rewrite_expr(" a ~ ü "), " a ~ ü ");
    }

    #[test]
    fn single_expressions() {
        assert_eq!(single_expression("${{ a }}", "${{"), Some(" a "));
        assert_eq!(single_expression("${{- a -}}", "${{"), Some(" a "));
        assert_eq!(single_expression("${{ '}}' }}", "${{"), Some(" '}}' "));
        assert_eq!(single_expression(" ${{ a }}", "${{"), None);
        assert_eq!(single_expression("${{ a }}${{ b }}", "${{"), None);
        assert_eq!(single_expression("x", "${{"), None);
        assert_eq!(single_expression("{% if a %}b{% endif %}", "${{"), None);
    }
}
