//! Projection benchmarks, every figure from one run, each against a baseline
//! measured in the same run:
//!
//! 1. **Replay throughput.** A generated log (default 1,000,000 events,
//!    20,000 stakeholders) is bulk-loaded into a temporary `SqliteStore`,
//!    its personal fields (contact details, participant codes) sealed as the
//!    ledger seals them (`--personal sealed`, the default), or left in clear
//!    as logs were stored before personal data was sealed (`--personal
//!    clear`; `--personal both` measures the two logs one after the other).
//!    Then, alternating: the *baseline* reads every event back in pages of
//!    [`PAGE`] and decodes each one (and drops it); the *replay* does the
//!    same reads and decodes through `Engine::load`, folding every event into
//!    the model, then computes every view of the programme once (network,
//!    metrics, gap report, participation). Both are events/s over the whole
//!    log; the ratio replay / baseline is the figure of merit (target ≥ 0.5).
//! 2. **Gap report** on a generated network of 10,000 stakeholders and
//!    ~50,000 ties (the event count from `events_for_ties`): the whole view
//!    (network + metrics + gap report) and its parts, median of `--runs`
//!    (target: the view < 1 s); then the metrics with exact betweenness and
//!    closeness, and the same metrics in igraph (`scripts/igraph_gaps.py`,
//!    run on the same present-tie topology), side by side.
//! 3. **Layout stability** on the demo programme: mean displacement between
//!    the layouts of consecutive month ends, warm-started (each from the
//!    month before, as `views::layout_chain` does) and cold (each from
//!    scratch), as a share of the layout frame's width.
//!
//! Usage: `cargo bench --bench projections -- [--events N]
//! [--stakeholders N] [--replay-runs N] [--network-stakeholders N] [--ties N]
//! [--runs N] [--igraph-runs N] [--exact-runs N] [--seed N]
//! [--personal sealed|clear|both] [--only replay|gaps|layout]` (`--only` may
//! be repeated; `--igraph-runs 0`
//! and `--exact-runs 0` skip those), or the environment variables
//! `BENCH_EVENTS`, `BENCH_STAKEHOLDERS`, `BENCH_REPLAY_RUNS`,
//! `BENCH_NETWORK_STAKEHOLDERS`, `BENCH_TIES`, `BENCH_RUNS`,
//! `BENCH_IGRAPH_RUNS`, `BENCH_EXACT_RUNS`, `BENCH_SEED`; `BENCH_DIR` is where the temporary
//! store goes, `BENCH_PYTHON` the Python interpreter (default `python3`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::{BufRead, Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use passerelle::commands::import::import;
use passerelle::demo::{DEMO_ACTOR, DEMO_JSONL};
use passerelle::generate::{events_for_ties, generate, GenerateConfig};
use passerelle_events::ledger::decode;
use passerelle_events::store::{AppendRequest, EventRecord, Pending, PAGE};
use passerelle_events::{Event, EventLog, Keyring, Ledger, MemoryStore, SqliteStore, Submission};
use passerelle_projections::engine::{AsOf, Engine};
use passerelle_projections::gaps;
use passerelle_projections::layout::{layout, mean_displacement, FRAME_HALF_WIDTH};
use passerelle_projections::metrics::{self, Estimate, MetricsConfig};
use passerelle_projections::network::Network;
use passerelle_projections::participation::participation;
use passerelle_projections::views::{self, layout_chain, Positions, Settings};
use serde_json::Value;

/// Events per bulk append while loading a log.
const LOAD_BATCH: usize = 10_000;
/// The generated programme.
const PROGRAMME: &str = "gen";
/// The demo programme whose layouts are compared.
const DEMO_PROGRAMME: &str = "sjdlr";
/// The gap report should take less than this.
const GAP_TARGET: Duration = Duration::from_secs(1);
/// Replay / read+decode should be at least this.
const REPLAY_TARGET: f64 = 0.5;
/// Exact metrics are repeated only while one run takes less than this.
const EXACT_REPEAT_LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Replay,
    Gaps,
    Layout,
}

