//! Durable appends and replay through `PostgresStore`, against raw
//! PostgreSQL baselines measured in the same run on the same server, with
//! the same `synchronous_commit` (the server's: no connection sets it).
//!
//! Appends. Every configuration writes the same rows (the rows of the SQLite
//! bench, `append.rs`) into a fresh schema holding the store's tables,
//! indexes and triggers (made by `PostgresStore::create`):
//!
//! - `store, 1 writer`: one task appends single events, awaiting each answer;
//! - `store, 64 writers`: 64 tasks do the same at once (group commit). The
//!   mean group is the number of events over the number of transactions
//!   that wrote them (distinct `xmin` of the rows: a one-row request needs no
//!   savepoint, so each group is one transaction id);
//! - `raw, 64 connections, 1 row per transaction`: 64 `tokio-postgres`
//!   connections, each inserting its writer's rows one `INSERT` (autocommit)
//!   at a time: what 64 writers do with plain PostgreSQL, whose commits
//!   share WAL flushes by themselves;
//! - `raw, 1 connection, 64-row transactions` (**the raw baseline** of the
//!   target, defined as in the SQLite bench): one blocking `postgres`
//!   connection (the store's writer's client) inserts the rows in
//!   transactions of 64, the largest group 64 writers can form, one
//!   statement and one round trip at a time as the store's writer does;
//! - `raw, 1 connection, 64-row transactions, pipelined` (for information):
//!   the same on one `tokio-postgres` connection, the 64 inserts of each
//!   transaction sent without awaiting each answer: the ceiling of this
//!   server for these transactions when round trips do not count.
//!
//! The raw rows carry their positions, stream versions and chain hashes
//! (`chain_hash`), computed before the clock starts; the raw inserts use the
//! store's own `INSERT` statement, prepared once per connection, and check
//! nothing (no head lock, no id lookup, no version read, no notification).
//!
//! Replay. A log of `--replay-events` events (a fixed mix of the tracker's
//! event types in the proportions of `passerelle generate`, personal fields
//! in clear) is chained once, then in each round loaded into a fresh schema
//! with binary `COPY` (and `VACUUM ANALYZE`, `CHECKPOINT`: not timed), and
//! read back:
//!
//! - `postgres: read + decode`: `EventLog::read` pages of `PAGE` events
//!   through the store, `ledger::decode` of each;
//! - `in-memory Vec: decode` (the baseline): `ledger::decode` of the same
//!   events from a `Vec` (the decode alone);
//! - `postgres: read only`, for information;
//! - `raw: the same SELECT pages`, for information: the store's page query
//!   on one plain `tokio-postgres` connection, every column read in place
//!   (no `RawEvent` made).
//!
//! Runs are interleaved (each round runs every configuration once) and the
//! median, min and max events/s are printed per configuration, with the
//! ratios of the medians and of each round.
//!
//! Schemas are named `<prefix>_<n>` (prefix: `BENCH_PG_PREFIX`, default
//! `passerelle_bench_<pid>`) and dropped after each measurement, also when it
//! panics; `scripts/bench-append --store postgres` drops any left by a killed
//! run.
//!
//! Usage: `cargo bench -p passerelle-events --bench append_postgres --
//! [--url URL] [--events N] [--sequential N] [--replay-events N] [--runs N]
//! [--only appends|replay]`, or the environment variables
//! `PASSERELLE_TEST_PG` (the server, default
//! `postgres://postgres@127.0.0.1:5432/test`), `BENCH_EVENTS`,
//! `BENCH_SEQUENTIAL`, `BENCH_REPLAY_EVENTS`, `BENCH_RUNS`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::Utc;
use passerelle_events::envelope::format_recorded_at;
use passerelle_events::ledger::decode;
use passerelle_events::store::postgres::scratch::{with_search_path, DEFAULT_URL, URL_VAR};
use passerelle_events::store::{chain_hash, EventRecord, RawEvent, PAGE};
use passerelle_events::{EventLog, PostgresStore, Submission, SCHEMA_VERSION};
use serde_json::{json, Value};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

mod support;
use support::{rate, records, write_concurrently, Sample};

const WRITERS: usize = 64;
const RAW_BATCH: usize = 64;

