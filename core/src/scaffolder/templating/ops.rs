//! The binary operators minijinja gives no hook on, rewritten into engine functions so each is
//! JavaScript's (for `+`) and bounded in what it allocates (for `~` and `*`):
//! - `a ~ b` becomes [`CONCAT`]`(a, b)` (minijinja's concatenation, capped);
//! - `a + b` becomes [`JS_ADD`]`(a, b)`: minijinja's `+` only adds numbers or joins two strings, while
//!   Nunjucks' is JavaScript's (`undefined + "/"` is `"undefined/"`, `"port " + 8080` is `"port 8080"`);
//! - `a * b` becomes [`MUL`]`(a, b)` (minijinja's multiplication, with string and list repetition capped).
//!
//! One precedence-aware pass does all three, following Nunjucks' parser (what Backstage runs): an operand
//! runs until an operator that binds more loosely than `~` (comparisons, `is`, `in`, `not`, `and`, `or`,
//! `if`/`else`), a `,`, `:` or `=`, or the edge of its bracket; inside it `~` splits loosest, then `+`, then
//! `*`; brackets are units and are rewritten inside; string literals are never touched; `**`, unary signs
//! and filters stay inside the operands.
//!
//! Nunjucks differs from Jinja in three places, and the rewrite follows Nunjucks: `~` binds looser than `+`
//! (`"a" ~ 1 + 2` is `"a3"`); `-` binds tighter than `+` (`a - b + c` is `JS_ADD(a - b, c)`, `a + b - c` is
//! `JS_ADD(a, b - c)`) and likewise `/`, `//` and `%` bind tighter than `*` (`a * b % c` is
//! `MUL(a, b % c)`); and `is` binds looser than `+` (`a + b is defined` tests the sum).

/// The engine function the rewrite calls; registered in the environment by the templater.
pub(crate) const JS_ADD: &str = "__sd_js_add";
/// The target of `~`.
pub(crate) const CONCAT: &str = "__sd_concat";
/// The target of `*`.
pub(crate) const MUL: &str = "__sd_mul";
/// The target of a slice `x[a:b:c]` (`SLICE(x, a, b, c)`, a missing part being `none`).
pub(crate) const SLICE: &str = "__sd_slice";

/// The operators an operand splits at, loosest first, with the function each becomes. `-` is not
/// rewritten, but it binds looser than `*` and tighter than `+` (as in Nunjucks), so it is a level too.
const LEVELS: &[(&str, Option<&str>)] = &[
    ("~", Some(CONCAT)),
    ("+", Some(JS_ADD)),
    ("-", None),
    ("*", Some(MUL)),
];

/// Deepest bracket nesting rewritten; deeper groups are kept verbatim (minijinja rejects them anyway).
const MAX_DEPTH: usize = 64;

/// Words that end an operand: the operators looser than `~` and the keywords of expressions.
const KEYWORDS: &[&str] = &["and", "or", "not", "in", "is", "if", "else", "recursive"];

/// Operators that end an operand (besides keywords): looser than `~`, or separators.
const BOUNDARY_OPS: &[&str] = &[",", ":", "=", "==", "!=", "<", ">", "<=", ">="];

/// Multi-character operators, longest first where they share a prefix.
const LONG_OPS: &[&str] = &["**", "//", "==", "!=", "<=", ">="];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Ident,
    Num,
    Op,
    Open,
    Close,
    /// A byte minijinja does not know (or a stray closer): ends an operand.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Whether `s` may hold an operator the rewrite replaces.
fn has_operator(s: &str) -> bool {
    s.contains(['~', '+', '*']) || (s.contains('[') && s.contains(':'))
}

