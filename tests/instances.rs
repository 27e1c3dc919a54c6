//! Two `passerelle serve` processes on one PostgreSQL database, as behind a
//! load balancer: what one instance is told, the other one serves. Each
//! test makes its own schema ([`ScratchSchema`]) and starts the real binary
//! twice on port 0.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use passerelle_events::store::postgres::scratch::ScratchSchema;
use serde_json::{json, Value};
use support::Cli;

#[path = "../events/tests/support/pg_proxy.rs"]
mod pg_proxy;

/// A failure bound for anything that waits: never a wait for success.
const BOUND: Duration = Duration::from_secs(60);

/// One `passerelle serve` process.
struct Instance {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
}

impl Instance {
    /// Starts `serve` on `url` and waits (bounded) for the address it prints.
    fn start(cli: &Cli, url: &str, key: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .args(["serve", "--db", url, "--addr", "127.0.0.1:0"])
            .current_dir(cli.path(""))
            .env_remove("PASSERELLE_DB")
            .env_remove("PASSERELLE_MASTER_KEY")
            .env("PASSERELLE_MASTER_KEY_FILE", key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start passerelle serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("serving ") {
                    let addr = rest
                        .rsplit(" on http://")
                        .next()
                        .and_then(|a| a.split('/').next())
                        .map(str::to_owned);
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(BOUND)
            .expect("the server prints its address")
            .expect("an address in the serving line");
        Self {
            child,
            base: format!("http://{addr}"),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A store on PostgreSQL with a programme, a token of `role`, and its two
/// instances.
struct Pair {
    _pg: ScratchSchema,
    cli: Cli,
    url: String,
    key: String,
    token: String,
    a: Instance,
    b: Instance,
    http: reqwest::Client,
}

/// A store on PostgreSQL, in a schema of its own, with programme `sjdlr` and
/// a token of a role.
struct Prepared {
    pg: ScratchSchema,
    cli: Cli,
    /// The schema's URL.
    url: String,
    /// The master key's file.
    key: String,
    /// The token's secret.
    token: String,
}

impl Prepared {
    async fn new(role: &str) -> Self {
        let pg = ScratchSchema::new().await;
        let url = pg.url();
        let cli = Cli::new();
        let key = cli.path("pg.key").display().to_string();
        let env = [("PASSERELLE_MASTER_KEY_FILE", key.as_str())];
        cli.ok_env(&["init", "--db", &url], "", &env);
        cli.ok_env(
            &["record", "--db", &url],
            r#"{"type":"ProgrammeDefined","programme":"sjdlr","occurred_at":"2020-11-16",
                "data":{"programme":"sjdlr","name":"Saint-Jean-de-la-Ruelle","role":"mentee","country":"FR"}}"#,
            &env,
        );
        let token = cli
            .ok_env(
                &[
                    "token", "create", "--db", &url, "--role", role, "--name", "lab",
                ],
                "",
                &env,
            )
            .trim()
            .to_owned();
        assert!(token.starts_with("psl_"), "{token}");
        Self {
            pg,
            cli,
            url,
            key,
            token,
        }
    }

    /// `passerelle ARGS --db URL` with the master key; its output.
    fn cli(&self, args: &[&str]) -> String {
        let mut args = args.to_vec();
        args.extend(["--db", &self.url]);
        let env = [("PASSERELLE_MASTER_KEY_FILE", self.key.as_str())];
        self.cli.ok_env(&args, "", &env)
    }
}

impl Pair {
    async fn start(role: &str) -> Self {
        let Prepared {
            pg,
            cli,
            url,
            key,
            token,
        } = Prepared::new(role).await;
        let a = Instance::start(&cli, &url, &key);
        let b = Instance::start(&cli, &url, &key);
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(BOUND)
            .build()
            .expect("a client");
        Self {
            _pg: pg,
            cli,
            url,
            key,
            token,
            a,
            b,
            http,
        }
    }

    /// Appends a stakeholder through `on`; answers its position.
    async fn register(&self, on: &Instance, id: &str) -> u64 {
        let reply = self
            .http
            .post(format!("{}/api/v1/events", on.base))
            .bearer_auth(&self.token)
            .json(&json!({
                "type": "StakeholderRegistered", "programme": "sjdlr",
                "occurred_at": "2021-01-11",
                "data": {"stakeholder": id, "name": id, "kind": "association"},
            }))
            .send()
            .await
            .expect("an answer");
        assert_eq!(reply.status().as_u16(), 201, "{:?}", reply.text().await);
        let body: Value = reply.json().await.expect("JSON");
        body["position"]
            .as_u64()
            .or_else(|| body["events"][0]["position"].as_u64())
            .unwrap_or_else(|| panic!("a position in {body}"))
    }

    /// `GET path` on `on` with `auth` as the credential.
    async fn get(&self, on: &Instance, path: &str, auth: Auth<'_>) -> reqwest::Response {
        let request = self.http.get(format!("{}{path}", on.base));
        let request = match auth {
            Auth::Bearer(t) => request.bearer_auth(t),
            Auth::Cookie(c) => request.header("cookie", c),
        };
        request.send().await.expect("an answer")
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
}

#[tokio::test(flavor = "multi_thread")]
async fn an_append_through_one_instance_is_read_through_the_other() {
    let pair = Pair::start("coordinator").await;
    let position = pair.register(&pair.a, "sj-mdf").await;
    // B answers only once it has the position A answered.
    let reply = pair
        .get(
            &pair.b,
            &format!("/api/v1/stakeholders?programme=sjdlr&min_position={position}"),
            Auth::Bearer(&pair.token),
        )
        .await;
    assert_eq!(reply.status().as_u16(), 200);
    let body: Value = reply.json().await.expect("JSON");
    let ids: Vec<&str> = body["stakeholders"]
        .as_array()
        .expect("stakeholders")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, ["sj-mdf"], "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_instances_event_stream_delivers_the_others_appends_in_order() {
    let pair = Pair::start("coordinator").await;
    let reply = pair
        .get(
            &pair.b,
            "/api/v1/events/stream?after=1",
            Auth::Bearer(&pair.token),
        )
        .await;
    assert_eq!(reply.status().as_u16(), 200);
    let mut body = reply.bytes_stream();
    const N: usize = 40;
    let mut sent = Vec::new();
    for i in 0..N {
        sent.push(pair.register(&pair.a, &format!("sh-{i:03}")).await);
    }
    assert_eq!(sent, (2..2 + N as u64).collect::<Vec<_>>());
    let mut text = String::new();
    let mut ids = Vec::new();
    let deadline = Instant::now() + BOUND;
    while ids.len() < N {
        let chunk = tokio::time::timeout_at(deadline.into(), body.next())
            .await
            .expect("the stream delivers within the bound")
            .expect("the stream stays open")
            .expect("a chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            if let Some(id) = message
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .and_then(|v| v.trim().parse::<u64>().ok())
            {
                ids.push(id);
            }
        }
    }
    assert_eq!(ids, sent, "in order, without gap or duplicate");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_made_on_one_instance_works_on_the_other_until_the_token_is_revoked() {
    let pair = Pair::start("viewer").await;
    let reply = pair
        .http
        .post(format!("{}/login", pair.a.base))
        .header("origin", &pair.a.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", pair.token))
        .send()
        .await
        .expect("an answer");
    assert_eq!(reply.status().as_u16(), 303, "sign-in redirects");
    let cookie = reply
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let read = "/api/v1/stakeholders?programme=sjdlr";
    for on in [&pair.a, &pair.b] {
        let status = pair.get(on, read, Auth::Cookie(&cookie)).await.status();
        assert_eq!(status.as_u16(), 200, "the session works on {}", on.base);
    }
    // A restart logs no one out.
    let key = pair.key.clone();
    let url = pair.url.clone();
    let restarted = Instance::start(&pair.cli, &url, &key);
    let status = pair
        .get(&restarted, read, Auth::Cookie(&cookie))
        .await
        .status();
    assert_eq!(status.as_u16(), 200, "the session outlives a restart");

    // Revoked through instance A's API by an admin: every instance refuses
    // the token and its session within a second.
    let env = [("PASSERELLE_MASTER_KEY_FILE", key.as_str())];
    let admin = pair
        .cli
        .ok_env(
            &[
                "token", "create", "--db", &url, "--role", "admin", "--name", "ops",
            ],
            "",
            &env,
        )
        .trim()
        .to_owned();
    let listed: Value = pair
        .get(&pair.a, "/api/v1/tokens", Auth::Bearer(&admin))
        .await
        .json()
        .await
        .expect("JSON");
    let id = listed["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["name"] == "lab")
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("the lab token in {listed}"))
        .to_owned();
    let reply = pair
        .http
        .post(format!("{}/api/v1/revocations", pair.a.base))
        .bearer_auth(&admin)
        .json(&json!({ "token": id }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(reply.status().as_u16(), 200, "{:?}", reply.text().await);
    let revoked = Instant::now();
    for on in [&pair.a, &pair.b, &restarted] {
        for auth in [Auth::Bearer(&pair.token), Auth::Cookie(&cookie)] {
            loop {
                let status = pair.get(on, read, auth).await.status().as_u16();
                if status == 401 {
                    break;
                }
                assert_eq!(status, 200);
                assert!(
                    revoked.elapsed() < Duration::from_secs(1),
                    "{} still accepts a token revoked {:?} ago",
                    on.base,
                    revoked.elapsed()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_appending_at_once_leave_one_gap_free_log() {
    let pair = Arc::new(Pair::start("coordinator").await);
    const CONNECTIONS: usize = 64;
    const EACH: usize = 8;
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let pair = pair.clone();
        tasks.push(tokio::spawn(async move {
            let on = if c % 2 == 0 { &pair.a } else { &pair.b };
            let mut positions = Vec::new();
            for i in 0..EACH {
                positions.push(pair.register(on, &format!("sh-{c:02}-{i}")).await);
            }
            positions
        }));
    }
    let mut acknowledged = BTreeSet::new();
    for t in tasks {
        for p in t.await.expect("a client task") {
            assert!(acknowledged.insert(p), "position {p} answered twice");
        }
    }
    let n = (CONNECTIONS * EACH) as u64;
    assert_eq!(acknowledged, (2..2 + n).collect::<BTreeSet<_>>());
    let env = [("PASSERELLE_MASTER_KEY_FILE", pair.key.as_str())];
    let verified = pair.cli.ok_env(&["verify", "--db", &pair.url], "", &env);
    assert!(
        verified.starts_with(&format!("ok: {} events verified", n + 1)),
        "{verified}"
    );
    let export = pair.cli.ok_env(&["export", "--db", &pair.url], "", &env);
    let stakeholders: BTreeSet<String> = export
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| e["data"]["stakeholder"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(stakeholders.len(), CONNECTIONS * EACH);
}

/// `POST /events` of a stakeholder `slug` with event id `id` on `base`.
async fn register_as(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    slug: &str,
) -> reqwest::Response {
    http.post(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .json(&json!({
            "id": id, "type": "StakeholderRegistered", "programme": "sjdlr",
            "occurred_at": "2021-01-11",
            "data": {"stakeholder": slug, "name": slug, "kind": "association"},
        }))
        .send()
        .await
        .expect("an answer")
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_database_is_unreachable_an_instance_answers_503_and_then_recovers_by_itself() {
    use pg_proxy::{password_of, Answer, Proxy};
    let store = Prepared::new("coordinator").await;
    let proxy = Proxy::start(&store.pg, Answer::Refuse);
    let through = proxy.url(
        &store.pg,
        "localhost",
        &password_of(&store.pg),
        &[("sslmode", "disable")],
    );
    let instance = Instance::start(&store.cli, &through, &store.key);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(BOUND)
        .build()
        .expect("a client");
    let ids: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let reply = register_as(&http, &instance.base, &store.token, &ids[0], "before").await;
    assert_eq!(reply.status().as_u16(), 201, "{:?}", reply.text().await);

    proxy.cut();
    for (i, id) in ids[1..].iter().enumerate() {
        let reply = register_as(
            &http,
            &instance.base,
            &store.token,
            id,
            &format!("down-{i}"),
        )
        .await;
        assert_eq!(
            reply.status().as_u16(),
            503,
            "an append while the database is away"
        );
        let media = reply.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(media, "application/problem+json");
        let problem: Value = reply.json().await.expect("a problem document");
        assert_eq!(problem["status"], json!(503), "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(!detail.contains(&password_of(&store.pg)), "{problem}");
    }
    let reply = http
        .get(format!("{}/api/v1/events?limit=10", instance.base))
        .bearer_auth(&store.token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        reply.status().as_u16(),
        503,
        "a read of the log needs the database"
    );

    // Back: the same request, sent again, is taken without restarting
    // anything (the writer, the turn, the readers and the listener
    // reconnect by themselves).
    proxy.restore();
    let back = Instant::now();
    let position = loop {
        let reply = register_as(&http, &instance.base, &store.token, &ids[1], "down-0").await;
        match reply.status().as_u16() {
            201 => {
                let body: Value = reply.json().await.expect("JSON");
                break body["position"].as_u64().expect("a position");
            }
            503 => assert!(back.elapsed() < BOUND, "no recovery in {BOUND:?}"),
            other => panic!("{other}: {:?}", reply.text().await),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        position, 3,
        "positions go on from the last commit: nothing of the outage was written"
    );
    let read = http
        .get(format!(
            "{}/api/v1/stakeholders?programme=sjdlr&min_position={position}",
            instance.base
        ))
        .bearer_auth(&store.token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        read.status().as_u16(),
        200,
        "the instance follows the log again"
    );
    let read: Value = read.json().await.expect("JSON");
    let slugs: BTreeSet<&str> = read["stakeholders"]
        .as_array()
        .expect("stakeholders")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(slugs, BTreeSet::from(["before", "down-0"]));

    // Nothing half-written: the log holds the events acknowledged, in
    // gap-free positions, and none of those refused.
    let verified = store.cli(&["verify"]);
    assert!(verified.starts_with("ok: 3 events verified"), "{verified}");
    let export = store.cli(&["export"]);
    let stored: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).expect("an exported event"))
        .collect();
    let positions: Vec<u64> = stored
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3]);
    for id in &ids[2..] {
        assert!(
            !export.contains(id.as_str()),
            "a refused append was stored: {id}"
        );
    }
    assert!(export.contains(ids[1].as_str()));
}
