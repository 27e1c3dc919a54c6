//! API tokens: `passerelle token` as an administrator runs it, and the
//! `auth` rules the API applies to every request (roles, programme scopes,
//! revocation seen by a running server, one-time login codes).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use passerelle::auth::{AuthError, Principal, Role, TokenStore};
use passerelle::store::Location;

/// A temporary folder with a Passerelle store in it.
struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    /// A fresh store, created by `passerelle init`.
    fn new() -> Self {
        let store = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        store.ok(&["init"]);
        store
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("passerelle.db")
    }

    /// Runs `passerelle ARGS --db <the store>`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .args(args)
            .arg("--db")
            .arg(self.db())
            .current_dir(self.dir.path())
            .env_remove("PASSERELLE_DB")
            .output()
            .expect("run passerelle")
    }

    /// Runs a command that must succeed; returns (stdout, stderr).
    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        assert!(
            out.status.success(),
            "passerelle {args:?} failed:\n{stderr}"
        );
        (String::from_utf8(out.stdout).expect("utf-8"), stderr)
    }

    /// Runs a command that must fail; returns its standard error.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "passerelle {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8")
    }

    /// `token create` through the binary; returns the printed secret.
    fn create(&self, role: &str, name: &str, programme: Option<&str>) -> String {
        let mut args = vec!["token", "create", "--role", role, "--name", name];
        if let Some(p) = programme {
            args.extend(["--programme", p]);
        }
        let (stdout, stderr) = self.ok(&args);
        assert!(
            stderr.contains("store it now: it is shown only once"),
            "{stderr}"
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "stdout is the token alone: {stdout:?}");
        lines[0].to_owned()
    }

    fn tokens(&self) -> TokenStore {
        TokenStore::open(&Location::File(self.db())).expect("open the token store")
    }
}