/// Rewrites the `~`, `+` and `*` chains of a tag's inside. `block` marks a `{% %}` tag, whose first word is the
/// statement (`set`, `if`, `for`, …). Whitespace-control markers (`-`/`+` right at the delimiters) are kept
/// out of the expression when `markers` is set.
pub(crate) fn rewrite_ops(inner: &str, block: bool, markers: bool) -> String {
    let (lead, rest) = match inner.as_bytes().first() {
        Some(b'-' | b'+') if markers => inner.split_at(1),
        _ => ("", inner),
    };
    let (mid, trail) = match rest.as_bytes().last() {
        Some(b'-' | b'+') if markers => rest.split_at(rest.len() - 1),
        _ => (rest, ""),
    };
    if !has_operator(mid) {
        return inner.to_string();
    }
    let mut toks = tokenize(mid);
    if !toks
        .iter()
        .any(|t| LEVELS.iter().any(|(op, _)| is_op(mid, t, op)) || &mid[t.start..t.end] == "[")
    {
        return inner.to_string();
    }
    let closers = match_brackets(&mut toks);
    let r = Rewriter {
        src: mid,
        toks,
        closers,
    };
    let body = r.seq(0, r.toks.len(), 0, mid.len(), 0, block);
    format!("{lead}{body}{trail}")
}

/// Tokens of an expression; whitespace is skipped (it is copied from the source between tokens).
fn tokenize(src: &str) -> Vec<Tok> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'"' | b'\'' => {
                i = super::compat::skip_string(bytes, i, c);
                Kind::Str
            }
            b'0'..=b'9' => {
                i = skip_number(bytes, i);
                Kind::Num
            }
            _ if is_word(c) => {
                while i < bytes.len() && is_word(bytes[i]) {
                    i += 1;
                }
                Kind::Ident
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                Kind::Open
            }
            b')' | b']' | b'}' => {
                i += 1;
                Kind::Close
            }
            _ => {
                let long = LONG_OPS.iter().find(|op| src[i..].starts_with(**op));
                if let Some(op) = long {
                    i += op.len();
                    Kind::Op
                } else {
                    i += 1;
                    if b"+-*/%<>=~|,:.".contains(&c) {
                        Kind::Op
                    } else {
                        Kind::Other
                    }
                }
            }
        };
        toks.push(Tok {
            kind,
            start,
            end: i,
        });
    }
    toks
}

/// Identifier bytes; non-ASCII bytes count so a multi-byte character is never split.
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Index past a number literal: digits, a fraction, an exponent with its sign (`1e-3` is one token).
fn skip_number(bytes: &[u8], mut i: usize) -> usize {
    let digits = |b: &[u8], mut i: usize| {
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        i
    };
    i = digits(bytes, i);
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(bytes, i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(bytes, i + 1 + sign);
        }
    }
    // Anything glued on (`1abc`) stays part of the token; minijinja reports it.
    while i < bytes.len() && is_word(bytes[i]) {
        i += 1;
    }
    i
}

fn is_op(src: &str, t: &Tok, op: &str) -> bool {
    t.kind == Kind::Op && &src[t.start..t.end] == op
}

/// Pairs brackets with a stack: for each opener, the index of its closer (`None`: unclosed, the group
/// runs to the end). A closer with nothing open becomes [`Kind::Other`].
fn match_brackets(toks: &mut [Tok]) -> Vec<Option<usize>> {
    let mut closers = vec![None; toks.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, tok) in toks.iter_mut().enumerate() {
        match tok.kind {
            Kind::Open => open.push(i),
            Kind::Close => match open.pop() {
                Some(o) => closers[o] = Some(i),
                None => tok.kind = Kind::Other,
            },
            _ => {}
        }
    }
    closers
}

struct Rewriter<'a> {
    src: &'a str,
    toks: Vec<Tok>,
    closers: Vec<Option<usize>>,
}

/// One operand-level unit: a token, or a bracket group from its opener to its closer (token indices,
/// end exclusive).
#[derive(Debug, Clone, Copy)]
struct Item {
    first: usize,
    end: usize,
}

