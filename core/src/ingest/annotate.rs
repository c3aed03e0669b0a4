//! The annotations the catalog sets on every entity it reads (Backstage's AnnotateLocationEntityProcessor),
//! and the generated Location entity that stands for a configured or registered location.

use serde_json::json;
use sha1::{Digest, Sha1};

use crate::entity::{
    Entity, ANNOTATION_EDIT_URL, ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION,
    ANNOTATION_SOURCE_LOCATION, ANNOTATION_VIEW_URL, REJECTED_URL,
};

/// `generated-<sha1 hex of "type:target">`, the name Backstage gives a location's own Location entity.
pub fn generated_location_name(location_type: &str, target: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("{location_type}:{target}").as_bytes());
    format!("generated-{}", hex::encode(hasher.finalize()))
}

/// The Location entity for a root location, as Backstage's `locationSpecToLocationEntity` builds it.
pub fn root_location_entity(location_type: &str, target: &str) -> Entity {
    let key = format!("{location_type}:{target}");
    let value = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": generated_location_name(location_type, target),
            "annotations": {
                ANNOTATION_LOCATION: key,
                ANNOTATION_ORIGIN_LOCATION: key,
            }
        },
        "spec": {"type": location_type, "target": target}
    });
    Entity::from_value(value).unwrap_or_default()
}

/// Sets the location annotations under what the user wrote (user-written values win), and replaces
/// `javascript:` view and edit URLs.
pub fn annotate(entity: &mut Entity, location_key: &str, origin_key: &str) {
    let mut defaults: Vec<(&str, String)> = vec![
        (ANNOTATION_LOCATION, location_key.to_string()),
        (ANNOTATION_ORIGIN_LOCATION, origin_key.to_string()),
    ];
    if let Some(url) = location_key.strip_prefix("url:") {
        defaults.push((ANNOTATION_VIEW_URL, url.to_string()));
        if let Some(edit) = edit_url(url) {
            defaults.push((ANNOTATION_EDIT_URL, edit));
        }
        if let Some(slash) = url.rfind('/') {
            defaults.push((
                ANNOTATION_SOURCE_LOCATION,
                format!("url:{}", &url[..=slash]),
            ));
        }
    }
    for (key, value) in defaults {
        if entity.annotation(key).is_none() {
            entity.set_annotation(key, &value);
        }
    }
    for key in [ANNOTATION_VIEW_URL, ANNOTATION_EDIT_URL] {
        if let Some(v) = entity.annotation(key) {
            if v.trim_start()
                .to_ascii_lowercase()
                .starts_with("javascript:")
            {
                entity.set_annotation(key, REJECTED_URL);
            }
        }
    }
}

/// The edit URL of a file in a GitHub-style repository (`/blob/<branch>/` becomes `/edit/<branch>/`); none
/// when the URL pins a commit, since a commit cannot be edited.
fn edit_url(url: &str) -> Option<String> {
    let (before, after) = url.split_once("/blob/")?;
    let branch = after.split('/').next()?;
    let is_commit = branch.len() == 40 && branch.chars().all(|c| c.is_ascii_hexdigit());
    if is_commit {
        return None;
    }
    Some(format!("{before}/edit/{after}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_hash_type_and_target() {
        // sha1sum of the text "file:/x".
        assert_eq!(
            generated_location_name("file", "/x"),
            "generated-6ba749262327d5aaaafdd52c4b5dadbbedc80835"
        );
        let e = root_location_entity("url", "https://h/x.yaml");
        assert!(e.name().starts_with("generated-"));
        assert_eq!(e.name().len(), "generated-".len() + 40);
        assert_eq!(
            e.annotation(ANNOTATION_LOCATION),
            Some("url:https://h/x.yaml")
        );
    }

    #[test]
    fn url_locations_get_view_edit_and_source() {
        let mut e =
            Entity::from_value(json!({"kind": "Component", "metadata": {"name": "a"}})).unwrap();
        annotate(
            &mut e,
            "url:https://github.com/o/r/blob/main/c/catalog-info.yaml",
            "url:https://github.com/o/r/blob/main/all.yaml",
        );
        assert_eq!(
            e.annotation(ANNOTATION_EDIT_URL),
            Some("https://github.com/o/r/edit/main/c/catalog-info.yaml")
        );
        assert_eq!(
            e.annotation(ANNOTATION_SOURCE_LOCATION),
            Some("url:https://github.com/o/r/blob/main/c/")
        );
        let mut e = Entity::from_value(json!({"kind": "Component", "metadata": {"name": "a", "annotations": {"backstage.io/view-url": "javascript:alert(1)"}}})).unwrap();
        annotate(&mut e, "file:/x.yaml", "file:/x.yaml");
        assert_eq!(e.annotation(ANNOTATION_VIEW_URL), Some(REJECTED_URL));
        assert_eq!(e.annotation(ANNOTATION_LOCATION), Some("file:/x.yaml"));
    }
}