/// The store's own insert (events/src/store/postgres.rs).
const INSERT: &str = "INSERT INTO events (position, id, stream, version, schema_version, type, \
     programme, occurred_at, data, recorded_at, recorded_by, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING";

const COLUMNS: &str = "position, id, stream, version, schema_version, type, programme, \
     occurred_at, data, recorded_at, recorded_by, hash";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Appends,
    Replay,
}

struct Config {
    /// The server, without a schema.
    url: String,
    /// Events per measurement with 64 writers and for the raw baselines.
    events: usize,
    /// Events per measurement with one writer.
    sequential: usize,
    /// Events of the replay.
    replay_events: usize,
    /// Measurements per configuration.
    runs: usize,
    /// The parts to run.
    parts: Vec<Part>,
    /// The start of every schema's name.
    prefix: String,
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
            url: std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.into()),
            events: env("BENCH_EVENTS", 64_000),
            sequential: env("BENCH_SEQUENTIAL", 2_000),
            replay_events: env("BENCH_REPLAY_EVENTS", 1_000_000),
            runs: env("BENCH_RUNS", 3),
            parts: vec![],
            prefix: std::env::var("BENCH_PG_PREFIX")
                .unwrap_or_else(|_| format!("passerelle_bench_{}", std::process::id())),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut text = |name: &str| -> String {
                args.next()
                    .unwrap_or_else(|| panic!("{name} needs a value"))
            };
            let number = |name: &str, v: String| -> usize {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} needs a number, not {v}"))
            };
            match arg.as_str() {
                "--url" => config.url = text("--url"),
                "--events" => config.events = number("--events", text("--events")),
                "--sequential" => config.sequential = number("--sequential", text("--sequential")),
                "--replay-events" => {
                    config.replay_events = number("--replay-events", text("--replay-events"))
                }
                "--runs" => config.runs = number("--runs", text("--runs")),
                "--only" => match text("--only").as_str() {
                    "appends" => config.parts.push(Part::Appends),
                    "replay" => config.parts.push(Part::Replay),
                    other => panic!("--only takes appends or replay, not {other}"),
                },
                // Passed by `cargo bench` to every bench binary.
                "--bench" => {}
                other => panic!(
                    "unknown argument {other}; use --url URL, --events N, --sequential N, \
                     --replay-events N, --runs N, --only appends|replay"
                ),
            }
        }
        if config.parts.is_empty() {
            config.parts = vec![Part::Appends, Part::Replay];
        }
        assert!(
            config.prefix.len() <= 50
                && config
                    .prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "BENCH_PG_PREFIX must be lower-case letters, digits and _, at most 50 characters"
        );
        config.events = config.events.max(WRITERS) / WRITERS * WRITERS;
        config.runs = config.runs.max(1);
        config
    }

    fn runs(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }
}

// ---------------------------------------------------------------------------
// Schemas and connections
// ---------------------------------------------------------------------------

static SCHEMAS: AtomicUsize = AtomicUsize::new(0);

/// A schema of its own for one measurement, dropped (`CASCADE`) with this.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    async fn create(config: &Config) -> Self {
        let name = format!(
            "{}_{}",
            config.prefix,
            SCHEMAS.fetch_add(1, Ordering::Relaxed)
        );
        let client = connect(&config.url).await;
        client
            .batch_execute(&format!("CREATE SCHEMA \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("CREATE SCHEMA {name}: {e}"));
        Self {
            base: config.url.clone(),
            name,
        }
    }

    /// The server's URL with the search path set to this schema.
    fn url(&self) -> String {
        with_search_path(&self.base, &self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // A thread of its own for the blocking client: this runs inside the
        // runtime.
        let base = self.base.clone();
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        let dropped = std::thread::spawn(move || -> Result<(), postgres::Error> {
            let mut client = postgres::Client::connect(&base, postgres::NoTls)?;
            client.batch_execute(&sql)
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop schema {}: {e}", self.name),
            Err(_) => eprintln!("could not drop schema {}: the thread panicked", self.name),
        }
    }
}

/// An async connection; its connection task runs on the runtime until the
/// client is dropped.
async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL ({URL_VAR} or --url): {e}"));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection: {e}");
        }
    });
    client
}

/// The store's tables in `schema`, made by the store itself.
async fn store_schema(schema: &Schema) {
    PostgresStore::create(&schema.url())
        .await
        .expect("create store")
        .close()
        .await;
}