impl Rewriter<'_> {
    fn item_start(&self, it: Item) -> usize {
        self.toks[it.first].start
    }

    fn item_end(&self, it: Item) -> usize {
        self.toks[it.end - 1].end
    }

    /// The units of tokens `from..to` at one bracket depth.
    fn items(&self, from: usize, to: usize) -> Vec<Item> {
        let mut items = Vec::new();
        let mut i = from;
        while i < to {
            let end = match self.toks[i].kind {
                Kind::Open => self.closers[i].map_or(to, |c| c + 1),
                _ => i + 1,
            };
            items.push(Item { first: i, end });
            i = end;
        }
        items
    }

    fn text(&self, t: usize) -> &str {
        let t = self.toks[t];
        &self.src[t.start..t.end]
    }

    /// Whether `items[k]` ends an operand. In a block, the first word is the statement keyword; a word
    /// right after `.` is an attribute name, never a keyword.
    fn is_boundary(&self, items: &[Item], k: usize, block_start: bool) -> bool {
        let it = items[k];
        let tok = self.toks[it.first];
        match tok.kind {
            Kind::Other => true,
            Kind::Op => BOUNDARY_OPS.contains(&self.text(it.first)),
            Kind::Ident => {
                if block_start && k == 0 {
                    return true;
                }
                let after_dot = k > 0 && is_op(self.src, &self.toks[items[k - 1].first], ".");
                !after_dot && KEYWORDS.contains(&self.text(it.first))
            }
            _ => false,
        }
    }

    /// Rewrites tokens `from..to`, whose text spans bytes `lo..hi` of the source.
    fn seq(
        &self,
        from: usize,
        to: usize,
        lo: usize,
        hi: usize,
        depth: usize,
        block: bool,
    ) -> String {
        let items = self.items(from, to);
        let mut out = String::with_capacity(hi - lo + 16);
        let mut pos = lo;
        let mut k = 0;
        while k < items.len() {
            let boundary = self.is_boundary(&items, k, block);
            let mut j = k + 1;
            if !boundary {
                while j < items.len() && !self.is_boundary(&items, j, block) {
                    j += 1;
                }
            }
            let run = &items[k..j];
            out.push_str(&self.src[pos..self.item_start(run[0])]);
            if boundary {
                out.push_str(&self.plain(run, depth));
            } else {
                out.push_str(&self.operand_run(run, depth));
            }
            pos = self.item_end(run[run.len() - 1]);
            k = j;
        }
        out.push_str(&self.src[pos..hi]);
        out
    }

    /// Items with the source's spacing between them, groups rewritten inside.
    fn plain(&self, items: &[Item], depth: usize) -> String {
        let mut out = String::new();
        for (n, &it) in items.iter().enumerate() {
            if n > 0 {
                out.push_str(&self.src[self.item_end(items[n - 1])..self.item_start(it)]);
            }
            out.push_str(&self.item(it, depth));
        }
        out
    }

    fn item(&self, it: Item, depth: usize) -> String {
        let open = self.toks[it.first];
        if open.kind != Kind::Open {
            return self.src[open.start..open.end].to_string();
        }
        let whole = &self.src[open.start..self.item_end(it)];
        if depth >= MAX_DEPTH || !has_operator(whole) {
            return whole.to_string();
        }
        let closed = self.closers[it.first].is_some();
        let (inner_to, hi) = if closed {
            (it.end - 1, self.toks[it.end - 1].start)
        } else {
            (it.end, self.item_end(it))
        };
        let mut out = self.src[open.start..open.end].to_string();
        out.push_str(&self.seq(it.first + 1, inner_to, open.end, hi, depth + 1, false));
        if closed {
            out.push_str(self.text(it.end - 1));
        }
        out
    }

    /// A run of items between boundaries, folded level by level: split at the binary operator of
    /// `LEVELS[0]`, each part folded at the next level, the parts chained left into the level's function.
    /// An operator that binds tighter than every level (`-`, `/`, `//`, `%`, `**`) stays inside its operand.
    fn operand_run(&self, run: &[Item], depth: usize) -> String {
        // A call's `*args` / `**kwargs` splat applies to the whole expression after it.
        let splat = run.len() > 1
            && (is_op(self.src, &self.toks[run[0].first], "*")
                || is_op(self.src, &self.toks[run[0].first], "**"));
        if splat {
            let gap = &self.src[self.item_end(run[0])..self.item_start(run[1])];
            let rest = self.fold(&run[1..], depth, LEVELS);
            return format!("{}{gap}{rest}", self.text(run[0].first));
        }
        self.fold(run, depth, LEVELS)
    }

    fn fold(&self, run: &[Item], depth: usize, levels: &[(&str, Option<&str>)]) -> String {
        let Some(((op, func), tighter)) = levels.split_first() else {
            return self.slices(run, depth);
        };
        // An operator is binary when it follows an operand's end (a word, literal or group).
        let ops: Vec<usize> = (1..run.len())
            .filter(|&n| {
                is_op(self.src, &self.toks[run[n].first], op) && self.ends_operand(run[n - 1])
            })
            .collect();
        let mut bounds = vec![0];
        for &n in &ops {
            bounds.push(n);
            bounds.push(n + 1);
        }
        bounds.push(run.len());
        let operands: Vec<&[Item]> = bounds.chunks(2).map(|b| &run[b[0]..b[1]]).collect();
        if operands.iter().any(|o| o.is_empty()) {
            // Broken input (`a ~`): leave this level for minijinja to report.
            return self.plain(run, depth);
        }
        let mut acc = self.fold(operands[0], depth, tighter);
        for pair in operands.windows(2) {
            let operand = self.fold(pair[1], depth, tighter);
            acc = match func {
                Some(func) => format!("{func}({acc}, {operand})"),
                None => {
                    // Kept as written: the operator and the spacing around it.
                    let gap = &self.src
                        [self.item_end(pair[0][pair[0].len() - 1])..self.item_start(pair[1][0])];
                    format!("{acc}{gap}{operand}")
                }
            };
        }
        acc
    }

    /// An operand with its slices (`x[a:b]`, `x.y[::-1]`) rewritten into [`SLICE`] calls, so a slice
    /// is capped and charged like the operators' results. The last slice is rewritten first; the chain
    /// before it (which may hold other slices) is its target. A slice right after a filter (`x | f[1:]`)
    /// is left as written.
    fn slices(&self, run: &[Item], depth: usize) -> String {
        let found = (1..run.len()).rev().find_map(|n| {
            let parts = self.slice_parts(run[n])?;
            if !self.ends_operand(run[n - 1]) || self.is_keyword(run[n - 1]) {
                return None;
            }
            let mut m = n - 1;
            loop {
                let tok = self.toks[run[m].first];
                if m >= 1
                    && tok.kind == Kind::Open
                    && self.ends_operand(run[m - 1])
                    && !self.is_keyword(run[m - 1])
                {
                    m -= 1;
                } else if m >= 2
                    && tok.kind == Kind::Ident
                    && is_op(self.src, &self.toks[run[m - 1].first], ".")
                    && self.ends_operand(run[m - 2])
                {
                    m -= 2;
                } else {
                    break;
                }
            }
            if m >= 1 && is_op(self.src, &self.toks[run[m - 1].first], "|") {
                return None;
            }
            Some((m, n, parts))
        });
        let Some((m, n, parts)) = found else {
            return self.plain(run, depth);
        };
        let mut out = String::new();
        if m > 0 {
            out.push_str(&self.plain(&run[..m], depth));
            out.push_str(&self.src[self.item_end(run[m - 1])..self.item_start(run[m])]);
        }
        out.push_str(SLICE);
        out.push('(');
        out.push_str(&self.slices(&run[m..n], depth));
        for (from, to, lo, hi) in parts
            .iter()
            .copied()
            .chain(std::iter::repeat((0, 0, 0, 0)))
            .take(3)
        {
            let part = if from < to {
                self.seq(from, to, lo, hi, depth + 1, false)
            } else {
                String::new()
            };
            out.push_str(", ");
            out.push_str(if part.trim().is_empty() {
                "none"
            } else {
                part.trim()
            });
        }
        out.push(')');
        if n + 1 < run.len() {
            out.push_str(&self.src[self.item_end(run[n])..self.item_start(run[n + 1])]);
            out.push_str(&self.plain(&run[n + 1..], depth));
        }
        out
    }

    /// For a closed `[…]` group with a top-level `:` (a slice), its two or three parts: token range and
    /// byte range of each.
    fn slice_parts(&self, it: Item) -> Option<Vec<(usize, usize, usize, usize)>> {
        let open = self.toks[it.first];
        if open.kind != Kind::Open || self.text(it.first) != "[" {
            return None;
        }
        let close = self.closers[it.first]?;
        let items = self.items(it.first + 1, close);
        let colons: Vec<usize> = items
            .iter()
            .filter(|i| is_op(self.src, &self.toks[i.first], ":"))
            .map(|i| i.first)
            .collect();
        if colons.is_empty() || colons.len() > 2 {
            return None;
        }
        let mut parts = Vec::new();
        let (mut from, mut lo) = (it.first + 1, open.end);
        for &c in colons.iter().chain(std::iter::once(&close)) {
            parts.push((from, c, lo, self.toks[c].start));
            from = c + 1;
            lo = self.toks[c].end;
        }
        Some(parts)
    }

    fn is_keyword(&self, it: Item) -> bool {
        self.toks[it.first].kind == Kind::Ident && KEYWORDS.contains(&self.text(it.first))
    }

    fn ends_operand(&self, it: Item) -> bool {
        matches!(
            self.toks[it.first].kind,
            Kind::Str | Kind::Ident | Kind::Num | Kind::Open
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        rewrite_ops(s, false, false)
    }

    #[test]
    fn chains_fold_left() {
        assert_eq!(r("a + b"), "__sd_js_add(a, b)");
        assert_eq!(r(" a + b + c "), " __sd_js_add(__sd_js_add(a, b), c) ");
        assert_eq!(r("a - b + c"), "__sd_js_add(a - b, c)");
        assert_eq!(r("a + b - c"), "__sd_js_add(a, b - c)");
        assert_eq!(
            r("a - b + c - d + e"),
            "__sd_js_add(__sd_js_add(a - b, c - d), e)"
        );
        assert_eq!(r("a - b"), "a - b");
        assert_eq!(r("-1 + 2"), "__sd_js_add(-1, 2)");
        assert_eq!(r("a + -b"), "__sd_js_add(a, -b)");
        assert_eq!(r("1e-3 + 1"), "__sd_js_add(1e-3, 1)");
    }

    #[test]
    fn precedence_boundaries() {
        assert_eq!(r("a * 2 + 1"), "__sd_js_add(__sd_mul(a, 2), 1)");
        assert_eq!(r("1 + 2 * 3"), "__sd_js_add(1, __sd_mul(2, 3))");
        assert_eq!(r("'a' ~ 1 + 2"), "__sd_concat('a', __sd_js_add(1, 2))");
        assert_eq!(
            r("a + b ~ c + d"),
            "__sd_concat(__sd_js_add(a, b), __sd_js_add(c, d))"
        );
        assert_eq!(r("a ~ b ~ c"), "__sd_concat(__sd_concat(a, b), c)");
        assert_eq!(r("a - b ~ c"), "__sd_concat(a - b, c)");
        assert_eq!(r("a * b * c"), "__sd_mul(__sd_mul(a, b), c)");
        assert_eq!(r("a * b / c"), "__sd_mul(a, b / c)");
        assert_eq!(r("a // b * c % d"), "__sd_mul(a // b, c % d)");
        assert_eq!(r("-a * -b"), "__sd_mul(-a, -b)");
        assert_eq!(r("10 - 2 * 3"), "10 - __sd_mul(2, 3)");
        assert_eq!(
            r("a * b - c * d + e"),
            "__sd_js_add(__sd_mul(a, b) - __sd_mul(c, d), e)"
        );
        assert_eq!(r("a - b - c"), "a - b - c");
        assert_eq!(r("a ** 2 * 3"), "__sd_mul(a ** 2, 3)");
        assert_eq!(r("a | f * 2 ~ 'x'"), "__sd_concat(__sd_mul(a | f, 2), 'x')");
        assert_eq!(r("x ~ 1 == 'x1'"), "__sd_concat(x, 1) == 'x1'");
        assert_eq!(
            r("a ~ b if c else d * 2"),
            "__sd_concat(a, b) if c else __sd_mul(d, 2)"
        );
        // Splats in calls are not multiplications.
        assert_eq!(r("f(*a, **b)"), "f(*a, **b)");
        assert_eq!(r("f(x, *a ~ b)"), "f(x, *__sd_concat(a, b))");
        assert_eq!(r("x + 1 == 3"), "__sd_js_add(x, 1) == 3");
        assert_eq!(r("a + b if c else d"), "__sd_js_add(a, b) if c else d");
        assert_eq!(r("(a + b) | upper"), "(__sd_js_add(a, b)) | upper");
        assert_eq!(r("a | length + 1"), "__sd_js_add(a | length, 1)");
        assert_eq!(r("not a + b"), "not __sd_js_add(a, b)");
        assert_eq!(r("a and b + c or d"), "a and __sd_js_add(b, c) or d");
        assert_eq!(r("a.b + c.in"), "__sd_js_add(a.b, c.in)");
        assert_eq!(r("a + b is defined"), "__sd_js_add(a, b) is defined");
        assert_eq!(
            r("a ** 2 + b[0] + f(x)"),
            "__sd_js_add(__sd_js_add(a ** 2, b[0]), f(x))"
        );
    }

    #[test]
    fn slices_become_calls() {
        assert_eq!(r("x[1:]"), "__sd_slice(x, 1, none, none)");
        assert_eq!(r("x[::-1]"), "__sd_slice(x, none, none, -1)");
        assert_eq!(
            r("a.b[1:n + 1]"),
            "__sd_slice(a.b, 1, __sd_js_add(n, 1), none)"
        );
        assert_eq!(r("f(x)[1:2].y"), "__sd_slice(f(x), 1, 2, none).y");
        assert_eq!(
            r("x[1:][:2]"),
            "__sd_slice(__sd_slice(x, 1, none, none), none, 2, none)"
        );
        assert_eq!(
            r("'a' ~ x[1:]"),
            "__sd_concat('a', __sd_slice(x, 1, none, none))"
        );
        assert_eq!(
            r("-x[1:] * 2"),
            "__sd_mul(-__sd_slice(x, 1, none, none), 2)"
        );
        assert_eq!(r("x[1:] | upper"), "__sd_slice(x, 1, none, none) | upper");
        assert_eq!(r("{'a': [1:2]}"), "{'a': [1:2]}");
        assert_eq!(r("x[0]"), "x[0]");
        assert_eq!(r("x | f[1:]"), "x | f[1:]");
        assert_eq!(
            r("x[a[1:]:]"),
            "__sd_slice(x, __sd_slice(a, 1, none, none), none, none)"
        );
    }

    #[test]
    fn brackets_are_units_and_rewritten_inside() {
        assert_eq!(r("f(a + b, c)"), "f(__sd_js_add(a, b), c)");
        assert_eq!(
            r(r#"x | replace("a", b + c)"#),
            r#"x | replace("a", __sd_js_add(b, c))"#
        );
        assert_eq!(r("[1, 2] + 'x'"), "__sd_js_add([1, 2], 'x')");
        assert_eq!(r("{'k': a + 1}"), "{'k': __sd_js_add(a, 1)}");
        assert_eq!(r("f(x=a + 1)"), "f(x=__sd_js_add(a, 1))");
        assert_eq!(r("a[1:b + 1]"), "__sd_slice(a, 1, __sd_js_add(b, 1), none)");
    }

    #[test]
    fn strings_and_non_plus_expressions_are_untouched() {
        assert_eq!(r(" 'a + b' "), " 'a + b' ");
        assert_eq!(r(r#" "x" ~ "+" "#), r#" __sd_concat("x", "+") "#);
        assert_eq!(r(r#" "a * b ~ c" "#), r#" "a * b ~ c" "#);
        assert_eq!(r(" a - 1 "), " a - 1 ");
        assert_eq!(r("'é' + ü"), "__sd_js_add('é', ü)");
        // Broken input stays broken for minijinja to report, without panicking here.
        for bad in [
            "a +",
            "+",
            "(a + ",
            "a + )",
            ") + (",
            "a + not b",
            "[[[ + ]]",
        ] {
            let _ = r(bad);
        }
        assert_eq!(r("a + "), "a + ");
        assert_eq!(r("a ~ "), "a ~ ");
        assert_eq!(r("a * "), "a * ");
        for bad in ["~", "*", "a ~ * b", "* a", "~ a ~"] {
            let _ = r(bad);
        }
        assert_eq!(r("(a + b"), "(__sd_js_add(a, b)");
    }

    #[test]
    fn blocks_and_markers() {
        let b = |s: &str| rewrite_ops(s, true, true);
        assert_eq!(b(" set x = a + b "), " set x = __sd_js_add(a, b) ");
        assert_eq!(b(" if a + b == 'x' "), " if __sd_js_add(a, b) == 'x' ");
        assert_eq!(b("- for i in a + b -"), "- for i in __sd_js_add(a, b) -");
        assert_eq!(b("+ elif a + 1 +"), "+ elif __sd_js_add(a, 1) +");
        assert_eq!(
            rewrite_ops("- a + b -", false, true),
            "- __sd_js_add(a, b) -"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = format!("{}a + b{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(r(&deep).len(), deep.len());
    }
}
