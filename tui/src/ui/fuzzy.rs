//! The `/` filter: fuzzy matching (skim's algorithm, from the `fuzzy-matcher` crate named on the design card)
//! of a query against each row's searchable text, best matches first.

use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;

/// A reusable matcher; matching is case-insensitive unless the query has capitals (smart case).
pub struct FuzzyFilter {
    matcher: SkimMatcherV2,
}

impl Default for FuzzyFilter {
    fn default() -> Self {
        FuzzyFilter {
            matcher: SkimMatcherV2::default().smart_case(),
        }
    }
}

impl FuzzyFilter {
    /// Indices of the haystacks that match `query`, best score first; on a tie the shorter text (an exact
    /// name before a longer one containing it), then input order. An empty query matches everything in order.
    pub fn filter<'a>(
        &self,
        query: &str,
        haystacks: impl IntoIterator<Item = &'a str>,
    ) -> Vec<usize> {
        let query = query.trim();
        if query.is_empty() {
            return haystacks.into_iter().enumerate().map(|(i, _)| i).collect();
        }
        let mut scored: Vec<(i64, usize, usize)> = haystacks
            .into_iter()
            .enumerate()
            .filter_map(|(i, h)| self.matcher.fuzzy_match(h, query).map(|s| (s, h.len(), i)))
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        scored.into_iter().map(|(_, _, i)| i).collect()
    }

    /// Character positions of the matched characters in `haystack`, for highlighting.
    pub fn positions(&self, query: &str, haystack: &str) -> Vec<usize> {
        self.matcher
            .fuzzy_indices(haystack, query.trim())
            .map(|(_, p)| p)
            .unwrap_or_default()
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
        assert!(!f.positions("pay", "payments-api").is_empty());
    }
}
