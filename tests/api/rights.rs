//! Erasure (`POST /api/v1/erasures`) and subject access
//! (`GET /api/v1/subjects/{subject}`) end to end, on the demo: what an admin
//! gets, what every other role and scope is refused, and that a
//! participant's code never comes back in an answer it was not asked for.

use super::*;

/// The body of an erasure of `subject`.
fn erasure(subject: &str) -> Value {
    json!({"subject": subject, "reason": "Asked in person at the Maison des Femmes"})
}

/// A JSON document with every `position` field (the log position a read
/// reflects, which an erasure moves) taken out.
fn without_positions(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("position");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// Whether `s` is a key id: `k_` and 32 lowercase hex digits.
fn is_key_id(s: &str) -> bool {
    s.strip_prefix("k_").is_some_and(|h| {
        h.len() == 32
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[tokio::test]
async fn an_admin_erases_a_contact_and_every_read_shows_it_erased_at_once() {
    let app = TestApp::spawn().await;
    let (admin, coordinator) = (&app.tokens.admin, &app.tokens.coordinator);
    let sjdlr = "programme=sjdlr";
    let before = app.stakeholder(admin, "sj-ccas", sjdlr).await.ok_json(200);
    assert_eq!(
        before["stakeholder"]["contact"],
        json!({"person": "Chargée de mission intégration", "email": "integration@example.org"})
    );
    let gaps = app.gaps(admin, sjdlr).await.ok_json(200);
    let network = app.network(admin, sjdlr).await.ok_json(200);
    let access = app
        .subject(admin, "contact:sjdlr/sj-ccas")
        .await
        .ok_json(200);
    assert_eq!(access["subject"], json!("contact:sjdlr/sj-ccas"));
    let types: Vec<&str> = access["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["StakeholderRegistered", "StakeholderProfileChanged"],
        "both events that hold the contact, opened: {access}"
    );
    assert_eq!(
        access["events"][0]["data"]["contact"]["email"],
        json!("ccas@example.org")
    );
    let head = app.head().await;

    let done = app
        .erase(admin, &erasure("contact:sjdlr/sj-ccas"))
        .await
        .ok_json(201);

    assert_eq!(done["erased"], json!("contact:sjdlr/sj-ccas"));
    assert_eq!(done["key"], access["key"], "the key that was destroyed");
    assert!(is_key_id(done["key"].as_str().unwrap()), "{done}");
    let event = &done["event"];
    assert_eq!(event["type"], json!("PersonalDataErased"));
    assert_eq!(event["position"], json!(head + 1));
    assert_eq!(event["recorded_by"], json!(app.tokens.admin.name));
    assert_eq!(
        event["data"],
        json!({"subject": "contact:sjdlr/sj-ccas", "reason": "Asked in person at the Maison des Femmes"})
    );
    // Reads reflect it as soon as the erasure is answered, also a read that
    // does not ask for its position: no rendering made before the erasure,
    // which holds the fields opened, is served again (regression: one was,
    // once, as the previous rendering of its key).
    let erased = json!({"person": {"erased": true}, "email": {"erased": true}});
    let at_erasure = format!("{sjdlr}&min_position={}", head + 1);
    let started = Instant::now();
    for token in [admin, coordinator] {
        let fresh = app.stakeholder(token, "sj-ccas", sjdlr).await.ok_json(200);
        assert_eq!(fresh["stakeholder"]["contact"], erased, "{fresh}");
        let one = app
            .stakeholder(token, "sj-ccas", &at_erasure)
            .await
            .ok_json(200);
        assert_eq!(one["stakeholder"]["contact"], erased, "{}", token.name);
        assert_eq!(one["stakeholder"]["name"], before["stakeholder"]["name"]);
        let all = app.stakeholders(token, &at_erasure).await.ok_json(200);
        let contacts: Vec<&Value> = all["stakeholders"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.get("contact"))
            .collect();
        assert!(contacts.contains(&&erased), "{all}");
        assert!(
            all.to_string().contains("inclucities@example.org"),
            "another stakeholder's contact stays"
        );
    }
    assert!(
        started.elapsed() < MIN_POSITION_TIMEOUT,
        "the reads did not wait for the projection: {:?}",
        started.elapsed()
    );
    let log = app
        .events(
            admin,
            "type=StakeholderRegistered&programme=sjdlr&limit=1000",
        )
        .await
        .ok_json(200);
    assert!(!log.to_string().contains("ccas@example.org"), "{log}");
    assert!(log.to_string().contains(r#""email":{"erased":true}"#));
    // The stakeholder, its ties and every finding stay.
    assert_eq!(
        without_positions(app.gaps(admin, &at_erasure).await.ok_json(200)),
        without_positions(gaps)
    );
    assert_eq!(
        without_positions(app.network(admin, &at_erasure).await.ok_json(200)),
        without_positions(network)
    );
    // Nothing is held any more; a second erasure says so and appends nothing.
    let p = app
        .subject(admin, "contact:sjdlr/sj-ccas")
        .await
        .problem(404);
    assert!(p["detail"].as_str().unwrap().contains("erased"), "{p}");
    let p = app
        .erase(admin, &erasure("contact:sjdlr/sj-ccas"))
        .await
        .problem(409);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("position {}", head + 1)),
        "{p}"
    );
    assert_eq!(app.head().await, head + 1, "the refusal appended nothing");
}

#[tokio::test]
async fn a_participant_is_erased_by_its_code_which_never_comes_back() {
    let app = TestApp::spawn().await;
    let admin = &app.tokens.admin;
    let code = "sj-p003";
    let subject = format!("participant:sjdlr/{code}");
    let participation = app
        .participation(admin, "programme=sjdlr")
        .await
        .ok_json(200);
    let sessions = app.sessions(admin, "programme=sjdlr").await.ok_json(200);

    let access = app.subject(admin, &subject).await.ok_json(200);
    let attended: Vec<&Value> = access["events"].as_array().unwrap().iter().collect();
    assert_eq!(attended.len(), 4, "the demo's four attendances: {access}");
    for e in &attended {
        assert_eq!(e["type"], json!("ParticipantAttended"));
        assert_eq!(e["data"]["participant"], json!(code), "opened");
    }
    let key = access["key"].as_str().unwrap().to_owned();

    let reply = app.erase(admin, &erasure(&subject)).await;
    let done = reply.ok_json(201);
    assert!(!reply.text().contains(code), "{}", reply.text());
    assert_eq!(done["erased"], json!(format!("participant:sjdlr/{key}")));
    assert_eq!(done["key"], json!(key));
    assert_eq!(done["event"]["data"]["subject"], done["erased"]);

    // Its attendances stay, each one marked erased; nothing links the code
    // to anything any more.
    let log = app
        .events(admin, "type=ParticipantAttended&programme=sjdlr&limit=1000")
        .await;
    assert!(!log.text().contains(code));
    let ids: Vec<&Value> = attended.iter().map(|e| &e["id"]).collect();
    let log = log.ok_json(200);
    let now: Vec<&Value> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| ids.contains(&&e["id"]))
        .collect();
    assert_eq!(now.len(), 4);
    for e in now {
        assert_eq!(e["data"]["participant"], json!({"erased": true}), "{e}");
    }
    let erasures = app
        .events(admin, "type=PersonalDataErased&limit=1000")
        .await;
    assert!(!erasures.text().contains(code));
    assert_eq!(erasures.ok_json(200)["events"][0], done["event"]);
    for reply in [
        app.subject(admin, &subject).await,
        app.erase(admin, &erasure(&subject)).await,
    ] {
        // Erased: not found, not "already erased" — the code is forgotten.
        reply.problem(404);
        assert!(!reply.text().contains(code), "{}", reply.text());
    }
    // Every count built on the attendances stays.
    assert_eq!(
        without_positions(
            app.participation(admin, "programme=sjdlr")
                .await
                .ok_json(200)
        ),
        without_positions(participation)
    );
    assert_eq!(
        without_positions(app.sessions(admin, "programme=sjdlr").await.ok_json(200)),
        without_positions(sessions)
    );
}

#[tokio::test]
async fn only_admins_erase_or_read_a_subject_and_a_scoped_admin_only_in_its_programme() {
    let app = TestApp::spawn().await;
    let t = &app.tokens;
    let head = app.head().await;
    for token in [&t.coordinator, &t.mentor, &t.viewer, &t.brussels] {
        for subject in ["contact:sjdlr/sj-ccas", "participant:sjdlr/sj-p001"] {
            let p = app.erase(token, &erasure(subject)).await.problem(403);
            let detail = p["detail"].as_str().unwrap();
            assert!(detail.contains("admin"), "{}: {detail}", token.name);
            let p = app.subject(token, subject).await.problem(403);
            assert!(p["detail"].as_str().unwrap().contains("admin"), "{p}");
        }
        // Refused before the body is read: a bad body says nothing more.
        app.erase(token, &json!({"colour": "red"}))
            .await
            .problem(403);
    }
    // A Brussels admin learns nothing about Saint-Jean's subjects: the same
    // refusal whether the subject is held or not.
    let scoped = &t.brussels_admin;
    let mut details = Vec::new();
    for subject in [
        "contact:sjdlr/sj-ccas",
        "contact:sjdlr/nobody-here",
        "participant:sjdlr/sj-p001",
        "participant:sjdlr/nobody",
    ] {
        let p = app.erase(scoped, &erasure(subject)).await.problem(403);
        details.push(p["detail"].clone());
        let p = app.subject(scoped, subject).await.problem(403);
        details.push(p["detail"].clone());
    }
    details.dedup();
    assert_eq!(details.len(), 1, "{details:?}");
    assert!(details[0].as_str().unwrap().contains("brussels"));
    assert_eq!(app.head().await, head, "nothing was appended");
    // It does erase in its own programme.
    app.subject(scoped, "contact:brussels/br-bapa")
        .await
        .ok_json(200);
    let done = app
        .erase(scoped, &erasure("contact:brussels/br-bapa"))
        .await
        .ok_json(201);
    assert_eq!(done["event"]["programme"], json!("brussels"));
    assert_eq!(done["event"]["recorded_by"], json!(scoped.name));
    // Without a token: 401.
    app.erase(Auth::None, &erasure("contact:brussels/br-bapa"))
        .await
        .problem(401);
    app.subject(Auth::None, "contact:brussels/br-bapa")
        .await
        .problem(401);
}

#[tokio::test]
async fn bad_erasures_and_subjects_are_refused_naming_the_problem() {
    let app = TestApp::spawn().await;
    let admin = &app.tokens.admin;
    let head = app.head().await;
    for (body, fields) in [
        (json!({"subject": "contact:sjdlr/sj-ccas"}), vec!["reason"]),
        (
            json!({"subject": "contact:sjdlr/sj-ccas", "reason": "x", "actor": "someone else"}),
            vec!["actor"],
        ),
        (
            json!({"subject": "sj-ccas", "reason": "x"}),
            vec!["subject"],
        ),
        (
            json!({"subject": "person:sjdlr/sj-ccas", "reason": "x"}),
            vec!["subject"],
        ),
        (
            json!({"subject": ["contact:sjdlr/sj-ccas"], "reason": ""}),
            vec!["subject", "reason"],
        ),
        (
            json!({"subject": "contact:sjdlr/sj-ccas", "reason": "x".repeat(1001)}),
            vec!["reason"],
        ),
        (json!("contact:sjdlr/sj-ccas"), vec![""]),
        (json!(null), vec![""]),
    ] {
        let p = app.erase(admin, &body).await.problem(422);
        assert_eq!(super::fields(&p), fields, "{body}");
    }
    // A key given twice is refused, not read as the last one.
    let twice =
        r#"{"subject": "contact:sjdlr/nobody", "subject": "contact:sjdlr/sj-ccas", "reason": "x"}"#;
    let reply = app
        .send(
            Method::POST,
            "/api/v1/erasures",
            admin.into(),
            "",
            &[],
            Some(twice.into()),
        )
        .await;
    assert_eq!(super::fields(&reply.problem(422)), ["subject"]);
    for body in ["{\"subject\": ", "", "contact:sjdlr/sj-ccas"] {
        let reply = app
            .send(
                Method::POST,
                "/api/v1/erasures",
                admin.into(),
                "",
                &[],
                Some(body.to_owned().into()),
            )
            .await;
        reply.problem(400);
    }
    let p = app
        .send(
            Method::POST,
            "/api/v1/erasures",
            admin.into(),
            "",
            &[],
            Some(
                erasure("contact:sjdlr/sj-ccas")
                    .to_string()
                    .repeat(500)
                    .into(),
            ),
        )
        .await
        .problem(413);
    assert!(p["detail"].as_str().unwrap().contains("limit"));
    app.send(
        Method::POST,
        "/api/v1/erasures",
        admin.into(),
        "dry_run=1",
        &[],
        Some(erasure("contact:sjdlr/sj-ccas").to_string().into()),
    )
    .await
    .problem(400);
    // Unknown subjects: 404, and a participant's code is never quoted.
    let p = app
        .erase(admin, &erasure("contact:sjdlr/nobody-here"))
        .await
        .problem(404);
    assert!(p["detail"].as_str().unwrap().contains("nobody-here"));
    for subject in [
        "participant:sjdlr/SECRET-7",
        "participant:atlantis/SECRET-7",
    ] {
        for reply in [
            app.erase(admin, &erasure(subject)).await,
            app.subject(admin, subject).await,
        ] {
            reply.problem(404);
            assert!(!reply.text().contains("SECRET-7"), "{}", reply.text());
        }
    }
    // A malformed participant subject is refused without quoting it either.
    for subject in ["participant:SECRET-7/sjdlr", "participant:sjdlr/SECRET 7"] {
        for reply in [
            app.erase(admin, &erasure(subject)).await,
            app.subject(admin, subject).await,
        ] {
            assert!(
                [400, 404, 422].contains(&reply.status.as_u16()),
                "{}",
                reply.text()
            );
            assert!(!reply.text().contains("SECRET"), "{}", reply.text());
        }
    }
    assert_eq!(app.head().await, head, "nothing was appended");

    // The subject travels as one percent-encoded path segment.
    for (path, why) in [
        ("/api/v1/subjects/contact:sjdlr/sj-ccas", "one path segment"),
        ("/api/v1/subjects/contact%3Asjdlr%2", "hex digits"),
        ("/api/v1/subjects/%FF%FE", "UTF-8"),
        ("/api/v1/subjects/contact%3Asj-ccas", "programme is missing"),
        ("/api/v1/subjects/", "missing"),
    ] {
        let p = app.get(path, admin.into(), "", &[]).await.problem(400);
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(why), "{path}: {detail}");
    }
    // Lower-case escapes decode too.
    app.get(
        "/api/v1/subjects/contact%3asjdlr%2fsj-ccas",
        admin.into(),
        "",
        &[],
    )
    .await
    .ok_json(200);
    let p = app
        .get(
            "/api/v1/subjects/contact%3Asjdlr%2Fsj-ccas",
            admin.into(),
            "as_of=2021-01-01",
            &[],
        )
        .await
        .problem(400);
    assert!(p["detail"].as_str().unwrap().contains("as_of"));
    // Other methods: 405 naming the one allowed.
    for (method, path, allow) in [
        (Method::GET, "/api/v1/erasures", "POST"),
        (Method::DELETE, "/api/v1/erasures", "POST"),
        (
            Method::POST,
            "/api/v1/subjects/participant%3Asjdlr%2FSECRET-7",
            "GET",
        ),
        (
            Method::DELETE,
            "/api/v1/subjects/participant%3Asjdlr%2FSECRET-7",
            "GET",
        ),
    ] {
        let reply = app.send(method, path, admin.into(), "", &[], None).await;
        reply.problem(405);
        assert_eq!(reply.header("allow"), Some(allow));
        assert!(!reply.text().contains("SECRET"), "{}", reply.text());
    }
}

#[tokio::test]
async fn answers_about_a_person_are_not_cached_and_logs_name_only_the_route() {
    let app = TestApp::spawn().await;
    let admin = &app.tokens.admin;
    let subject = "participant:sjdlr/sj-p010";
    let access = app.subject(admin, subject).await;
    access.ok_json(200);
    assert_eq!(access.header("cache-control"), Some("no-store"));
    app.subject(admin, "participant:sjdlr/sj-p999")
        .await
        .problem(404);
    let done = app.erase(admin, &erasure(subject)).await;
    done.ok_json(201);
    assert_eq!(done.header("cache-control"), Some("no-store"));
    let metrics = app.metrics(admin).await.text();
    for line in [
        r#"passerelle_http_requests_total{method="GET",route="/api/v1/subjects/{subject}",status="200"} 1"#,
        r#"passerelle_http_requests_total{method="GET",route="/api/v1/subjects/{subject}",status="404"} 1"#,
        r#"passerelle_http_requests_total{method="POST",route="/api/v1/erasures",status="201"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    assert!(!metrics.contains("sj-p"), "{metrics}");
}
