//! The event stream (`GET /api/v1/events/stream`): catch-up then live, resume
//! with `Last-Event-ID`, heartbeats, many subscribers fed from one hub, slow
//! subscribers dropped, and the caps on open streams.

use std::time::Instant;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// `n` notes about stakeholder `about` of `programme`, as one batch.
fn notes(programme: &str, tag: &str, n: usize, about: &str) -> Value {
    Value::Array(
        (0..n)
            .map(|i| note(programme, &format!("{tag}-{i}"), about))
            .collect(),
    )
}

/// The events of a stream up to and including log position `last`, checked
/// to follow `after` one by one.
async fn events_until(stream: &mut EventStream, after: u64, last: u64) -> Vec<Value> {
    let mut out = Vec::new();
    for expected in after + 1..=last {
        let (id, event) = stream.next_event().await;
        assert_eq!(id, expected, "no gap, no duplicate");
        out.push(event);
    }
    out
}

/// Every event of the log, as `GET /api/v1/events` pages it (coordinator).
async fn whole_log(app: &TestApp) -> Vec<Value> {
    let (mut after, mut all) = (0, Vec::new());
    loop {
        let page = app
            .events(
                &app.tokens.coordinator,
                &format!("after={after}&limit=1000"),
            )
            .await
            .ok_json(200);
        let events = page["events"].as_array().expect("events").clone();
        if events.is_empty() {
            return all;
        }
        after = page["next_after"].as_u64().expect("next_after");
        all.extend(events);
    }
}

