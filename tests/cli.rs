//! The `passerelle` command as a coordinator uses it: each test runs the real
//! binary against a store in a temporary folder.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::*;

/// The store-level steps several tests share.
impl Cli {
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

    /// The key file `init` made for the store.
    fn key_file(&self) -> PathBuf {
        self.path("passerelle.db.key")
    }

    /// [`Cli::init_with_programme`], then a stakeholder with a contact
    /// person ([`PERSON`], [`EMAIL`]), a session and a participant
    /// ([`CODE`]) who attended it: 5 events.
    fn init_with_personal_data(&self) {
        self.init_with_programme();
        self.ok(
            &["record", "--db", &self.db_arg()],
            &format!(
                r#"[{{"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2021-01-11",
                      "data":{{"stakeholder":"sj-mdf","name":"Maison des Femmes","kind":"association",
                               "contact":{{"person":"{PERSON}","email":"{EMAIL}"}}}}}},
                    {{"type":"CoCreationSessionHeld","programme":"sjdlr","occurred_at":"2021-03-04",
                      "data":{{"session":"ses-1","title":"Listening session","level":"consult",
                               "stakeholders":["sj-mdf","sj-ccas"],
                               "beneficiaries":{{"total":6,"women":5,"men":1}}}}}},
                    {{"type":"ParticipantAttended","programme":"sjdlr","occurred_at":"2021-03-04",
                      "data":{{"session":"ses-1","participant":"{CODE}"}}}}]"#
            ),
        );
    }

    /// `passerelle erase` of `subject` in `sjdlr`.
    fn erase(&self, db: &str, subject: &str) -> Output {
        self.run(
            &[
                "erase",
                "--db",
                db,
                "--programme",
                "sjdlr",
                "--subject",
                subject,
                "--reason",
                "The person asked for erasure",
            ],
            "",
        )
    }

    /// The bytes of the store file and of its write-ahead log (an absent log
    /// reads as empty).
    fn snapshot(&self) -> (Vec<u8>, Vec<u8>) {
        let wal = self.path("passerelle.db-wal");
        (
            std::fs::read(self.db()).expect("the store file"),
            std::fs::read(&wal).unwrap_or_default(),
        )
    }
}

/// A contact person, an e-mail and a participant code no other text holds.
const PERSON: &str = "Océane Vasseur-Kaboré";
const EMAIL: &str = "oceane.vasseur@mdf.example.org";
const CODE: &str = "PQ-77-OCEANE";

/// The head hash `verify` prints.
fn head_hash(verified: &str) -> String {
    verified
        .rsplit("head hash ")
        .next()
        .expect("a head hash")
        .trim()
        .to_owned()
}

fn tamper(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).expect("open sqlite");
    conn.execute_batch(sql).expect("tamper");
}

#[test]
fn every_command_has_help() {
    let cli = Cli::new();
    for cmd in [
        "init",
        "record",
        "import",
        "export",
        "verify",
        "demo",
        "gaps",
        "network",
        "diff",
        "generate",
        "serve",
        "token",
        "erase",
        "subject-access",
        "keys",
        "keys status",
        "keys rotate",
        "copy",
    ] {
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.push("--help");
        let out = cli.ok(&args, "");
        assert!(out.contains("Usage: passerelle"), "{cmd} --help: {out}");
        if !["demo", "generate", "token", "keys", "copy"].contains(&cmd) {
            assert!(
                out.contains("--db <PATH|URL>"),
                "{cmd} --help lacks --db: {out}"
            );
            assert!(
                out.contains("PASSERELLE_DB"),
                "{cmd} --help lacks the env: {out}"
            );
        }
    }
    // What an export with keys reveals, said where the flag is.
    let export = cli.ok(&["export", "--help"], "");
    assert!(
        export.contains("wrapped by this store's master key"),
        "{export}"
    );
    assert!(
        export.contains("the export alone reveals no personal data"),
        "{export}"
    );
}

#[test]
fn a_bad_store_location_is_refused_without_repeating_it() {
    let cli = Cli::new();
    for (db, says) in [
        (
            "postgres://app:s3cretPW@db.example:99999/p",
            "invalid port number",
        ),
        (
            "mysql://app:s3cretPW@db.example/p",
            "mysql:// is not a store",
        ),
        ("", "an empty store location"),
    ] {
        let out = cli.run(&["verify", "--db", db], "");
        assert_eq!(out.status.code(), Some(2), "{db}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{db}: {err}");
        assert!(err.contains("--db"), "{err}");
        assert!(!err.contains("s3cretPW"), "the password is repeated: {err}");
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
fn record_refuses_repeated_keys_hidden_texts_and_dates_out_of_their_window() {
    let cli = Cli::new();
    cli.init_with_programme();
    let ahead = (chrono::Utc::now() + chrono::TimeDelta::days(2)).format("%Y-%m-%d");
    let need = |occurred_at: &str, action: &str| {
        format!(
            r#"{{"type":"NeedDeclared","programme":"sjdlr","occurred_at":"{occurred_at}",
                "data":{{"need":"nursery","action":"{action}","theme":"childcare"}}}}"#
        )
    };
    for (input, field, rule) in [
        (
            need("2022-02-07", "Maison des Femmes").replace(
                r#""theme":"childcare""#,
                r#""theme":"childcare","theme":"housing""#,
            ),
            "data.theme",
            "is given twice",
        ),
        (
            need("2022-02-07", "\u{200B}\u{FEFF}"),
            "data.action",
            "invisible",
        ),
        (
            need("2022-02-07", "Maison \u{202E}semmeF"),
            "data.action",
            "U+202E",
        ),
        (
            need("1899-12-31", "Maison des Femmes"),
            "occurred_at",
            "1900-01-01",
        ),
        (
            need("0000-01-01", "Maison des Femmes"),
            "occurred_at",
            "1900-01-01",
        ),
        (
            need(&ahead.to_string(), "Maison des Femmes"),
            "occurred_at",
            "server's clock",
        ),
    ] {
        let err = cli.fails(&["record", "--db", &cli.db_arg()], &input);
        assert!(err.contains(&format!("{field}: ")), "{field}: {err}");
        assert!(err.contains(rule), "{rule}: {err}");
        assert!(err.contains("nothing was recorded"), "{err}");
    }
    assert_eq!(cli.head(), 2);
}

