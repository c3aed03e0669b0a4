//! The versioned schema migrations, applied in order at open.
