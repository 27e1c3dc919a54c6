//! The `passerelle` command as a coordinator uses it: each test runs the real
//! binary against a store in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use std::io::Write;

use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn db(&self) -> PathBuf {
        self.path("passerelle.db")
    }

    /// Runs `passerelle ARGS` with `stdin` as standard input.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("PASSERELLE_DB")
            .env_remove("PASSERELLE_DEMO_DB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run passerelle");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("passerelle output")
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "passerelle {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs a command that must fail; returns its standard error.
    fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            !out.status.success(),
            "passerelle {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8")
    }

    fn db_arg(&self) -> String {
        self.db().display().to_string()
    }

    fn init_with_programme(&self) {
        self.ok(&["init", "--db", &self.db_arg()], "");
        self.ok(
            &["record", "--db", &self.db_arg()],
            r#"[{"type":"ProgrammeDefined","programme":"sjdlr","occurred_at":"2020-11-16",
                 "data":{"programme":"sjdlr","name":"Saint-Jean-de-la-Ruelle","role":"mentee","country":"FR"}},
                {"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2020-11-20",
                 "data":{"stakeholder":"sj-ccas","name":"Centre Communal d'Action Sociale","kind":"city_service","themes":["social_support"]}}]"#,
        );
    }

    fn head(&self) -> usize {
        self.ok(&["export", "--db", &self.db_arg()], "")
            .lines()
            .count()
    }
}

fn tamper(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).expect("open sqlite");
    conn.execute_batch(sql).expect("tamper");
}

#[test]
fn every_command_has_help() {
    let cli = Cli::new();
    for cmd in [
        "init", "record", "import", "export", "verify", "demo", "gaps", "network", "diff",
        "generate", "serve", "token",
    ] {
        let out = cli.ok(&[cmd, "--help"], "");
        assert!(out.contains("Usage: passerelle"), "{cmd} --help: {out}");
        if !["demo", "generate", "token"].contains(&cmd) {
            assert!(
                out.contains("--db <PATH>"),
                "{cmd} --help lacks --db: {out}"
            );
            assert!(
                out.contains("PASSERELLE_DB"),
                "{cmd} --help lacks the env: {out}"
            );
        }
    }
}

#[test]
fn record_prints_stored_envelopes_and_attributes_the_actor() {
    let cli = Cli::new();
    cli.init_with_programme();
    let out = cli.ok(
        &["record", "--db", &cli.db_arg(), "--actor", "coordinator-sjdlr"],
        r#"{"type":"MilestoneMarked","programme":"sjdlr","occurred_at":"2022-02-07T10:00:00Z",
            "data":{"milestone":"transfer-workshop","label":"Transfer workshop","kind":"workshop"}}"#,
    );
    let v: Value = serde_json::from_str(&out).expect("JSON envelope");
    assert_eq!(v["position"], 3);
    assert_eq!(v["stream"], "sjdlr/milestone/transfer-workshop");
    assert_eq!(v["version"], 1);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["recorded_by"], "coordinator-sjdlr");
    assert_eq!(v["occurred_at"], "2022-02-07T10:00:00Z");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "position",
            "stream",
            "version",
            "schema_version",
            "id",
            "type",
            "programme",
            "occurred_at",
            "data",
            "recorded_at",
            "recorded_by"
        ]
    );
}

#[test]
fn record_refuses_a_special_category_field_and_appends_nothing() {
    let cli = Cli::new();
    cli.init_with_programme();
    let err = cli.fails(
        &["record", "--db", &cli.db_arg()],
        r#"{"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2022-03-01",
            "data":{"stakeholder":"x","name":"X","kind":"association","ethnicity":"any"}}"#,
    );
    assert!(err.contains("data.ethnicity"), "{err}");
    assert!(err.contains("nothing was recorded"), "{err}");
    assert_eq!(cli.head(), 2);
}

#[test]
fn record_refuses_a_contact_to_an_unknown_stakeholder_and_appends_nothing() {
    let cli = Cli::new();
    cli.init_with_programme();
    let err = cli.fails(
        &["record", "--db", &cli.db_arg()],
        r#"{"type":"OutreachContactLogged","programme":"sjdlr","occurred_at":"2022-03-01",
            "data":{"from":"sj-ccas","to":"nobody","channel":"phone","outcome":"interested"}}"#,
    );
    assert!(err.contains("data.to"), "{err}");
    assert!(err.contains("nobody"), "{err}");
    assert_eq!(cli.head(), 2);
}