#[test]
fn every_token_command_has_help() {
    let store = Store::new();
    for cmd in [
        &["token"][..],
        &["token", "create"],
        &["token", "list"],
        &["token", "revoke"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .args(cmd)
            .arg("--help")
            .current_dir(store.dir.path())
            .output()
            .expect("run passerelle");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        assert!(out.status.success(), "{cmd:?} --help failed");
        assert!(stdout.contains("Usage: passerelle token"), "{stdout}");
        if cmd.len() > 1 {
            assert!(stdout.contains("--db <PATH"), "{cmd:?}: {stdout}");
        }
    }
}

#[test]
fn a_created_token_authenticates_with_its_role_name_and_programme() {
    let store = Store::new();
    let secret = store.create("mentor", "Zoé Martin", Some("sjdlr"));
    assert!(
        secret.starts_with("psl_") && secret.len() == 4 + 64,
        "{secret}"
    );

    let p = store.tokens().authenticate(&secret).expect("authenticates");
    assert_eq!(p.role, Role::Mentor);
    assert_eq!(p.name, "Zoé Martin");
    assert_eq!(p.programme.as_deref(), Some("sjdlr"));
    assert!(p.id.starts_with("tok_"), "{}", p.id);

    let admin = store.create("admin", "ops@city.example", None);
    let p = store.tokens().authenticate(&admin).expect("authenticates");
    assert_eq!((p.role, p.programme), (Role::Admin, None));
}

#[test]
fn only_the_hash_is_stored_and_no_command_prints_a_secret_again() {
    let store = Store::new();
    let secret = store.create("coordinator", "lead", None);

    let conn = rusqlite::Connection::open(store.db()).expect("open sqlite");
    let (hash, name): (Vec<u8>, String) = conn
        .query_row("SELECT hash, name FROM tokens", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("one token row");
    assert_eq!(name, "lead");
    assert_eq!(hash.len(), 32);
    let hex_hash: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let body = &secret["psl_".len()..];
    assert_ne!(hash, secret.as_bytes());
    assert_ne!(hex_hash, body);
    // Nothing in the file holds the secret, in any form we print.
    let bytes = std::fs::read(store.db()).expect("read db");
    let wal = std::fs::read(store.db().with_extension("db-wal")).unwrap_or_default();
    for haystack in [&bytes, &wal] {
        assert!(
            !haystack.windows(body.len()).any(|w| w == body.as_bytes()),
            "the secret is in the file"
        );
    }

    let (list, _) = store.ok(&["token", "list"]);
    assert!(!list.contains(body), "{list}");
    assert!(!list.contains(&hex_hash), "{list}");
    assert!(list.lines().next().unwrap().starts_with("ID"), "{list}");
    assert!(
        list.contains("lead") && list.contains("coordinator"),
        "{list}"
    );

    // The event log is untouched: tokens live in their own tables.
    let events: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .expect("events table");
    assert_eq!(events, 0);
    store.ok(&["verify"]);
}

#[test]
fn list_shows_every_token_with_role_programme_and_revocation() {
    let store = Store::new();
    store.create("viewer", "board", Some("sjdlr"));
    store.create("mentor", "mentor-1", None);
    store.ok(&["token", "revoke", "board"]);

    let (list, _) = store.ok(&["token", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    for col in ["ID", "NAME", "ROLE", "PROGRAMME", "CREATED", "REVOKED"] {
        assert!(lines[0].contains(col), "{list}");
    }
    let board: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&board[1..4], ["board", "viewer", "sjdlr"], "{list}");
    assert_ne!(board[5], "-", "revoked time: {list}");
    let mentor: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(&mentor[1..4], ["mentor-1", "mentor", "-"], "{list}");
    assert_eq!(mentor[5], "-", "{list}");
}

#[test]
fn revoke_by_id_or_name_stops_a_server_that_opened_the_store_before() {
    let store = Store::new();
    // The running server: opened before the tokens even exist.
    let server = store.tokens();
    let a = store.create("coordinator", "alice", None);
    let b = store.create("viewer", "bob", None);
    assert_eq!(
        server.authenticate(&a).expect("new token seen").name,
        "alice"
    );
    assert_eq!(server.authenticate(&b).expect("new token seen").name, "bob");

    let (out, _) = store.ok(&["token", "revoke", "alice"]);
    assert!(
        out.contains("revoked token tok_") && out.contains("alice"),
        "{out}"
    );
    assert!(matches!(server.authenticate(&a), Err(AuthError::Revoked)));

    let bob_id = server.authenticate(&b).expect("bob still valid").id;
    store.ok(&["token", "revoke", &bob_id]);
    assert!(matches!(server.authenticate(&b), Err(AuthError::Revoked)));

    let err = store.fails(&["token", "revoke", "alice"]);
    assert!(err.contains("already revoked"), "{err}");
    let err = store.fails(&["token", "revoke", "carol"]);
    assert!(err.contains("carol"), "{err}");
}

#[test]
fn revoking_through_one_handle_is_seen_by_another() {
    let store = Store::new();
    let cli = store.tokens();
    let server = store.tokens();
    let (info, secret) = cli
        .create("m", Role::Mentor, Some("sjdlr"))
        .expect("create");
    assert_eq!(server.authenticate(&secret).expect("valid").id, info.id);
    let revoked = cli.revoke(&info.id).expect("revoke");
    assert!(revoked.revoked_at.is_some());
    assert!(matches!(
        server.authenticate(&secret),
        Err(AuthError::Revoked)
    ));
    assert!(matches!(cli.authenticate(&secret), Err(AuthError::Revoked)));
    assert!(matches!(
        cli.revoke("m"),
        Err(AuthError::AlreadyRevoked { .. })
    ));
}

#[test]
fn appending_events_does_not_disturb_authentication() {
    let store = Store::new();
    let server = store.tokens();
    let secret = store.create("coordinator", "lead", None);
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["record", "--db"])
        .arg(store.db())
        .arg("--file")
        .arg(write(
            &store,
            "e.json",
            r#"{"type":"ProgrammeDefined","programme":"sjdlr","occurred_at":"2020-11-16",
                "data":{"programme":"sjdlr","name":"Saint-Jean-de-la-Ruelle","role":"mentee","country":"FR"}}"#,
        ))
        .output()
        .expect("record");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.authenticate(&secret).expect("valid").name, "lead");
    store.ok(&["verify"]);
}

