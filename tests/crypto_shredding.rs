//! Crypto-shredding end to end (issue 10, the first "done when"): personal
//! data is never in clear in the SQLite files, and after `passerelle erase`
//! neither it nor the subjects' data keys are anywhere in them — while
//! `verify`, the gap report, the network and the directory answer as before,
//! the erased fields marked erased.
//!
//! The store is made and changed by the real binary; the directory is read
//! from the API served in-process on port 0, as a coordinator.

mod support;

use std::path::{Path, PathBuf};

use passerelle::api::{ApiConfig, App};
use passerelle::auth::Role;
use passerelle::store::Location;
use passerelle_events::personal::KeyId;
use passerelle_events::MasterKey;
use serde_json::Value;
use support::{mode, Cli};

const PERSON: &str = "Zéphyrine Quillard-Montbazon";
const EMAIL: &str = "zephyrine.quillard@maison-femmes.example.org";
const PHONE: &str = "+33 6 71 29 58 04";
const CODE: &str = "QXJ-7731-ZEPH";

/// The store file and the `-wal` and `-shm` files beside it.
fn files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        })
        .collect()
}

/// Every file of the store that exists, with its bytes.
fn contents(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let found: Vec<_> = files(db)
        .into_iter()
        .filter(|p| p.exists())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read a store file");
            (p, bytes)
        })
        .collect();
    assert!(found.iter().any(|(p, _)| p == db), "the store file exists");
    found
}

/// Asserts that none of `needles` is anywhere in the store's files.
#[track_caller]
fn absent(db: &Path, needles: &[(&str, &[u8])]) {
    for (path, bytes) in contents(db) {
        for (what, needle) in needles {
            assert!(!needle.is_empty());
            let found = bytes.windows(needle.len()).any(|w| w == *needle);
            assert!(!found, "{what} found in {}", path.display());
        }
    }
}

/// Asserts that `needle` is in one of the store's files: the scan sees what
/// is there.
#[track_caller]
fn present(db: &Path, what: &str, needle: &[u8]) {
    let found = contents(db)
        .iter()
        .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle));
    assert!(found, "{what} not found in the store's files");
}

/// The data keys of the store: id, wrapped bytes as the key table holds
/// them, and the raw key unwrapped with the master key.
fn data_keys(db: &Path, master: &MasterKey) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the store read-only");
    let mut stmt = conn
        .prepare("SELECT id, wrapped FROM subject_keys ORDER BY seq")
        .expect("the key table");
    let rows: Vec<(String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("read the key table")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.into_iter()
        .map(|(id, wrapped)| {
            let raw = master
                .unwrap_data_key(&KeyId::parse(&id).expect("a key id"), &wrapped)
                .expect("the master key unwraps every data key");
            (id, wrapped, raw.to_vec())
        })
        .collect()
}

/// Named byte strings as [`absent`] takes them.
fn needles(v: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    v.iter().map(|(w, b)| (w.as_str(), b.as_slice())).collect()
}

/// The report without the log position it reflects.
fn without_position(mut v: Value) -> Value {
    let position = v
        .as_object_mut()
        .and_then(|o| o.remove("position"))
        .expect("the answer says its position");
    assert!(position.as_u64().is_some_and(|p| p > 0));
    v
}

/// The stakeholders of programme `p` as a coordinator reads them from the API
/// served in-process on the store (its key from `<db>.key`).
fn directory(db: &Path, p: &str, token: &str) -> Value {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let body = rt.block_on(async {
        let app = App::open(&Location::File(db.to_path_buf()), ApiConfig::default())
            .await
            .expect("open the app");
        let (_, secret) = app
            .tokens()
            .create(token, Role::Coordinator, None)
            .expect("a coordinator token");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = passerelle::server::serve(
            app.clone(),
            "127.0.0.1:0".parse().expect("an address"),
            async {
                let _ = stopped.await;
            },
        )
        .await
        .expect("serve");
        let reply = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client")
            .get(format!(
                "http://{}/api/v1/stakeholders?programme={p}",
                server.addr
            ))
            .bearer_auth(&secret)
            .send()
            .await
            .expect("a response");
        assert_eq!(reply.status().as_u16(), 200);
        let body: Value = reply.json().await.expect("JSON");
        let _ = stop.send(());
        server.handle.await.expect("the server stops");
        body
    });
    drop(rt);
    body
}