struct Config {
    /// Events of the replay log.
    events: usize,
    /// Stakeholders of the replay log.
    stakeholders: usize,
    /// Stakeholders of the gap-report network.
    network_stakeholders: usize,
    /// Distinct tied pairs of the gap-report network.
    ties: u64,
    /// Rounds of the replay part (each: one baseline, one replay).
    replay_runs: usize,
    /// Measurements per step of the gap-report part.
    runs: usize,
    /// Runs of the igraph script (each computes every metric once; 0: none).
    igraph_runs: usize,
    /// Runs of our metrics with exact betweenness and closeness (0: none).
    exact_runs: usize,
    /// Generator seed.
    seed: u64,
    /// Parts to run.
    parts: Vec<Part>,
    /// Replay logs with personal fields sealed (true) and/or in clear (false).
    personal: Vec<bool>,
}

impl Config {
    fn from_env_and_args() -> Self {
        let env = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let mut config = Config {
            events: env("BENCH_EVENTS", 1_000_000) as usize,
            stakeholders: env("BENCH_STAKEHOLDERS", 20_000) as usize,
            network_stakeholders: env("BENCH_NETWORK_STAKEHOLDERS", 10_000) as usize,
            ties: env("BENCH_TIES", 50_000),
            replay_runs: env("BENCH_REPLAY_RUNS", 3) as usize,
            runs: env("BENCH_RUNS", 5) as usize,
            igraph_runs: env("BENCH_IGRAPH_RUNS", 3) as usize,
            exact_runs: env("BENCH_EXACT_RUNS", 3) as usize,
            seed: env("BENCH_SEED", 1),
            parts: vec![Part::Replay, Part::Gaps, Part::Layout],
            personal: vec![true],
        };
        let mut only = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> String {
                args.next()
                    .unwrap_or_else(|| panic!("{name} needs a value"))
            };
            let mut number = |name: &str| -> u64 {
                value(name)
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} needs a number"))
            };
            match arg.as_str() {
                "--events" => config.events = number("--events") as usize,
                "--stakeholders" => config.stakeholders = number("--stakeholders") as usize,
                "--network-stakeholders" => {
                    config.network_stakeholders = number("--network-stakeholders") as usize
                }
                "--ties" => config.ties = number("--ties"),
                "--replay-runs" => config.replay_runs = number("--replay-runs") as usize,
                "--runs" => config.runs = number("--runs") as usize,
                "--igraph-runs" => config.igraph_runs = number("--igraph-runs") as usize,
                "--exact-runs" => config.exact_runs = number("--exact-runs") as usize,
                "--seed" => config.seed = number("--seed"),
                "--personal" => {
                    config.personal = match value("--personal").as_str() {
                        "sealed" => vec![true],
                        "clear" => vec![false],
                        "both" => vec![false, true],
                        other => panic!("--personal {other}: use sealed, clear or both"),
                    }
                }
                "--only" => only.push(match value("--only").as_str() {
                    "replay" => Part::Replay,
                    "gaps" => Part::Gaps,
                    "layout" => Part::Layout,
                    other => panic!("--only {other}: use replay, gaps or layout"),
                }),
                // Passed by `cargo bench` to every bench binary.
                "--bench" => {}
                other => panic!(
                    "unknown argument {other}; use --events N, --stakeholders N, \
                     --replay-runs N, --network-stakeholders N, --ties N, --runs N, \
                     --igraph-runs N, --exact-runs N, --seed N, --personal sealed|clear|both, \
                     --only replay|gaps|layout"
                ),
            }
        }
        if !only.is_empty() {
            config.parts = only;
        }
        config.runs = config.runs.max(1);
        config.replay_runs = config.replay_runs.max(1);
        config
    }

    fn has(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }
}

/// Sorted samples of one measurement.
struct Samples(Vec<f64>);

impl Samples {
    fn new(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        Self(v)
    }

    fn of_durations(v: &[Duration]) -> Self {
        Self::new(v.iter().map(Duration::as_secs_f64).collect())
    }

    /// The median; NaN without samples (and so are `min` and `max`).
    fn median(&self) -> f64 {
        let (r, n) = (&self.0, self.0.len());
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            r[n / 2]
        } else {
            (r[n / 2 - 1] + r[n / 2]) / 2.0
        }
    }

    fn min(&self) -> f64 {
        self.0.first().copied().unwrap_or(f64::NAN)
    }

    fn max(&self) -> f64 {
        self.0.last().copied().unwrap_or(f64::NAN)
    }
}

/// Seconds as milliseconds with 3–4 significant digits; "–" for NaN.
fn ms(seconds: f64) -> String {
    if seconds.is_nan() {
        "–".into()
    } else if seconds >= 10.0 {
        format!("{:.0}", seconds * 1e3)
    } else if seconds >= 0.1 {
        format!("{:.1}", seconds * 1e3)
    } else {
        format!("{:.2}", seconds * 1e3)
    }
}