async fn count_events(client: &Client) -> usize {
    let n: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .expect("count")
        .get(0);
    n as usize
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// The rows as a store holds them: positions from 1, stream versions, one
/// `recorded_at`, and the hash chain.
fn chained(rows: impl Iterator<Item = (String, EventRecord)>) -> Vec<RawEvent> {
    let recorded_at = format_recorded_at(Utc::now());
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut previous = [0u8; 32];
    rows.enumerate()
        .map(|(i, (stream, mut record))| {
            record.recorded_at = Some(recorded_at.clone());
            let version = versions.entry(stream.clone()).or_default();
            *version += 1;
            let mut event = RawEvent {
                position: i as u64 + 1,
                stream,
                version: *version,
                schema_version: SCHEMA_VERSION,
                record,
                hash: [0; 32],
            };
            event.hash = chain_hash(&previous, &event);
            previous = event.hash;
            event
        })
        .collect()
}

/// The append rows, writer `w` owning stream `w{w}` and every 64th row.
fn append_rows(n: usize) -> Vec<RawEvent> {
    chained(
        records(n)
            .into_iter()
            .enumerate()
            .map(|(i, r)| (format!("w{}", i % WRITERS), r)),
    )
}

fn wire(kind: &str, i: usize, data: Value) -> Submission {
    let day = 1 + i % 28;
    Submission::from_wire(&json!({
        "id": Uuid::new_v4().to_string(), "type": kind, "programme": "gen",
        "occurred_at": format!("2021-03-{day:02}T10:{:02}:00Z", i % 60), "data": data,
    }))
    .expect("a valid bench event")
}

/// Event `i` of the replay log: per 100 events, the shares of `passerelle
/// generate` (52 contacts, 16 attendances, 14 partnerships formed, 4
/// registrations, …), over 20,000 stakeholders.
fn replay_event(i: usize) -> Submission {
    const KINDS: [&str; 5] = ["city", "assoc", "edu", "group", "champ"];
    let s = |k: usize| {
        let n = k % 20_000;
        format!("{}-{:05}", KINDS[n % KINDS.len()], n + 1)
    };
    let (a, b) = (s(i * 7919), s(i * 104_729 + 13));
    let session = format!("ses-{:05}", 1 + i / 40 % 90_000);
    let partnership = format!("pt-{:06}", 1 + i / 7);
    match i % 100 {
        0..=51 => wire(
            "OutreachContactLogged",
            i,
            json!({"from": a, "to": b, "channel": "message", "outcome": "committed"}),
        ),
        52..=67 => wire(
            "ParticipantAttended",
            i,
            json!({"session": session, "participant": format!("bn-{:08X}", i * 2_654_435_761 % 4_294_967_291)}),
        ),
        68..=81 => wire(
            "PartnershipFormed",
            i,
            json!({"partnership": partnership, "between": [a, b], "kind": "informal",
                   "themes": ["social_support", "language"]}),
        ),
        82..=85 => wire(
            "StakeholderRegistered",
            i,
            json!({"stakeholder": a, "name": "Early-years service — Le Bourg", "kind": "city_service",
                   "themes": ["digital_inclusion"], "territory": "Le Bourg",
                   "contact": {"person": "Head of service", "email": format!("contact.{a}@example.org")}}),
        ),
        86..=88 => wire(
            "CoCreationSessionHeld",
            i,
            json!({"session": session, "title": "Listening session on social support (La Borde)",
                   "themes": ["social_support"], "level": "consult", "stakeholders": [a, b],
                   "facilitators": [s(i + 1)],
                   "beneficiaries": {"total": 0, "women": 0, "men": 0, "undisclosed": 0,
                                     "first_time": 0, "returning": 0},
                   "outputs": ["List of barriers to social support"]}),
        ),
        89..=91 => wire(
            "StakeholderProfileChanged",
            i,
            json!({"stakeholder": a, "themes": ["community_outreach", "funding", "language"]}),
        ),
        92..=93 => wire(
            "PartnershipRevised",
            i,
            json!({"partnership": partnership, "kind": "information_sharing"}),
        ),
        94..=95 => wire(
            "NeedDeclared",
            i,
            json!({"need": format!("need-{:04}", 1 + i / 100 % 9999), "action": "National or EU funding",
                   "theme": "funding",
                   "description": "A funding application (AMIF or national) for the action plan."}),
        ),
        96 => wire(
            "ReviewNoteAdded",
            i,
            json!({"note": format!("note-{:05}", 1 + i / 100 % 99_999), "about": {"gap": format!("dormant_tie:{a}")},
                   "text": "Discussed at the mentoring visit: follow up next quarter."}),
        ),
        97 => wire(
            "PartnershipEnded",
            i,
            json!({"partnership": partnership, "reason": "Funding stopped."}),
        ),
        98 => wire(
            "NeedAddressed",
            i,
            json!({"need": format!("need-{:04}", 1 + i / 100 % 9999), "by": [a, b]}),
        ),
        _ => wire(
            "MilestoneMarked",
            i,
            json!({"milestone": format!("ms-{:03}", 1 + i / 100 % 999),
                   "label": "Transfer workshop on needs assessment (#1)", "kind": "workshop"}),
        ),
    }
}

fn replay_rows(n: usize) -> Vec<RawEvent> {
    chained((0..n).map(|i| {
        let event = replay_event(i).event;
        (event.stream(), EventRecord::new(&event, "bench", None))
    }))
}

// ---------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------

async fn store_writers(config: &Config, writers: usize, events: usize) -> Sample {
    let schema = Schema::create(config).await;
    let store = PostgresStore::create(&schema.url())
        .await
        .expect("create store");
    let each = events / writers;
    let elapsed = write_concurrently(&store, writers, each).await;
    let total = each * writers;
    assert_eq!(store.head().await.expect("head"), total as u64);
    store.close().await;
    // Each group is one transaction: its rows share their `xmin`.
    let client = connect(&schema.url()).await;
    let groups: i64 = client
        .query_one("SELECT count(DISTINCT xmin::text) FROM events", &[])
        .await
        .expect("groups")
        .get(0);
    assert_eq!(count_events(&client).await, total);
    Sample {
        rate: rate(total, elapsed),
        mean_group: Some(total as f64 / groups as f64),
    }
}

/// The parameters of [`INSERT`] for `$e`, a `&RawEvent`.
macro_rules! insert_params {
    ($e:expr) => {
        [
            &($e.position as i64) as &(dyn ToSql + Sync),
            &$e.record.id,
            &$e.stream,
            &($e.version as i64),
            &($e.schema_version as i32),
            &$e.record.event_type,
            &$e.record.programme,
            &$e.record.occurred_at,
            &$e.record.data,
            &$e.record.recorded_at.as_deref().expect("recorded_at"),
            &$e.record.recorded_by,
            &&$e.hash[..],
        ]
    };
}

/// 64 connections, each inserting its writer's rows one autocommitted
/// `INSERT` at a time.
async fn raw_connections(config: &Config, rows: &[RawEvent]) -> Sample {
    let schema = Schema::create(config).await;
    store_schema(&schema).await;
    let url = schema.url();
    let mut connections = Vec::with_capacity(WRITERS);
    for w in 0..WRITERS {
        let client = connect(&url).await;
        let insert = client.prepare(INSERT).await.expect("prepare");
        let mine: Vec<RawEvent> = rows.iter().skip(w).step_by(WRITERS).cloned().collect();
        connections.push((client, insert, mine));
    }
    let start = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|(client, insert, mine)| {
            tokio::spawn(async move {
                for e in &mine {
                    let n = client
                        .execute(&insert, &insert_params!(e))
                        .await
                        .expect("insert");
                    assert_eq!(n, 1);
                }
                client
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(WRITERS);
    for task in tasks {
        clients.push(task.await.expect("insert task"));
    }
    let elapsed = start.elapsed();
    drop(clients);
    assert_eq!(count_events(&connect(&url).await).await, rows.len());
    Sample {
        rate: rate(rows.len(), elapsed),
        mean_group: None,
    }
}

/// One blocking connection (the store's writer's client) inserting the rows
/// in transactions of `batch`.
async fn raw_transactions(config: &Config, rows: &[RawEvent], batch: usize) -> Sample {
    let schema = Schema::create(config).await;
    store_schema(&schema).await;
    let url = schema.url();
    let rows = rows.to_vec();
    let n = rows.len();
    let elapsed = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let insert = client.prepare(INSERT).expect("prepare");
        let start = Instant::now();
        for chunk in rows.chunks(batch) {
            let mut tx = client.transaction().expect("begin");
            for e in chunk {
                let n = tx.execute(&insert, &insert_params!(e)).expect("insert");
                assert_eq!(n, 1);
            }
            tx.commit().expect("commit");
        }
        let elapsed = start.elapsed();
        drop(rows);
        elapsed
    })
    .await
    .expect("insert thread");
    assert_eq!(count_events(&connect(&schema.url()).await).await, n);
    Sample {
        rate: rate(n, elapsed),
        mean_group: None,
    }
}

/// One async connection inserting the rows in transactions of `batch`, the
/// inserts of a transaction pipelined (sent without awaiting each answer).
async fn raw_pipelined(config: &Config, rows: &[RawEvent], batch: usize) -> Sample {
    let schema = Schema::create(config).await;
    store_schema(&schema).await;
    let mut client = connect(&schema.url()).await;
    let insert = client.prepare(INSERT).await.expect("prepare");
    let start = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = client.transaction().await.expect("begin");
        // What the parameters borrow must outlive the pipelined futures.
        let numbers: Vec<(i64, i64, i32)> = chunk
            .iter()
            .map(|e| (e.position as i64, e.version as i64, e.schema_version as i32))
            .collect();
        let hashes: Vec<&[u8]> = chunk.iter().map(|e| &e.hash[..]).collect();
        let params: Vec<[&(dyn ToSql + Sync); 12]> = chunk
            .iter()
            .zip(&numbers)
            .zip(&hashes)
            .map(|((e, (position, version, schema_version)), hash)| {
                [
                    position as &(dyn ToSql + Sync),
                    &e.record.id,
                    &e.stream,
                    version,
                    schema_version,
                    &e.record.event_type,
                    &e.record.programme,
                    &e.record.occurred_at,
                    &e.record.data,
                    &e.record.recorded_at,
                    &e.record.recorded_by,
                    hash,
                ]
            })
            .collect();
        let inserted = futures::future::try_join_all(params.iter().map(|p| tx.execute(&insert, p)))
            .await
            .expect("insert");
        assert!(inserted.iter().all(|&n| n == 1));
        tx.commit().await.expect("commit");
    }
    let elapsed = start.elapsed();
    assert_eq!(count_events(&client).await, rows.len());
    Sample {
        rate: rate(rows.len(), elapsed),
        mean_group: None,
    }
}

/// Loads `rows` into the store in `schema` with binary `COPY`, moves its
/// head, and leaves the table vacuumed, analysed and checkpointed.
async fn load(schema: &Schema, rows: &[RawEvent]) {
    let client = connect(&schema.url()).await;
    let sink = client
        .copy_in(&format!("COPY events ({COLUMNS}) FROM STDIN BINARY"))
        .await
        .expect("copy");
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::INT8,
            Type::UUID,
            Type::TEXT,
            Type::INT8,
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
        ],
    );
    let mut writer = std::pin::pin!(writer);
    for e in rows {
        writer
            .as_mut()
            .write(&insert_params!(e))
            .await
            .expect("copy row");
    }
    writer.finish().await.expect("copy finish");
    if let Some(last) = rows.last() {
        client
            .execute(
                "UPDATE log_head SET position = $1, hash = $2, event_id = $3",
                &[&(last.position as i64), &&last.hash[..], &last.record.id],
            )
            .await
            .expect("head");
    }
    // One statement each: VACUUM refuses to run in a transaction block.
    for sql in ["VACUUM ANALYZE events", "CHECKPOINT"] {
        client.batch_execute(sql).await.expect(sql);
    }
}