fn stakeholder<'a>(directory: &'a Value, id: &str) -> &'a Value {
    directory["stakeholders"]
        .as_array()
        .expect("stakeholders")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("stakeholder {id} in {directory}"))
}

#[test]
fn erased_subjects_leave_no_personal_data_and_no_key_bytes_in_the_sqlite_files() {
    let cli = Cli::new();
    let db = cli.path("city.db");
    let db_arg = db.display().to_string();
    cli.ok(&["init", "--db", &db_arg], "");
    let log = format!(
        r#"[
        {{"type":"ProgrammeDefined","programme":"sjdlr","occurred_at":"2021-01-10",
          "data":{{"programme":"sjdlr","name":"Saint-Jean-de-la-Ruelle","role":"mentee","country":"FR"}}}},
        {{"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2021-01-11",
          "data":{{"stakeholder":"sj-maison-femmes","name":"Maison des Femmes","kind":"association",
                   "themes":["social_support","rights"],
                   "contact":{{"person":"{PERSON}","email":"{EMAIL}","phone":"{PHONE}"}}}}}},
        {{"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2021-01-12",
          "data":{{"stakeholder":"sj-ccas","name":"CCAS","kind":"city_service","themes":["social_support"]}}}},
        {{"type":"StakeholderRegistered","programme":"sjdlr","occurred_at":"2021-01-12",
          "data":{{"stakeholder":"sj-women","name":"Migrant women, Salmoneries","kind":"beneficiary_group"}}}},
        {{"type":"PartnershipFormed","programme":"sjdlr","occurred_at":"2021-02-01",
          "data":{{"partnership":"p-mdf-ccas","between":["sj-maison-femmes","sj-ccas"],"kind":"referral","themes":["social_support"]}}}},
        {{"type":"CoCreationSessionHeld","programme":"sjdlr","occurred_at":"2021-03-04",
          "data":{{"session":"ses-listening","title":"Listening session","level":"consult",
                   "stakeholders":["sj-maison-femmes","sj-ccas"],"groups":["sj-women"],
                   "beneficiaries":{{"total":9,"women":8,"men":1,"first_time":9}}}}}},
        {{"type":"ParticipantAttended","programme":"sjdlr","occurred_at":"2021-03-04",
          "data":{{"session":"ses-listening","participant":"{CODE}"}}}}
    ]"#
    );
    let recorded: Value = serde_json::from_str(&cli.ok(&["record", "--db", &db_arg], &log))
        .expect("the stored envelopes");
    // `record` shows what was sent, opened again for its author.
    assert_eq!(recorded[1]["data"]["contact"]["person"], PERSON);
    assert_eq!(recorded[6]["data"]["participant"], CODE);
    // The store, its write-ahead log and index, and the key file: the
    // owner's only.
    #[cfg(unix)]
    for path in files(&db).into_iter().chain([cli.path("city.db.key")]) {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }

    let plaintext: [(&str, &[u8]); 4] = [
        ("the contact person", PERSON.as_bytes()),
        ("the e-mail", EMAIL.as_bytes()),
        ("the phone", PHONE.as_bytes()),
        ("the participant code", CODE.as_bytes()),
    ];
    // Before any erasure: only ciphertext in the files.
    absent(&db, &plaintext);
    let master = MasterKey::from_hex(
        &std::fs::read_to_string(cli.path("city.db.key")).expect("the key file init made"),
    )
    .expect("a master key");
    let keys = data_keys(&db, &master);
    assert_eq!(
        keys.len(),
        2,
        "one data key per subject: the contact and the participant"
    );
    let raw: Vec<(String, Vec<u8>)> = keys
        .iter()
        .map(|(id, _, raw)| (format!("the raw data key {id}"), raw.clone()))
        .collect();
    let wrapped: Vec<(String, Vec<u8>)> = keys
        .iter()
        .map(|(id, wrapped, _)| (format!("the wrapped data key {id}"), wrapped.clone()))
        .collect();
    // A data key is only ever stored wrapped.
    absent(&db, &needles(&raw));
    // The scan finds what is stored: a name that is not personal, and the
    // wrapped keys.
    present(&db, "the stakeholder's name", b"Maison des Femmes");
    for (what, bytes) in &wrapped {
        present(&db, what, bytes);
    }

    assert!(cli
        .ok(&["verify", "--db", &db_arg], "")
        .contains("7 events verified"));
    let view = |cmd: &str| -> Value {
        let mut args = vec![cmd, "--db", &db_arg, "--programme", "sjdlr"];
        if cmd == "gaps" {
            args.extend(["--format", "json"]);
        }
        without_position(serde_json::from_str(&cli.ok(&args, "")).expect("JSON"))
    };
    let gaps_before = view("gaps");
    let network_before = view("network");
    assert!(!network_before["edges"]
        .as_array()
        .expect("edges")
        .is_empty());
    let before = directory(&db, "sjdlr", "cora before");
    let mdf = stakeholder(&before, "sj-maison-femmes");
    assert_eq!(mdf["contact"]["person"], PERSON);
    assert_eq!(mdf["contact"]["email"], EMAIL);
    assert_eq!(mdf["contact"]["phone"], PHONE);

    // Erase both subjects.
    let erased = cli.ok(
        &[
            "erase",
            "--db",
            &db_arg,
            "--programme",
            "sjdlr",
            "--subject",
            "contact:sj-maison-femmes",
            "--reason",
            "Art. 17 request received 2024-05-02",
        ],
        "",
    );
    assert!(erased.contains(&keys[0].0), "{erased}");
    let erased = cli.ok(
        &[
            "erase",
            "--db",
            &db_arg,
            "--programme",
            "sjdlr",
            "--subject",
            &format!("participant:{CODE}"),
            "--reason",
            "The participant asked to be forgotten",
        ],
        "",
    );
    assert!(erased.contains("the participant"), "{erased}");
    assert!(!erased.contains(CODE), "the code is printed back: {erased}");

    // The plaintext, the raw keys and the wrapped keys: nowhere.
    absent(&db, &plaintext);
    absent(&db, &needles(&raw));
    absent(&db, &needles(&wrapped));
    assert!(data_keys(&db, &master).is_empty());
    present(&db, "the stakeholder's name", b"Maison des Femmes");

    let verified = cli.ok(&["verify", "--db", &db_arg], "");
    assert!(verified.contains("9 events verified"), "{verified}");
    assert_eq!(view("gaps"), gaps_before);
    assert_eq!(view("network"), network_before);
    let after = directory(&db, "sjdlr", "cora after");
    let mdf = stakeholder(&after, "sj-maison-femmes");
    for field in ["person", "email", "phone"] {
        assert_eq!(
            mdf["contact"][field],
            serde_json::json!({"erased": true}),
            "{field}: {mdf}"
        );
    }
    // Everything else about the stakeholder is as it was.
    let strip = |s: &Value| {
        let mut s = s.clone();
        s.as_object_mut().expect("an object").remove("contact");
        s
    };
    assert_eq!(strip(mdf), strip(stakeholder(&before, "sj-maison-femmes")));
    assert_eq!(after["stakeholders"].as_array().map(Vec::len), Some(3));

    // Nothing is held of either subject any more.
    for subject in ["contact:sj-maison-femmes", &format!("participant:{CODE}")] {
        let out = cli.run(
            &[
                "subject-access",
                "--db",
                &db_arg,
                "--programme",
                "sjdlr",
                "--subject",
                subject,
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(1), "{subject}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no personal data is held"), "{err}");
        assert!(!err.contains(CODE), "{err}");
        assert!(out.stdout.is_empty());
    }

    #[cfg(unix)]
    for path in files(&db).into_iter().filter(|p| p.exists()) {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}
