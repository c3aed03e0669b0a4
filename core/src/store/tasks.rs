//! Scaffolder tasks and their events in the store, written once for SQLite and PostgreSQL.
//!
//! A task row holds its spec (JSON text), status, holder and heartbeat; its log is a separate, append-only
//! `task_events` table whose integer ids increase, so a client asks for "everything after N". A task's
//! secrets are never written here: they live only in the memory of the process that created the task (see
//! `scaffolder::tasks`). Every status change that ends a task writes its `completion` event in the same
//! transaction, so a client streaming events always sees the end once the status is final.

use serde_json::Value;

use super::sql::{transaction, SqlConn, SqlRow};
use super::{now_millis, StoreError};
use crate::scaffolder::types::{
    SerializedTask, TaskEvent, TaskEventType, TaskList, TaskQuery, TaskStatus,
};
use crate::sql_params;

/// A task to store, `open`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub id: String,
    /// The task's spec (`SerializedTask.spec`), secrets never included.
    pub spec: Value,
    pub created_by: Option<String>,
}

/// A task some worker is running: enough to tell whether that worker is still alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingTask {
    pub id: String,
    pub holder: String,
    /// Epoch milliseconds.
    pub last_heartbeat_at: i64,
}

/// What a worker's heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// Still the worker's task; `cancel_requested` when someone asked it to stop.
    Held { cancel_requested: bool },
    /// The task is no longer this worker's (marked stale, or finished elsewhere): stop running it.
    Lost,
}

const TASK_COLUMNS: &str =
    "SELECT id, spec, status, created_at, last_heartbeat_at, created_by, state FROM tasks";
const EVENT_COLUMNS: &str = "SELECT id, task_id, event_type, body, created_at FROM task_events";
const INSERT_TASK: &str = "INSERT INTO tasks (id, spec, status, created_at, created_by) \
     VALUES (?1, ?2, 'open', ?3, ?4)";
const INSERT_EVENT: &str = "INSERT INTO task_events (task_id, event_type, body, created_at) \
     VALUES (?1, ?2, ?3, ?4) RETURNING id";
// One conditional statement, so two workers (processes or replicas sharing a PostgreSQL database) never claim
// the same task: the loser's re-checked `status = 'open'` fails and it claims nothing this round.
const CLAIM_TASK: &str =
    "UPDATE tasks SET status = 'processing', holder = ?1, last_heartbeat_at = ?2 \
     WHERE id = (SELECT id FROM tasks WHERE status = 'open' ORDER BY created_at, id LIMIT 1) \
     AND status = 'open' RETURNING id";
const HEARTBEAT: &str = "UPDATE tasks SET last_heartbeat_at = ?3 \
     WHERE id = ?1 AND holder = ?2 AND status = 'processing'";
const COUNT_CANCELLED: &str =
    "SELECT COUNT(*) FROM task_events WHERE task_id = ?1 AND event_type = 'cancelled'";
const FINISH: &str = "UPDATE tasks SET status = ?3 \
     WHERE id = ?1 AND holder = ?2 AND status = 'processing' AND last_heartbeat_at < ?4";
const SELECT_STATUS: &str = "SELECT status FROM tasks WHERE id = ?1";
const CANCEL_OPEN: &str = "UPDATE tasks SET status = 'cancelled' WHERE id = ?1 AND status = 'open'";
const SELECT_PROCESSING: &str = "SELECT id, holder, last_heartbeat_at FROM tasks \
     WHERE status = 'processing' ORDER BY created_at, id";

/// Milliseconds since the epoch as ISO 8601 (`2026-11-26T03:17:48.123Z`), as Backstage sends dates.
pub fn iso8601(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn json(text: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Database(format!("stored {what} is not JSON: {e}")))
}

fn status(text: &str) -> Result<TaskStatus, StoreError> {
    TaskStatus::parse(text)
        .ok_or_else(|| StoreError::Database(format!("stored task has unknown status {text:?}")))
}

fn event_type(text: &str) -> Result<TaskEventType, StoreError> {
    serde_json::from_value(Value::String(text.to_string()))
        .map_err(|_| StoreError::Database(format!("stored task event has unknown type {text:?}")))
}

fn task_row(r: &SqlRow) -> Result<SerializedTask, StoreError> {
    let spec = json(&r.text(1)?, "task spec")?;
    Ok(SerializedTask {
        id: r.text(0)?,
        spec: serde_json::from_value(spec)
            .map_err(|e| StoreError::Database(format!("stored task spec is malformed: {e}")))?,
        status: status(&r.text(2)?)?,
        created_at: iso8601(r.int(3)?),
        last_heartbeat_at: r.opt_int(4)?.map(iso8601),
        created_by: r.opt_text(5)?,
        state: r.opt_text(6)?.map(|s| json(&s, "task state")).transpose()?,
    })
}