/// The generated log as wire submissions.
fn generated(stakeholders: usize, events: usize, seed: u64) -> Vec<Submission> {
    let mut buf = Vec::new();
    generate(
        &GenerateConfig {
            stakeholders,
            events,
            seed,
            ..GenerateConfig::default()
        },
        &mut buf,
    )
    .expect("generate");
    buf.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(&line.expect("utf-8")).expect("generated JSON");
            Submission::from_wire(&v).expect("generated events are valid")
        })
        .collect()
}

/// Appends `subs` to `store` in batches of [`LOAD_BATCH`], without the
/// ledger's validation (the generator's events are valid in order). With
/// `seal`, personal fields are sealed as the ledger seals them, under a key
/// per subject made in the batch that first needs it; without, they stay in
/// clear (as logs were stored before sealing). Answers how many data keys
/// were made.
async fn bulk_load<S: EventLog>(store: &S, subs: &[Submission], seal: bool) -> usize {
    let keyring = if seal {
        Some(Keyring::with_new_key(store.clone()).await.expect("keyring"))
    } else {
        None
    };
    let mut keys = 0;
    for chunk in subs.chunks(LOAD_BATCH) {
        let mut made = keyring.as_ref().map(Keyring::made_keys);
        let events = chunk
            .iter()
            .map(|s| {
                let mut event = s.event.clone();
                if let (Some(k), Some(made)) = (&keyring, made.as_mut()) {
                    k.seal(&mut event, made).expect("seal");
                }
                Pending {
                    stream: event.stream(),
                    expected: None,
                    record: EventRecord::new(&event, "bench", None),
                }
            })
            .collect();
        let make_keys = made.as_ref().and_then(|m| m.to_make());
        keys += make_keys.as_ref().map_or(0, |m| m.keys.len());
        store
            .append(AppendRequest {
                events,
                log_head: None,
                head_id: None,
                make_keys,
                erase: Vec::new(),
            })
            .await
            .expect("bulk append");
        if let (Some(k), Some(made)) = (&keyring, made) {
            k.adopt(made);
        }
    }
    keys
}

/// CPU time (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (clock ticks of 10 ms); `None` where that is missing.
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at state.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some((utime + stime) / 100.0)
}

/// The baseline: read every event in pages and decode it.
async fn read_and_decode<S: EventLog>(store: &S) -> usize {
    let (mut after, mut n) = (0, 0);
    loop {
        let page = store.read(after, PAGE).await.expect("read");
        let Some(last) = page.last() else {
            return n;
        };
        after = last.position;
        for raw in &page {
            black_box(decode(raw).expect("decode"));
            n += 1;
        }
    }
}

/// A replay: load (read, decode, fold) and every view once. Returns the
/// engine (dropped by the caller, outside the timing) and the time split
/// into loading and views.
async fn replay<S: EventLog>(store: &S, settings: &Settings) -> (Engine, Duration, Duration) {
    let start = Instant::now();
    let engine = Engine::load(store).await.expect("load");
    let loaded = start.elapsed();
    let view = views::view(&engine, PROGRAMME, AsOf::Latest, settings).expect("view");
    let p = &engine.model().programmes[PROGRAMME];
    black_box((view, participation(p)));
    (engine, loaded, start.elapsed() - loaded)
}