#[test]
fn view_dates_before_1900_name_their_flag() {
    let cli = Cli::new();
    cli.init_with_programme();
    let err = cli.fails(
        &["network", "--db", &cli.db_arg(), "--as-of", "1899-12-31"],
        "",
    );
    assert!(
        err.contains("--as-of") && err.contains("1900-01-01"),
        "{err}"
    );
    let err = cli.fails(
        &[
            "diff",
            "--db",
            &cli.db_arg(),
            "--from",
            "0000-01-01",
            "--to",
            "2022-01-01",
        ],
        "",
    );
    assert!(
        err.contains("--from") && err.contains("1900-01-01"),
        "{err}"
    );
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
    let db = cli.db_arg();
    for args in [
        vec!["verify", "--db", &db],
        vec!["record", "--db", &db],
        vec![
            "erase",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/x",
            "--reason",
            "r",
        ],
        vec![
            "subject-access",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/x",
        ],
        vec!["keys", "status", "--db", &db],
    ] {
        let err = cli.fails(
            &args,
            r#"{"type":"ProgrammeDefined","programme":"sjdlr","occurred_at":"2020-11-16",
                "data":{"programme":"sjdlr","name":"Saint-Jean-de-la-Ruelle"}}"#,
        );
        assert!(err.contains("passerelle init"), "{args:?}: {err}");
    }
    assert!(!cli.db().exists());
    assert!(!cli.key_file().exists());
}

