//! Bounded work and bounded answers (decision 012): a time far after a
//! programme's last event is answered for that time at the cost of any read,
//! and the answer says its time; a rendering stops at its deadline and when its client goes away, and
//! releases the engine; the renderings that run at once are bounded; every
//! list pages, and a finding's evidence too.

use std::sync::Arc;
use std::time::Duration;

use passerelle::api::ApiConfig;
use passerelle_projections::layout::LayoutConfig;
use passerelle_projections::views::Settings;

use super::*;

/// Layouts that never end in a test's lifetime: a network read renders
/// until it is stopped.
fn endless() -> Settings {
    Settings {
        layout: LayoutConfig {
            iterations: usize::MAX,
            ..LayoutConfig::default()
        },
        ..Settings::default()
    }
}

/// The test server's configuration with endless layouts and `f` applied.
fn endless_config(f: impl FnOnce(&mut ApiConfig)) -> ApiConfig {
    let mut config = TestApp::config(endless());
    // No layout would end in the background either.
    config.background_layouts = false;
    f(&mut config);
    config
}

const STOPPED_DEADLINE: &str = "passerelle_renders_stopped_total{reason=\"deadline\"}";
const STOPPED_ABANDONED: &str = "passerelle_renders_stopped_total{reason=\"abandoned\"}";
const IN_FLIGHT: &str = "passerelle_renders_in_flight";
const REFUSED: &str = "passerelle_renders_refused_total";
const WAITING: &str = "passerelle_renders_waiting";

/// Asserts a 503 `/problems/busy` with `Retry-After`; returns its detail.
#[track_caller]
fn busy(reply: &Reply) -> String {
    let p = reply.problem(503);
    assert_eq!(p["type"], json!("/problems/busy"), "{p}");
    let retry: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry >= 1, "Retry-After {retry}");
    p["detail"].as_str().expect("a detail").to_owned()
}

mod as_of {
    use super::*;

    #[tokio::test]
    async fn a_far_future_as_of_is_answered_for_that_time_and_says_so() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.coordinator;
        let latest = app.network(t, "programme=sjdlr").await.ok_json(200);
        let last = latest["as_of"].as_str().expect("as_of").to_owned();
        assert_eq!(last, "2022-07-05T00:00:00Z", "sjdlr's last visible event");
        let far_time = json!("9999-12-31T00:00:00Z");

        let far = app
            .network(t, "programme=sjdlr&as_of=9999-12-31")
            .await
            .ok_json(200);
        assert_eq!(far["as_of"], far_time);
        // The same network, its ties decayed by then.
        let ties = |v: &Value| v["edges"].as_array().expect("edges").len();
        assert_eq!(ties(&far), ties(&latest));
        let gaps = app
            .gaps(t, "programme=sjdlr&as_of=9999-12-31")
            .await
            .ok_json(200);
        assert_eq!(gaps["as_of"], far_time);
        for read in ["stakeholders", "notes", "participation"] {
            let body = app
                .get(
                    &format!("/api/v1/{read}"),
                    t.into(),
                    "programme=sjdlr&as_of=9999-12-31",
                    &[],
                )
                .await
                .ok_json(200);
            assert_eq!(body["as_of"], far_time, "{read}");
            let latest = app
                .get(&format!("/api/v1/{read}"), t.into(), "programme=sjdlr", &[])
                .await
                .ok_json(200);
            assert_eq!(latest["as_of"], Value::Null, "{read} of the latest state");
        }
        let one = app
            .stakeholder(t, "sj-ccas", "programme=sjdlr&as_of=9999-12-31")
            .await
            .ok_json(200);
        assert_eq!(one["as_of"], far_time);
        let diff = app
            .diff(t, "programme=sjdlr&from=2021-01-01&to=9999-12-31")
            .await
            .ok_json(200);
        assert_eq!(diff["to"]["as_of"], far_time);
        assert_eq!(diff["from"]["as_of"], json!("2021-01-01T00:00:00Z"));
    }

    #[tokio::test]
    async fn a_far_read_of_one_programme_ignores_the_events_of_another() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.coordinator;
        let query = "programme=brussels&as_of=9999-12-31";
        let before = app.network(t, query).await.ok_json(200);
        let mut late = stakeholder("sjdlr", "sj-late-comer");
        late["occurred_at"] = json!("2024-06-01");
        let stored = app.post_events(t, &late).await.ok_json(201);
        let after = app
            .network(t, &format!("{query}&min_position={}", stored["position"]))
            .await
            .ok_json(200);
        for key in ["as_of", "nodes", "edges", "metrics"] {
            assert_eq!(after[key], before[key], "{key}");
        }
    }
}