fn write(store: &Store, name: &str, text: &str) -> PathBuf {
    let path = store.dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn bad_and_missing_secrets_are_refused() {
    let store = Store::new();
    let tokens = store.tokens();
    let (_, secret) = tokens.create("v", Role::Viewer, None).expect("create");
    assert!(matches!(tokens.authenticate(""), Err(AuthError::Missing)));
    assert!(matches!(tokens.authenticate("  "), Err(AuthError::Missing)));
    let mut flipped = secret.clone();
    let last = flipped.pop().expect("non-empty");
    flipped.push(if last == '0' { '1' } else { '0' });
    for bad in [
        "nope".to_owned(),
        flipped,
        format!("psl_{}", "0".repeat(64)),
        secret.to_uppercase(),
        format!("{secret}0"),
    ] {
        assert!(
            matches!(tokens.authenticate(&bad), Err(AuthError::Invalid)),
            "{bad}"
        );
    }
    // Surrounding white space (from a header) is forgiven.
    assert!(tokens.authenticate(&format!(" {secret} ")).is_ok());
}

#[test]
fn duplicate_names_are_refused_naming_the_name() {
    let store = Store::new();
    store.create("viewer", "board", None);
    let err = store.fails(&["token", "create", "--role", "admin", "--name", "board"]);
    assert!(err.contains("\"board\" already exists"), "{err}");
    // Names are unique regardless of ASCII case: both would be recorded_by.
    let err = store.fails(&["token", "create", "--role", "admin", "--name", "BOARD"]);
    assert!(err.contains("already exists"), "{err}");
    let (list, _) = store.ok(&["token", "list"]);
    assert_eq!(list.lines().count(), 2, "{list}");
}

#[test]
fn bad_role_name_or_programme_is_refused_naming_the_field() {
    let store = Store::new();
    let err = store.fails(&["token", "create", "--role", "root", "--name", "x"]);
    assert!(err.contains("--role"), "{err}");
    assert!(err.contains("coordinator"), "lists the roles: {err}");

    for bad in [
        "",
        " lead",
        "lead ",
        "a/b",
        "tab\there",
        "tok_0123456789ab",
        &"x".repeat(101),
    ] {
        let err = store.fails(&["token", "create", "--role", "viewer", "--name", bad]);
        assert!(err.contains("name:"), "{bad:?}: {err}");
    }
    let err = store.fails(&[
        "token",
        "create",
        "--role",
        "viewer",
        "--name",
        "ok",
        "--programme",
        "Not A Slug",
    ]);
    assert!(err.contains("programme:"), "{err}");
    assert!(err.contains("a programme id must be"), "{err}");

    // Library level: the field is a value, not just text.
    let tokens = store.tokens();
    match tokens.create("ok", Role::Viewer, Some("UP")) {
        Err(AuthError::BadField { field, .. }) => assert_eq!(field, "programme"),
        other => panic!("{other:?}"),
    }
    match "root".parse::<Role>() {
        Err(AuthError::BadField { field, .. }) => assert_eq!(field, "role"),
        other => panic!("{other:?}"),
    }
    for ok in [
        "Zoé Martin",
        "coordinator@sjdlr.example",
        "mentor-1.b_c",
        "x",
    ] {
        tokens.create(ok, Role::Viewer, None).expect(ok);
    }
    // Nothing bad was stored.
    assert_eq!(tokens.list().expect("list").len(), 4);
}

#[test]
fn commands_refuse_a_missing_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("absent.db");
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["token", "list", "--db"])
        .arg(&db)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run passerelle init"), "{err}");
    assert!(!db.exists(), "no store is created");

    std::fs::write(
        &db,
        b"not sqlite at all, just some text that is long enough",
    )
    .unwrap();
    assert!(matches!(
        TokenStore::open(&Location::File(db.clone())),
        Err(AuthError::Storage(m)) if m.contains("not a Passerelle store")
    ));
}

