//! The `/` filter: fuzzy matching of a query against each row's searchable text, best matches first, with
//! nucleo-matcher (helix's matcher).
//!
//! The design card named fuzzy-matcher; measured over 100,000 rows (name, title, description and tags) one
//! keystroke took 47–88 ms with its skim algorithm against nucleo's 12–23 ms (`cargo bench -p stagedoor
//! --bench filter`), and the budget is 16 ms. Narrowing (a query that extends the previous one only searches
//! the previous matches, see `CatalogState::refilter`) brings typed keystrokes under it.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// Rows from which matching is spread over several threads.
const PARALLEL_ROWS: usize = 20_000;
const MAX_THREADS: usize = 8;

/// The fuzzy filter: smart case (case-insensitive unless the query has capitals) and smart Unicode
/// normalisation.
#[derive(Debug)]
pub struct FuzzyFilter {
    /// Threads a large list is matched on.
    threads: usize,
}

impl Default for FuzzyFilter {
    fn default() -> Self {
        FuzzyFilter {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS)),
        }
    }
}

/// `(score, name length, text length, index)` of the rows that match; the name's score is added to the
/// text's, and the name's length counts only when it matched.
fn score_rows(pattern: &Pattern, rows: &[(usize, &str, &str)]) -> Vec<(u32, usize, usize, usize)> {
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    rows.iter()
        .filter_map(|&(i, name, text)| {
            let score = pattern.score(Utf32Str::new(text, &mut buf), &mut matcher)?;
            let name_score = if name.is_empty() {
                None
            } else {
                pattern.score(Utf32Str::new(name, &mut buf), &mut matcher)
            };
            // Only a name that matched competes on its length; the rest tie on their text as before.
            let name_len = name_score.map_or(usize::MAX, |_| name.len());
            Some((score + name_score.unwrap_or(0), name_len, text.len(), i))
        })
        .collect()
}

impl FuzzyFilter {
    /// Indices of the haystacks that match `query`, best score first; on a tie the shorter matching name,
    /// then the shorter text (an exact name before a longer one containing it), then input order. An empty query matches everything in order.
    pub fn filter<'a>(
        &self,
        query: &str,
        haystacks: impl IntoIterator<Item = &'a str>,
    ) -> Vec<usize> {
        self.filter_indexed(query, haystacks.into_iter().enumerate())
    }

    /// [`FuzzyFilter::filter`] over `(index, text)` pairs, returning the given indices (to search a subset).
    pub fn filter_indexed<'a>(
        &self,
        query: &str,
        haystacks: impl IntoIterator<Item = (usize, &'a str)>,
    ) -> Vec<usize> {
        self.rank(query, haystacks.into_iter().map(|(i, h)| (i, "", h)))
    }

    /// Rows as `(index, name, text)`: a row matches when its whole text (name, title, description, tags)
    /// does, and a match in the name adds its score, so `ship` ranks `shipment-tracker` above a service
    /// whose description mentions shipments.
    pub fn rank<'a>(
        &self,
        query: &str,
        rows: impl IntoIterator<Item = (usize, &'a str, &'a str)>,
    ) -> Vec<usize> {
        let query = query.trim();
        if query.is_empty() {
            return rows.into_iter().map(|(i, _, _)| i).collect();
        }
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let rows: Vec<(usize, &str, &str)> = rows.into_iter().collect();
        // Large lists are matched on every core: over 100,000 rows one pass is ~20 ms on one, over the
        // 16 ms a keystroke may take.
        let parts = if rows.len() < PARALLEL_ROWS {
            1
        } else {
            self.threads
        };
        let chunk = rows.len().div_ceil(parts).max(1);
        let pattern = &pattern;
        let mut scored: Vec<(u32, usize, usize, usize)> = if parts == 1 {
            score_rows(pattern, &rows)
        } else {
            std::thread::scope(|scope| {
                let workers: Vec<_> = rows
                    .chunks(chunk)
                    .map(|part| scope.spawn(move || score_rows(pattern, part)))
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().unwrap_or_default())
                    .collect()
            })
        };
        // Every key differs (the index is last), so an unstable sort gives the same order, faster.
        // A tie goes to the shorter name: `shiptrk` scores `shipment-tracker` and `shipment-tracking`
        // alike, and the exact-er name comes first whatever the rest of the text.
        scored.sort_unstable_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        scored.into_iter().map(|(_, _, _, i)| i).collect()
    }

    /// Whether every match of `query` is also a match of `previous`, so `query` may search only the previous
    /// matches: it extends `previous` and uses no negation (`!`), whose matches grow as it lengthens.
    pub fn narrows(previous: &str, query: &str) -> bool {
        let previous = previous.trim();
        !previous.is_empty() && query.trim().starts_with(previous) && !query.contains('!')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_matches_come_first_and_misses_are_dropped() {
        let names = ["payments-api", "shipment-tracker", "pay", "catalog"];
        let f = FuzzyFilter::default();
        let hits = f.filter("pay", names);
        assert_eq!(hits[0], 2);
        assert!(hits.contains(&0));
        assert!(!hits.contains(&3));
        assert_eq!(f.filter("", names), vec![0, 1, 2, 3]);
        assert_eq!(f.filter("shptr", names), vec![1]);
        assert_eq!(
            f.filter_indexed("pay", [(7, "pay"), (9, "catalog")]),
            vec![7]
        );
    }

    #[test]
    fn smart_case() {
        let f = FuzzyFilter::default();
        assert_eq!(f.filter("PAY", ["payments", "PAYMENTS"]), vec![1]);
        assert_eq!(f.filter("pay", ["PAYMENTS"]), vec![0]);
    }

    #[test]
    fn narrowing_only_when_matches_can_only_shrink() {
        assert!(FuzzyFilter::narrows("pa", "pay"));
        assert!(!FuzzyFilter::narrows("", "pay"));
        assert!(!FuzzyFilter::narrows("pay", "pa"));
        assert!(!FuzzyFilter::narrows("pay", "pay !x"));
        // Every match of the longer query is a match of the shorter one.
        let f = FuzzyFilter::default();
        let texts = [
            "shipment-tracker",
            "ship",
            "shopping",
            "payments",
            "s-h-i-p",
        ];
        for (short, long) in [
            ("s", "sh"),
            ("sh", "shi"),
            ("shi", "ship"),
            ("ship", "ship t"),
        ] {
            let wide = f.filter(short, texts);
            for i in f.filter(long, texts) {
                assert!(
                    wide.contains(&i),
                    "{long} matched {} but {short} did not",
                    texts[i]
                );
            }
        }
    }
}