mod renders {
    use super::*;

    #[tokio::test]
    async fn a_render_past_its_deadline_is_answered_503_and_nothing_is_cached() {
        let app = TestApp::spawn_with(endless_config(|c| {
            c.render_deadline = Duration::from_millis(300);
        }))
        .await;
        let t = &app.tokens.coordinator;
        for attempt in 1..=2 {
            let reply = app.network(t, "programme=sjdlr").await;
            let detail = busy(&reply);
            assert!(
                detail.contains("took longer than the server allows (300 ms)"),
                "{detail}"
            );
            // Stopped inside its layout loop, counted, and not kept: the
            // second read renders again and is stopped again.
            app.metric_reaches(STOPPED_DEADLINE, attempt as f64).await;
            app.metric_reaches(IN_FLIGHT, 0.0).await;
        }
        assert_eq!(app.metric(STOPPED_ABANDONED).await, 0.0);
        // Reads that need no layout still render within the deadline.
        app.stakeholders(t, "programme=sjdlr").await.ok_json(200);
    }

    #[tokio::test]
    async fn beyond_the_renders_in_flight_a_read_is_answered_503() {
        let app = TestApp::spawn_with(endless_config(|c| {
            c.render_limit = 1;
            c.render_wait = Duration::from_millis(200);
            c.render_deadline = PATIENCE * 6;
        }))
        .await;
        let t = &app.tokens.coordinator;
        let held = app.begin_get(t, "/api/v1/network", "programme=sjdlr").await;
        app.metric_reaches(IN_FLIGHT, 1.0).await;

        // It waits for a place, then is turned away.
        let reply = app.gaps(t, "programme=sjdlr").await;
        let detail = busy(&reply);
        assert!(detail.contains("computed 1 other reads"), "{detail}");
        assert!(detail.contains("200 ms"), "{detail}");
        assert_eq!(app.metric(REFUSED).await, 1.0);

        // Once the held read's client goes away, its render stops and
        // frees its place.
        drop(held);
        app.metric_reaches(IN_FLIGHT, 0.0).await;
        app.gaps(t, "programme=sjdlr").await.ok_json(200);
    }

    #[tokio::test]
    async fn a_read_waits_for_a_place_to_free_up() {
        let app = Arc::new(
            TestApp::spawn_with(endless_config(|c| {
                c.render_limit = 1;
                c.render_deadline = PATIENCE * 6;
            }))
            .await,
        );
        let t = app.tokens.coordinator.clone();
        let held = app
            .begin_get(&t, "/api/v1/network", "programme=sjdlr")
            .await;
        app.metric_reaches(IN_FLIGHT, 1.0).await;
        let waiting = {
            let (app, t) = (app.clone(), t.clone());
            tokio::spawn(async move { app.gaps(&t, "programme=sjdlr").await })
        };
        app.metric_reaches(WAITING, 1.0).await;
        drop(held);
        let reply = within(waiting).await.expect("the waiting read");
        reply.ok_json(200);
        assert_eq!(app.metric(REFUSED).await, 0.0);
        assert_eq!(app.metric(WAITING).await, 0.0);
    }

