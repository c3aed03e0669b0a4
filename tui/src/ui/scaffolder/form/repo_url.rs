//! `RepoUrlPicker`: a host plus the parts that host's kind needs (owner and repo for GitHub and most others;
//! organization, project and repo for Azure DevOps; workspace, project and repo for bitbucket.org; project
//! and repo for Bitbucket Server), written as Backstage's `host?owner=o&repo=r`. The host kind is guessed
//! from its name, as the form has no integrations config.

use std::collections::BTreeMap;

use super::editor::Editor;
use super::field::RepoSpec;

/// The query keys of a repo URL, in the order the form shows them.
pub const PART_LABELS: [(&str, &str); 5] = [
    ("organization", "Organization"),
    ("workspace", "Workspace"),
    ("project", "Project"),
    ("owner", "Owner"),
    ("repo", "Repository"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct RepoState {
    pub host: Editor,
    /// Every part ever entered, so switching hosts and back keeps them.
    pub values: BTreeMap<String, Editor>,
}

/// The parts a host needs.
pub fn parts_for(host: &str) -> Vec<&'static str> {
    let host = host.to_ascii_lowercase();
    if host == "dev.azure.com" || host.ends_with(".visualstudio.com") {
        vec!["organization", "project", "repo"]
    } else if host == "bitbucket.org" {
        vec!["workspace", "project", "repo"]
    } else if host.contains("bitbucket") {
        vec!["project", "repo"]
    } else {
        vec!["owner", "repo"]
    }
}

/// The `allowed*` list for a part (empty = free text).
pub fn allowed<'a>(spec: &'a RepoSpec, part: &str) -> &'a [String] {
    match part {
        "owner" => &spec.owners,
        "organization" => &spec.organizations,
        "project" => &spec.projects,
        "repo" => &spec.repos,
        _ => &[],
    }
}

/// The label of a part.
pub fn label(part: &str) -> &'static str {
    PART_LABELS
        .iter()
        .find(|(k, _)| *k == part)
        .map_or("Value", |(_, l)| l)
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `URLSearchParams`-style encoding of a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl RepoState {
    /// From a value such as `github.com?owner=o&repo=r`; the host defaults to the first allowed one.
    pub fn new(spec: &RepoSpec, value: &str) -> RepoState {
        let (host, query) = value.split_once('?').unwrap_or((value, ""));
        let host = if host.is_empty() {
            spec.hosts.first().cloned().unwrap_or_default()
        } else {
            host.to_string()
        };
        let mut values = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            values.insert(decode(k), Editor::new(&decode(v)));
        }
        // A single allowed value is the only choice: fill it in, as Backstage does.
        for part in parts_for(&host) {
            if let [only] = allowed(spec, part) {
                values
                    .entry(part.to_string())
                    .or_insert_with(|| Editor::new(only));
            }
        }
        RepoState {
            host: Editor::new(&host),
            values,
        }
    }

    pub fn parts(&self) -> Vec<&'static str> {
        parts_for(&self.host.text)
    }

    pub fn part(&self, part: &str) -> &str {
        self.values.get(part).map_or("", |e| e.text.as_str())
    }

    /// The editor of focus stop `stop` (0 = host).
    pub fn editor_mut(&mut self, stop: usize) -> Option<&mut Editor> {
        if stop == 0 {
            return Some(&mut self.host);
        }
        let part = *self.parts().get(stop - 1)?;
        Some(self.values.entry(part.to_string()).or_default())
    }

    pub fn editor(&self, stop: usize) -> Option<&Editor> {
        if stop == 0 {
            return Some(&self.host);
        }
        self.values.get(*self.parts().get(stop - 1)?)
    }

    /// `host?part=v&...` with the host's parts that are set; `None` when nothing is.
    pub fn value(&self) -> Option<String> {
        let query: Vec<String> = self
            .parts()
            .into_iter()
            .filter(|p| !self.part(p).is_empty())
            .map(|p| format!("{p}={}", encode(self.part(p))))
            .collect();
        if self.host.text.is_empty() && query.is_empty() {
            return None;
        }
        Some(format!("{}?{}", self.host.text, query.join("&")))
    }

    /// Every part the host needs is filled in.
    pub fn complete(&self) -> bool {
        !self.host.text.is_empty() && self.parts().iter().all(|p| !self.part(p).is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_completes_parts() {
        let spec = RepoSpec {
            hosts: vec!["github.com".into()],
            owners: vec!["backstage".into()],
            ..RepoSpec::default()
        };
        let mut r = RepoState::new(&spec, "");
        assert_eq!(r.host.text, "github.com");
        assert_eq!(r.part("owner"), "backstage");
        assert!(!r.complete());
        r.editor_mut(2).unwrap().set("my repo");
        assert_eq!(
            r.value().unwrap(),
            "github.com?owner=backstage&repo=my+repo"
        );
        let back = RepoState::new(&spec, &r.value().unwrap());
        assert_eq!(back.part("repo"), "my repo");
        let azure = RepoState::new(&spec, "dev.azure.com?organization=o&project=p&repo=r%2Fx");
        assert_eq!(azure.parts(), vec!["organization", "project", "repo"]);
        assert_eq!(
            azure.value().unwrap(),
            "dev.azure.com?organization=o&project=p&repo=r%2Fx"
        );
    }
}
