//! Durable appends through `SqliteStore`, against a raw SQLite baseline
//! measured in the same run on the same disk.
//!
//! Every configuration writes the same rows to a fresh temporary file with
//! the store's schema and pragmas (WAL, `synchronous=FULL`):
//!
//! - `store, 1 writer`: one task appends single events, awaiting each answer;
//! - `store, 64 writers`: 64 tasks do the same at once (group commit);
//! - `raw, 64-row transactions`: plain rusqlite on one thread, the rows and
//!   their chain hashes in transactions of 64 rows (the largest group 64
//!   writers can form);
//! - `raw, one transaction`: the same rows in a single transaction (for
//!   information: no fsync per group at all);
//! - the cost of sealing personal data, through the ledger (validation,
//!   sealing, group commit) with 64 writers, each changing its own
//!   stakeholder's profile: `ledger, no personal data` changes the territory
//!   (a text of the same length as the e-mail below, nothing sealed);
//!   `ledger, e-mail sealed` changes the contact e-mail (sealed under the
//!   stakeholder's contact key, made by its first change); `ledger, new
//!   participant each` records attendances of a new participant code every
//!   time (a data key made, wrapped and stored with every event).
//!
//! Runs are interleaved (each round runs every configuration once) and the
//! median, min and max events/s are printed per configuration.
//!
//! Usage: `cargo bench -p passerelle-events --bench append -- [--events N]
//! [--sequential N] [--runs N]`, or the environment variables `BENCH_EVENTS`,
//! `BENCH_SEQUENTIAL`, `BENCH_RUNS`.

use std::time::{Duration, Instant};

use chrono::Utc;
use passerelle_events::envelope::format_recorded_at;
use passerelle_events::store::{chain_hash, RawEvent};
use passerelle_events::{EventLog, Keyring, Ledger, SqliteStore, Submission, SCHEMA_VERSION};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use uuid::Uuid;

mod support;
use support::{rate, records, write_concurrently, Sample};

const WRITERS: usize = 64;
const RAW_BATCH: usize = 64;

struct Config {
    /// Events per measurement with 64 writers and for the raw baselines.
    events: usize,
    /// Events per measurement with one writer.
    sequential: usize,
    /// Measurements per configuration.
    runs: usize,
}

impl Config {
    fn from_env_and_args() -> Self {
        let env = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let mut config = Config {
            events: env("BENCH_EVENTS", 64_000),
            sequential: env("BENCH_SEQUENTIAL", 5_000),
            runs: env("BENCH_RUNS", 5),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> usize {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} needs a number"))
            };
            match arg.as_str() {
                "--events" => config.events = value("--events"),
                "--sequential" => config.sequential = value("--sequential"),
                "--runs" => config.runs = value("--runs"),
                // Passed by `cargo bench` to every bench binary.
                "--bench" => {}
                other => {
                    panic!("unknown argument {other}; use --events N, --sequential N, --runs N")
                }
            }
        }
        config.events = config.events.max(WRITERS) / WRITERS * WRITERS;
        config.runs = config.runs.max(1);
        config
    }
}

/// A fresh store file in its own temporary directory (under `BENCH_DIR` if set).
fn fresh() -> (tempfile::TempDir, std::path::PathBuf) {
    let parent = std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(parent).expect("temp dir");
    let path = dir.path().join("events.db");
    (dir, path)
}

async fn store_writers(writers: usize, events: usize) -> Sample {
    let (_dir, path) = fresh();
    let store = SqliteStore::create(&path).expect("create store");
    let each = events / writers;
    let elapsed = write_concurrently(&store, writers, each).await;
    let stats = store.commit_stats();
    assert_eq!(store.head().await.expect("head"), (each * writers) as u64);
    store.close().await;
    Sample {
        rate: rate(each * writers, elapsed),
        mean_group: Some(stats.mean_group()),
    }
}