    #[tokio::test]
    async fn a_client_that_goes_away_stops_its_render_and_frees_the_engine() {
        let app = TestApp::spawn_with(endless_config(|c| {
            c.render_deadline = PATIENCE * 6;
        }))
        .await;
        let t = &app.tokens.coordinator;
        let held = app
            .begin_get(t, "/api/v1/network", "programme=brussels")
            .await;
        app.metric_reaches(IN_FLIGHT, 1.0).await;
        assert_eq!(app.metric(STOPPED_ABANDONED).await, 0.0);

        drop(held);
        app.metric_reaches(STOPPED_ABANDONED, 1.0).await;
        app.metric_reaches(IN_FLIGHT, 0.0).await;
        assert_eq!(app.metric(STOPPED_DEADLINE).await, 0.0);

        // The engine's read lock was released: the follower folds a new
        // event in (a read waits for it), and nothing of the stopped render
        // was kept (the next read renders again, and is stopped again).
        let stored = app
            .post_events(t, &stakeholder("brussels", "br-after-the-stop"))
            .await
            .ok_json(201);
        let listed = app
            .stakeholders(
                t,
                &format!("programme=brussels&min_position={}", stored["position"]),
            )
            .await
            .ok_json(200);
        assert!(stakeholder_ids(&listed).contains(&"br-after-the-stop".to_owned()));
        let again = app
            .begin_get(t, "/api/v1/network", "programme=brussels")
            .await;
        app.metric_reaches(IN_FLIGHT, 1.0).await;
        drop(again);
        app.metric_reaches(STOPPED_ABANDONED, 2.0).await;
    }
}

mod pages {
    use super::*;

    /// The `key` of every item of every page of `list` from `first` (a
    /// path and query) on, following `next`; asserts each page holds at
    /// most `limit` items.
    async fn walk(app: &TestApp, first: &str, list: &str, key: &str, limit: usize) -> Vec<Value> {
        let t = &app.tokens.admin;
        let mut out = Vec::new();
        let mut link = Some(first.to_owned());
        while let Some(l) = link {
            let page = app.follow(t, &l).await.ok_json(200);
            let items = page[list].as_array().expect("a list");
            assert!(items.len() <= limit, "{l}: {} items", items.len());
            out.extend(items.iter().map(|i| i[key].clone()));
            link = page[next_of(list)].as_str().map(str::to_owned);
            assert!(
                link.is_none() || items.len() == limit,
                "{l}: a short page before the last"
            );
        }
        out
    }

