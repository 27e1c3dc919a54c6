//! `GET /map`: the frame the map draws, from the layouts the server keeps
//! per programme and month (decision 024) — the same positions as
//! `/network`, the present ties strongest first, the slider's steps, and
//! the refusals a hostile client meets.

use serde_json::{json, Value};

use super::*;

async fn map(app: &TestApp, auth: Auth<'_>, query: &str) -> Reply {
    app.get("/api/v1/map", auth, query, &[]).await
}

/// (id, x, y) of each node of a `/map` or `/network` body.
fn placed(body: &Value) -> Vec<(String, Value, Value)> {
    body["nodes"]
        .as_array()
        .expect("nodes[]")
        .iter()
        .map(|n| {
            (
                n["id"].as_str().expect("an id").to_owned(),
                n["x"].clone(),
                n["y"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_map_frame_has_the_networks_positions_and_ties_strongest_first() {
    let app = TestApp::spawn().await;
    let t = &app.tokens.coordinator;
    for query in [
        "programme=sjdlr",
        "programme=sjdlr&as_of=2021-06-30T23:59:59Z",
    ] {
        let frame = map(&app, t.into(), query).await.ok_json(200);
        let network = app.network(t, query).await.ok_json(200);
        // Every month is kept once the server has settled its layouts.
        assert_eq!(frame["settled"], json!(true), "{query}");
        assert_eq!(network["settled"], json!(true), "{query}");
        assert_eq!(frame["as_of"], network["as_of"], "{query}");
        assert_eq!(placed(&frame), placed(&network), "{query}");
        let nodes = frame["nodes"].as_array().expect("nodes[]");
        let ties = frame["ties"].as_array().expect("ties[]");
        assert_eq!(ties.len(), network["edges"].as_array().unwrap().len());
        let strength = |t: &Value| t[2].as_f64().expect("a strength");
        assert!(ties.windows(2).all(|w| strength(&w[0]) >= strength(&w[1])));
        // Each tie is one of the network's edges, by node index.
        for tie in ties {
            let (a, b) = (tie[0].as_u64().unwrap(), tie[1].as_u64().unwrap());
            assert!(a < b && (b as usize) < nodes.len(), "{tie}");
            let (ida, idb) = (&nodes[a as usize]["id"], &nodes[b as usize]["id"]);
            let edge = network["edges"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| &e["a"] == ida && &e["b"] == idb)
                .unwrap_or_else(|| panic!("no edge {ida}–{idb}"));
            // The map's strength is the network's in single precision.
            let exact = edge["strength"].as_f64().expect("a strength");
            assert_eq!((exact as f32).to_bits(), (strength(tie) as f32).to_bits());
            // Written with the fewest digits that read back as that single.
            let single = strength(tie) as f32;
            assert_eq!(
                strength(tie),
                single.to_string().parse::<f64>().unwrap(),
                "{tie}"
            );
        }
        // Communities as the network numbers them.
        for (n, m) in nodes.iter().zip(network["nodes"].as_array().unwrap()) {
            assert_eq!(n["community"], m["community"]);
        }
    }
    // The slider's steps: month ends, then the programme's last event.
    let frame = map(&app, t.into(), "programme=sjdlr").await.ok_json(200);
    let steps = frame["steps"].as_array().expect("steps[]");
    assert!(steps.len() > 12, "{} steps", steps.len());
    assert_eq!(steps.last(), Some(&frame["as_of"]));
    assert!(steps.contains(&json!("2021-06-30T23:59:59Z")));
    // A step's frame is kept: its ETag does not change.
    let step = format!("programme=sjdlr&as_of={}", steps[3].as_str().unwrap());
    let first = map(&app, t.into(), &step).await;
    let etag = first.header("etag").expect("an ETag").to_owned();
    let again = app
        .get("/api/v1/map", t.into(), &step, &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status.as_u16(), 304);
}

#[tokio::test]
async fn the_map_refuses_what_it_does_not_answer() {
    let app = TestApp::spawn().await;
    let t = &app.tokens.coordinator;
    // As of a log position: not a parameter of the map (its layouts are
    // of the log as it is).
    let reply = map(&app, t.into(), "programme=sjdlr&position=10").await;
    let p = reply.problem(400);
    assert!(p["detail"].as_str().unwrap().contains("position"), "{p}");
    for (query, names) in [
        ("programme=sjdlr&as_of=yesterday", "as_of"),
        ("programme=nowhere", "nowhere"),
    ] {
        let reply = map(&app, t.into(), query).await;
        let status = reply.status.as_u16();
        assert!(status == 400 || status == 404, "{query}: {status}");
        let detail = reply.problem(status)["detail"].clone();
        assert!(
            detail.as_str().unwrap().contains(names),
            "{query}: {detail}"
        );
    }
    // A token scoped to brussels reads no other programme's map.
    map(&app, (&app.tokens.brussels).into(), "programme=sjdlr")
        .await
        .problem(403);
    // Before the programme's first event: no stakeholder, no tie.
    let before = map(&app, t.into(), "programme=sjdlr&as_of=1990-01-01")
        .await
        .ok_json(200);
    assert_eq!(before["nodes"], json!([]));
    assert_eq!(before["ties"], json!([]));
    // Far in the future: the frame at that time, one layout, said so.
    let late = map(&app, t.into(), "programme=sjdlr&as_of=9999-12-31")
        .await
        .ok_json(200);
    assert_eq!(late["as_of"], json!("9999-12-31T00:00:00Z"));
    assert!(!late["nodes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn mentors_and_viewers_get_the_same_map_in_their_units() {
    let app = TestApp::spawn().await;
    let full = map(&app, (&app.tokens.coordinator).into(), "programme=sjdlr")
        .await
        .ok_json(200);
    for t in [&app.tokens.mentor, &app.tokens.viewer] {
        let mut seen = map(&app, t.into(), "programme=sjdlr").await.ok_json(200);
        // Positions are told in visible units: attendances leave no trace.
        assert!(seen["position"].as_u64() < full["position"].as_u64());
        seen["position"] = full["position"].clone();
        assert_eq!(seen, full);
    }
}