fn event_row(r: &SqlRow) -> Result<TaskEvent, StoreError> {
    Ok(TaskEvent {
        id: r.int(0)?,
        task_id: r.text(1)?,
        event_type: event_type(&r.text(2)?)?,
        body: json(&r.text(3)?, "task event")?,
        created_at: iso8601(r.int(4)?),
    })
}

pub(crate) fn create(conn: &mut dyn SqlConn, task: &NewTask) -> Result<(), StoreError> {
    let spec = task.spec.to_string();
    conn.execute(
        INSERT_TASK,
        sql_params![&task.id, &spec, now_millis(), &task.created_by],
    )?;
    Ok(())
}

pub(crate) fn get(conn: &mut dyn SqlConn, id: &str) -> Result<Option<SerializedTask>, StoreError> {
    conn.query_opt(&format!("{TASK_COLUMNS} WHERE id = ?1"), sql_params![id])?
        .map(|r| task_row(&r))
        .transpose()
}

/// `GET /v2/tasks`: filtered by creator and statuses, ordered (`created_at` by default, newest first),
/// paged, with the total before paging.
pub(crate) fn list(conn: &mut dyn SqlConn, query: &TaskQuery) -> Result<TaskList, StoreError> {
    let mut clauses = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    if let Some(by) = &query.created_by {
        texts.push(by.clone());
        clauses.push(format!("created_by = ?{}", texts.len()));
    }
    if !query.status.is_empty() {
        let mut marks = Vec::new();
        for s in &query.status {
            texts.push(s.as_str().to_string());
            marks.push(format!("?{}", texts.len()));
        }
        clauses.push(format!("status IN ({})", marks.join(", ")));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let order = order_clause(query.order.as_deref())?;
    let params: Vec<super::sql::Param<'_>> = texts.iter().map(super::sql::Param::from).collect();
    let total = conn.query_int(&format!("SELECT COUNT(*) FROM tasks{filter}"), &params)?;
    let limit = query
        .limit
        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let offset = query
        .offset
        .map_or(0, |o| i64::try_from(o).unwrap_or(i64::MAX));
    // PostgreSQL has no `LIMIT -1`; `LIMIT ALL` is its spelling, and SQLite has no `ALL`.
    let limit_sql = if limit < 0 {
        match conn.dialect() {
            super::sql::Dialect::Sqlite => " LIMIT -1".to_string(),
            super::sql::Dialect::Postgres => " LIMIT ALL".to_string(),
        }
    } else {
        format!(" LIMIT {limit}")
    };
    let rows = conn.query(
        &format!("{TASK_COLUMNS}{filter} ORDER BY {order}{limit_sql} OFFSET {offset}"),
        &params,
    )?;
    Ok(TaskList {
        tasks: rows.iter().map(task_row).collect::<Result<_, _>>()?,
        total_tasks: Some(total.max(0) as u64),
    })
}

/// Backstage's `order=<dir>:<field>` (`desc:created_at`); fields are the task's columns by their API names.
fn order_clause(order: Option<&str>) -> Result<String, StoreError> {
    let Some(order) = order.filter(|o| !o.trim().is_empty()) else {
        return Ok("created_at DESC, id DESC".into());
    };
    let mut parts = Vec::new();
    for item in order.split(',') {
        let (dir, field) = match item.split_once(':') {
            Some((d, f)) => (d.trim(), f.trim()),
            None => ("asc", item.trim()),
        };
        let dir = match dir.to_ascii_lowercase().as_str() {
            "asc" => "ASC",
            "desc" => "DESC",
            _ => {
                return Err(StoreError::Input(format!(
                    "invalid order {item:?}: the direction must be asc or desc"
                )))
            }
        };
        let column = match field {
            "created_at" | "createdAt" => "created_at",
            "status" => "status",
            "created_by" | "createdBy" => "created_by",
            "id" => "id",
            "last_heartbeat_at" | "lastHeartbeatAt" => "last_heartbeat_at",
            _ => {
                return Err(StoreError::Input(format!(
                "invalid order {item:?}: tasks can be ordered by created_at, status, created_by, \
                     last_heartbeat_at or id"
            )))
            }
        };
        parts.push(format!("{column} {dir}"));
    }
    parts.push("id ASC".into());
    Ok(parts.join(", "))
}

/// Marks the oldest open task `processing` for `holder` and returns it; `None` when there is none (or another
/// worker won it).
pub(crate) fn claim(
    conn: &mut dyn SqlConn,
    holder: &str,
) -> Result<Option<SerializedTask>, StoreError> {
    transaction(conn, true, |tx| {
        let Some(row) = tx.query_opt(CLAIM_TASK, sql_params![holder, now_millis()])? else {
            return Ok(None);
        };
        let id = row.text(0)?;
        get(tx, &id)
    })
}

pub(crate) fn heartbeat(
    conn: &mut dyn SqlConn,
    id: &str,
    holder: &str,
) -> Result<Heartbeat, StoreError> {
    if conn.execute(HEARTBEAT, sql_params![id, holder, now_millis()])? == 0 {
        return Ok(Heartbeat::Lost);
    }
    let cancelled = conn.query_int(COUNT_CANCELLED, sql_params![id])? > 0;
    Ok(Heartbeat::Held {
        cancel_requested: cancelled,
    })
}

/// Ends `holder`'s task with `status` and writes its completion event in one transaction. With
/// `heartbeat_before`, only while the task's last heartbeat is older (a stale task whose worker came back to
/// life keeps running). False when the task was not `holder`'s processing task (any more).
pub(crate) fn finish(
    conn: &mut dyn SqlConn,
    id: &str,
    holder: &str,
    status: TaskStatus,
    body: &Value,
    heartbeat_before: Option<i64>,
) -> Result<bool, StoreError> {
    let body = body.to_string();
    transaction(conn, true, |tx| {
        let before = heartbeat_before.unwrap_or(i64::MAX);
        if tx.execute(FINISH, sql_params![id, holder, status.as_str(), before])? == 0 {
            return Ok(false);
        }
        tx.query(
            INSERT_EVENT,
            sql_params![id, TaskEventType::Completion.as_str(), &body, now_millis()],
        )?;
        Ok(true)
    })
}

pub(crate) fn append_event(
    conn: &mut dyn SqlConn,
    id: &str,
    event_type: TaskEventType,
    body: &Value,
) -> Result<i64, StoreError> {
    let body = body.to_string();
    conn.query_int(
        INSERT_EVENT,
        sql_params![id, event_type.as_str(), &body, now_millis()],
    )
}

/// Events with ids above `after` (all when `None`), plus the completion event always, in id order.
pub(crate) fn events(
    conn: &mut dyn SqlConn,
    id: &str,
    after: Option<i64>,
) -> Result<Vec<TaskEvent>, StoreError> {
    conn.query(
        &format!(
            "{EVENT_COLUMNS} WHERE task_id = ?1 AND (id > ?2 OR event_type = 'completion') ORDER BY id"
        ),
        sql_params![id, after.unwrap_or(i64::MIN)],
    )?
    .iter()
    .map(event_row)
    .collect()
}

/// Asks a task to stop: a `cancelled` event; an open task (no worker yet) ends `cancelled` at once, with its
/// completion event. The status after the request; `None` when there is no such task.
pub(crate) fn cancel(conn: &mut dyn SqlConn, id: &str) -> Result<Option<TaskStatus>, StoreError> {
    transaction(conn, true, |tx| {
        let Some(row) = tx.query_opt(SELECT_STATUS, sql_params![id])? else {
            return Ok(None);
        };
        let current = status(&row.text(0)?)?;
        if current.is_final() {
            return Ok(Some(current));
        }
        let now = now_millis();
        let body = serde_json::json!({"message": "Task was cancelled by the user"}).to_string();
        tx.query(
            INSERT_EVENT,
            sql_params![id, TaskEventType::Cancelled.as_str(), &body, now],
        )?;
        if tx.execute(CANCEL_OPEN, sql_params![id])? > 0 {
            let body = serde_json::json!({
                "message": "Run completed with status: cancelled",
                "error": {"name": "CancelledError", "message": "Task was cancelled before it started"},
            })
            .to_string();
            tx.query(
                INSERT_EVENT,
                sql_params![id, TaskEventType::Completion.as_str(), &body, now],
            )?;
            return Ok(Some(TaskStatus::Cancelled));
        }
        Ok(Some(current))
    })
}

pub(crate) fn processing(conn: &mut dyn SqlConn) -> Result<Vec<ProcessingTask>, StoreError> {
    conn.query(SELECT_PROCESSING, &[])?
        .iter()
        .map(|r| {
            Ok(ProcessingTask {
                id: r.text(0)?,
                holder: r.opt_text(1)?.unwrap_or_default(),
                last_heartbeat_at: r.opt_int(2)?.unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601(1_795_663_068_005), "2026-11-26T03:17:48.005Z");
    }

    #[test]
    fn order_names_columns_and_refuses_others() {
        assert_eq!(order_clause(None).unwrap(), "created_at DESC, id DESC");
        assert_eq!(
            order_clause(Some("asc:createdAt")).unwrap(),
            "created_at ASC, id ASC"
        );
        assert!(order_clause(Some("desc:spec; DROP TABLE tasks")).is_err());
        assert!(order_clause(Some("sideways:status")).is_err());
    }
}
