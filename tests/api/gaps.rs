//! The gap report's findings as the API tells them: the mentor programme's
//! practice beside a finding, given only to readers of that programme, and
//! the review notes about a finding inside it.

use passerelle::auth::Role;
use serde_json::{json, Value};

use super::*;

/// The demo's finding on the interpreting need nobody covers.
const INTERPRETING: &str = "uncovered_need/need-interpreting";

/// The whole report of `sjdlr` (one page) for `auth`.
async fn report(app: &TestApp, auth: Auth<'_>, query: &str) -> Value {
    let body = app.gaps(auth, query).await.ok_json(200);
    assert_eq!(body["next"], Value::Null, "one page holds the report");
    body
}

/// The finding with id `id`, or the one it was merged into.
fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings[]")
        .iter()
        .find(|f| f["id"] == id || f["merged"].as_array().unwrap().contains(&json!(id)))
        .unwrap_or_else(|| panic!("no finding {id} in {report}"))
}

fn finding_ids(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .expect("findings[]")
        .iter()
        .map(|f| f["id"].as_str().expect("an id"))
        .collect()
}

/// The ids of a finding's notes.
fn note_ids(f: &Value) -> Vec<&str> {
    f["notes"]
        .as_array()
        .expect("notes[]")
        .iter()
        .map(|n| n["id"].as_str().expect("a note id"))
        .collect()
}