#[test]
fn import_export_import_keeps_events_ids_and_order() {
    let cli = Cli::new();
    let demo = cli.path("demo.jsonl");
    std::fs::write(&demo, passerelle::demo::DEMO_JSONL).unwrap();
    let first = cli.path("first.db").display().to_string();
    let second = cli.path("second.db").display().to_string();
    let first_key = cli.path("first.db.key").display().to_string();
    cli.ok(&["init", "--db", &first], "");
    let out = cli.ok(&["import", "--db", &first, &demo.display().to_string()], "");
    assert!(out.contains("imported 364 events"), "{out}");
    // The demo's contacts and participants came in clear and were sealed.
    assert!(out.contains("a new chain"), "{out}");

    let plain = cli.path("plain.jsonl");
    let plain_arg = plain.display().to_string();
    cli.ok(
        &[
            "export", "--db", &first, "--format", "jsonl", "-o", &plain_arg,
        ],
        "",
    );
    let exported = std::fs::read_to_string(&plain).unwrap();
    // Sealed as stored: no personal value of the demo in clear.
    assert!(!exported.contains("ccas@example.org"));
    assert!(!exported.contains("\"participant\":\"sj-p001\""));

    // Into the same store: every event is already there.
    let out = cli.ok(&["import", "--db", &first, &plain_arg], "");
    assert!(
        out.contains("imported 0 events (364 already present)"),
        "{out}"
    );
    assert!(!out.contains("new chain"), "{out}");

    // Into another store without the keys: refused, naming the line and the
    // field, and nothing is imported.
    cli.ok(&["init", "--db", &second], "");
    let err = cli.fails(&["import", "--db", &second, &plain_arg], "");
    assert!(err.contains("line 2: data.contact.person"), "{err}");
    assert!(err.contains("--with-keys"), "{err}");
    assert_eq!(cli.ok(&["export", "--db", &second], "").lines().count(), 0);

    // With the keys it carries over: ids, order, positions, provenance and
    // the stored (sealed) bytes, so the same hash chain.
    let with_keys = cli.path("with-keys.jsonl").display().to_string();
    cli.ok(
        &["export", "--db", &first, "--with-keys", "-o", &with_keys],
        "",
    );
    let out = cli.ok(
        &[
            "import",
            "--db",
            &second,
            &with_keys,
            "--source-key-file",
            &first_key,
        ],
        "",
    );
    assert!(out.contains("imported 364 events"), "{out}");
    assert!(!out.contains("new chain"), "{out}");
    let again = cli.ok(&["export", "--db", &second], "");
    assert_eq!(exported, again);
    assert_eq!(
        head_hash(&cli.ok(&["verify", "--db", &first], "")),
        head_hash(&cli.ok(&["verify", "--db", &second], ""))
    );

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
        &[
            "import",
            "--db",
            &second,
            &with_keys,
            "--source-key-file",
            &first_key,
        ],
        "",
    );
    assert!(
        out.contains("imported 0 events (364 already present)"),
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

/// The arguments of a small generated log (60 stakeholders, 900 events).
const GENERATE: [&str; 7] = [
    "generate",
    "--stakeholders",
    "60",
    "--events",
    "900",
    "--seed",
    "7",
];

/// Writes the log of [`GENERATE`] to `gen.jsonl` in `cli`'s directory; its path.
fn generated_log(cli: &Cli) -> String {
    let log = cli.path("gen.jsonl").display().to_string();
    let mut args = GENERATE.to_vec();
    args.extend(["-o", log.as_str()]);
    cli.ok(&args, "");
    log
}

#[test]
fn an_import_of_many_batches_keeps_the_batches_before_a_bad_line_and_nothing_after() {
    let source = Cli::new();
    let log = generated_log(&source);
    let good: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(good.len(), 900);
    let id = |line: &str| serde_json::from_str::<Value>(line).unwrap()["id"].clone();
    // Line 10's id on line 650, with line 650's body: the ledger takes it
    // for a retry, the store refuses it while the next batch is queued.
    let mut reused: Value = serde_json::from_str(&good[649]).unwrap();
    reused["id"] = id(&good[9]);
    let cases = [
        (
            449,
            r#"{"type":"OutreachContactLogged","programme":"gen","occurred_at":"2021-01-01","data":{"from":"nobody","to":"nobody-else","channel":"email","outcome":"interested"}}"#.to_owned(),
            "line 450: data.from",
            400,
        ),
        (249, "{\"type\": ".to_owned(), "line 250: not valid JSON", 200),
        (
            649,
            reused.to_string(),
            "lines 601–700: event id",
            600,
        ),
    ];
    for (index, bad, expected, kept) in cases {
        let cli = Cli::new();
        cli.ok(&["init", "--db", &cli.db_arg()], "");
        let mut lines = good.clone();
        lines[index] = bad;
        let file = cli.path("bad.jsonl");
        std::fs::write(&file, lines.join("\n")).unwrap();
        let file = file.display().to_string();
        let args = ["import", "--db", &cli.db_arg(), "--batch", "100", &file];
        let err = cli.fails(&args, "");
        assert!(err.contains(expected), "{expected}: {err}");
        assert!(
            err.contains(&format!(
                "{kept} events imported before this error are kept"
            )),
            "{err}"
        );
        let stored: Vec<Value> = cli
            .ok(&["export", "--db", &cli.db_arg()], "")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(stored.len(), kept, "{expected}");
        for (e, line) in stored.iter().zip(&good) {
            assert_eq!(e["id"], id(line));
        }
        // The whole log again: what was kept is present, the rest is added.
        let out = cli.ok(
            &["import", "--db", &cli.db_arg(), "--batch", "100", &log],
            "",
        );
        assert!(
            out.contains(&format!(
                "imported {} events ({kept} already present)",
                900 - kept
            )),
            "{out}"
        );
        cli.ok(&["verify", "--db", &cli.db_arg()], "");
    }
}

#[test]
fn import_refuses_new_events_out_of_the_rules_and_names_their_line() {
    let cli = Cli::new();
    cli.init_with_programme();
    let contact = |occurred_at: &str, extra: &str| {
        format!(
            r#"{{"type":"OutreachContactLogged","programme":"sjdlr","occurred_at":"{occurred_at}","data":{{"from":"sj-ccas","to":"sj-deputy-mayor","channel":"email","outcome":"interested"{extra}}}}}"#
        )
    };
    let far = (chrono::Utc::now() + chrono::TimeDelta::days(6 * 366)).format("%Y-%m-%d");
    for (line, expected) in [
        (
            contact("2021-01-01", r#","channel":"phone""#),
            "line 2: data.channel: is given twice",
        ),
        (
            contact("1850-01-01", ""),
            "line 2: occurred_at: must be on or after 1900-01-01",
        ),
        (
            contact("2021-01-01", &format!(r#","follow_up_due":"{far}""#)),
            "line 2: data.follow_up_due: must lie between 1900-01-01 and 5 years",
        ),
    ] {
        let file = cli.path("new.jsonl");
        let first = passerelle::demo::DEMO_JSONL.lines().nth(2).unwrap();
        std::fs::write(&file, format!("{first}\n{line}\n")).unwrap();
        let err = cli.fails(
            &["import", "--db", &cli.db_arg(), &file.display().to_string()],
            "",
        );
        assert!(err.contains(expected), "{expected}: {err}");
        assert_eq!(cli.head(), 2);
    }
}

#[test]
fn an_export_recorded_before_the_rules_of_new_events_imports_verifies_and_exports() {
    let cli = Cli::new();
    cli.ok(&["init", "--db", &cli.db_arg()], "");
    let old = [
        r#"{"position":1,"stream":"sjdlr/programme","version":1,"schema_version":1,"id":"6f1f7f0e-0000-4000-8000-000000000001","type":"ProgrammeDefined","programme":"sjdlr","occurred_at":"1850-06-01T00:00:00Z","data":{"programme":"sjdlr","name":"Saint-Jean"},"recorded_at":"2021-01-01T00:00:00.000000Z","recorded_by":"coordinator"}"#,
        "{\"position\":2,\"stream\":\"sjdlr/stakeholder/bapa\",\"version\":1,\"schema_version\":1,\"id\":\"6f1f7f0e-0000-4000-8000-000000000002\",\"type\":\"StakeholderRegistered\",\"programme\":\"sjdlr\",\"occurred_at\":\"2021-01-02T00:00:00Z\",\"data\":{\"stakeholder\":\"bapa\",\"name\":\"BAPA \u{202E}OSSA\",\"kind\":\"association\"},\"recorded_at\":\"2021-01-02T00:00:00.000000Z\",\"recorded_by\":\"coordinator\"}",
    ];
    let file = cli.path("old.jsonl");
    std::fs::write(&file, old.join("\n")).unwrap();
    cli.ok(
        &["import", "--db", &cli.db_arg(), &file.display().to_string()],
        "",
    );
    cli.ok(&["verify", "--db", &cli.db_arg()], "");
    let exported = cli.ok(&["export", "--db", &cli.db_arg()], "");
    assert!(exported.contains("1850-06-01T00:00:00Z"), "{exported}");
    assert!(exported.contains('\u{202E}'), "{exported}");
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
    assert!(ok.contains("364 events verified"), "{ok}");

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
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    // The dormant partnership, alone or merged with others of the same
    // stakeholder into one finding.
    assert!(
        text.lines().any(|l| l.starts_with('[')
            && l.contains("dormant_tie/")
            && l.split(['/', '+']).any(|part| part == "pt-ccas-housing")),
        "dormant_tie with pt-ccas-housing missing from:\n{text}"
    );
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
    assert_eq!(json["position"], 364);
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
    assert!(french.contains("Diagnostic partenarial"), "{french}");
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
    // Once ten events were recorded, nobody was tied yet and no need declared.
    let by_position = ids(&["--position", "10"]);
    assert!(
        by_position.contains("isolated_stakeholder/sj-ccas"),
        "{by_position:?}"
    );
    assert!(!latest.contains("isolated_stakeholder/sj-ccas"));
    assert!(!by_position.iter().any(|i| i.starts_with("uncovered_need/")));
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
    assert_eq!(v["position"], 364);
    let nodes = v["nodes"].as_array().unwrap();
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(nodes.len(), 41);
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
    let diff_in = |lang: &str| {
        let args = ["--from", "2021-01-01", "--to", "2022-02-07", "--lang", lang];
        let mut all = vec!["diff", "--db", &db, "--programme", "sjdlr"];
        all.extend(args);
        cli.ok(&all, "")
    };
    let text = diff_in("en");
    assert!(text.contains("Ties gained"), "{text}");
    let french = diff_in("fr");
    assert!(french.contains("Liens gagnés"), "{french}");
    assert!(
        french.starts_with("sjdlr\u{202F}: du 1er janvier 2021 au 7 février 2022"),
        "{french}"
    );
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
    let log = generated_log(&cli);
    let again = cli.ok(&GENERATE, "");
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

/// Batches in flight seal a subject under the key an unfinished batch ahead
/// of them made: one key per subject, as in one batch, and every field opens.
#[test]
fn an_import_in_small_batches_makes_one_key_per_subject_and_every_field_opens() {
    let cli = Cli::new();
    let log = generated_log(&cli);
    let keys_made = |batch: &str| {
        let store = Cli::new();
        let db = store.db_arg();
        store.ok(&["init", "--db", &db], "");
        store.ok(&["import", "--db", &db, "--batch", batch, &log], "");
        let keys = store.path("keys.jsonl").display().to_string();
        let out = store.succeeds(&["export", "--db", &db, "--with-keys", "-o", &keys], "");
        let said = String::from_utf8(out.stderr).unwrap();
        let clear = store.ok(
            &[
                "export",
                "--db",
                &db,
                "--decrypt",
                "--yes-include-personal-data",
            ],
            "",
        );
        (said, clear)
    };
    let (one_batch, _) = keys_made("100000");
    let (small_batches, clear) = keys_made("7");
    let count = |said: &str| {
        said.split(" data keys")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no key count in {said}"))
    };
    assert!(count(&one_batch) > 10, "{one_batch}");
    assert_eq!(count(&small_batches), count(&one_batch), "{small_batches}");
    let given: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let opened: Vec<Value> = clear
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(opened.len(), given.len());
    for (g, o) in given.iter().zip(&opened) {
        assert_eq!((&g["id"], &g["data"]), (&o["id"], &o["data"]));
    }
}

#[test]
fn erase_destroys_a_subjects_key_once_and_refuses_what_it_cannot_erase() {
    let cli = Cli::new();
    cli.init_with_personal_data();
    let db = cli.db_arg();
    assert_eq!(cli.head(), 5);

    let out = cli.erase(&db, "contact:sj-mdf");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.contains("the contact person of stakeholder sj-mdf (contact:sjdlr/sj-mdf)"),
        "{said}"
    );
    assert!(said.contains("data key k_"), "{said}");
    assert!(said.contains("recorded at log position 6"), "{said}");
    assert_eq!(cli.head(), 6);

    // Twice: said, and nothing appended.
    let err = cli.refused(&[
        "erase",
        "--db",
        &db,
        "--subject",
        "contact:sjdlr/sj-mdf",
        "--reason",
        "again",
    ]);
    assert!(err.contains("already erased (log position 6)"), "{err}");
    assert!(err.contains("nothing was appended"), "{err}");
    assert_eq!(cli.head(), 6);

    // A participant, in the full form; its code is never printed back.
    let out = cli.succeeds(
        &[
            "erase",
            "--db",
            &db,
            "--subject",
            &format!("participant:sjdlr/{CODE}"),
            "--reason",
            "Asked at the Maison des Femmes",
            "--actor",
            "dpo-sjdlr",
        ],
        "",
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("erased the participant"), "{said}");
    assert!(
        said.contains("recorded at log position 7 by dpo-sjdlr"),
        "{said}"
    );
    assert!(!said.contains(CODE), "{said}");
    let log = cli.ok(&["export", "--db", &db], "");
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "PersonalDataErased");
    assert_eq!(last["recorded_by"], "dpo-sjdlr");
    assert_eq!(last["data"]["reason"], "Asked at the Maison des Femmes");
    let erased = last["data"]["subject"].as_str().unwrap();
    assert!(erased.starts_with("participant:sjdlr/k_"), "{erased}");
    assert!(!log.contains(CODE));

    // An erased participant leaves no trace of its code: not found.
    let err = cli.refused(&[
        "erase",
        "--db",
        &db,
        "--programme",
        "sjdlr",
        "--subject",
        &format!("participant:{CODE}"),
        "--reason",
        "again",
    ]);
    assert!(err.contains("no personal data is held"), "{err}");
    assert!(!err.contains(CODE), "{err}");
    // Unknown subjects.
    let err = cli.refused(&[
        "erase",
        "--db",
        &db,
        "--programme",
        "sjdlr",
        "--subject",
        "contact:sj-ccas",
        "--reason",
        "no contact was ever recorded",
    ]);
    assert!(
        err.contains("no personal data is held for contact:sjdlr/sj-ccas"),
        "{err}"
    );
    assert_eq!(cli.head(), 7);

    // Bad arguments: named, nothing appended.
    let err = cli.refused(&[
        "erase",
        "--db",
        &db,
        "--programme",
        "brussels",
        "--subject",
        "contact:sjdlr/sj-mdf",
        "--reason",
        "x",
    ]);
    assert!(err.contains("--subject"), "{err}");
    assert!(err.contains("\"brussels\""), "{err}");
    let err = cli.refused(&["erase", "--db", &db, "--subject", "sj-mdf", "--reason", "x"]);
    assert!(err.contains("contact:PROGRAMME/STAKEHOLDER"), "{err}");
    let long = "x".repeat(1001);
    for reason in ["  ", long.as_str()] {
        let err = cli.refused(&[
            "erase",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/sj-mdf",
            "--reason",
            reason,
        ]);
        assert!(err.contains("--reason"), "{err}");
    }
    let err = cli.fails(
        &["erase", "--db", &db, "--subject", "contact:sjdlr/sj-mdf"],
        "",
    );
    assert!(err.contains("--reason"), "{err}");
    assert_eq!(cli.head(), 7);
    assert!(cli
        .ok(&["verify", "--db", &db], "")
        .contains("7 events verified"));
}

#[test]
fn subject_access_answers_with_the_subjects_events_opened() {
    let cli = Cli::new();
    cli.init_with_personal_data();
    let db = cli.db_arg();

    let contact: Value = serde_json::from_str(&cli.ok(
        &[
            "subject-access",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/sj-mdf",
        ],
        "",
    ))
    .unwrap();
    assert_eq!(contact["subject"], "contact:sjdlr/sj-mdf");
    assert!(contact["key"].as_str().unwrap().starts_with("k_"));
    assert_eq!(contact["position"], 5);
    assert!(contact["generated_at"].as_str().unwrap().ends_with('Z'));
    let events = contact["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "StakeholderRegistered");
    assert_eq!(events[0]["data"]["contact"]["person"], PERSON);
    assert_eq!(events[0]["data"]["contact"]["email"], EMAIL);

    // To a file: readable by its owner only, also when it existed before.
    let file = cli.path("access.json");
    std::fs::write(&file, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = cli.succeeds(
        &[
            "subject-access",
            "--db",
            &db,
            "--programme",
            "sjdlr",
            "--subject",
            &format!("participant:{CODE}"),
            "-o",
            &file.display().to_string(),
        ],
        "",
    );
    assert!(out.stdout.is_empty());
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let participant: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(participant["subject"], format!("participant:sjdlr/{CODE}"));
    assert_ne!(participant["key"], contact["key"]);
    let events = participant["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ParticipantAttended");
    assert_eq!(events[0]["data"]["participant"], CODE);

    // Nothing held: exit 1, and no file made.
    let missing = cli.path("missing.json");
    let err = cli.refused(&[
        "subject-access",
        "--db",
        &db,
        "--subject",
        "participant:sjdlr/NOBODY-1",
        "-o",
        &missing.display().to_string(),
    ]);
    assert!(err.contains("no personal data is held"), "{err}");
    assert!(!err.contains("NOBODY-1"), "{err}");
    assert!(!missing.exists());
    let err = cli.refused(&[
        "subject-access",
        "--db",
        &db,
        "--subject",
        "contact:brussels/sj-mdf",
    ]);
    assert!(
        err.contains("no personal data is held for contact:brussels/sj-mdf"),
        "{err}"
    );
}

#[test]
fn a_wrong_or_missing_master_key_is_named_and_changes_no_byte_of_the_store() {
    let cli = Cli::new();
    cli.init_with_personal_data();
    let db = cli.db_arg();
    let before = cli.snapshot();
    assert!(
        !before.1.is_empty(),
        "the appends are in the write-ahead log"
    );
    let other = passerelle_events::MasterKey::generate().unwrap();
    let other = other.to_hex();
    let wrong = [("PASSERELLE_MASTER_KEY", other.as_str())];

    // serve: the port is taken, so a server that got past the key would
    // stop with another message instead of serving.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = cli.fails_env(&["serve", "--db", &db, "--addr", &addr], "", &wrong);
    assert!(err.contains("PASSERELLE_MASTER_KEY"), "{err}");
    assert!(err.contains("is not the key of the store"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(cli.snapshot() == before, "serve changed the store's files");

    let event = r#"{"type":"MilestoneMarked","programme":"sjdlr","occurred_at":"2022-02-07",
                    "data":{"milestone":"m-1","label":"Visit","kind":"mentoring_visit"}}"#;
    for args in [
        vec!["record", "--db", db.as_str()],
        vec![
            "erase",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/sj-mdf",
            "--reason",
            "r",
        ],
        vec![
            "subject-access",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/sj-mdf",
        ],
        vec!["keys", "status", "--db", &db],
        vec!["keys", "rotate", "--db", &db, "--new-key-file", "new.key"],
    ] {
        let err = cli.fails_env(&args, event, &wrong);
        assert!(err.contains("PASSERELLE_MASTER_KEY"), "{args:?}: {err}");
        assert!(
            cli.snapshot() == before,
            "{args:?} changed the store's files"
        );
    }
    assert!(!cli.path("new.key").exists());

    // A key file that is not there: its path is named.
    let gone = cli.path("elsewhere.key").display().to_string();
    let err = cli.fails_env(
        &["record", "--db", &db],
        event,
        &[("PASSERELLE_MASTER_KEY_FILE", &gone)],
    );
    assert!(
        err.contains(&format!("the key file {gone} does not exist")),
        "{err}"
    );
    let err = cli.fails_env(
        &["serve", "--db", &db, "--addr", &addr],
        "",
        &[("PASSERELLE_MASTER_KEY_FILE", &gone)],
    );
    assert!(
        err.contains(&format!("the key file {gone} does not exist")),
        "{err}"
    );
    assert!(cli.snapshot() == before, "serve changed the store's files");
    // The default key file, moved away.
    let key = cli.key_file();
    std::fs::rename(&key, cli.path("moved.key")).unwrap();
    let err = cli.fails(&["import", "--db", &db, "nothing.jsonl"], "");
    assert!(err.contains("cannot read nothing.jsonl"), "{err}");
    std::fs::write(cli.path("one.jsonl"), event).unwrap();
    let err = cli.fails(&["import", "--db", &db, "one.jsonl"], "");
    assert!(
        err.contains(&format!("the key file {} does not exist", key.display())),
        "{err}"
    );
    assert!(
        cli.snapshot() == before,
        "a refused import changed the store"
    );
    std::fs::rename(cli.path("moved.key"), &key).unwrap();

    // Reading needs no key: verify, the views and a plain export run on a
    // copy of the database alone.
    let copy = Cli::new();
    std::fs::write(copy.db(), &before.0).unwrap();
    std::fs::write(copy.path("passerelle.db-wal"), &before.1).unwrap();
    let copy_db = copy.db_arg();
    assert!(copy
        .ok(&["verify", "--db", &copy_db], "")
        .contains("5 events verified"));
    copy.ok(&["gaps", "--db", &copy_db], "");
    copy.ok(&["network", "--db", &copy_db], "");
    let exported = copy.ok(&["export", "--db", &copy_db], "");
    assert_eq!(exported.lines().count(), 5);
    assert!(!exported.contains(PERSON) && !exported.contains(CODE));
    let err = copy.fails(&["export", "--db", &copy_db, "--with-keys"], "");
    assert!(err.contains("no master key"), "{err}");

    // With its own key, the store works as before.
    cli.ok(&["record", "--db", &db], event);
    assert_eq!(cli.head(), 6);
}

#[test]
fn keys_rotate_rewraps_the_keys_and_only_the_new_key_opens_the_store() {
    let cli = Cli::new();
    cli.init_with_personal_data();
    let db = cli.db_arg();
    let key = cli.key_file();
    let old = cli.path("old.key");
    std::fs::copy(&key, &old).unwrap();
    let old_arg = old.display().to_string();
    let log_before = cli.ok(&["export", "--db", &db], "");

    let status = cli.ok(&["keys", "status", "--db", &db], "");
    let fingerprint = |s: &str| {
        s.split("fingerprint ")
            .nth(1)
            .and_then(|r| r.get(..16))
            .expect("a fingerprint")
            .to_owned()
    };
    let first = fingerprint(&status);
    assert!(
        status.contains(&format!("read from the key file {}", key.display())),
        "{status}"
    );
    assert!(status.contains("2 live, 0 destroyed"), "{status}");

    let out = cli.ok(&["keys", "rotate", "--db", &db], "");
    assert!(out.contains(&format!("fingerprint {first} -> ")), "{out}");
    assert!(out.contains("2 data keys wrapped again"), "{out}");
    let second = fingerprint(&cli.ok(&["keys", "status", "--db", &db], ""));
    assert_ne!(first, second);
    assert!(out.contains(&second), "{out}");
    assert_ne!(std::fs::read(&key).unwrap(), std::fs::read(&old).unwrap());
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
    assert!(!cli.path("passerelle.db.key.new").exists());
    // The log is untouched.
    assert_eq!(cli.ok(&["export", "--db", &db], ""), log_before);

    // The new key reads and writes...
    let event = |m: &str| {
        format!(
            r#"{{"type":"MilestoneMarked","programme":"sjdlr","occurred_at":"2022-02-07",
                "data":{{"milestone":"{m}","label":"Visit","kind":"mentoring_visit"}}}}"#
        )
    };
    cli.ok(&["record", "--db", &db], &event("m-1"));
    let access = cli.ok(
        &[
            "subject-access",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/sj-mdf",
        ],
        "",
    );
    assert!(access.contains(PERSON), "{access}");
    // ...and the old one does neither.
    let with_old = [("PASSERELLE_MASTER_KEY_FILE", old_arg.as_str())];
    let err = cli.fails_env(&["record", "--db", &db], &event("m-2"), &with_old);
    assert!(err.contains(&format!("the key file {old_arg}")), "{err}");
    assert!(
        err.contains(&format!("(fingerprint {first}) is not the key")),
        "{err}"
    );
    let err = cli.fails_env(
        &[
            "subject-access",
            "--db",
            &db,
            "--subject",
            "contact:sjdlr/sj-mdf",
        ],
        "",
        &with_old,
    );
    assert!(err.contains("is not the key of the store"), "{err}");
    assert_eq!(cli.head(), 6);

    // A key from the environment: the new key needs a file of its own, asked
    // for before anything changes.
    let current = std::fs::read_to_string(&key).unwrap();
    let env = [("PASSERELLE_MASTER_KEY", current.trim())];
    let err = cli.fails_env(&["keys", "rotate", "--db", &db], "", &env);
    assert!(err.contains("--new-key-file"), "{err}");
    assert!(err.contains("Nothing was changed"), "{err}");
    assert_eq!(
        fingerprint(&cli.ok(&["keys", "status", "--db", &db], "")),
        second
    );
    let new_file = cli.path("rotated.key");
    let new_arg = new_file.display().to_string();
    let out = cli.ok_env(
        &["keys", "rotate", "--db", &db, "--new-key-file", &new_arg],
        "",
        &env,
    );
    assert!(out.contains("set PASSERELLE_MASTER_KEY"), "{out}");
    #[cfg(unix)]
    assert_eq!(mode(&new_file), 0o600);
    let third_key = std::fs::read_to_string(&new_file).unwrap();
    cli.ok_env(
        &["record", "--db", &db],
        &event("m-3"),
        &[("PASSERELLE_MASTER_KEY", third_key.trim())],
    );
    cli.fails_env(&["record", "--db", &db], &event("m-4"), &env);
    let err = cli.fails_env(
        &["keys", "rotate", "--db", &db, "--new-key-file", &new_arg],
        "",
        &[("PASSERELLE_MASTER_KEY", third_key.trim())],
    );
    assert!(err.contains("exists already"), "{err}");

    // A rotation that stopped after the store changed but before the key
    // file was replaced: the next command finishes it.
    std::fs::rename(&new_file, cli.path("passerelle.db.key.new")).unwrap();
    let out = cli.succeeds(&["record", "--db", &db], &event("m-5"));
    let note = String::from_utf8(out.stderr).unwrap();
    assert!(note.contains("a key rotation was interrupted"), "{note}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), third_key);
    assert!(!cli.path("passerelle.db.key.new").exists());
    assert_eq!(cli.head(), 8);
    assert!(cli
        .ok(&["verify", "--db", &db], "")
        .contains("8 events verified"));
}

#[test]
fn export_with_keys_carries_the_data_to_a_store_with_another_master_key() {
    let cli = Cli::new();
    cli.init_with_personal_data();
    let db = cli.db_arg();
    assert!(cli
        .erase(&db, &format!("participant:{CODE}"))
        .status
        .success());
    let key_arg = cli.key_file().display().to_string();

    let file = cli.path("with-keys.jsonl");
    let file_arg = file.display().to_string();
    cli.ok(&["export", "--db", &db, "--with-keys", "-o", &file_arg], "");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(cli.ok(&["export", "--db", &db, "--with-keys"], ""), text);
    assert!(!text.contains(PERSON) && !text.contains(EMAIL) && !text.contains(CODE));
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let keys = &header["passerelle_keys"];
    assert_eq!(keys["version"], 1);
    let status = cli.ok(&["keys", "status", "--db", &db], "");
    assert!(
        status.contains(keys["fingerprint"].as_str().unwrap()),
        "{status} / {keys}"
    );
    let carried = keys["keys"].as_array().unwrap();
    assert_eq!(
        carried.len(),
        1,
        "the contact's key; the participant's is destroyed"
    );
    for field in ["id", "wrapped", "subject"] {
        assert!(carried[0][field].is_string(), "{field}: {keys}");
    }
    assert_eq!(keys["erased"].as_array().unwrap().len(), 1);
    assert_eq!(text.lines().count(), 1 + 6);
    // A programme's export carries only the keys its events use.
    let brussels = cli.ok(
        &[
            "export",
            "--db",
            &db,
            "--with-keys",
            "--programme",
            "brussels",
        ],
        "",
    );
    assert_eq!(
        brussels.trim(),
        format!(
            r#"{{"passerelle_keys":{{"version":1,"fingerprint":{},"keys":[],"erased":[]}}}}"#,
            keys["fingerprint"]
        )
    );

    let other = Cli::new();
    let other_db = other.db_arg();
    other.ok(&["init", "--db", &other_db], "");
    let other_key = other.key_file().display().to_string();
    // Without the exporting store's key, or with another: nothing imported.
    let err = other.fails(&["import", "--db", &other_db, &file_arg], "");
    assert!(err.contains("--source-key-file"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let err = other.fails(
        &[
            "import",
            "--db",
            &other_db,
            &file_arg,
            "--source-key-file",
            &other_key,
        ],
        "",
    );
    assert!(err.contains("give the exporting store's key file"), "{err}");
    assert!(other
        .ok(&["keys", "status", "--db", &other_db], "")
        .contains("0 live, 0 destroyed"));
    assert_eq!(other.head(), 0);

    let out = other.ok(
        &[
            "import",
            "--db",
            &other_db,
            &file_arg,
            "--source-key-file",
            &key_arg,
        ],
        "",
    );
    assert!(
        out.contains("1 data keys and 1 ids of destroyed keys"),
        "{out}"
    );
    assert!(out.contains("imported 6 events"), "{out}");
    assert!(!out.contains("new chain"), "{out}");
    assert_eq!(
        other.ok(&["export", "--db", &other_db], ""),
        cli.ok(&["export", "--db", &db], "")
    );
    assert_eq!(
        head_hash(&other.ok(&["verify", "--db", &other_db], "")),
        head_hash(&cli.ok(&["verify", "--db", &db], ""))
    );
    // The contact opens there; the erased participant stays erased.
    let access: Value = serde_json::from_str(&other.ok(
        &[
            "subject-access",
            "--db",
            &other_db,
            "--subject",
            "contact:sjdlr/sj-mdf",
        ],
        "",
    ))
    .unwrap();
    assert_eq!(access["events"][0]["data"]["contact"]["person"], PERSON);
    assert_eq!(access["key"], carried[0]["id"]);
    other.refused(&[
        "subject-access",
        "--db",
        &other_db,
        "--subject",
        &format!("participant:sjdlr/{CODE}"),
    ]);
    // The carried key is the store's own now: it can be erased there.
    assert!(other.erase(&other_db, "contact:sj-mdf").status.success());
}

#[test]
fn export_decrypt_needs_a_confirmation_and_imports_as_a_new_chain() {
    let cli = Cli::new();
    cli.init_with_personal_data();
    let db = cli.db_arg();
    assert!(cli
        .erase(&db, &format!("participant:{CODE}"))
        .status
        .success());

    let file = cli.path("clear.jsonl");
    let file_arg = file.display().to_string();
    let err = cli.refused(&["export", "--db", &db, "--decrypt", "-o", &file_arg]);
    assert!(err.contains("--yes-include-personal-data"), "{err}");
    assert!(err.contains("Nothing was written"), "{err}");
    assert!(!file.exists());
    let err = cli.fails(&["export", "--db", &db, "--decrypt", "--with-keys"], "");
    assert!(err.contains("cannot be used with"), "{err}");

    let out = cli.succeeds(
        &[
            "export",
            "--db",
            &db,
            "--decrypt",
            "--yes-include-personal-data",
            "-o",
            &file_arg,
        ],
        "",
    );
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(said.contains("2 personal fields in clear"), "{said}");
    assert!(
        said.contains("1 fields of erased subjects left sealed"),
        "{said}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Only the destroyed key's id: no key, no fingerprint.
    let keys = lines[0]["passerelle_keys"].as_object().unwrap();
    assert_eq!(keys.keys().collect::<Vec<_>>(), ["version", "erased"]);
    assert_eq!(lines[3]["data"]["contact"]["person"], PERSON);
    assert_eq!(lines[3]["data"]["contact"]["email"], EMAIL);
    let participant = &lines[5]["data"]["participant"];
    assert_eq!(participant["key"], keys["erased"][0], "{participant}");
    assert!(participant["sealed"].is_string());
    assert!(!text.contains(CODE));

    let other = Cli::new();
    let other_db = other.db_arg();
    other.ok(&["init", "--db", &other_db], "");
    let out = other.ok(&["import", "--db", &other_db, &file_arg], "");
    assert!(out.contains("imported 6 events"), "{out}");
    assert!(
        out.contains(
            "1 of the imported events carried personal fields in clear (the first on line 4)"
        ),
        "{out}"
    );
    assert!(out.contains("a new chain"), "{out}");
    assert_ne!(
        head_hash(&other.ok(&["verify", "--db", &other_db], "")),
        head_hash(&cli.ok(&["verify", "--db", &db], ""))
    );
    let stored = other.ok(&["export", "--db", &other_db], "");
    assert!(!stored.contains(PERSON) && !stored.contains(EMAIL));
    let access = other.ok(
        &[
            "subject-access",
            "--db",
            &other_db,
            "--subject",
            "contact:sjdlr/sj-mdf",
        ],
        "",
    );
    assert!(access.contains(PERSON), "{access}");
    // Again: all there, nothing sealed anew.
    let out = other.ok(&["import", "--db", &other_db, &file_arg], "");
    assert!(
        out.contains("imported 0 events (6 already present)"),
        "{out}"
    );
    assert!(!out.contains("new chain"), "{out}");
}

#[test]
fn a_store_of_schema_1_exports_without_a_key_and_imports_sealed() {
    let cli = Cli::new();
    cli.init_with_programme();
    let db = cli.db_arg();
    cli.ok(
        &["record", "--db", &db],
        r#"{"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2021-01-11",
            "data":{"stakeholder":"sj-mdf","name":"Maison des Femmes","kind":"association"}}"#,
    );
    // What an earlier version left: personal data in clear, no key table.
    tamper(
        &cli.db(),
        &format!(
            r#"DROP TRIGGER events_no_update;
               UPDATE events SET data = '{{"stakeholder":"sj-mdf","name":"Maison des Femmes","kind":"association","contact":{{"person":"{PERSON}","email":"{EMAIL}"}}}}'
                 WHERE position = 3;
               DROP TABLE keyring; DROP TABLE subject_keys; DROP TABLE erased_keys;
               PRAGMA user_version = 1;"#
        ),
    );
    std::fs::remove_file(cli.key_file()).unwrap();

    let exported = cli.path("old.jsonl");
    let exported_arg = exported.display().to_string();
    cli.ok(&["export", "--db", &db, "-o", &exported_arg], "");
    assert!(std::fs::read_to_string(&exported).unwrap().contains(PERSON));
    let err = cli.fails(&["export", "--db", &db, "--with-keys"], "");
    assert!(err.contains("earlier version"), "{err}");
    // The demo over such a store says what to do instead of serving it.
    let err = cli.fails(&["demo", "--db", &db, "--addr", "127.0.0.1:0"], "");
    assert!(
        err.contains("earlier version") && err.contains("delete"),
        "{err}"
    );

    let new = Cli::new();
    let new_db = new.db_arg();
    new.ok(&["init", "--db", &new_db], "");
    let out = new.ok(&["import", "--db", &new_db, &exported_arg], "");
    assert!(out.contains("imported 3 events"), "{out}");
    assert!(
        out.contains(
            "1 of the imported events carried personal fields in clear (the first on line 3)"
        ),
        "{out}"
    );
    assert!(out.contains("a new chain"), "{out}");
    let stored = new.ok(&["export", "--db", &new_db], "");
    assert!(
        !stored.contains(PERSON) && !stored.contains(EMAIL),
        "{stored}"
    );
    let access = new.ok(
        &[
            "subject-access",
            "--db",
            &new_db,
            "--subject",
            "contact:sjdlr/sj-mdf",
        ],
        "",
    );
    assert!(access.contains(EMAIL), "{access}");
}

#[test]
fn a_public_url_that_is_more_than_an_origin_is_refused_before_anything_starts() {
    let cli = Cli::new();
    let db = cli.db_arg();
    for (url, rule) in [
        ("ftp://passerelle.example.org", "http:// or https://"),
        ("https://passerelle.example.org/tracker", "without path"),
        ("passerelle.example.org", "not an address"),
    ] {
        for command in [vec!["serve", "--db", &db], vec!["demo", "--db", "demo.db"]] {
            let mut args = command.clone();
            args.extend(["--addr", "127.0.0.1:0", "--public-url", url]);
            let out = cli.run(&args, "");
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(out.stdout.is_empty(), "{args:?} started");
            let err = String::from_utf8(out.stderr).expect("utf-8");
            assert!(
                err.contains("--public-url") && err.contains(rule),
                "{args:?}: {err}"
            );
        }
    }
    assert!(!cli.path("demo.db").exists(), "the demo seeded a store");
    assert!(!cli.db().exists(), "serve opened a store");
}

/// A child process killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_behind_an_https_proxy_prints_its_links_there_and_sets_a_secure_cookie() {
    use std::io::{BufRead, BufReader, Read, Write};

    const PUBLIC: &str = "https://passerelle.example.org";
    let cli = Cli::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["demo", "--addr", "127.0.0.1:0", "--public-url", PUBLIC])
        .current_dir(cli.root())
        .env_remove("PASSERELLE_DB")
        .env_remove("PASSERELLE_DEMO_DB")
        .env_remove("PASSERELLE_MASTER_KEY")
        .env_remove("PASSERELLE_MASTER_KEY_FILE")
        .env_remove("PASSERELLE_PUBLIC_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("the demo's output");
    let _running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let patience = std::time::Duration::from_secs(60);
    let mut listening = None;
    let link = loop {
        let line = rx
            .recv_timeout(patience)
            .expect("the demo prints its login link");
        if let Some(rest) = line.split("(listening on ").nth(1) {
            listening = Some(rest.trim_end_matches(')').to_owned());
        }
        if let Some(link) = line.split("valid once for an hour): ").nth(1) {
            break link.to_owned();
        }
    };
    let path = link
        .strip_prefix(PUBLIC)
        .unwrap_or_else(|| panic!("the link {link} is not on {PUBLIC}"));
    assert!(path.starts_with("/login?code=psl1_"), "{link}");
    let addr = listening.expect("the address the demo listens on");

    // The proxy forwards the link to the demo, which answers with a Secure cookie.
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect to the demo");
    conn.set_read_timeout(Some(patience)).expect("read timeout");
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nhost: passerelle.example.org\r\nconnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read the answer");
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no Set-Cookie in {answer}"));
    assert!(
        cookie.contains("HttpOnly") && cookie.trim_end().ends_with("Secure"),
        "{cookie}"
    );
}
