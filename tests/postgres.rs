//! Every command on a PostgreSQL store, as on a file, and `passerelle copy`
//! between the two backends. Each test runs the real binary against a schema
//! of its own ([`ScratchSchema`]) on the PostgreSQL of `PASSERELLE_TEST_PG`
//! (`scripts/test` provides one).

mod support;

use passerelle_events::store::postgres::scratch::ScratchSchema;
use serde_json::Value;
use support::*;

const PERSON: &str = "Océane Vasseur-Kaboré";
const CODE: &str = "PQ-77-OCEANE";

/// Events with personal fields (a contact person, a participant code).
fn personal_events() -> String {
    format!(
        r#"[{{"type":"ProgrammeDefined","programme":"lab","occurred_at":"2020-11-16",
              "data":{{"programme":"lab","name":"Saint-Jean-de-la-Ruelle","role":"mentee","country":"FR"}}}},
            {{"type":"StakeholderRegistered","programme":"lab","occurred_at":"2021-01-11",
              "data":{{"stakeholder":"sj-mdf","name":"Maison des Femmes","kind":"association",
                       "contact":{{"person":"{PERSON}","email":"oceane@mdf.example.org"}}}}}},
            {{"type":"StakeholderRegistered","programme":"lab","occurred_at":"2020-11-20",
              "data":{{"stakeholder":"sj-ccas","name":"Centre Communal d'Action Sociale","kind":"city_service","themes":["social_support"]}}}},
            {{"type":"CoCreationSessionHeld","programme":"lab","occurred_at":"2021-03-04",
              "data":{{"session":"ses-1","title":"Listening session","level":"consult",
                       "stakeholders":["sj-mdf","sj-ccas"],
                       "beneficiaries":{{"total":6,"women":5,"men":1}}}}}},
            {{"type":"ParticipantAttended","programme":"lab","occurred_at":"2021-03-04",
              "data":{{"session":"ses-1","participant":"{CODE}"}}}}]"#
    )
}