/// The same rows as the store would write, inserted by plain rusqlite.
fn raw(events: usize, batch: usize) -> Sample {
    let (_dir, path) = fresh();
    // The store's own schema, triggers and file settings.
    drop(SqliteStore::create(&path).expect("create store"));
    let conn = Connection::open(&path).expect("open");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy_timeout");
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("synchronous");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("foreign_keys");
    let records = records(events);

    let start = Instant::now();
    let mut previous = [0u8; 32];
    let mut versions = vec![0u64; WRITERS];
    let mut position = 0u64;
    for chunk in records.chunks(batch) {
        let recorded_at = format_recorded_at(Utc::now());
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO events (position, id, stream, version, schema_version, type, \
                 programme, occurred_at, data, recorded_at, recorded_by, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .expect("prepare");
        for record in chunk {
            position += 1;
            let writer = (position as usize - 1) % WRITERS;
            versions[writer] += 1;
            let mut record = record.clone();
            record.recorded_at = Some(recorded_at.clone());
            let mut event = RawEvent {
                position,
                stream: format!("w{writer}"),
                version: versions[writer],
                schema_version: SCHEMA_VERSION,
                record,
                hash: [0; 32],
            };
            event.hash = chain_hash(&previous, &event);
            previous = event.hash;
            let r = &event.record;
            insert
                .execute(params![
                    event.position as i64,
                    r.id.to_string(),
                    event.stream,
                    event.version as i64,
                    event.schema_version,
                    r.event_type,
                    r.programme,
                    r.occurred_at,
                    r.data,
                    recorded_at,
                    r.recorded_by,
                    &event.hash[..],
                ])
                .expect("insert");
        }
        drop(insert);
        conn.execute_batch("COMMIT").expect("commit");
    }
    let elapsed = start.elapsed();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count as usize, events);
    Sample {
        rate: rate(events, elapsed),
        mean_group: None,
    }
}

/// What the ledger workloads append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// Profile changes without personal data.
    Plain,
    /// Profile changes of the contact e-mail (sealed).
    Sealed,
    /// Attendances of a new participant each (a key made per event).
    NewSubjects,
}

fn wire(kind: &str, data: Value) -> Submission {
    Submission::from_wire(&json!({
        "id": Uuid::new_v4().to_string(), "type": kind, "programme": "bench",
        "occurred_at": "2022-02-07T10:00:00Z", "data": data,
    }))
    .expect("a valid bench event")
}

/// One event of `workload` for writer `w`, its `i`-th.
fn ledger_event(workload: Workload, w: usize, i: usize) -> Submission {
    match workload {
        // Both texts are 29 characters long.
        Workload::Plain => wire(
            "StakeholderProfileChanged",
            json!({"stakeholder": format!("s{w}"), "territory": format!("district {w:04}-{i:07} north")}),
        ),
        Workload::Sealed => wire(
            "StakeholderProfileChanged",
            json!({"stakeholder": format!("s{w}"), "contact": {"email": format!("p{w:04}.{i:07}@bench.org")}}),
        ),
        Workload::NewSubjects => wire(
            "ParticipantAttended",
            json!({"session": "s", "participant": format!("P-{w:04}-{i:07}")}),
        ),
    }
}

async fn ledger_writers(workload: Workload, events: usize) -> Sample {
    let (_dir, path) = fresh();
    let store = SqliteStore::create(&path).expect("create store");
    let keyring = Keyring::with_new_key(store.clone()).await.expect("keyring");
    let ledger = Ledger::open(keyring).await.expect("ledger");
    let mut setup = vec![wire(
        "ProgrammeDefined",
        json!({"programme": "bench", "name": "Bench"}),
    )];
    setup.extend((0..WRITERS).map(|w| {
        wire(
            "StakeholderRegistered",
            json!({"stakeholder": format!("s{w}"), "name": format!("Stakeholder {w}"), "kind": "association"}),
        )
    }));
    setup.push(wire(
        "CoCreationSessionHeld",
        json!({"session": "s", "title": "Bench", "level": "involve", "beneficiaries": {"total": 0}}),
    ));
    ledger.record(setup, "bench").await.expect("setup");
    let each = events / WRITERS;
    let start = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for i in 0..each {
                    ledger
                        .record(vec![ledger_event(workload, w, i)], "bench")
                        .await
                        .expect("record");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer task");
    }
    let elapsed = start.elapsed();
    let stats = store.commit_stats();
    drop(ledger);
    store.close().await;
    Sample {
        rate: rate(each * WRITERS, elapsed),
        mean_group: Some(stats.mean_group()),
    }
}

