//! `passerelle import` against reading the same file and parsing every line
//! with the strict JSON parser, measured in the same run (release profile).
//!
//! For each size it generates a log (`passerelle generate`, 50 events per
//! stakeholder), then, `--runs` times: the baseline (read the file line by
//! line and `json::parse` each line), and `passerelle init` plus
//! `passerelle import` into a new store, timed from the outside. With
//! `--export`, it also imports the store's own export (`passerelle export
//! --with-keys`: sealed fields, the "copy" path) into a store with the same
//! master key. Prints events/s and the ratio import / baseline, with medians.
//!
//! `cargo bench -p passerelle --bench import -- --events 100000,1000000 --runs 3 --export`

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use passerelle_events::json;

const BIN: &str = env!("CARGO_BIN_EXE_passerelle");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes: Vec<u64> = value("--events")
        .unwrap_or_else(|| "100000".into())
        .split(',')
        .map(|s| s.parse().expect("--events: sizes separated by commas"))
        .collect();
    let runs: usize = value("--runs").map_or(3, |r| r.parse().expect("--runs: a number"));
    let export = args.iter().any(|a| a == "--export");
    let dir = tempfile::Builder::new()
        .prefix("passerelle-bench-import")
        .tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()))
        .expect("temp dir");
    println!("| log | events | run | read + strict parse (events/s) | import (events/s) | import / baseline |");
    println!("|---|---:|---:|---:|---:|---:|");
    for events in sizes {
        let log = dir.path().join(format!("g{events}.jsonl"));
        let stakeholders = (events / 50).max(10).to_string();
        run(&[
            "generate",
            "--stakeholders",
            &stakeholders,
            "--events",
            &events.to_string(),
            "--seed",
            "1",
            "-o",
            &path(&log),
        ]);
        let mut kinds = vec![("generated", log.clone(), None)];
        if export {
            let db = dir.path().join("source.db");
            run(&["init", "--db", &path(&db)]);
            run(&["import", "--db", &path(&db), &path(&log)]);
            let exported = dir.path().join(format!("e{events}.jsonl"));
            run(&[
                "export",
                "--db",
                &path(&db),
                "--with-keys",
                "-o",
                &path(&exported),
            ]);
            kinds.push(("exported", exported, Some(key_file(&db))));
        }
        for (kind, file, key) in kinds {
            let mut base = Vec::new();
            let mut import = Vec::new();
            for r in 1..=runs {
                let b = events as f64 / parse_seconds(&file);
                let db = dir.path().join(format!("run{r}.db"));
                let i = events as f64 / import_seconds(&db, &file, key.as_deref());
                remove_store(&db);
                println!(
                    "| {kind} | {events} | {r} | {b:.0} | {i:.0} | {:.2} |",
                    i / b
                );
                base.push(b);
                import.push(i);
            }
            let (b, i) = (median(&mut base), median(&mut import));
            println!(
                "| {kind} | {events} | median | {b:.0} | {i:.0} | {:.2} |",
                i / b
            );
            std::fs::remove_file(&file).ok();
        }
        remove_store(&dir.path().join("source.db"));
    }
}

/// Reads `file` line by line and parses each line as strict JSON.
fn parse_seconds(file: &Path) -> f64 {
    let started = Instant::now();
    let reader = std::io::BufReader::new(std::fs::File::open(file).expect("open the log"));
    let mut n = 0usize;
    for line in reader.lines() {
        let line = line.expect("read a line");
        let value = json::parse(line.as_bytes()).expect("strict JSON");
        n += usize::from(value.is_object());
    }
    assert!(n > 0);
    started.elapsed().as_secs_f64()
}

/// `init` and `import` into a new store at `db`, timed together.
fn import_seconds(db: &Path, file: &Path, key: Option<&Path>) -> f64 {
    let started = Instant::now();
    let mut init = Command::new(BIN);
    init.args(["init", "--db", &path(db)]);
    if let Some(key) = key {
        // The same master key as the exporting store: its data keys are taken as they are.
        init.env("PASSERELLE_MASTER_KEY_FILE", key);
    }
    check(init.output().expect("run init"));
    let mut import = Command::new(BIN);
    import.args(["import", "--db", &path(db), &path(file)]);
    if let Some(key) = key {
        import.env("PASSERELLE_MASTER_KEY_FILE", key);
    }
    check(import.output().expect("run import"));
    started.elapsed().as_secs_f64()
}

fn run(args: &[&str]) {
    check(
        Command::new(BIN)
            .args(args)
            .output()
            .expect("run passerelle"),
    );
}

fn check(out: std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn key_file(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.key", db.display()))
}

fn remove_store(db: &Path) {
    for suffix in ["", "-wal", "-shm", ".key"] {
        std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