    /// The link to the next page of `list`.
    fn next_of(list: &str) -> &'static str {
        match list {
            "ties" => "ties_next",
            "contacts" => "contacts_next",
            _ => "next",
        }
    }

    #[tokio::test]
    async fn every_list_pages_to_what_one_page_holds() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.admin;
        for (route, list, key) in [
            ("programmes", "programmes", "id"),
            ("stakeholders", "stakeholders", "id"),
            ("partnerships", "partnerships", "id"),
            ("sessions", "sessions", "id"),
            ("needs", "needs", "id"),
            ("milestones", "milestones", "id"),
            ("notes", "notes", "id"),
            ("gaps", "findings", "id"),
            ("stakeholders/sj-ccas", "ties", "with"),
            ("stakeholders/sj-ccas", "contacts", "event"),
        ] {
            let programme = if route == "programmes" {
                ""
            } else {
                "programme=sjdlr&"
            };
            let whole = app
                .follow(t, &format!("/api/v1/{route}?{programme}limit=1000"))
                .await
                .ok_json(200);
            assert_eq!(whole[next_of(list)], Value::Null, "{route}: one page");
            let all: Vec<Value> = whole[list]
                .as_array()
                .expect("a list")
                .iter()
                .map(|i| i[key].clone())
                .collect();
            assert!(all.len() >= 2, "{route}: {} {list}", all.len());
            let first = format!("/api/v1/{route}?{programme}limit=2");
            let paged = walk(&app, &first, list, key, 2).await;
            assert_eq!(paged, all, "{route}: the pages hold the list, in order");
        }
        let default = app.sessions(t, "programme=sjdlr").await.ok_json(200);
        assert_eq!(default["next"], Value::Null, "100 items by default");
    }

    #[tokio::test]
    async fn a_next_link_keeps_the_reads_point_in_time() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.coordinator;
        let q = "programme=sjdlr&as_of=2021-06-30&limit=3";
        let first = app.stakeholders(t, q).await.ok_json(200);
        let next = first["next"].as_str().expect("a next page");
        assert!(
            next.starts_with("/api/v1/stakeholders?programme=sjdlr&"),
            "{next}"
        );
        assert!(
            next.contains("as_of=2021-06-30") && next.contains("limit=3"),
            "{next}"
        );
        let second = app.follow(t, next).await.ok_json(200);
        assert_eq!(second["as_of"], json!("2021-06-30T00:00:00Z"));
        let mentor = app
            .stakeholders(&app.tokens.mentor, "programme=sjdlr&position=100&limit=2")
            .await
            .ok_json(200);
        let next = mentor["next"].as_str().expect("a next page");
        assert!(next.contains("position=100"), "{next}");
        assert!(!next.contains("min_position"), "{next}");
    }

    #[tokio::test]
    async fn a_findings_evidence_is_capped_and_paged() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.coordinator;
        let report = app.gaps(t, "programme=sjdlr").await.ok_json(200);
        let findings = report["findings"].as_array().expect("findings");
        let big = findings
            .iter()
            .find(|f| f["evidence_more"].as_u64() > Some(0))
            .expect("a finding with more than 20 events of evidence");
        let shown = big["evidence"].as_array().expect("evidence");
        assert_eq!(shown.len(), 20);
        let more = big["evidence_more"].as_u64().expect("a count") as usize;
        for f in findings.iter().filter(|f| f["evidence_more"] == json!(0)) {
            assert_eq!(f["evidence_next"], Value::Null, "{}", f["id"]);
        }

        let mut rest = Vec::new();
        let mut link = big["evidence_next"].as_str().map(str::to_owned);
        while let Some(l) = link {
            let page = app.follow(t, &l).await.ok_json(200);
            assert_eq!(page["finding"], big["id"]);
            rest.extend(
                page["evidence"]
                    .as_array()
                    .expect("evidence")
                    .iter()
                    .cloned(),
            );
            link = page["next"].as_str().map(str::to_owned);
        }
        assert_eq!(rest.len(), more);
        let all: Vec<Value> = shown.iter().cloned().chain(rest).collect();
        let sorted = {
            let mut v = all.clone();
            v.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            v.dedup();
            v
        };
        assert_eq!(all, sorted, "by id, each once");

        let id = big["id"].as_str().expect("an id");
        let one = app
            .evidence(
                t,
                &format!("programme=sjdlr&finding={}&limit=1000", enc(id)),
            )
            .await
            .ok_json(200);
        assert_eq!(one["evidence"].as_array().expect("evidence"), &all);
        assert_eq!(one["next"], Value::Null);
        app.evidence(t, "programme=sjdlr&finding=no_such/finding")
            .await
            .problem(404);
        let p = app.evidence(t, "programme=sjdlr").await.problem(400);
        assert!(p["detail"].as_str().unwrap().contains("finding"), "{p}");
    }

    #[tokio::test]
    async fn bad_paging_parameters_are_400_naming_them() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.coordinator;
        for (route, query, names) in [
            ("stakeholders", "limit=0", "limit"),
            ("stakeholders", "limit=1001", "limit"),
            ("notes", "limit=many", "limit"),
            ("programmes", "limit=1001", "limit"),
            ("needs", "after=Not%20An%20Id", "after"),
            ("milestones", "after=no-such-milestone", "after"),
            ("notes", "after=no-such-note", "after"),
            ("gaps", "after=no_such/finding", "after"),
            ("stakeholders/sj-ccas", "ties_after=%24", "ties_after"),
            (
                "stakeholders/sj-ccas",
                "contacts_after=42",
                "contacts_after",
            ),
            ("stakeholders/sj-ccas", "after=x", "after"),
            ("network", "limit=5", "limit"),
        ] {
            let q = format!("programme=sjdlr&{query}");
            let p = app
                .get(&format!("/api/v1/{route}"), t.into(), &q, &[])
                .await
                .problem(400);
            let detail = p["detail"].as_str().expect("a detail");
            assert!(detail.contains(names), "{route}?{q}: {detail}");
        }
    }

    /// `s` percent-encoded for a query.
    fn enc(s: &str) -> String {
        s.replace('+', "%2B")
    }
}

