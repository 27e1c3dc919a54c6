//! What both append benchmarks (`append.rs` on SQLite, `append_postgres.rs`)
//! measure alike: the rows, the samples, and the store driven by concurrent
//! writers.

use std::time::{Duration, Instant};

use passerelle_events::store::{AppendRequest, EventRecord, Pending};
use passerelle_events::EventLog;
use uuid::Uuid;

/// Rows like the tracker's: one small JSON object each.
pub fn records(n: usize) -> Vec<EventRecord> {
    (0..n)
        .map(|i| EventRecord {
            id: Uuid::new_v4(),
            event_type: "MilestoneMarked".into(),
            programme: "bench".into(),
            occurred_at: "2022-02-07T00:00:00Z".into(),
            data: format!(r#"{{"milestone":"m-{i}","participants":12,"note":"bench row"}}"#),
            recorded_by: "bench".into(),
            recorded_at: None,
        })
        .collect()
}

/// Events/s and the mean group size.
pub struct Sample {
    pub rate: f64,
    pub mean_group: Option<f64>,
}

pub fn rate(events: usize, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

/// `writers` tasks each appending `each` events one request at a time to a
/// stream of its own, all at once; answers how long they took together.
pub async fn write_concurrently<S>(store: &S, writers: usize, each: usize) -> Duration
where
    S: EventLog + Clone + Send + Sync + 'static,
{
    let mut per_writer: Vec<Vec<EventRecord>> = (0..writers).map(|_| records(each)).collect();
    let start = Instant::now();
    let tasks: Vec<_> = per_writer
        .drain(..)
        .enumerate()
        .map(|(w, records)| {
            let store = store.clone();
            tokio::spawn(async move {
                let stream = format!("w{w}");
                for (i, record) in records.into_iter().enumerate() {
                    let request = AppendRequest {
                        events: vec![Pending {
                            stream: stream.clone(),
                            expected: Some(i as u64),
                            record,
                        }],
                        log_head: None,
                        head_id: None,
                        make_keys: None,
                        erase: Vec::new(),
                    };
                    store.append(request).await.expect("append");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer task");
    }
    start.elapsed()
}
