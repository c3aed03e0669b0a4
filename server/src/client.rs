//! `HttpPortal`: the `Portal` trait over Backstage's REST API with reqwest.