fn bench_replay(config: &Config, runtime: &tokio::runtime::Runtime, sealed: bool) {
    println!(
        "## replay: {} events, {} stakeholders, seed {}, personal fields {}",
        config.events,
        config.stakeholders,
        config.seed,
        if sealed { "sealed" } else { "in clear" }
    );
    let t = Instant::now();
    let subs = generated(config.stakeholders, config.events, config.seed);
    eprintln!(
        "generated and parsed {} events in {:.1} s",
        subs.len(),
        t.elapsed().as_secs_f64()
    );
    let parent = std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(parent).expect("temp dir");
    let path = dir.path().join("events.db");
    let store = SqliteStore::create(&path).expect("create store");
    let t = Instant::now();
    let keys = runtime.block_on(bulk_load(&store, &subs, sealed));
    let events = subs.len();
    let personal = subs
        .iter()
        .filter(|s| Event::may_hold_personal_data(s.event.event.type_name()))
        .map(|s| s.event.event.clone().personal_fields().len())
        .sum::<usize>();
    drop(subs);
    let size = std::fs::metadata(&path).map_or(0, |m| m.len())
        + std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
    eprintln!(
        "loaded into SQLite in {:.1} s ({:.0} MB)",
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    println!(
        "personal fields: {personal}, {}; data keys made: {keys}; store file {:.0} MB",
        if sealed { "sealed" } else { "in clear" },
        size as f64 / 1e6
    );

    let settings = Settings::default();
    let (mut base, mut full, mut load, mut views) = (vec![], vec![], vec![], vec![]);
    let (mut base_cpu, mut full_cpu) = (vec![], vec![]);
    let mut shape = String::new();
    for run in 0..config.replay_runs {
        let (t, cpu) = (Instant::now(), cpu_time());
        let n = runtime.block_on(read_and_decode(&store));
        let elapsed = t.elapsed();
        assert_eq!(n, events);
        base.push(events as f64 / elapsed.as_secs_f64());
        if let (Some(a), Some(b)) = (cpu, cpu_time()) {
            base_cpu.push(b - a);
        }

        let (t, cpu) = (Instant::now(), cpu_time());
        let (engine, loaded, viewed) = runtime.block_on(replay(&store, &settings));
        let elapsed = t.elapsed();
        if let (Some(a), Some(b)) = (cpu, cpu_time()) {
            full_cpu.push(b - a);
        }
        assert_eq!(engine.position(), events as u64);
        full.push(events as f64 / elapsed.as_secs_f64());
        load.push(events as f64 / loaded.as_secs_f64());
        views.push(viewed.as_secs_f64());
        if run == 0 {
            let p = &engine.model().programmes[PROGRAMME];
            shape = format!(
                "{} stakeholders, {} partnerships, {} contacts, {} sessions",
                p.stakeholders.len(),
                p.partnerships.len(),
                p.contacts.len(),
                p.sessions.len()
            );
        }
        drop(engine);
        eprintln!(
            "run {}/{}: read+decode {:.0}/s, replay {:.0}/s (load {:.2} s, views {:.2} s)",
            run + 1,
            config.replay_runs,
            base[run],
            full[run],
            loaded.as_secs_f64(),
            viewed.as_secs_f64()
        );
    }
    runtime.block_on(store.close());
    let (base, full, load, views) = (
        Samples::new(base),
        Samples::new(full),
        Samples::new(load),
        Samples::new(views),
    );
    println!("model: {shape}");
    println!();
    println!("| configuration | events | median events/s | min | max |");
    println!("|---|---:|---:|---:|---:|");
    for (name, s) in [
        ("read + decode (baseline)", &base),
        ("replay: read + decode + fold + every view", &full),
        ("of which read + decode + fold (`Engine::load`)", &load),
    ] {
        println!(
            "| {name} | {events} | {:.0} | {:.0} | {:.0} |",
            s.median(),
            s.min(),
            s.max()
        );
    }
    println!();
    println!(
        "views at the end of a replay (network, metrics, gap report, participation): \
         median {} ms, min {}, max {}",
        ms(views.median()),
        ms(views.min()),
        ms(views.max())
    );
    let ratio = full.median() / base.median();
    println!(
        "ratio replay / read + decode (medians): {ratio:.2} (target >= {REPLAY_TARGET:.2}: {})",
        if ratio >= REPLAY_TARGET {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "ratio load only / read + decode (medians): {:.2}",
        load.median() / base.median()
    );
    if !base_cpu.is_empty() && base_cpu.len() == full_cpu.len() {
        let (base_cpu, full_cpu) = (Samples::new(base_cpu), Samples::new(full_cpu));
        println!(
            "CPU time (all threads; the replay overlaps reading, decoding and folding \
             and computes metrics on two threads, the baseline uses one): read + decode \
             median {:.2} s, replay {:.2} s; ratio by CPU time: {:.2}",
            base_cpu.median(),
            full_cpu.median(),
            base_cpu.median() / full_cpu.median()
        );
    }
    println!();
}

/// Timings of igraph's run of `scripts/igraph_gaps.py`, or why there are none.
fn igraph(topology: &metrics::Topology, runs: usize) -> Result<Value, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/igraph_gaps.py");
    let mut file = tempfile::NamedTempFile::new().map_err(|e| format!("temp file: {e}"))?;
    {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        for (a, b) in topology.edges() {
            writeln!(out, "{a} {b}").map_err(|e| format!("edge list: {e}"))?;
        }
        out.flush().map_err(|e| format!("edge list: {e}"))?;
    }
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(&script)
        .arg(file.path())
        .args(["--nodes", &topology.node_count().to_string()])
        .args(["--runs", &runs.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !output.status.success() {
        return Err(match output.status.code() {
            Some(3) => "python-igraph is not installed (pip install igraph)".into(),
            _ => format!("{} failed: {}", script.display(), output.status),
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or("no JSON line in the script's output")?;
    serde_json::from_str(line).map_err(|e| format!("bad JSON from the script: {e}"))
}

fn bench_gaps(config: &Config, runtime: &tokio::runtime::Runtime) {
    let cfg = GenerateConfig {
        stakeholders: config.network_stakeholders,
        seed: config.seed,
        ..GenerateConfig::default()
    };
    let t = Instant::now();
    let events = events_for_ties(&cfg, config.ties).expect("events_for_ties");
    eprintln!(
        "events_for_ties: {events} events in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let subs = generated(config.network_stakeholders, events, config.seed);
    let store = MemoryStore::new();
    runtime.block_on(bulk_load(&store, &subs, true));
    drop(subs);
    let engine = runtime.block_on(Engine::load(&store)).expect("load");
    let settings = Settings::default();

    let probe = views::view(&engine, PROGRAMME, AsOf::Latest, &settings).expect("view");
    let topology = probe.network.topology.clone();
    let (n, m) = (topology.node_count(), topology.edge_count());
    println!(
        "## gap report: {} stakeholders, {} events (seed {}): {n} nodes, {m} present ties \
         ({} pairs ever tied), {} findings",
        config.network_stakeholders,
        events,
        config.seed,
        probe.network.ties.len(),
        probe.gaps.findings.len(),
    );
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &probe.gaps.findings {
        *kinds.entry(f.kind.as_str()).or_default() += 1;
    }
    println!(
        "findings by kind: {}",
        kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let snapshot = engine.snapshot(AsOf::Latest);
    let p = &snapshot.model.programmes[PROGRAMME];
    let time = snapshot.reference_time(PROGRAMME);
    let (mut whole, mut build, mut analyse, mut compute, mut report) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..config.runs {
        let t = Instant::now();
        let v = views::view(&engine, PROGRAMME, AsOf::Latest, &settings).expect("view");
        whole.push(t.elapsed());
        black_box(&v);

        let t = Instant::now();
        black_box(Network::build(
            p,
            time,
            snapshot.position(),
            &settings.network,
        ));
        build.push(t.elapsed());

        let t = Instant::now();
        black_box(v.network.analyse(&settings.metrics));
        analyse.push(t.elapsed());

        let t = Instant::now();
        black_box(metrics::compute(&v.network.topology, &settings.metrics));
        compute.push(t.elapsed());

        let t = Instant::now();
        black_box(gaps::report(
            &v.programme,
            &v.network,
            &v.analysis,
            &settings.gaps,
        ));
        report.push(t.elapsed());
    }
    let whole = Samples::of_durations(&whole);
    println!();
    println!("| step | median ms | min | max |");
    println!("|---|---:|---:|---:|");
    for (name, s) in [
        (
            "`views::view` (all of the below; network-only findings beside the metrics)",
            &whole,
        ),
        ("`Network::build`", &Samples::of_durations(&build)),
        (
            "`Network::analyse` (metrics + E-I + weighted degree)",
            &Samples::of_durations(&analyse),
        ),
        (
            "of which `metrics::compute` (sampled, default settings)",
            &Samples::of_durations(&compute),
        ),
        ("`gaps::report`", &Samples::of_durations(&report)),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            ms(s.median()),
            ms(s.min()),
            ms(s.max())
        );
    }
    println!();
    println!(
        "whole gap report (median): {} ms (target < {} ms: {})",
        ms(whole.median()),
        GAP_TARGET.as_millis(),
        if whole.median() < GAP_TARGET.as_secs_f64() {
            "met"
        } else {
            "MISSED"
        }
    );
    println!();

    // The same metrics with exact betweenness and closeness, and without
    // them (2 pivots: two searches), to split ours like igraph's.
    let exact_cfg = MetricsConfig {
        exact_limit: usize::MAX,
        ..settings.metrics
    };
    let rest_cfg = MetricsConfig {
        exact_limit: 0,
        pivots: 2,
        ..settings.metrics
    };
    let mut rest = vec![];
    for _ in 0..config.runs {
        let t = Instant::now();
        black_box(metrics::compute(&topology, &rest_cfg));
        rest.push(t.elapsed());
    }
    let mut exact = vec![];
    for run in 0..config.exact_runs {
        let t = Instant::now();
        black_box(metrics::compute(&topology, &exact_cfg));
        exact.push(t.elapsed());
        eprintln!(
            "exact metrics run {}: {:.2} s",
            run + 1,
            exact[run].as_secs_f64()
        );
        if exact[run] > EXACT_REPEAT_LIMIT {
            break;
        }
    }
    let sampled = Samples::of_durations(&compute);
    let sampled_label = match probe.analysis.network.betweenness {
        Estimate::Exact => "all metrics, ours with default settings (exact here)".to_owned(),
        Estimate::Sampled { pivots, .. } => {
            format!("all metrics, ours with default settings ({pivots} pivots) vs igraph exact")
        }
    };
    let (exact, rest) = (Samples::of_durations(&exact), Samples::of_durations(&rest));

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let igraph = if config.igraph_runs == 0 {
        Err("--igraph-runs 0".into())
    } else {
        igraph(&topology, config.igraph_runs)
    };
    match igraph {
        Err(why) => {
            println!("igraph comparison skipped: {why}");
            println!(
                "ours, exact betweenness and closeness: {} ms (median of {}); \
                 without them: {} ms",
                ms(exact.median()),
                exact.0.len(),
                ms(rest.median())
            );
        }
        Ok(ig) => {
            let med = |k: &str| ig["median_s"][k].as_f64().unwrap_or(f64::NAN);
            let min = |k: &str| ig["min_s"][k].as_f64().unwrap_or(f64::NAN);
            let max = |k: &str| ig["max_s"][k].as_f64().unwrap_or(f64::NAN);
            let paths = ["betweenness", "closeness"];
            let others = [
                "eigenvector",
                "coreness",
                "constraint",
                "articulation_points",
                "bridges",
                "components",
                "louvain",
                "density",
            ];
            println!(
                "igraph {} (python-igraph), {} runs, one thread; ours on {threads} threads \
                 (path searches only), {} runs exact:",
                ig["igraph"].as_str().unwrap_or("?"),
                ig["runs"],
                exact.0.len()
            );
            println!();
            println!("| igraph metric | median ms | min | max |");
            println!("|---|---:|---:|---:|");
            for k in paths.iter().chain(&others).chain(&["total"]) {
                println!("| {k} | {} | {} | {} |", ms(med(k)), ms(min(k)), ms(max(k)));
            }
            let ig_paths: f64 = paths.iter().map(|k| med(k)).sum();
            let ig_rest: f64 = others.iter().map(|k| med(k)).sum();
            let ig_total = med("total");
            let ours_paths = (exact.median() - rest.median()).max(0.0);
            println!();
            println!("| metrics (same topology) | ours ms | igraph ms | ours / igraph |");
            println!("|---|---:|---:|---:|");
            for (name, ours, theirs) in [
                ("betweenness + closeness, exact", ours_paths, ig_paths),
                (
                    "everything else (eigenvector, cores, constraint, cuts, components, \
                     Louvain, density)",
                    rest.median(),
                    ig_rest,
                ),
                ("all metrics, exact", exact.median(), ig_total),
                (sampled_label.as_str(), sampled.median(), ig_total),
                (
                    "whole gap report (ours) vs igraph's metrics alone",
                    whole.median(),
                    ig_total,
                ),
            ] {
                let ratio = ours / theirs;
                let ratio = if ratio.is_nan() {
                    "–".into()
                } else {
                    format!("{ratio:.2}")
                };
                println!("| {name} | {} | {} | {ratio} |", ms(ours), ms(theirs));
            }
            println!();
            println!(
                "ours: \"betweenness + closeness\" is one search per source for both \
                 (exact run minus a 2-pivot run); \"everything else\" includes effective size, \
                 which igraph lacks"
            );
        }
    }
    println!();
}

/// A cold layout of `programme` at `t`: what `views::layout_chain` computes
/// at one time, without a previous layout to start from.
fn cold_layout(engine: &Engine, programme: &str, t: DateTime<Utc>, s: &Settings) -> Positions {
    let snap = engine.snapshot(AsOf::Time(t));
    let Some(p) = snap.model.programmes.get(programme) else {
        return Positions::new();
    };
    let network = Network::build(p, t, snap.position(), &s.network);
    // As `views::layout_of`: present ties, strength at least 0.05.
    let edges: Vec<(usize, usize, f64)> = network
        .present_ties()
        .map(|tie| (tie.a, tie.b, tie.strength.max(0.05)))
        .collect();
    let positions = layout(&network.nodes, &edges, None, &s.layout);
    network.nodes.iter().cloned().zip(positions).collect()
}

fn bench_layout(runtime: &tokio::runtime::Runtime) {
    let engine = runtime.block_on(async {
        let ledger = Ledger::open(
            Keyring::with_new_key(MemoryStore::new())
                .await
                .expect("keys"),
        )
        .await
        .expect("ledger");
        import(&ledger, Cursor::new(DEMO_JSONL), DEMO_ACTOR, None)
            .await
            .expect("demo import");
        Engine::load(ledger.store()).await.expect("load")
    });
    let settings = Settings::default();
    let latest = engine.model().programmes[DEMO_PROGRAMME]
        .latest
        .expect("the demo has events");
    let t = Instant::now();
    let warm = layout_chain(&engine, DEMO_PROGRAMME, latest, &settings);
    let warm_time = t.elapsed();
    let t = Instant::now();
    let cold: Vec<Positions> = warm
        .iter()
        .map(|(t, _)| cold_layout(&engine, DEMO_PROGRAMME, *t, &settings))
        .collect();
    let cold_time = t.elapsed();
    let frame = 2.0 * FRAME_HALF_WIDTH;
    println!(
        "## layout stability: demo programme {DEMO_PROGRAMME}, {} layouts (month ends, then \
         the latest event); displacement as % of the frame's width ({frame})",
        warm.len()
    );
    println!(
        "layout chain: {} ms warm, {} ms cold",
        ms(warm_time.as_secs_f64()),
        ms(cold_time.as_secs_f64())
    );
    println!();
    println!("| to | nodes | new nodes | warm: mean displacement % | cold % |");
    println!("|---|---:|---:|---:|---:|");
    let (mut warm_d, mut cold_d) = (vec![], vec![]);
    for i in 1..warm.len() {
        let (before, (at, after)) = (&warm[i - 1].1, &warm[i]);
        let new = after.keys().filter(|k| !before.contains_key(*k)).count();
        let w = mean_displacement(before, after);
        let c = mean_displacement(&cold[i - 1], &cold[i]);
        let pct = |d: Option<f64>| d.map_or("–".into(), |d| format!("{:.2}", 100.0 * d / frame));
        println!(
            "| {} | {} | {new} | {} | {} |",
            at.format("%Y-%m-%d"),
            after.len(),
            pct(w),
            pct(c)
        );
        if let (Some(w), Some(c)) = (w, c) {
            warm_d.push(100.0 * w / frame);
            cold_d.push(100.0 * c / frame);
        }
    }
    if warm_d.is_empty() {
        println!("no consecutive layouts share a node");
        return;
    }
    let (warm_d, cold_d) = (Samples::new(warm_d), Samples::new(cold_d));
    let mean = |s: &Samples| s.0.iter().sum::<f64>() / s.0.len() as f64;
    println!();
    println!("| start | mean % | median % | max % |");
    println!("|---|---:|---:|---:|");
    for (name, s) in [
        ("warm (layout_chain)", &warm_d),
        ("cold (each month)", &cold_d),
    ] {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} |",
            mean(s),
            s.median(),
            s.max()
        );
    }
    println!();
    println!(
        "warm starting moves nodes {:.1}x less than cold starts (medians)",
        cold_d.median() / warm_d.median()
    );
}

fn main() {
    let config = Config::from_env_and_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "projections: {} replay rounds, {} runs per gap-report step; {} cores",
        config.replay_runs,
        config.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let total = Instant::now();
    if config.has(Part::Replay) {
        for &sealed in &config.personal {
            bench_replay(&config, &runtime, sealed);
        }
    }
    if config.has(Part::Gaps) {
        bench_gaps(&config, &runtime);
    }
    if config.has(Part::Layout) {
        bench_layout(&runtime);
    }
    println!();
    println!("total time: {:.1} s", total.elapsed().as_secs_f64());
}
