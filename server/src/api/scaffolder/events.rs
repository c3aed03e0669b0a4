//! A task's events over HTTP, as Backstage serves them:
//!
//! - `GET /v2/tasks/:id/eventstream?after=N`: server-sent events, each written `event: <type>` and
//!   `data: <the whole event as JSON>`; the store is polled (each poll waits up to a second for something
//!   new) and the stream ends after the `completion` event. A client that goes away drops the stream, which
//!   stops the polling: nothing is left running for it.
//! - `GET /v2/tasks/:id/events?after=N`: a long poll answering a JSON array as soon as there are events, or
//!   `[]` after 30 seconds. stagedoor also reads `wait=<seconds>` (at most 30) so a client can ask for less;
//!   Backstage ignores the parameter.
//!
//! An unknown task is a 404 before anything is streamed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use stagedoor_core::portal::Portal;
use stagedoor_core::scaffolder::{TaskEvent, TaskEventType};

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

/// Where a stream stands: events fetched and not yet sent, the last id sent, and whether it is over.
struct Follow {
    portal: Arc<dyn Portal>,
    id: String,
    after: Option<i64>,
    pending: VecDeque<TaskEvent>,
    done: bool,
}

async fn next_event(mut state: Follow) -> Option<(Result<Event, Infallible>, Follow)> {
    loop {
        if let Some(event) = state.pending.pop_front() {
            if event.event_type == TaskEventType::Completion {
                // Nothing follows the completion.
                state.done = true;
                state.pending.clear();
            }
            let sse = sse_event(&event);
            return Some((Ok(sse), state));
        }
        if state.done {
            return None;
        }
        let started = Instant::now();
        let events = match state.portal.task_events(&state.id, state.after, POLL).await {
            Ok(events) => events,
            Err(e) => {
                // The response has started; all that can be done is to end it.
                tracing::warn!(task = %state.id, error = %e, "task event stream ended early");
                return None;
            }
        };
        for event in events {
            // The completion is listed whatever `after` says; anything else already sent is skipped.
            let seen = state.after.is_some_and(|after| event.id <= after);
            if seen && event.event_type != TaskEventType::Completion {
                continue;
            }
            state.after = Some(state.after.map_or(event.id, |a| a.max(event.id)));
            state.pending.push_back(event);
        }
        if state.pending.is_empty() {
            // A task that ended without a completion event (its worker died) has nothing more to say.
            match state.portal.task(&state.id).await {
                Ok(Some(task)) if !task.status.is_final() => {}
                _ => return None,
            }
            // A portal that answers at once must not turn the stream into a busy loop.
            if let Some(rest) = POLL.checked_sub(started.elapsed()) {
                tokio::time::sleep(rest).await;
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
        id,
        after,
        pending: VecDeque::new(),
        done: false,
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