#[test]
fn record_refuses_more_women_than_beneficiaries_and_appends_nothing() {
    let cli = Cli::new();
    cli.init_with_programme();
    let err = cli.fails(
        &["record", "--db", &cli.db_arg()],
        r#"{"type":"CoCreationSessionHeld","programme":"sjdlr","occurred_at":"2022-03-01",
            "data":{"session":"s1","title":"Listening session","level":"consult",
                    "beneficiaries":{"total":3,"women":5}}}"#,
    );
    assert!(err.contains("data.beneficiaries.total"), "{err}");
    assert_eq!(cli.head(), 2);
}

#[test]
fn a_batch_is_atomic_and_errors_name_the_event_in_it() {
    let cli = Cli::new();
    cli.init_with_programme();
    let err = cli.fails(
        &["record", "--db", &cli.db_arg()],
        r#"[{"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2022-03-01",
             "data":{"stakeholder":"bapa","name":"BAPA","kind":"integration_agency"}},
            {"type":"OutreachContactLogged","programme":"sjdlr","occurred_at":"2022-03-01",
             "data":{"from":"sj-ccas","to":"nobody","channel":"phone","outcome":"interested"}}]"#,
    );
    assert!(err.contains("[1].data.to"), "{err}");
    assert_eq!(cli.head(), 2);
}

#[test]
fn record_reads_a_file_and_refuses_bad_json() {
    let cli = Cli::new();
    cli.init_with_programme();
    let file = cli.path("event.json");
    std::fs::write(
        &file,
        r#"{"type":"NeedDeclared","programme":"sjdlr","occurred_at":"2022-02-07",
            "data":{"need":"nursery","action":"Maison des Femmes","theme":"childcare"}}"#,
    )
    .unwrap();
    cli.ok(
        &[
            "record",
            "--db",
            &cli.db_arg(),
            "--file",
            &file.display().to_string(),
        ],
        "",
    );
    assert_eq!(cli.head(), 3);
    let err = cli.fails(&["record", "--db", &cli.db_arg()], "{not json");
    assert!(err.contains("not valid JSON"), "{err}");
}

#[test]
fn commands_refuse_a_missing_store_instead_of_creating_one() {
    let cli = Cli::new();
    let err = cli.fails(&["verify", "--db", &cli.db_arg()], "");
    assert!(err.contains("passerelle init"), "{err}");
    assert!(!cli.db().exists());
}

#[test]
fn import_export_import_keeps_events_ids_and_order() {
    let cli = Cli::new();
    let demo = cli.path("demo.jsonl");
    std::fs::write(&demo, passerelle::demo::DEMO_JSONL).unwrap();
    let first = cli.path("first.db").display().to_string();
    let second = cli.path("second.db").display().to_string();
    cli.ok(&["init", "--db", &first], "");
    let out = cli.ok(&["import", "--db", &first, &demo.display().to_string()], "");
    assert!(out.contains("imported 342 events"), "{out}");

    let exported = cli.path("export.jsonl");
    cli.ok(
        &[
            "export",
            "--db",
            &first,
            "--format",
            "jsonl",
            "-o",
            &exported.display().to_string(),
        ],
        "",
    );
    cli.ok(&["init", "--db", &second], "");
    cli.ok(
        &["import", "--db", &second, &exported.display().to_string()],
        "",
    );
    let again = cli.ok(&["export", "--db", &second], "");
    assert_eq!(std::fs::read_to_string(&exported).unwrap(), again);

    let source: Vec<Value> = passerelle::demo::DEMO_JSONL
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let round: Vec<Value> = again
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(source.len(), round.len());
    for (i, (a, b)) in source.iter().zip(&round).enumerate() {
        assert_eq!(a["id"], b["id"], "line {}", i + 1);
        assert_eq!(a["type"], b["type"], "line {}", i + 1);
        assert_eq!(b["position"], i as u64 + 1);
    }

    // Importing the same file again is idempotent.
    let out = cli.ok(
        &["import", "--db", &second, &exported.display().to_string()],
        "",
    );
    assert!(
        out.contains("imported 0 events (342 already present)"),
        "{out}"
    );

    let sjdlr = cli.ok(&["export", "--db", &first, "--programme", "sjdlr"], "");
    assert!(sjdlr.lines().count() > 0);
    assert!(sjdlr
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).unwrap()["programme"] == "sjdlr"));
}

