//! Ingestion: reading locations (files, URLs, Location entities) into processed entities.