/// What each role may do, as the API asks it.
#[test]
fn permission_matrix() {
    let store = Store::new();
    let tokens = store.tokens();
    let principal = |role: Role, scoped: bool| -> Principal {
        let name = format!("{role}-{}", if scoped { "scoped" } else { "all" });
        let (_, secret) = tokens
            .create(&name, role, scoped.then_some("sjdlr"))
            .expect("create");
        tokens.authenticate(&secret).expect("authenticate")
    };
    let deny = |r: Result<(), passerelle::auth::Denied>| r.err().map(|d| d.message().to_owned());

    for role in Role::ALL {
        for scoped in [false, true] {
            let p = principal(role, scoped);
            let ctx = format!("{role}, scoped {scoped}");

            // Reading: every role reads; a scoped token only its programme.
            assert!(p.can_read("sjdlr"), "{ctx}");
            assert_eq!(p.can_read("other"), !scoped, "{ctx}");
            if scoped {
                assert_eq!(
                    deny(p.may_read("other")).as_deref(),
                    Some("this token is scoped to programme sjdlr"),
                    "{ctx}"
                );
            }
            let visible: Vec<&str> = p.visible_programmes(["gen", "sjdlr", "other"]).collect();
            let expected: &[&str] = if scoped {
                &["sjdlr"]
            } else {
                &["gen", "sjdlr", "other"]
            };
            assert_eq!(visible, expected, "{ctx}");

            // Appending.
            let note = deny(p.may_append("ReviewNoteAdded", "sjdlr"));
            let stakeholder = deny(p.may_append("StakeholderRegistered", "sjdlr"));
            let erase = deny(p.may_append("PersonalDataErased", "sjdlr"));
            let note_elsewhere = deny(p.may_append("ReviewNoteAdded", "other"));
            match role {
                Role::Admin | Role::Coordinator => {
                    assert_eq!(note, None, "{ctx}");
                    assert_eq!(stakeholder, None, "{ctx}");
                }
                Role::Mentor => {
                    assert_eq!(note, None, "{ctx}");
                    assert_eq!(
                        stakeholder.as_deref(),
                        Some("a mentor token may append only ReviewNoteAdded"),
                        "{ctx}"
                    );
                }
                Role::Viewer => {
                    assert_eq!(note.as_deref(), Some("a viewer token may append nothing"));
                    assert_eq!(
                        stakeholder.as_deref(),
                        Some("a viewer token may append nothing")
                    );
                }
            }
            let erase = erase.unwrap_or_else(|| panic!("{ctx}: erase allowed"));
            if matches!(role, Role::Admin | Role::Coordinator) {
                assert_eq!(
                    erase, "PersonalDataErased is written only by the erase command",
                    "{ctx}"
                );
            }
            match (role, scoped) {
                (Role::Viewer, _) => assert!(note_elsewhere.is_some(), "{ctx}"),
                (_, true) => assert_eq!(
                    note_elsewhere.as_deref(),
                    Some("this token is scoped to programme sjdlr"),
                    "{ctx}"
                ),
                (_, false) => assert_eq!(note_elsewhere, None, "{ctx}"),
            }
        }
    }
}

#[test]
fn denied_becomes_an_auth_error() {
    let p = Principal {
        id: "tok_000000000000".into(),
        name: "v".into(),
        role: Role::Viewer,
        programme: None,
    };
    let e: AuthError = p.may_append("ReviewNoteAdded", "sjdlr").unwrap_err().into();
    assert!(matches!(e, AuthError::Denied(_)));
    assert_eq!(e.to_string(), "a viewer token may append nothing");
}