#[tokio::test]
async fn the_mentor_practice_is_beside_the_mentee_finding_for_readers_of_both_programmes_only() {
    let app = TestApp::spawn().await;

    // An unscoped coordinator reads both programmes: Brussels' practice is
    // beside the interpreting need.
    let full = report(
        &app,
        (&app.tokens.coordinator).into(),
        "programme=sjdlr&limit=1000",
    )
    .await;
    let interpreting = finding(&full, INTERPRETING);
    let practice = interpreting["practice"].as_array().expect("practice[]");
    let brussels = practice
        .iter()
        .find(|p| p["programme"] == "brussels")
        .unwrap_or_else(|| panic!("no practice of brussels beside {interpreting}"));
    let programmes = app
        .programmes(&app.tokens.coordinator, "")
        .await
        .ok_json(200);
    let name = programmes["programmes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "brussels")
        .and_then(|p| p["name"].as_str())
        .expect("the name of brussels");
    for lang in ["en", "fr"] {
        let text = brussels["text"][lang].as_str().expect("a text");
        assert!(text.contains(name), "{lang}: {text}");
    }
    assert!(
        !brussels["evidence"].as_array().unwrap().is_empty(),
        "the practice's evidence: {brussels}"
    );
    // Brussels' events are its evidence, not the mentee's.
    let mentee_log = app
        .events(&app.tokens.coordinator, "programme=sjdlr&limit=1000")
        .await
        .ok_json(200);
    let mentee_ids: Vec<&Value> = mentee_log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    for id in brussels["evidence"].as_array().unwrap() {
        assert!(!mentee_ids.contains(&id), "{id} is an event of sjdlr");
    }

    // An unscoped mentor reads brussels too, and gets it as well.
    let mentor = report(
        &app,
        (&app.tokens.mentor).into(),
        "programme=sjdlr&limit=1000",
    )
    .await;
    assert_eq!(
        finding(&mentor, INTERPRETING)["practice"],
        interpreting["practice"],
        "the mentor's practice for a mentor token"
    );

    // A token scoped to sjdlr gets the same findings and no practice at
    // all: nothing of the mentor's data reaches it.
    let (_, secret) = app
        .app
        .tokens()
        .create("sam sjdlr", Role::Coordinator, Some("sjdlr"))
        .expect("a token scoped to sjdlr");
    let scoped = report(&app, Auth::Bearer(&secret), "programme=sjdlr&limit=1000").await;
    assert_eq!(
        finding_ids(&scoped),
        finding_ids(&full),
        "the same findings"
    );
    for f in scoped["findings"].as_array().unwrap() {
        assert_eq!(f["practice"], json!([]), "practice for a scoped token: {f}");
    }
    let told = scoped.to_string();
    for f in full["findings"].as_array().unwrap() {
        for p in f["practice"].as_array().unwrap() {
            for lang in ["en", "fr"] {
                let text = p["text"][lang].as_str().unwrap();
                assert!(!told.contains(text), "the scoped report tells {text}");
            }
            for id in p["evidence"].as_array().unwrap() {
                let id = id.as_str().unwrap();
                assert!(!told.contains(id), "the scoped report names {id}");
            }
        }
    }
    // Without `programme`, the scoped token reads its own: the same answer.
    assert_eq!(
        report(&app, Auth::Bearer(&secret), "limit=1000").await,
        scoped
    );
}

#[tokio::test]
async fn review_notes_about_a_finding_are_inside_it_in_log_order() {
    let app = TestApp::spawn().await;
    let coordinator = &app.tokens.coordinator;
    let full = report(&app, coordinator.into(), "programme=sjdlr&limit=1000").await;

    // The demo's note about the interpreting need is in its finding, as
    // `/notes` lists it: text, author and date.
    let interpreting = finding(&full, INTERPRETING);
    let demo_note = interpreting["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "note-interpreting")
        .unwrap_or_else(|| panic!("no note-interpreting in {interpreting}"));
    let listed = app
        .notes(coordinator, "programme=sjdlr&limit=1000")
        .await
        .ok_json(200);
    let listed = listed["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "note-interpreting")
        .expect("note-interpreting in /notes");
    assert_eq!(demo_note, listed, "the note as /notes lists it");
    assert_eq!(demo_note["about"], json!({"need": "need-interpreting"}));
    assert!(demo_note["occurred_at"]
        .as_str()
        .unwrap()
        .starts_with("2022-02-10"));
    // A finding about nothing the note names does not carry it.
    for f in full["findings"].as_array().unwrap() {
        if f["id"] != interpreting["id"]
            && !f["subjects"]
                .as_array()
                .unwrap()
                .contains(&json!("need-interpreting"))
        {
            assert!(
                !note_ids(f).contains(&"note-interpreting"),
                "note-interpreting in {}",
                f["id"]
            );
        }
    }

    // A mentor's note about the finding itself comes after it, in its
    // finding, as the mentor reads the report.
    let lead = interpreting["id"].as_str().unwrap().to_owned();
    let text = "Ask the <b>département</b> for its convention first.";
    let stored = app
        .post_events(
            &app.tokens.mentor,
            &json!({
                "type": "ReviewNoteAdded", "programme": "sjdlr", "occurred_at": "2024-03-03",
                "data": {"note": "note-mentor-interpreting", "about": {"gap": lead}, "text": text},
            }),
        )
        .await
        .ok_json(201);
    // The position is in the mentor's units (the events a mentor can see).
    let position = stored["position"].as_u64().expect("a position");
    let after = report(
        &app,
        (&app.tokens.mentor).into(),
        &format!("programme=sjdlr&limit=1000&min_position={position}"),
    )
    .await;
    let f = finding(&after, &lead);
    let ids = note_ids(f);
    let (old, new) = (
        ids.iter().position(|n| *n == "note-interpreting"),
        ids.iter().position(|n| *n == "note-mentor-interpreting"),
    );
    assert!(
        matches!((old, new), (Some(o), Some(n)) if o < n),
        "both notes, in log order: {ids:?}"
    );
    let note = &f["notes"][new.unwrap()];
    assert_eq!(note["text"], text, "the text as written");
    assert_eq!(note["recorded_by"], app.tokens.mentor.name);
    assert_eq!(note["about"], json!({"gap": lead}));
    for other in after["findings"].as_array().unwrap() {
        if other["id"] != lead {
            assert!(
                !note_ids(other).contains(&"note-mentor-interpreting"),
                "the note about {lead} in {}",
                other["id"]
            );
        }
    }
}

#[tokio::test]
async fn a_note_about_a_merged_finding_is_inside_the_finding_that_tells_it() {
    let app = TestApp::spawn().await;
    let coordinator = &app.tokens.coordinator;
    let full = report(&app, coordinator.into(), "programme=sjdlr&limit=1000").await;
    let lead = full["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| !f["merged"].as_array().unwrap().is_empty())
        .expect("the demo has findings merged into one");
    let merged = lead["merged"][0].as_str().unwrap().to_owned();
    assert!(
        !finding_ids(&full).contains(&merged.as_str()),
        "{merged} is told only inside {}",
        lead["id"]
    );
    let stored = app
        .post_events(
            coordinator,
            &json!({
                "type": "ReviewNoteAdded", "programme": "sjdlr", "occurred_at": "2024-03-03",
                "data": {"note": "note-about-merged", "about": {"gap": merged}, "text": "Seen."},
            }),
        )
        .await
        .ok_json(201);
    let position = stored["position"].as_u64().unwrap();
    let after = report(
        &app,
        coordinator.into(),
        &format!("programme=sjdlr&limit=1000&min_position={position}"),
    )
    .await;
    let f = finding(&after, &merged);
    assert_eq!(f["id"], lead["id"], "the same finding tells it");
    assert!(
        note_ids(f).contains(&"note-about-merged"),
        "the note about {merged} in {}: {:?}",
        f["id"],
        note_ids(f)
    );
}

/// The gap report filtered by kind, severity and subject: each filter keeps
/// exactly the findings that match it, the next page keeps the filters, and
/// a value that is not one names the parameter.
#[tokio::test]
async fn the_gap_report_is_filtered_by_kind_severity_and_subject() {
    let app = TestApp::spawn().await;
    let coordinator = || (&app.tokens.coordinator).into();
    let all = report(&app, coordinator(), "programme=sjdlr&limit=1000").await;
    let all = all["findings"].as_array().expect("findings[]").clone();
    let matching = |keep: &dyn Fn(&Value) -> bool| -> Vec<&str> {
        all.iter()
            .filter(|f| keep(f))
            .map(|f| f["id"].as_str().unwrap())
            .collect()
    };

    let high = report(&app, coordinator(), "programme=sjdlr&severity=high").await;
    let expected = matching(&|f| f["severity"] == "high");
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(finding_ids(&high), expected);

    let needs = report(&app, coordinator(), "programme=sjdlr&kind=uncovered_need").await;
    let expected = matching(&|f| f["kind"] == "uncovered_need");
    assert!(!expected.is_empty());
    assert_eq!(finding_ids(&needs), expected);

    let ccas = report(&app, coordinator(), "programme=sjdlr&subject=sj-ccas").await;
    let expected = matching(&|f| {
        f["subjects"]
            .as_array()
            .unwrap()
            .contains(&json!("sj-ccas"))
    });
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(finding_ids(&ccas), expected);

    let none = report(
        &app,
        coordinator(),
        "programme=sjdlr&subject=nobody&kind=dormant_tie",
    )
    .await;
    assert_eq!(finding_ids(&none), Vec::<&str>::new());

    // Paged, the next link keeps the filters.
    let first = app
        .gaps(coordinator(), "programme=sjdlr&severity=medium&limit=2")
        .await
        .ok_json(200);
    let next = first["next"].as_str().expect("a next page");
    assert!(next.contains("severity=medium"), "{next}");

    for (query, param) in [
        ("programme=sjdlr&kind=dormant", "kind"),
        ("programme=sjdlr&severity=urgent", "severity"),
        ("programme=sjdlr&subject=", "subject"),
    ] {
        let p = app.gaps(coordinator(), query).await.problem(400);
        assert!(
            p["detail"].as_str().unwrap().contains(param),
            "{query}: {p}"
        );
    }
}

/// The findings of every page of `/gaps` with `query`, following `next`.
async fn every_page(app: &TestApp, secret: &str, query: &str) -> Vec<Value> {
    let auth = || Auth::Bearer(secret);
    let mut page = app.gaps(auth(), query).await.ok_json(200);
    let mut out: Vec<Value> = page["findings"].as_array().expect("findings[]").clone();
    let mut pages = 1;
    while let Some(next) = page["next"].as_str().map(str::to_owned) {
        let (path, q) = next.split_once('?').expect("a query in the next link");
        assert_eq!(path, "/api/v1/gaps", "{next}");
        page = app.gaps(auth(), q).await.ok_json(200);
        let findings = page["findings"].as_array().expect("findings[]");
        assert!(!findings.is_empty(), "an empty page behind {next}");
        out.extend(findings.iter().cloned());
        pages += 1;
        assert!(pages < 1000, "no end to the pages of {query}");
    }
    out
}

fn ids_of(findings: &[Value]) -> Vec<&str> {
    findings.iter().map(|f| f["id"].as_str().unwrap()).collect()
}

const SEVERITIES: [&str; 3] = ["high", "medium", "low"];

/// Paged two or three at a time, the report gives every finding once, in
/// the order of the whole report, most severe first; and so does one kind's
/// findings, paged with the kind filter — for a coordinator and a mentor.
#[tokio::test]
async fn paging_through_the_report_gives_each_finding_once_in_order() {
    let app = TestApp::spawn().await;
    for token in [&app.tokens.coordinator, &app.tokens.mentor] {
        let auth = || Auth::from(token);
        let secret = token.secret.as_str();
        let whole = report(&app, auth(), "programme=sjdlr&limit=1000").await;
        let whole = whole["findings"].as_array().unwrap().clone();
        assert!(whole.len() > 6, "the demo has findings to page through");
        let rank = |f: &Value| SEVERITIES.iter().position(|s| f["severity"] == *s);
        assert!(
            whole.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
            "most severe first: {:?}",
            ids_of(&whole)
        );
        for limit in [2, 3] {
            let paged = every_page(&app, secret, &format!("programme=sjdlr&limit={limit}")).await;
            assert_eq!(
                ids_of(&paged),
                ids_of(&whole),
                "{}, {limit} a page",
                token.name
            );
        }
        let kind = whole[whole.len() / 2]["kind"].as_str().unwrap();
        let paged = every_page(
            &app,
            secret,
            &format!("programme=sjdlr&kind={kind}&limit=1"),
        )
        .await;
        let expected: Vec<&str> = whole
            .iter()
            .filter(|f| f["kind"] == kind)
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids_of(&paged), expected, "{kind}, one a page");
    }
}

/// The counts of the findings by severity and by kind, as `findings` hold them.
fn tally(findings: &[Value]) -> Value {
    let by_severity = |of: &dyn Fn(&Value) -> bool| {
        let n = |s: &str| {
            findings
                .iter()
                .filter(|f| of(f) && f["severity"] == s)
                .count()
        };
        json!({"high": n("high"), "medium": n("medium"), "low": n("low")})
    };
    let mut kinds: Vec<&str> = Vec::new();
    for f in findings {
        let k = f["kind"].as_str().unwrap();
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    json!({
        "total": findings.len(),
        "by_severity": by_severity(&|_| true),
        "by_kind": kinds.iter().map(|k| json!({
            "kind": k,
            "total": findings.iter().filter(|f| f["kind"] == *k).count(),
            "by_severity": by_severity(&|f| f["kind"] == *k),
        })).collect::<Vec<_>>(),
    })
}

/// Every answer of `/gaps` carries the counts of the whole report as its
/// reader may read it, whatever page and filter it shows: by severity, and
/// by kind with the most important group first. A mentor's counts are
/// those of the findings a mentor gets, and a scoped token's those of its
/// programme's report.
#[tokio::test]
async fn the_counts_are_of_the_whole_report_the_reader_may_read() {
    let app = TestApp::spawn().await;
    let (_, secret) = app
        .app
        .tokens()
        .create("sam sjdlr", Role::Viewer, Some("sjdlr"))
        .expect("a token scoped to sjdlr");
    let readers = [
        ("coordinator", app.tokens.coordinator.secret.clone()),
        ("mentor", app.tokens.mentor.secret.clone()),
        ("scoped viewer", secret),
    ];
    let mut seen = Vec::new();
    for (who, secret) in &readers {
        let auth = || Auth::Bearer(secret);
        let whole = report(&app, auth(), "programme=sjdlr&limit=1000").await;
        let findings = whole["findings"].as_array().unwrap();
        let expected = tally(findings);
        assert_eq!(whole["counts"], expected, "{who}");
        let kinds = whole["counts"]["by_kind"].as_array().unwrap();
        assert!(kinds.len() > 1, "{who}: several kinds in the demo");
        // The first group is the first finding's kind: the most important.
        assert_eq!(kinds[0]["kind"], findings[0]["kind"], "{who}");
        let kind = kinds[1]["kind"].as_str().unwrap();
        let subject = findings[0]["subjects"][0].as_str().unwrap();
        for query in [
            "programme=sjdlr&limit=1".to_owned(),
            format!("programme=sjdlr&kind={kind}"),
            "programme=sjdlr&severity=low".to_owned(),
            format!("programme=sjdlr&subject={subject}&severity=high"),
            "programme=sjdlr&subject=nobody".to_owned(),
        ] {
            let page = app.gaps(auth(), &query).await.ok_json(200);
            assert_eq!(page["counts"], expected, "{who}: {query}");
            if let Some(next) = page["next"].as_str() {
                let next = app
                    .gaps(auth(), next.split_once('?').unwrap().1)
                    .await
                    .ok_json(200);
                assert_eq!(next["counts"], expected, "{who}: after {query}");
            }
        }
        seen.push(expected);
    }
    // The demo's small group shares are the coordinator's only: a mentor
    // counts the findings a mentor reads, not the coordinator's.
    assert_ne!(seen[0], seen[1], "the mentor's counts are its own");
}