#[test]
fn import_names_the_bad_line_and_keeps_nothing_of_its_batch() {
    let cli = Cli::new();
    cli.ok(&["init", "--db", &cli.db_arg()], "");
    let mut lines: Vec<String> = passerelle::demo::DEMO_JSONL
        .lines()
        .take(10)
        .map(str::to_owned)
        .collect();
    lines.insert(
        5,
        r#"{"type":"OutreachContactLogged","programme":"sjdlr","occurred_at":"2021-01-01","data":{"from":"nobody","to":"nobody-else","channel":"email","outcome":"interested"}}"#.to_owned(),
    );
    let file = cli.path("bad.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let err = cli.fails(
        &["import", "--db", &cli.db_arg(), &file.display().to_string()],
        "",
    );
    assert!(err.contains("line 6: data.from"), "{err}");
    assert_eq!(cli.head(), 0);
}

#[test]
fn verify_passes_on_the_demo_and_names_a_tampered_position() {
    let cli = Cli::new();
    let out = cli.ok(&["demo", "--no-serve"], "");
    assert!(out.contains("seeded the demo store"), "{out}");
    assert!(out.contains("sjdlr"), "{out}");
    let db = cli.path("passerelle-demo.db");
    let db_arg = db.display().to_string();
    let ok = cli.ok(&["verify", "--db", &db_arg], "");
    assert!(ok.contains("342 events verified"), "{ok}");

    // A second demo run leaves an existing store as it is.
    let again = cli.ok(&["demo", "--no-serve"], "");
    assert!(again.contains("using the existing demo store"), "{again}");

    // The store refuses edits...
    let conn = rusqlite::Connection::open(&db).unwrap();
    let refused = conn.execute("UPDATE events SET recorded_by = 'x' WHERE position = 1", []);
    assert!(refused.is_err(), "an UPDATE was allowed");
    let refused = conn.execute("DELETE FROM events WHERE position = 1", []);
    assert!(refused.is_err(), "a DELETE was allowed");
    drop(conn);

    // ...and with the triggers dropped, one changed byte is found.
    tamper(
        &db,
        "DROP TRIGGER events_no_update;
         UPDATE events SET data = replace(data, '\"kind\":\"', '\"kind\":\" ') WHERE position = 42;",
    );
    let err = cli.fails(&["verify", "--db", &db_arg], "");
    assert!(err.contains("position 42"), "{err}");
}

/// A demo store in a fresh folder.
fn demo() -> (Cli, String) {
    let cli = Cli::new();
    cli.ok(&["demo", "--no-serve"], "");
    let db = cli.path("passerelle-demo.db").display().to_string();
    (cli, db)
}