/// Reads every event of `store` in pages, decoding each (or not).
async fn read_pages(store: &PostgresStore, decoding: bool) -> usize {
    let (mut after, mut n) = (0, 0);
    loop {
        let page = store.read(after, PAGE).await.expect("read");
        let Some(last) = page.last() else {
            return n;
        };
        after = last.position;
        n += page.len();
        if decoding {
            for raw in &page {
                black_box(decode(raw).expect("decode"));
            }
        } else {
            black_box(&page);
        }
    }
}

/// The store's page query run by hand on one `tokio-postgres` connection,
/// every column of every row read (borrowed, no `RawEvent` made).
async fn select_pages(client: &Client) -> usize {
    let select = client
        .prepare(&format!(
            "SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .await
        .expect("prepare");
    let (mut after, mut n) = (0i64, 0);
    loop {
        let rows = client
            .query(&select, &[&after, &(PAGE as i64)])
            .await
            .expect("select");
        let Some(last) = rows.last() else {
            return n;
        };
        after = last.get(0);
        n += rows.len();
        for row in &rows {
            black_box((
                row.get::<_, i64>(0),
                row.get::<_, Uuid>(1),
                row.get::<_, &str>(2),
                row.get::<_, i64>(3),
                row.get::<_, i32>(4),
                (row.get::<_, &str>(5), row.get::<_, &str>(6)),
                (row.get::<_, &str>(7), row.get::<_, &str>(8)),
                (row.get::<_, &str>(9), row.get::<_, &str>(10)),
                row.get::<_, &[u8]>(11),
            ));
        }
    }
}

/// Replay: from PostgreSQL (read + decode, read only), the decode alone
/// from memory, and the page query by hand. Answers the four samples in
/// that order.
async fn replay(config: &Config, rows: &[RawEvent]) -> [Sample; 4] {
    let schema = Schema::create(config).await;
    let store = PostgresStore::create(&schema.url())
        .await
        .expect("create store");
    let t = Instant::now();
    load(&schema, rows).await;
    eprintln!(
        "  loaded {} events with COPY in {:.1} s",
        rows.len(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(store.head().await.expect("head"), rows.len() as u64);
    let sample = |elapsed| Sample {
        rate: rate(rows.len(), elapsed),
        mean_group: None,
    };

    let t = Instant::now();
    assert_eq!(read_pages(&store, true).await, rows.len());
    let pg = sample(t.elapsed());

    let t = Instant::now();
    for raw in rows {
        black_box(decode(raw).expect("decode"));
    }
    let memory = sample(t.elapsed());

    let t = Instant::now();
    assert_eq!(read_pages(&store, false).await, rows.len());
    let read_only = sample(t.elapsed());

    let client = connect(&schema.url()).await;
    let t = Instant::now();
    assert_eq!(select_pages(&client).await, rows.len());
    let by_hand = sample(t.elapsed());
    drop(client);

    store.close().await;
    [pg, memory, read_only, by_hand]
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

struct Row {
    name: String,
    events: usize,
    samples: Vec<Sample>,
}

impl Row {
    fn new(name: impl Into<String>, events: usize) -> Self {
        Self {
            name: name.into(),
            events,
            samples: vec![],
        }
    }

    fn rates(&self) -> Vec<f64> {
        let mut rates: Vec<f64> = self.samples.iter().map(|s| s.rate).collect();
        rates.sort_by(f64::total_cmp);
        rates
    }

    fn median(&self) -> f64 {
        median(self.rates())
    }

    fn mean_group(&self) -> Option<f64> {
        let groups: Vec<f64> = self.samples.iter().filter_map(|s| s.mean_group).collect();
        (!groups.is_empty()).then(|| groups.iter().sum::<f64>() / groups.len() as f64)
    }

    fn print(&self) {
        let rates = self.rates();
        if rates.is_empty() {
            return;
        }
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {} |",
            self.name,
            self.events,
            self.median(),
            rates[0],
            rates[rates.len() - 1],
            self.mean_group().map_or("–".into(), |g| format!("{g:.1}")),
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `a / b` of the medians, then of each round.
fn ratio(a: &Row, b: &Row) -> String {
    let rounds: Vec<String> = a
        .samples
        .iter()
        .zip(&b.samples)
        .map(|(x, y)| format!("{:.2}", x.rate / y.rate))
        .collect();
    format!(
        "{:.2} (per round: {})",
        a.median() / b.median(),
        rounds.join(", ")
    )
}

fn main() {
    let config = Config::from_env_and_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let settings = runtime.block_on(async {
        let client = connect(&config.url).await;
        let mut shown = vec![];
        for setting in [
            "server_version",
            "synchronous_commit",
            "fsync",
            "wal_sync_method",
            "commit_delay",
            "shared_buffers",
        ] {
            let value: String = client
                .query_one(&format!("SHOW {setting}"), &[])
                .await
                .expect("show")
                .get(0);
            shown.push(format!("{setting}={value}"));
        }
        shown.join(", ")
    });
    println!(
        "PostgreSQL at {} ({settings}); {} runs; tokio worker threads: {}",
        redacted(&config.url),
        config.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    let mut appends = [
        Row::new("store, 1 writer", config.sequential),
        Row::new(format!("store, {WRITERS} writers"), config.events),
        Row::new(
            format!("raw, {WRITERS} connections, 1 row per transaction"),
            config.events,
        ),
        Row::new(
            format!("raw, 1 connection, {RAW_BATCH}-row transactions (the raw baseline)"),
            config.events,
        ),
        Row::new(
            format!("raw, 1 connection, {RAW_BATCH}-row transactions, pipelined"),
            config.events,
        ),
    ];
    let mut replays = [
        Row::new("postgres: read + decode", config.replay_events),
        Row::new("in-memory Vec: decode (the baseline)", config.replay_events),
        Row::new("postgres: read only", config.replay_events),
        Row::new(
            "raw: the same SELECT pages, columns read, no RawEvent",
            config.replay_events,
        ),
    ];
    let replay_log = config.runs(Part::Replay).then(|| {
        let t = Instant::now();
        let rows = replay_rows(config.replay_events);
        let bytes: usize = rows
            .iter()
            .map(|e| e.record.data.len() + e.stream.len() + e.record.event_type.len())
            .sum();
        eprintln!(
            "replay log: {} events made and chained in {:.1} s ({:.0} bytes of data, stream and \
             type per event)",
            rows.len(),
            t.elapsed().as_secs_f64(),
            bytes as f64 / rows.len().max(1) as f64
        );
        rows
    });

    let total = Instant::now();
    for run in 0..config.runs {
        let mut line = vec![];
        if config.runs(Part::Appends) {
            let rows = append_rows(config.events);
            runtime.block_on(async {
                appends[0]
                    .samples
                    .push(store_writers(&config, 1, config.sequential).await);
                appends[1]
                    .samples
                    .push(store_writers(&config, WRITERS, config.events).await);
                appends[2]
                    .samples
                    .push(raw_connections(&config, &rows).await);
                appends[3]
                    .samples
                    .push(raw_transactions(&config, &rows, RAW_BATCH).await);
                appends[4]
                    .samples
                    .push(raw_pipelined(&config, &rows, RAW_BATCH).await);
            });
            line.extend(
                appends
                    .iter()
                    .map(|r| r.samples.last().map_or(0.0, |s| s.rate)),
            );
        }
        if let Some(rows) = &replay_log {
            let samples = runtime.block_on(replay(&config, rows));
            for (row, sample) in replays.iter_mut().zip(samples) {
                line.push(sample.rate);
                row.samples.push(sample);
            }
        }
        eprintln!(
            "run {}/{}: {}",
            run + 1,
            config.runs,
            line.iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }

    println!();
    println!("| configuration | events | median events/s | min | max | mean group |");
    println!("|---|---:|---:|---:|---:|---:|");
    for row in appends.iter().chain(&replays) {
        row.print();
    }
    println!();
    if config.runs(Part::Appends) {
        println!(
            "ratio {WRITERS} writers / raw {RAW_BATCH}-row transactions (the raw baseline; \
             target >= 0.30): {}",
            ratio(&appends[1], &appends[3])
        );
        println!(
            "ratio {WRITERS} writers / raw {WRITERS} connections: {}",
            ratio(&appends[1], &appends[2])
        );
        println!(
            "ratio 1 writer / raw {RAW_BATCH}-row transactions: {}",
            ratio(&appends[0], &appends[3])
        );
        println!(
            "ratio {WRITERS} writers / raw {RAW_BATCH}-row transactions pipelined: {}",
            ratio(&appends[1], &appends[4])
        );
        println!(
            "ratio raw {WRITERS} connections / raw {RAW_BATCH}-row transactions: {}",
            ratio(&appends[2], &appends[3])
        );
    }
    if config.runs(Part::Replay) {
        println!(
            "ratio postgres read + decode / in-memory decode: {}",
            ratio(&replays[0], &replays[1])
        );
    }
    println!("total time: {:.1} s", total.elapsed().as_secs_f64());
}

/// `url` with any password hidden.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