struct Row {
    name: String,
    events: usize,
    samples: Vec<Sample>,
}

impl Row {
    fn rates(&self) -> Vec<f64> {
        let mut rates: Vec<f64> = self.samples.iter().map(|s| s.rate).collect();
        rates.sort_by(f64::total_cmp);
        rates
    }

    fn median(&self) -> f64 {
        let r = self.rates();
        let n = r.len();
        if n % 2 == 1 {
            r[n / 2]
        } else {
            (r[n / 2 - 1] + r[n / 2]) / 2.0
        }
    }

    fn mean_group(&self) -> Option<f64> {
        let groups: Vec<f64> = self.samples.iter().filter_map(|s| s.mean_group).collect();
        (!groups.is_empty()).then(|| groups.iter().sum::<f64>() / groups.len() as f64)
    }
}

fn main() {
    let config = Config::from_env_and_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "durable appends, SQLite WAL synchronous=FULL: {} runs; {} events with 1 writer, \
         {} events otherwise; tokio worker threads: {}",
        config.runs,
        config.sequential,
        config.events,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let mut rows = vec![
        Row {
            name: "store, 1 writer".into(),
            events: config.sequential,
            samples: vec![],
        },
        Row {
            name: format!("store, {WRITERS} writers"),
            events: config.events,
            samples: vec![],
        },
        Row {
            name: format!("raw, {RAW_BATCH}-row transactions"),
            events: config.events,
            samples: vec![],
        },
        Row {
            name: "raw, one transaction".into(),
            events: config.events,
            samples: vec![],
        },
        Row {
            name: format!("ledger, {WRITERS} writers, no personal data"),
            events: config.events,
            samples: vec![],
        },
        Row {
            name: format!("ledger, {WRITERS} writers, e-mail sealed"),
            events: config.events,
            samples: vec![],
        },
        Row {
            name: format!("ledger, {WRITERS} writers, new participant each"),
            events: config.events,
            samples: vec![],
        },
    ];
    let total = Instant::now();
    for run in 0..config.runs {
        rows[0]
            .samples
            .push(runtime.block_on(store_writers(1, config.sequential)));
        rows[1]
            .samples
            .push(runtime.block_on(store_writers(WRITERS, config.events)));
        rows[2].samples.push(raw(config.events, RAW_BATCH));
        rows[3].samples.push(raw(config.events, config.events));
        for (row, workload) in [
            (4, Workload::Plain),
            (5, Workload::Sealed),
            (6, Workload::NewSubjects),
        ] {
            rows[row]
                .samples
                .push(runtime.block_on(ledger_writers(workload, config.events)));
        }
        eprintln!(
            "run {}/{}: {}",
            run + 1,
            config.runs,
            rows.iter()
                .map(|r| format!("{:.0}", r.samples.last().map_or(0.0, |s| s.rate)))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }

    println!();
    println!("| configuration | events | median events/s | min | max | mean group |");
    println!("|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        let rates = row.rates();
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {} |",
            row.name,
            row.events,
            row.median(),
            rates[0],
            rates[rates.len() - 1],
            row.mean_group().map_or("–".into(), |g| format!("{g:.1}")),
        );
    }
    let ratio = rows[1].median() / rows[2].median();
    println!();
    println!(
        "ratio {WRITERS} writers / raw {RAW_BATCH}-row transactions (medians): {ratio:.2} (target >= 0.30)"
    );
    println!(
        "ratio 1 writer / raw {RAW_BATCH}-row transactions (medians): {:.2}",
        rows[0].median() / rows[2].median()
    );
    println!(
        "cost of sealing, ledger with {WRITERS} writers (medians): e-mail sealed / no personal \
         data {:.2}; new participant each / no personal data {:.2}",
        rows[5].median() / rows[4].median(),
        rows[6].median() / rows[4].median()
    );
    println!("total time: {:.1} s", total.elapsed().as_secs_f64());
}