#[test]
fn gaps_on_the_demo_report_the_story_with_evidence() {
    let (cli, db) = demo();
    let text = cli.ok(&["gaps", "--db", &db, "--programme", "sjdlr"], "");
    for id in [
        "uncovered_need/need-nursery",
        "uncovered_need/need-interpreting",
        "single_point_of_failure/sj-champions+sj-women-chaises+sj-women-salmoneries",
        "stalled_outreach/sj-employers+sj-employment",
        "dormant_tie/pt-ccas-housing",
        "suggested_introduction/sj-french-assoc+sj-french-school",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    assert!(
        text.starts_with("Gap report for Saint-Jean-de-la-Ruelle (sjdlr)"),
        "{text}"
    );

    let json: Value = serde_json::from_str(&cli.ok(
        &[
            "gaps",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--format",
            "json",
        ],
        "",
    ))
    .unwrap();
    assert_eq!(json["position"], 342);
    let exported: String = cli.ok(&["export", "--db", &db], "");
    let findings = json["findings"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    for k in [
        "uncovered_need",
        "single_point_of_failure",
        "stalled_outreach",
        "dormant_tie",
        "suggested_introduction",
    ] {
        assert!(kinds.contains(k), "no {k} finding");
    }
    for f in findings {
        assert!(
            ["high", "medium", "low"].contains(&f["severity"].as_str().unwrap()),
            "{f}"
        );
        assert!(!f["explanation"]["en"].as_str().unwrap().is_empty());
        assert!(!f["explanation"]["fr"].as_str().unwrap().is_empty());
        assert!(!f["suggestion"]["en"].as_str().unwrap().is_empty());
        assert!(!f["subjects"].as_array().unwrap().is_empty());
        for e in f["evidence"].as_array().unwrap() {
            assert!(
                exported.contains(e.as_str().unwrap()),
                "evidence {e} is not an event"
            );
        }
    }
    let french = cli.ok(
        &["gaps", "--db", &db, "--programme", "sjdlr", "--lang", "fr"],
        "",
    );
    assert!(french.contains("Rapport des manques"), "{french}");
}

#[test]
fn finding_ids_are_stable_across_as_of_times() {
    let (cli, db) = demo();
    let ids = |args: &[&str]| -> std::collections::BTreeSet<String> {
        let mut all = vec![
            "gaps",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--format",
            "json",
        ];
        all.extend_from_slice(args);
        let v: Value = serde_json::from_str(&cli.ok(&all, "")).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let latest = ids(&[]);
    let earlier = ids(&["--as-of", "2022-06-01"]);
    assert!(latest.contains("uncovered_need/need-nursery"));
    assert!(earlier.contains("uncovered_need/need-nursery"));
    // Before the needs were declared, there is no such finding.
    let before = ids(&["--as-of", "2021-01-15"]);
    assert!(
        !before.iter().any(|i| i.starts_with("uncovered_need/")),
        "{before:?}"
    );
    let by_position = ids(&["--position", "10"]);
    assert!(by_position.len() < latest.len());
}

#[test]
fn gaps_ask_which_programme_when_there_are_several() {
    let (cli, db) = demo();
    let err = cli.fails(&["gaps", "--db", &db], "");
    assert!(err.contains("brussels, sjdlr"), "{err}");
    let err = cli.fails(&["gaps", "--db", &db, "--programme", "nowhere"], "");
    assert!(err.contains("no programme \"nowhere\""), "{err}");
    let err = cli.fails(
        &[
            "gaps",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--as-of",
            "May 2021",
        ],
        "",
    );
    assert!(err.contains("--as-of"), "{err}");
}

#[test]
fn network_json_has_metrics_positions_and_tie_strengths() {
    let (cli, db) = demo();
    let v: Value = serde_json::from_str(&cli.ok(
        &[
            "network",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--format",
            "json",
        ],
        "",
    ))
    .unwrap();
    assert_eq!(v["position"], 342);
    let nodes = v["nodes"].as_array().unwrap();
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(nodes.len(), 38);
    assert!(!edges.is_empty());
    for n in nodes {
        for k in [
            "degree",
            "weighted_degree",
            "betweenness",
            "closeness",
            "eigenvector",
            "core_number",
            "community",
            "component",
        ] {
            assert!(n[k].is_number(), "node {} lacks {k}", n["id"]);
        }
        assert!(n["x"].as_f64().unwrap().is_finite() && n["y"].as_f64().unwrap().is_finite());
    }
    let ids: std::collections::BTreeSet<&str> =
        nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    for e in edges {
        let s = e["strength"].as_f64().unwrap();
        assert!(s > 0.0 && s <= 1.0, "strength {s}");
        assert!(e["component"].is_number());
        assert!(ids.contains(e["a"].as_str().unwrap()) && ids.contains(e["b"].as_str().unwrap()));
    }
    assert!(v["metrics"]["articulation_points"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "sj-champions"));
    assert_eq!(v["metrics"]["betweenness"], "exact");
}

#[test]
fn diff_around_the_study_visit_shows_ties_gained() {
    let (cli, db) = demo();
    let v: Value = serde_json::from_str(&cli.ok(
        &[
            "diff",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--milestone",
            "ms-study-visit-brussels",
            "--format",
            "json",
        ],
        "",
    ))
    .unwrap();
    assert!(!v["ties_added"].as_array().unwrap().is_empty(), "{v}");
    let text = cli.ok(
        &[
            "diff",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--from",
            "2021-01-01",
            "--to",
            "2022-02-07",
        ],
        "",
    );
    assert!(text.contains("ties gained"), "{text}");
    let err = cli.fails(
        &[
            "diff",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--from",
            "2022-02-07",
            "--to",
            "2021-01-01",
        ],
        "",
    );
    assert!(err.contains("must not be later"), "{err}");
    let err = cli.fails(
        &[
            "diff",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--milestone",
            "nope",
        ],
        "",
    );
    assert!(err.contains("no milestone"), "{err}");
}

#[test]
fn a_generated_log_imports_and_reports() {
    let cli = Cli::new();
    let log = cli.path("gen.jsonl").display().to_string();
    cli.ok(
        &[
            "generate",
            "--stakeholders",
            "60",
            "--events",
            "900",
            "--seed",
            "7",
            "-o",
            &log,
        ],
        "",
    );
    let again = cli.ok(
        &[
            "generate",
            "--stakeholders",
            "60",
            "--events",
            "900",
            "--seed",
            "7",
        ],
        "",
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        again,
        "generation is deterministic"
    );
    cli.ok(&["init", "--db", &cli.db_arg()], "");
    let out = cli.ok(&["import", "--db", &cli.db_arg(), &log], "");
    assert!(out.contains("imported 900 events"), "{out}");
    let v: Value =
        serde_json::from_str(&cli.ok(&["gaps", "--db", &cli.db_arg(), "--format", "json"], ""))
            .unwrap();
    assert_eq!(v["position"], 900);
    assert!(!v["findings"].as_array().unwrap().is_empty());
}
