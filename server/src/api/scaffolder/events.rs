//! A task's events over HTTP, as Backstage serves them:
//!
//! - `GET /v2/tasks/:id/eventstream?after=N`: server-sent events, each written `event: <type>` and
//!   `data: <the whole event as JSON>`; the store is polled through core's `TaskFollower` (each poll waits
//!   up to a second for something new) and the stream ends after the `completion` event. A client that goes away drops the stream, which
//!   stops the polling: nothing is left running for it.
//! - `GET /v2/tasks/:id/events?after=N`: a long poll answering a JSON array as soon as there are events, or
//!   `[]` after 30 seconds. stagedoor also reads `wait=<seconds>` (at most 30) so a client can ask for less;
//!   Backstage ignores the parameter.
//!
//! An unknown task is a 404 before anything is streamed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use stagedoor_core::portal::Portal;
use stagedoor_core::scaffolder::follow::TaskFollower;
use stagedoor_core::scaffolder::TaskEvent;

use super::{invalid_param, require_task, ApiResult, AppState};

/// How long one poll of the event stream waits for a new event.
const POLL: Duration = Duration::from_secs(1);
/// Backstage's long-poll wait.
const LONG_POLL: Duration = Duration::from_secs(30);

/// `after` and `wait` from the query string.
fn event_params(raw: Option<&str>) -> ApiResult<(Option<i64>, Option<Duration>)> {
    let (mut after, mut wait) = (None, None);
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "after" => {
                if after.is_some() {
                    return Err(invalid_param("after", "must be given once"));
                }
                match value.parse::<i64>() {
                    Ok(n) if n >= 0 && n.to_string() == value => after = Some(n),
                    _ => return Err(invalid_param("after", "must be a non-negative integer")),
                }
            }
            "wait" => match value.parse::<u64>() {
                Ok(n) if n.to_string() == value => wait = Some(Duration::from_secs(n)),
                _ => return Err(invalid_param("wait", "must be a number of seconds")),
            },
            _ => {}
        }
    }
    Ok((after, wait))
}

/// One event in the SSE form Backstage writes.
fn sse_event(event: &TaskEvent) -> Event {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Event::default().event(event.event_type.as_str()).data(data)
}

/// Where a stream stands: events fetched and not yet sent, and the follower that fetches them.
struct Follow {
    portal: Arc<dyn Portal>,
    follower: TaskFollower,
    pending: VecDeque<TaskEvent>,
}

async fn next_event(mut state: Follow) -> Option<(Result<Event, Infallible>, Follow)> {
    loop {
        if let Some(event) = state.pending.pop_front() {
            let sse = sse_event(&event);
            return Some((Ok(sse), state));
        }
        if state.follower.finished() {
            return None;
        }
        match state.follower.next(state.portal.as_ref(), POLL).await {
            Ok(events) => state.pending.extend(events),
            Err(e) => {
                // The response has started: all that can be done is to end it.
                tracing::warn!(error = %e, "task event stream ended early");
                return None;
            }
        }
    }
}

pub(super) async fn get_eventstream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (after, _) = event_params(raw.as_deref())?;
    require_task(state.portal.as_ref(), &id).await?;
    let follow = Follow {
        portal: state.portal.clone(),
        follower: TaskFollower::new(id, after),
        pending: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(follow, next_event);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

pub(super) async fn get_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (after, wait) = event_params(raw.as_deref())?;
    require_task(state.portal.as_ref(), &id).await?;
    // Answer well inside the server's own request timeout, whatever it is configured to.
    let ceiling = state
        .settings
        .limits
        .request_timeout
        .saturating_sub(Duration::from_secs(5));
    let wait = wait.unwrap_or(LONG_POLL).min(LONG_POLL).min(ceiling);
    let events = state.portal.task_events(&id, after, wait).await?;
    Ok(Json(events).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_and_wait_are_checked() {
        assert_eq!(event_params(None).unwrap(), (None, None));
        assert_eq!(
            event_params(Some("after=7&wait=0")).unwrap(),
            (Some(7), Some(Duration::ZERO))
        );
        for bad in ["after=x", "after=-1", "after=1&after=2", "wait=soon"] {
            let e = event_params(Some(bad)).unwrap_err();
            let param = bad.split('=').next().unwrap();
            assert!(e.message.contains(param), "{bad}: {}", e.message);
        }
    }
}
