//! Following a task's events to its end: the one loop behind the TUI's task view, `stagedoor template
//! run` and the SSE `eventstream`, so the subtle cases are handled once: events already seen are skipped
//! (the completion is listed whatever `after` says), a task that ends between a wait and the status check
//! gets one more look (its completion is stored with its final status), a task that ended without a
//! completion (marked stale) ends the stream, and a portal that answers at once is not polled in a tight
//! loop.

use std::time::{Duration, Instant};

use super::types::{TaskEvent, TaskEventType};
use crate::error::PortalError;
use crate::portal::Portal;

/// A portal answering an empty batch faster than this is paced to it.
const MIN_EMPTY_POLL: Duration = Duration::from_millis(200);

/// Where a follower stands in one task's events.
#[derive(Debug, Clone)]
pub struct TaskFollower {
    task_id: String,
    after: Option<i64>,
    finished: bool,
}

impl TaskFollower {
    /// Follows `task_id` from the events after `after` (all when `None`).
    pub fn new(task_id: impl Into<String>, after: Option<i64>) -> TaskFollower {
        TaskFollower {
            task_id: task_id.into(),
            after,
            finished: false,
        }
    }

    /// The id of the last event returned.
    pub fn after(&self) -> Option<i64> {
        self.after
    }

    /// Whether the completion event has been returned, or the task ended without one: nothing more will
    /// come.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The events not returned yet, in order, waiting up to `wait` for some; empty when none came.
    pub async fn next(
        &mut self,
        portal: &dyn Portal,
        wait: Duration,
    ) -> Result<Vec<TaskEvent>, PortalError> {
        if self.finished {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let mut events = self.fresh(portal.task_events(&self.task_id, self.after, wait).await?);
        if events.is_empty() {
            let ended = portal
                .task(&self.task_id)
                .await?
                .is_none_or(|t| t.status.is_final());
            if ended {
                events = self.fresh(
                    portal
                        .task_events(&self.task_id, self.after, Duration::ZERO)
                        .await?,
                );
                self.finished = true;
            } else if let Some(rest) = MIN_EMPTY_POLL.checked_sub(started.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
        Ok(events)
    }

    /// Drops what was returned before and notes the last id; everything after a completion is dropped.
    fn fresh(&mut self, events: Vec<TaskEvent>) -> Vec<TaskEvent> {
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            let seen = self.after.is_some_and(|after| event.id <= after);
            let completion = event.event_type == TaskEventType::Completion;
            if seen && !completion {
                continue;
            }
            self.after = Some(self.after.map_or(event.id, |a| a.max(event.id)));
            out.push(event);
            if completion {
                self.finished = true;
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: i64, event_type: TaskEventType) -> TaskEvent {
        TaskEvent {
            id,
            task_id: "t".into(),
            event_type,
            body: json!({"message": format!("event {id}")}),
            created_at: "2026-11-26T00:00:00Z".into(),
        }
    }

    #[test]
    fn seen_events_are_skipped_and_the_completion_ends_it() {
        let mut f = TaskFollower::new("t", Some(2));
        let out = f.fresh(vec![
            event(2, TaskEventType::Log),
            event(3, TaskEventType::Log),
            event(4, TaskEventType::Completion),
            event(5, TaskEventType::Log),
        ]);
        assert_eq!(out.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(f.after(), Some(4));
        assert!(f.finished());
    }

    #[test]
    fn a_completion_before_after_is_still_returned() {
        // Backstage lists the completion whatever `after` says; a client that asked past it still ends.
        let mut f = TaskFollower::new("t", Some(9));
        let out = f.fresh(vec![event(4, TaskEventType::Completion)]);
        assert_eq!(out.len(), 1);
        assert!(f.finished());
        assert_eq!(f.after(), Some(9));
    }
}