/// The head hash `verify` prints.
fn verified_head(cli: &Cli, db: &str, env: &[(&str, &str)]) -> String {
    let out = cli.ok_env(&["verify", "--db", db], "", env);
    assert!(out.starts_with("ok: "), "{out}");
    out.rsplit("head hash ")
        .next()
        .expect("a head hash")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_works_on_postgresql_as_on_a_file() {
    let pg = ScratchSchema::new().await;
    let url = pg.url();
    let cli = Cli::new();
    let key = cli.path("pg.key").display().to_string();
    let env = [("PASSERELLE_MASTER_KEY_FILE", key.as_str())];

    // Without a key named, init refuses before it makes anything.
    let err = cli.fails(&["init", "--db", &url], "");
    assert!(err.contains("PASSERELLE_MASTER_KEY_FILE"), "{err}");
    assert!(!err.contains("password"), "{err}");

    let out = cli.ok_env(&["init", "--db", &url], "", &env);
    assert!(out.contains("created store"), "{out}");
    assert!(cli.path("pg.key").exists(), "init made the key file");
    let again = cli.ok_env(&["init", "--db", &url], "", &env);
    assert!(again.contains("already exists"), "{again}");

    cli.ok_env(&["record", "--db", &url], &personal_events(), &env);
    // Stored sealed: the name is not in the plain export.
    let plain = cli.ok_env(&["export", "--db", &url], "", &env);
    assert_eq!(plain.lines().count(), 5);
    assert!(
        !plain.contains(PERSON),
        "the export carries the name in clear"
    );
    let opened = cli.ok_env(
        &[
            "export",
            "--db",
            &url,
            "--decrypt",
            "--yes-include-personal-data",
        ],
        "",
        &env,
    );
    assert!(opened.contains(PERSON), "{opened}");

    let access = cli.ok_env(
        &[
            "subject-access",
            "--db",
            &url,
            "--subject",
            &format!("participant:lab/{CODE}"),
        ],
        "",
        &env,
    );
    assert!(access.contains(CODE), "{access}");
    let status = cli.ok_env(&["keys", "status", "--db", &url], "", &env);
    assert!(status.contains("live"), "{status}");

    cli.ok_env(
        &[
            "erase",
            "--db",
            &url,
            "--programme",
            "lab",
            "--subject",
            &format!("participant:lab/{CODE}"),
            "--reason",
            "The person asked for erasure",
        ],
        "",
        &env,
    );
    let after = cli.ok_env(
        &[
            "export",
            "--db",
            &url,
            "--decrypt",
            "--yes-include-personal-data",
        ],
        "",
        &env,
    );
    assert!(!after.contains(CODE), "the erased code still opens");
    let plain = cli.ok_env(&["export", "--db", &url], "", &env);
    assert_eq!(plain.lines().count(), 6, "the erasure is an event");

    let gaps = cli.ok_env(&["gaps", "--db", &url, "--programme", "lab"], "", &env);
    assert!(!gaps.is_empty());
    let network = cli.ok_env(
        &[
            "network",
            "--db",
            &url,
            "--programme",
            "lab",
            "--format",
            "json",
        ],
        "",
        &env,
    );
    let network: Value = serde_json::from_str(&network).expect("network JSON");
    assert!(network["nodes"].as_array().is_some_and(|n| n.len() == 2));

    let token = cli.ok_env(
        &[
            "token", "create", "--db", &url, "--role", "viewer", "--name", "mentor",
        ],
        "",
        &env,
    );
    assert!(token.contains("psl_"), "{token}");
    let list = cli.ok_env(&["token", "list", "--db", &url], "", &env);
    assert!(list.contains("mentor"), "{list}");
    cli.ok_env(&["token", "revoke", "--db", &url, "mentor"], "", &env);

    verified_head(&cli, &url, &env);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_between_sqlite_and_postgresql_keeps_every_byte_and_hash() {
    let pg = ScratchSchema::new().await;
    let url = pg.url();
    let cli = Cli::new();
    let file = cli.db_arg();
    let key = format!("{file}.key");
    let env = [("PASSERELLE_MASTER_KEY_FILE", key.as_str())];

    cli.ok(&["init", "--db", &file], "");
    cli.ok(&["record", "--db", &file], &personal_events());
    let demo = cli.path("demo.jsonl");
    std::fs::write(&demo, passerelle::demo::DEMO_JSONL).unwrap();
    cli.ok(&["import", "--db", &file, &demo.display().to_string()], "");
    cli.ok(
        &[
            "erase",
            "--db",
            &file,
            "--programme",
            "lab",
            "--subject",
            &format!("participant:lab/{CODE}"),
            "--reason",
            "The person asked for erasure",
        ],
        "",
    );
    let source_head = verified_head(&cli, &file, &[]);
    let source_export = cli.ok(
        &[
            "export",
            "--db",
            &file,
            "--with-keys",
            "--yes-include-personal-data",
        ],
        "",
    );

    // SQLite to PostgreSQL.
    let out = cli.ok(&["copy", "--from", &file, "--to", &url], "");
    assert!(out.contains(&source_head), "{out}");
    assert_eq!(verified_head(&cli, &url, &env), source_head);
    // The same events, bytes and keys: the exports with keys are equal.
    let pg_export = cli.ok_env(
        &[
            "export",
            "--db",
            &url,
            "--with-keys",
            "--yes-include-personal-data",
        ],
        "",
        &env,
    );
    assert_eq!(pg_export, source_export);
    // The copy opens with the source's key, and the erased code stays erased.
    let opened = cli.ok_env(
        &[
            "export",
            "--db",
            &url,
            "--decrypt",
            "--yes-include-personal-data",
        ],
        "",
        &env,
    );
    assert!(opened.contains(PERSON));
    assert!(!opened.contains(CODE));

    // And back, into a new file.
    let back = cli.path("back.db").display().to_string();
    cli.ok(&["copy", "--from", &url, "--to", &back], "");
    assert_eq!(verified_head(&cli, &back, &env), source_head);
    let back_export = cli.ok_env(
        &[
            "export",
            "--db",
            &back,
            "--with-keys",
            "--yes-include-personal-data",
        ],
        "",
        &env,
    );
    assert_eq!(back_export, source_export);

    // A store that holds events is never written to; nor the source itself.
    let err = cli.fails(&["copy", "--from", &file, "--to", &url], "");
    assert!(
        err.contains("holds") && err.contains("Nothing was copied"),
        "{err}"
    );
    let err = cli.fails(&["copy", "--from", &url, "--to", &url], "");
    assert!(err.contains("same store"), "{err}");
    assert_eq!(verified_head(&cli, &url, &env), source_head);
}