/// `min_position` (decision 012): beyond the store's head it is refused at
/// once, naming the head in the caller's units; a wait for a position the
/// store holds is bounded in time and in the number of requests waiting.
mod waits {
    use super::*;
    use passerelle::api::state::Waited;
    use passerelle_projections::engine::Units;
    use std::task::Poll;
    use std::time::Instant;

    #[tokio::test]
    async fn min_position_beyond_the_head_is_409_at_once_in_the_callers_units() {
        let app = TestApp::spawn().await;
        for (t, head) in [
            (&app.tokens.coordinator, DEMO_EVENTS),
            (&app.tokens.viewer, DEMO_VISIBLE),
        ] {
            let at_head = app
                .stakeholders(t, &format!("programme=sjdlr&min_position={head}"))
                .await;
            assert_eq!(at_head.ok_json(200)["position"], json!(head));

            let started = Instant::now();
            let beyond = app
                .stakeholders(t, &format!("programme=sjdlr&min_position={}", head + 1))
                .await;
            let took = started.elapsed();
            assert!(took < MIN_POSITION_TIMEOUT, "no wait: {took:?}");
            let p = beyond.problem(409);
            let detail = p["detail"].as_str().expect("a detail");
            let expected = format!("min_position {} is beyond the log's head {head}", head + 1);
            assert!(detail.contains(&expected), "{detail}");
        }
        // A scoped token counts its programme's events only.
        let started = Instant::now();
        let scoped = app
            .stakeholders(&app.tokens.brussels, "min_position=100000")
            .await;
        let p = scoped.problem(409);
        let detail = p["detail"].as_str().expect("a detail");
        assert!(!detail.contains(&DEMO_EVENTS.to_string()), "{detail}");
        assert!(
            detail.contains("counting the events this token is told of"),
            "{detail}"
        );
        let took = started.elapsed();
        assert!(took < MIN_POSITION_TIMEOUT, "no wait: {took:?}");
    }

    #[tokio::test]
    async fn waits_beyond_the_limit_are_refused_at_once_and_places_are_given_back() {
        let app = TestApp::spawn_empty_with(|c| c.min_position_waiters = 2).await;
        let never = 1_000_000;
        let wait = || app.app.wait_until(never, Units::LOG);
        // Two waits take the two places (their first poll does) and wait.
        let mut first = Box::pin(wait());
        let mut second = Box::pin(wait());
        assert_eq!(futures::poll!(&mut first), Poll::Pending);
        assert_eq!(futures::poll!(&mut second), Poll::Pending);

        // A third does not wait.
        let started = Instant::now();
        assert_eq!(wait().await, Waited::Crowded);
        assert!(started.elapsed() < MIN_POSITION_TIMEOUT);
        // A position already projected needs no place.
        assert_eq!(app.app.wait_until(1, Units::LOG).await, Waited::Reached);
        assert_eq!(
            app.stakeholders(&app.tokens.coordinator, "min_position=1")
                .await
                .ok_json(200)["position"],
            json!(1)
        );

        // A wait that ends gives its place back.
        drop(first);
        let mut third = Box::pin(wait());
        assert_eq!(futures::poll!(&mut third), Poll::Pending);
        assert_eq!(wait().await, Waited::Crowded);

        // The waits are bounded in time.
        let started = Instant::now();
        assert_eq!(second.await, Waited::TimedOut);
        assert_eq!(third.await, Waited::TimedOut);
        let took = started.elapsed();
        assert!(took < MIN_POSITION_TIMEOUT * 10, "{took:?}");
    }
}
