//! The list a select, picker or repo part opens: a query line that fuzzy-filters the items (nucleo, via
//! [`FuzzyFilter`]), a cursor, and whether a typed value not in the list may be taken.

use super::editor::Editor;
use crate::ui::fuzzy::FuzzyFilter;

#[derive(Debug, Clone, PartialEq)]
pub struct ListItem {
    /// What is shown (sanitised when drawn).
    pub label: String,
    /// Shown dimmed after the label (an entity's title).
    pub detail: Option<String>,
    /// What picking it stores.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListPopup {
    /// Index of the field in the page's field list, and its focus stop.
    pub field: usize,
    pub stop: usize,
    pub query: Editor,
    pub items: Vec<ListItem>,
    /// Indices into `items` matching the query, best first.
    pub matches: Vec<usize>,
    pub selected: usize,
    /// Enter with a query that matches nothing takes the query itself.
    pub arbitrary: bool,
    /// Loading or failure text, shown instead of the items.
    pub status: Option<String>,
}

impl ListPopup {
    pub fn new(field: usize, stop: usize, items: Vec<ListItem>, arbitrary: bool) -> ListPopup {
        let mut list = ListPopup {
            field,
            stop,
            query: Editor::default(),
            items,
            matches: Vec::new(),
            selected: 0,
            arbitrary,
            status: None,
        };
        list.refilter();
        list
    }

    pub fn set_items(&mut self, items: Vec<ListItem>) {
        self.items = items;
        self.refilter();
    }

    pub fn refilter(&mut self) {
        let texts: Vec<String> = self
            .items
            .iter()
            .map(|i| match &i.detail {
                Some(d) => format!("{} {d}", i.label),
                None => i.label.clone(),
            })
            .collect();
        self.matches =
            FuzzyFilter::default().filter(&self.query.text, texts.iter().map(String::as_str));
        self.selected = 0;
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self) {
        if self.selected + 1 < self.matches.len() {
            self.selected += 1;
        }
    }

    /// The value Enter takes: the highlighted match, else the typed query when arbitrary values are allowed.
    pub fn picked(&self) -> Option<String> {
        if let Some(&i) = self.matches.get(self.selected) {
            return self.items.get(i).map(|i| i.value.clone());
        }
        let q = self.query.text.trim();
        (self.arbitrary && !q.is_empty()).then(|| q.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(s: &str) -> ListItem {
        ListItem {
            label: s.into(),
            detail: None,
            value: s.into(),
        }
    }

    #[test]
    fn filters_and_falls_back_to_the_query() {
        let mut l = ListPopup::new(0, 0, vec![item("staging"), item("production")], true);
        assert_eq!(l.matches, vec![0, 1]);
        l.query.insert("prod");
        l.refilter();
        assert_eq!(l.picked().as_deref(), Some("production"));
        l.query.set("zzz");
        l.refilter();
        assert_eq!(l.picked().as_deref(), Some("zzz"));
        l.arbitrary = false;
        assert_eq!(l.picked(), None);
    }
}