#[tokio::test]
async fn the_stream_catches_up_then_delivers_new_events_live() {
    let app = TestApp::spawn_empty().await;
    let token = &app.tokens.coordinator;
    let batch = json!([stakeholder(LAB, "a"), stakeholder(LAB, "b")]);
    let stored = app.post_events(token, &batch).await.ok_json(201);

    // A coordinator's stream carries the envelopes unredacted.
    let mut stream = app.stream(token, None, None).await;
    assert_eq!(stream.status, 200);
    assert!(stream.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let caught_up = stream.events(3).await;
    assert_eq!(
        caught_up.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(caught_up[1].1, stored[0]);
    assert_eq!(caught_up[2].1, stored[1]);

    let live = app
        .post_events(token, &note(LAB, "n", "a"))
        .await
        .ok_json(201);
    let (id, event) = stream.next_event().await;
    assert_eq!(id, 4);
    assert_eq!(event, live);
}

#[tokio::test]
async fn resuming_with_last_event_id_has_no_gap_and_no_duplicate() {
    let app = TestApp::spawn().await;
    let token = &app.tokens.coordinator;

    let mut stream = app.stream(token, None, Some(300)).await;
    let resumed: Vec<u64> = stream
        .events(DEMO_EVENTS as usize - 300)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(resumed, (301..=DEMO_EVENTS).collect::<Vec<_>>());
    assert!(
        matches!(stream.next().await, Some(Frame::Comment(_))),
        "no duplicate, nothing more"
    );
    let stored = app
        .post_events(&app.tokens.coordinator, &stakeholder("sjdlr", "sj-late"))
        .await
        .ok_json(201);
    assert_eq!(stream.next_event().await, (DEMO_EVENTS + 1, stored));
    drop(stream);

    // The header wins over `after`, as a browser's reconnect sends both.
    let mut stream = app.stream(token, Some(0), Some(DEMO_EVENTS - 2)).await;
    let resumed: Vec<u64> = stream
        .events(3)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(resumed, [DEMO_EVENTS - 1, DEMO_EVENTS, DEMO_EVENTS + 1]);
    assert!(matches!(stream.next().await, Some(Frame::Comment(_))));

    let mut stream = app.stream(token, Some(DEMO_EVENTS + 1), None).await;
    let stored = app
        .post_events(&app.tokens.coordinator, &stakeholder("sjdlr", "sj-later"))
        .await
        .ok_json(201);
    assert_eq!(stream.next_event().await, (DEMO_EVENTS + 2, stored));
}

#[tokio::test]
async fn heartbeat_comments_keep_an_idle_stream_alive() {
    let app = TestApp::spawn_empty().await;
    let mut stream = app.stream(&app.tokens.coordinator, Some(1), None).await;
    let started = Instant::now();
    for _ in 0..2 {
        assert_eq!(
            stream.next().await,
            Some(Frame::Comment("heartbeat".into()))
        );
    }
    assert!(started.elapsed() >= HEARTBEAT, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_bad_or_future_position_is_400_naming_it() {
    let app = TestApp::spawn_empty().await;
    let token = &app.tokens.coordinator;
    for (query, header, names) in [
        ("", Some("yesterday"), "Last-Event-ID"),
        ("", Some("-1"), "Last-Event-ID"),
        ("after=ten", None, "after"),
        (
            "after=2",
            None,
            "after 2 is beyond the last position of the log, 1",
        ),
        ("after=0", Some("5"), "Last-Event-ID 5 is beyond"),
        ("colour=blue", None, "colour"),
    ] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("last-event-id", h)).into_iter().collect();
        let p = app
            .get("/api/v1/events/stream", token.into(), query, &headers)
            .await
            .problem(400);
        assert!(
            p["detail"].as_str().unwrap().contains(names),
            "{query} {header:?}: {p}"
        );
    }
    // Refused before it began, the stream holds no place under the caps.
    assert_eq!(*app.app.open_streams().borrow(), 0);
}

#[tokio::test]
async fn many_subscribers_each_receive_every_event_once_and_in_order() {
    let app = TestApp::spawn_empty_with(|c| c.streams_per_token = 64).await;
    let token = &app.tokens.coordinator;
    app.post_events(token, &stakeholder(LAB, "a"))
        .await
        .expect(201);
    // From the start, from the middle and from the head.
    let mut streams = Vec::new();
    for after in [0, 1, 2].repeat(10) {
        streams.push((after, app.stream(token, Some(after), None).await));
    }
    let mut posted = Vec::new();
    for batch in 0..5 {
        let stored = app
            .post_events(token, &notes(LAB, &format!("b{batch}"), 10, "a"))
            .await
            .ok_json(201);
        posted.extend(stored.as_array().unwrap().iter().cloned());
    }
    let log = whole_log(&app).await;
    assert_eq!(log.len(), 52);
    assert_eq!(&log[2..], &posted[..]);
    let received = join_all(streams.iter_mut().map(|(after, stream)| async move {
        let events = events_until(stream, *after, 52).await;
        // Then nothing but heartbeats: no event twice.
        assert!(matches!(stream.next().await, Some(Frame::Comment(_))));
        (*after, events)
    }))
    .await;
    for (after, events) in received {
        assert_eq!(events, &log[after as usize..], "from {after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_resumed_while_events_are_appended_have_no_gap_and_no_duplicate() {
    let app = TestApp::spawn().await;
    let t = &app.tokens;
    // Batches are appended while streams resume from older positions: the
    // server's threads publish them while those streams catch up from the
    // store and join the live events.
    let appends = async {
        for batch in 0..20 {
            app.post_events(
                &t.coordinator,
                &notes("sjdlr", &format!("b{batch}"), 5, "sj-ccas"),
            )
            .await
            .expect(201);
        }
    };
    let resumes = async {
        let mut streams = Vec::new();
        for (i, after) in [0, 300, 340, DEMO_EVENTS, 100, 0, 200, 330]
            .into_iter()
            .enumerate()
        {
            let token = if i % 2 == 0 { &t.coordinator } else { &t.admin };
            let mut stream = app.stream(token, None, Some(after)).await;
            let first = stream.next_event().await;
            assert_eq!(first.0, after + 1);
            streams.push((after, stream, first.1));
        }
        streams
    };
    let ((), mut streams) = tokio::join!(appends, resumes);
    let log = whole_log(&app).await;
    assert_eq!(log.len() as u64, DEMO_EVENTS + 100);
    for (after, stream, first) in &mut streams {
        let mut events = vec![first.clone()];
        events.extend(events_until(stream, *after + 1, DEMO_EVENTS + 100).await);
        assert_eq!(events, &log[*after as usize..], "from {after}");
        assert!(matches!(stream.next().await, Some(Frame::Comment(_))));
    }
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_the_ring_is_dropped_and_resumes() {
    let app = TestApp::spawn_empty_with(|c| c.stream_ring = 8).await;
    let token = &app.tokens.coordinator;
    app.post_events(token, &stakeholder(LAB, "a"))
        .await
        .expect(201);
    let mut stream = app.stream(token, None, None).await;
    assert_eq!(stream.events(2).await.last().unwrap().0, 2);

    // It reads nothing while more events than the ring holds are appended.
    let stored = app
        .post_events(token, &notes(LAB, "burst", 20, "a"))
        .await
        .ok_json(201);
    let mut last = 2;
    while let Some(frame) = stream.next().await {
        if let Frame::Event { id, .. } = frame {
            assert_eq!(id, last + 1, "no gap before the end");
            last = id;
        }
    }
    assert!(
        last < 22,
        "the stream ended before the burst's end: at {last}"
    );
    // The seat is free again.
    within(app.app.open_streams().wait_for(|n| *n == 0))
        .await
        .expect("the count of streams");

    // `Last-Event-ID` resumes after the last event it received.
    let mut resumed = app.stream(token, None, Some(last)).await;
    let rest = events_until(&mut resumed, last, 22).await;
    assert_eq!(rest, stored.as_array().unwrap()[(last - 2) as usize..]);
    assert!(matches!(resumed.next().await, Some(Frame::Comment(_))));
}

#[tokio::test]
async fn streams_are_capped_per_token_and_in_all_and_freed_when_they_end() {
    let app = TestApp::spawn_empty_with(|c| {
        c.streams_per_token = 2;
        c.streams_total = 3;
    })
    .await;
    let t = &app.tokens;
    let mut open = vec![
        app.stream(&t.coordinator, None, None).await,
        app.stream(&t.coordinator, None, None).await,
    ];
    assert!(open.iter().all(|s| s.status == 200));

    let refused = app.stream(&t.coordinator, None, None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers["retry-after"], "5");
    let p = refused.problem.unwrap();
    assert_eq!(p["type"], json!("/problems/too-many-requests"));
    assert!(
        p["detail"].as_str().unwrap().contains("streams_per_token"),
        "{p}"
    );

    open.push(app.stream(&t.admin, None, None).await);
    assert_eq!(open[2].status, 200);
    let refused = app.stream(&t.admin, None, None).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers["retry-after"], "5");
    let p = refused.problem.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("streams_total"),
        "{p}"
    );
    assert_eq!(*app.app.open_streams().borrow(), 3);

    // A client that leaves frees its place: the token may open one again.
    drop(open.remove(0));
    within(app.app.open_streams().wait_for(|n| *n == 2))
        .await
        .expect("the count of streams");
    let mut again = app.stream(&t.coordinator, None, None).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.next_event().await.0, 1);
}

#[tokio::test]
async fn a_scoped_token_streams_its_programme_in_its_own_units() {
    let app = TestApp::spawn().await;
    let t = &app.tokens;
    let own = |log: &[Value]| -> Vec<Value> {
        log.iter()
            .filter(|e| e["programme"] == "brussels")
            .enumerate()
            .map(|(i, e)| {
                let mut e = e.clone();
                e["position"] = json!(i + 1);
                e
            })
            .collect()
    };
    let brussels = own(&whole_log(&app).await);
    assert_eq!(brussels.len(), 99);

    // Its k-th event is numbered k, in `id:` and `position`; nothing of
    // sjdlr, whose events lie between them in the log, shows.
    let mut stream = app.stream(&t.brussels, None, None).await;
    let streamed = events_until(&mut stream, 0, 99).await;
    assert_eq!(streamed, brussels);
    assert!(matches!(stream.next().await, Some(Frame::Comment(_))));

    // Live: sjdlr's appends move nothing; its own come next in line.
    app.post_events(&t.admin, &stakeholder("sjdlr", "sj-new"))
        .await
        .expect(201);
    let stored = app
        .post_events(&t.brussels, &stakeholder("brussels", "br-new"))
        .await
        .ok_json(201);
    let (id, event) = stream.next_event().await;
    assert_eq!(id, 100);
    assert_eq!(event["id"], stored["id"]);
    let brussels = own(&whole_log(&app).await);
    assert_eq!(event, brussels[99]);

    // It resumes in the same units, from the store and from the live ring;
    // a scoped admin token alike.
    let mut resumed = Vec::new();
    for token in [&t.brussels, &t.brussels_admin] {
        let mut stream = app.stream(token, None, Some(50)).await;
        assert_eq!(events_until(&mut stream, 50, 100).await, &brussels[50..]);
        resumed.push(stream);
    }
    let stored = app
        .post_events(&t.admin, &stakeholder("brussels", "br-last"))
        .await
        .ok_json(201);
    for stream in &mut resumed {
        let (id, event) = stream.next_event().await;
        assert_eq!(id, 101);
        assert_eq!(event["id"], stored["id"]);
    }

    // A log position is not one of its own: past its programme's last
    // event (101), whatever the log's head, it is refused.
    for (query, header) in [("after=102", None), ("", Some("300"))] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("last-event-id", h)).into_iter().collect();
        let p = app
            .get(
                "/api/v1/events/stream",
                (&t.brussels).into(),
                query,
                &headers,
            )
            .await
            .problem(400);
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("beyond the last event of programme \"brussels\", 101"),
            "{p}"
        );
    }
    let mut at_end = app.stream(&t.brussels, Some(101), None).await;
    assert!(matches!(at_end.next().await, Some(Frame::Comment(_))));
}
