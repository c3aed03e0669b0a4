//! Flattens an entity into lowercase `(key, value)` search rows, as Backstage's `buildEntitySearch` does.
