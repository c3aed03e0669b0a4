//! Turns [`super::EntityQuery`] and filters into SQL, and encodes and decodes by-query cursors.