#[test]
fn a_login_code_works_once_and_expires() {
    let store = Store::new();
    let tokens = store.tokens();
    let (info, _) = tokens
        .create("demo", Role::Coordinator, Some("sjdlr"))
        .expect("create");

    let code = tokens
        .issue_login(&info.id, Duration::from_secs(60))
        .expect("issue");
    assert!(code.starts_with("psl1_"), "{code}");
    let p = tokens.redeem_login(&code).expect("first use works");
    assert_eq!(
        (p.id.as_str(), p.role),
        (info.id.as_str(), Role::Coordinator)
    );
    assert_eq!(tokens.redeem_login(&code), None, "second use fails");

    // A login code is not a bearer token.
    let code = tokens
        .issue_login(&info.id, Duration::from_secs(60))
        .expect("issue");
    assert!(matches!(
        tokens.authenticate(&code),
        Err(AuthError::Invalid)
    ));

    // Expired.
    let expired = tokens.issue_login(&info.id, Duration::ZERO).expect("issue");
    assert_eq!(tokens.redeem_login(&expired), None);
    // Never issued.
    assert_eq!(
        tokens.redeem_login(&format!("psl1_{}", "0".repeat(64))),
        None
    );
    // Issued by another handle (another server on the same store): codes
    // live in the store, and are redeemed once whoever redeems them.
    let other = store.tokens();
    let theirs = other
        .issue_login(&info.id, Duration::from_secs(60))
        .expect("issue");
    assert_eq!(
        tokens.redeem_login(&theirs).map(|p| p.id),
        Some(info.id.clone())
    );
    assert_eq!(other.redeem_login(&theirs), None);

    // Revoked between issue and redemption.
    tokens.revoke("demo").expect("revoke");
    assert_eq!(tokens.redeem_login(&code), None);
    assert!(matches!(
        tokens.issue_login(&info.id, Duration::from_secs(60)),
        Err(AuthError::Revoked)
    ));
    assert!(matches!(
        tokens.issue_login("tok_ffffffffffff", Duration::from_secs(60)),
        Err(AuthError::Unknown(_))
    ));
}

#[test]
fn a_session_stands_for_its_token_until_it_expires_or_the_token_is_revoked() {
    let store = Store::new();
    let tokens = store.tokens();
    let (info, _) = tokens
        .create("browser", Role::Viewer, None)
        .expect("create");
    let p = tokens
        .redeem_login(
            &tokens
                .issue_login(&info.id, Duration::from_secs(60))
                .expect("issue"),
        )
        .expect("redeem");

    let session = tokens
        .open_session(&p.id, Duration::from_secs(3600))
        .expect("session");
    assert!(session.starts_with("psls_"), "{session}");
    assert_eq!(tokens.authenticate(&session).expect("valid"), p);

    let short = tokens.open_session(&p.id, Duration::ZERO).expect("session");
    assert!(matches!(
        tokens.authenticate(&short),
        Err(AuthError::Invalid)
    ));

    let closed = tokens
        .open_session(&p.id, Duration::from_secs(3600))
        .expect("session");
    tokens.close_session(&closed);
    assert!(matches!(
        tokens.authenticate(&closed),
        Err(AuthError::Invalid)
    ));

    // Revoked from the command line while the "server" runs.
    store.ok(&["token", "revoke", "browser"]);
    assert!(matches!(
        tokens.authenticate(&session),
        Err(AuthError::Revoked)
    ));
}

#[test]
fn authentication_from_many_threads_sees_a_revocation() {
    let store = Store::new();
    let tokens = std::sync::Arc::new(store.tokens());
    let (_, secret) = tokens.create("shared", Role::Mentor, None).expect("create");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let tokens = tokens.clone();
            let secret = secret.clone();
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    tokens.authenticate(&secret).expect("valid");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    store.ok(&["token", "revoke", "shared"]);
    assert!(matches!(
        tokens.authenticate(&secret),
        Err(AuthError::Revoked)
    ));
}
