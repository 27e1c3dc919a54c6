//! The web pages as a person meets them: real headless Chromium, driven over
//! WebDriver (fantoccini → chromedriver, started here on a port it picks),
//! against a server on port 0 loaded with the demo.
//!
//! Starting a browser costs seconds, so one test walks the whole journey:
//! the sign-in message without a session; a mentor's login link;
//! the map with its nodes and edges; a stakeholder's profile; the time slider
//! before the Brussels study visit; the gap report and participation pages
//! (screenshots at 1280×800, and the redaction of small counts); the event
//! log, which a mentor is not offered and whose page explains why without
//! asking the API for it; then a coordinator's contact form, refused with
//! the missing field named beside it, then accepted, and the new tie on the
//! map; the coordinator's event log and the profile of a stakeholder whose
//! contact an admin erased ("erased", then "effacé"). Every page is checked
//! to have loaded nothing from any host but the server. A second test, with
//! a browser of its own, signs in by pasting a token into the sign-in form
//! (the way in for everyone without a login link), sees the map, signs out
//! and is asked to sign in again. A third reads the gap report's finding on
//! the interpreting need as a coordinator: its review notes and the mentor's
//! practice inside its card, in English and in French, and on `/compare`.
//!
//! Screenshots go to a temporary folder (its path is printed), or to the
//! folder `PASSERELLE_SCREENSHOTS` names, which is kept. Needs Debian's
//! `chromium` and `chromium-driver` (`scripts/test` installs them); the paths
//! can be changed with `CHROMIUM` and `CHROMEDRIVER`.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/openapi.rs"]
mod openapi;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use helpers::{Auth, TestApp};
use passerelle::api::ApiConfig;
use passerelle::generate::{events_for_ties, generate, GenerateConfig};
use passerelle_projections::layout::LayoutConfig;
use passerelle_projections::views::Settings;
use serde_json::{json, Value};

/// The longest any wait in this test may take; reaching it fails the test.
const PATIENCE: Duration = Duration::from_secs(30);
/// The screenshot size the issue asks for.
const SIZE: (u32, u32) = (1280, 800);

/// A path from an environment variable, or its Debian default.
fn tool(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: the browser test needs headless Chromium and its WebDriver. \
         Install them with `apt-get install chromium chromium-driver` (scripts/test does it), \
         or set {var} to where the binary is.",
        path.display()
    );
    path
}

/// chromedriver on a port it chooses; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver with `--port=0` and reads the port it reports.
    fn start(path: &Path) -> Self {
        let mut child = Command::new(path)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", path.display()));
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("chromedriver did not report its port within {PATIENCE:?}")
        });
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session at 1280×800, English first.
async fn browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                format!("--window-size={},{}", SIZE.0, SIZE.1), "--lang=en-GB",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {"intl.accept_languages": "en-GB,en"},
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = tokio::time::timeout(
        PATIENCE,
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver.url),
    )
    .await
    .expect("a Chromium session within the patience")
    .expect("chromedriver opens a Chromium session");
    // The window includes the browser's own frame: grow it so the page itself is 1280×800.
    let frame = c
        .execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await
        .expect("the window's frame");
    let extra = |i: usize| frame[i].as_u64().unwrap_or(0) as u32;
    c.set_window_size(SIZE.0 + extra(0), SIZE.1 + extra(1))
        .await
        .expect("size the window");
    c
}

/// The page under test: a WebDriver client and the server's origin.
struct Page {
    c: Client,
    base: String,
    shots: PathBuf,
}

impl Page {
    async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    async fn js(&self, script: &str) -> Value {
        self.c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` (an expression) until it is truthy; fails after PATIENCE.
    async fn until(&self, what: &str, script: &str) -> Value {
        self.until_within(what, script, PATIENCE).await
    }

    /// Polls `script` (an expression) until it is truthy; fails after `patience`.
    async fn until_within(&self, what: &str, script: &str, patience: Duration) -> Value {
        let deadline = Instant::now() + patience;
        loop {
            let v = self.js(&format!("return ({script});")).await;
            if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
                return v;
            }
            if Instant::now() > deadline {
                let banner = self
                    .js("const b = document.getElementById('banner'); return b ? b.textContent : null;")
                    .await;
                panic!("waited {patience:?} for {what} ({script}); page banner: {banner}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page has drawn itself (`body[data-ready]`), and checks it did not fail.
    async fn ready(&self, what: &str) {
        self.ready_within(what, PATIENCE).await;
    }

    /// [`Page::ready`], waiting up to `patience`.
    async fn ready_within(&self, what: &str, patience: Duration) {
        let state = self
            .until_within(what, "document.body.dataset.ready", patience)
            .await;
        if state != json!("1") {
            let banner = self
                .js("const b = document.getElementById('banner'); return b ? b.textContent : null;")
                .await;
            panic!("{what} did not draw itself: {state}; page banner: {banner}");
        }
    }

    async fn count(&self, css: &str) -> u64 {
        self.js(&format!(
            "return document.querySelectorAll({}).length;",
            json!(css)
        ))
        .await
        .as_u64()
        .expect("a count")
    }

    async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .expect("its text")
    }

    /// Every resource this page loaded came from the server itself.
    async fn only_own_origin(&self, what: &str) {
        let urls = self
            .js("return performance.getEntries().map(e => e.name).filter(n => /^[a-z]+:/.test(n));")
            .await;
        let urls = urls.as_array().expect("a list of URLs");
        assert!(!urls.is_empty(), "{what}: no resource entries at all");
        let own = format!("{}/", self.base);
        for u in urls {
            let u = u.as_str().unwrap_or_default();
            assert!(
                u.starts_with(&own),
                "{what} loaded {u}, which is not on the server {own}"
            );
        }
    }

    /// This page never asked the API for the raw event log, which mentors
    /// and viewers may not read.
    async fn never_asked_for_the_log(&self, what: &str) {
        let asked = self
            .js("return performance.getEntries().map(e => e.name).filter(n => n.includes('/api/v1/events'));")
            .await;
        assert_eq!(asked, json!([]), "{what} asked for the event log");
    }

    /// Saves a 1280×800 screenshot as `name`.
    /// Clicks the header's language switch.
    async fn switch_language(&self) {
        self.c
            .find(Locator::Id("lang"))
            .await
            .expect("the language switch")
            .click()
            .await
            .expect("switch the language");
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("a screenshot");
        assert_eq!(&png[1..4], b"PNG", "a PNG");
        let w = u32::from_be_bytes(png[16..20].try_into().expect("width"));
        let h = u32::from_be_bytes(png[20..24].try_into().expect("height"));
        assert_eq!((w, h), SIZE, "the screenshot {name} is {w}×{h}");
        std::fs::write(self.shots.join(name), png).expect("write the screenshot");
    }
}

/// A one-time login link for a token of the test server.
fn login_link(app: &TestApp, token_id: &str) -> String {
    let code = app
        .app
        .tokens()
        .issue_login(token_id, Duration::from_secs(300))
        .expect("a login code");
    format!("/login?code={code}")
}

/// A server on port 0 (the demo, or a log of the test's own), chromedriver,
/// and a headless Chromium session on the server; [`Harness::finish`] closes the browser, and dropping the
/// harness stops the rest.
struct Harness {
    app: TestApp,
    page: Page,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _shots: Option<tempfile::TempDir>,
}

impl Harness {
    async fn start() -> Self {
        Self::on(TestApp::spawn().await).await
    }

    /// The harness on a server of the test's own.
    async fn on(app: TestApp) -> Self {
        let chromium = tool("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = tool("CHROMEDRIVER", "/usr/bin/chromedriver");
        let driver = Driver::start(&chromedriver);
        let profile = tempfile::tempdir().expect("a browser profile folder");
        let (shots, kept_until_the_end) = match std::env::var_os("PASSERELLE_SCREENSHOTS") {
            Some(dir) => {
                std::fs::create_dir_all(&dir).expect("create PASSERELLE_SCREENSHOTS");
                (PathBuf::from(dir), None)
            }
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("passerelle-screenshots-")
                    .tempdir()
                    .expect("a screenshot folder");
                (dir.path().to_owned(), Some(dir))
            }
        };
        println!("screenshots: {}", shots.display());
        let page = Page {
            c: browser(&driver, &chromium, profile.path()).await,
            base: app.base.clone(),
            shots,
        };
        Self {
            app,
            page,
            _driver: driver,
            _profile: profile,
            _shots: kept_until_the_end,
        }
    }

    /// Runs `journey` on the harness's server and browser, closes the
    /// browser whatever happened, then fails as the journey failed.
    async fn run<'a, F, Fut>(&'a self, journey: F)
    where
        F: FnOnce(&'a TestApp, &'a Page) -> Fut,
        Fut: std::future::Future<Output = ()> + 'a,
    {
        let outcome = std::panic::AssertUnwindSafe(journey(&self.app, &self.page))
            .catch_unwind()
            .await;
        let _ = self.page.c.clone().close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_and_a_coordinator_use_the_pages_in_a_real_browser() {
    Harness::start().await.run(journey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_signs_in_with_a_pasted_token_then_signs_out() {
    Harness::start().await.run(sign_in_and_out).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gap_report_shows_review_notes_and_the_mentor_practice_inside_a_finding() {
    Harness::start().await.run(notes_and_practice).await;
}

/// Stakeholders of the generated programme of the large-map test.
const LARGE_STAKEHOLDERS: usize = 2_000;
/// Distinct tied pairs it is generated for (the map is large above 2,000 ties
/// or 300 stakeholders).
const LARGE_TIES: u64 = 4_000;
/// The longest the large-map test waits for the server's reads (debug
/// build); reaching it fails the test.
const LARGE_PATIENCE: Duration = Duration::from_secs(180);
/// Layout iterations of the large-map test's server (the default is 300).
const LARGE_LAYOUT_ITERATIONS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_programme_opens_on_an_overview_drawn_on_canvas() {
    let built = Instant::now();
    let cfg = GenerateConfig {
        stakeholders: LARGE_STAKEHOLDERS,
        seed: 1,
        ..GenerateConfig::default()
    };
    let events = events_for_ties(&cfg, LARGE_TIES).expect("events for the ties");
    let mut log = Vec::new();
    generate(&GenerateConfig { events, ..cfg }, &mut log).expect("generate the programme");
    let log = String::from_utf8(log).expect("generated JSON lines are UTF-8");
    // The layout's iterations are cut: in a debug build the default 300
    // take longer than the server's render deadline for this programme
    // (the layout is most of a `/network` read here). What is tested is the
    // page, not the layout's equilibrium.
    let settings = Settings {
        layout: LayoutConfig {
            iterations: LARGE_LAYOUT_ITERATIONS,
            ..LayoutConfig::default()
        },
        ..Settings::default()
    };
    // A debug build on a busy machine may take longer than the server's
    // default render deadline (10 s) for this programme's first read: the
    // test waits up to LARGE_PATIENCE, a failure bound only.
    let config = ApiConfig {
        render_deadline: LARGE_PATIENCE,
        render_wait: LARGE_PATIENCE,
        ..TestApp::config(settings)
    };
    let app = TestApp::spawn_from_with(&log, config).await;
    eprintln!(
        "large map: {LARGE_STAKEHOLDERS} stakeholders, {events} events, store ready in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    Harness::on(app).await.run(large_map).await;
}

/// What the card of one finding on `/gaps` holds: its notes (text, author
/// and date line), the elements a note's text made (none may), its notes'
/// heading and each mentor practice's line.
async fn finding_card(page: &Page, id: &str) -> Value {
    let card = format!("article.finding-card[data-finding={}]", json!(id));
    page.js(&format!(
        "const c = document.querySelector({card});
         if (!c) return null;
         return {{
           notes: [...c.querySelectorAll('.notes li')].map(li => [li.querySelector('blockquote').textContent, li.querySelector('span').textContent]),
           markup: c.querySelectorAll('.notes blockquote *').length,
           heading: c.querySelector('.notes h4')?.textContent,
           practice: [...c.querySelectorAll('.practice > p')].map(p => p.textContent),
         }};",
        card = json!(card)
    ))
    .await
}

/// The gap report's finding on the interpreting need, for a coordinator:
/// inside its card the demo's review note and one with markup in its text
/// (shown as written, never as HTML), each with its author and date, and
/// the Brussels programme's practice; a note written in the card's form, then
/// shown in it; in English, then in French; then the same practice beside
/// the finding on `/compare`.
async fn notes_and_practice(app: &TestApp, page: &Page) {
    let coordinator = &app.tokens.coordinator;
    let text = "Check <b>the convention</b> & its fees <img src=x>.";
    let stored = app
        .post_events(
            coordinator,
            &json!({
                "type": "ReviewNoteAdded", "programme": "sjdlr", "occurred_at": "2024-03-03",
                "data": {"note": "note-markup", "about": {"need": "need-interpreting"}, "text": text},
            }),
        )
        .await
        .ok_json(201);
    let gaps = app
        .get(
            "/api/v1/gaps",
            Auth::from(coordinator),
            &format!(
                "programme=sjdlr&limit=1000&min_position={}",
                stored["position"]
            ),
            &[],
        )
        .await
        .ok_json(200);
    let interpreting = json!("uncovered_need/need-interpreting");
    let finding = gaps["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["id"] == interpreting || f["merged"].as_array().unwrap().contains(&interpreting)
        })
        .expect("the interpreting need's finding");
    let id = finding["id"].as_str().unwrap();
    let practice = finding["practice"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["programme"] == "brussels")
        .expect("Brussels' practice beside it");
    let notes = app
        .notes(coordinator, "programme=sjdlr&limit=1000")
        .await
        .ok_json(200);
    let demo_text = notes["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "note-interpreting")
        .map(|n| n["text"].clone())
        .expect("the demo's note on the interpreting need");
    let merged = gaps["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["merged"].as_array().unwrap().is_empty())
        .count() as u64;

    page.goto(&login_link(app, &coordinator.id)).await;
    page.ready("the map for the coordinator").await;
    page.goto("/gaps?programme=sjdlr").await;
    page.ready("the gap report").await;
    let card = finding_card(page, id).await;
    assert_eq!(card["heading"], "Review notes", "{card}");
    let notes = card["notes"].as_array().expect("notes in the card");
    let demo = notes
        .iter()
        .find(|n| n[0] == demo_text)
        .unwrap_or_else(|| panic!("the demo's note in the card: {card}"));
    let line = demo[1].as_str().unwrap();
    assert!(
        line.starts_with("demo · ") && line.contains("Feb") && line.contains("2022"),
        "{line}"
    );
    let mine = notes
        .iter()
        .find(|n| n[0] == text)
        .unwrap_or_else(|| panic!("the note with markup, as written: {card}"));
    assert!(
        mine[1].as_str().unwrap().starts_with(&coordinator.name),
        "{mine}"
    );
    assert_eq!(card["markup"], 0, "a note's text made elements: {card}");
    assert_eq!(
        card["practice"],
        json!([format!(
            "At the mentor's: {}",
            practice["text"]["en"].as_str().unwrap()
        )]),
        "the mentor's practice in the card"
    );
    assert_eq!(
        page.count("section.gap-kind[id^='kind-']").await,
        12,
        "one section per kind"
    );
    assert_eq!(
        page.count(".finding-card .also-covers").await,
        merged,
        "an \"also covers\" line on each finding told with others"
    );
    // A note written in the card's form about the finding appears in it,
    // after the others, read back from the report.
    let css = format!("article.finding-card[data-finding={}]", json!(id));
    let click = |what: String| async move {
        page.c
            .find(Locator::Css(&what))
            .await
            .unwrap_or_else(|e| panic!("no {what}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {what}: {e}"));
    };
    click(format!("{css} button.add-note")).await;
    let written = "Asked the département on 3 March.";
    page.c
        .find(Locator::Css(&format!("{css} .note-form textarea")))
        .await
        .expect("the note's text field")
        .send_keys(written)
        .await
        .expect("type the note");
    click(format!("{css} .note-form button[type=submit]")).await;
    page.until(
        "the new note in the card",
        &format!(
            "[...document.querySelectorAll({})].map(b => b.textContent).at(-1) === {}",
            json!(format!("{css} .notes li blockquote")),
            json!(written)
        ),
    )
    .await;
    let card = finding_card(page, id).await;
    assert_eq!(
        card["notes"].as_array().unwrap().len(),
        notes.len() + 1,
        "one note more: {card}"
    );
    page.js(&format!(
        "document.querySelector({}).scrollIntoView(); return true;",
        json!(css)
    ))
    .await;
    page.shot("gaps-notes-practice.png").await;
    page.only_own_origin("the gap report with practice").await;

    page.switch_language().await;
    page.until(
        "the French gap report",
        "document.documentElement.lang === 'fr' && document.body.dataset.ready === '1'",
    )
    .await;
    let card = finding_card(page, id).await;
    assert_eq!(card["heading"], "Notes de relecture", "{card}");
    let notes = card["notes"].as_array().expect("notes in the card");
    assert!(
        notes.iter().any(|n| n[0] == text),
        "the note with markup, in French too: {card}"
    );
    let demo = notes
        .iter()
        .find(|n| n[0] == demo_text)
        .unwrap_or_else(|| panic!("the demo's note in the French card: {card}"));
    assert!(demo[1].as_str().unwrap().contains("févr"), "{demo}");
    assert_eq!(card["markup"], 0, "a note's text made elements: {card}");
    assert_eq!(
        card["practice"],
        json!([format!(
            "Chez le mentor\u{202F}: {}",
            practice["text"]["fr"].as_str().unwrap()
        )]),
        "the mentor's practice in the French card"
    );

    page.goto("/compare").await;
    page.ready("the French comparison").await;
    page.js("document.querySelector('.practice-table').scrollIntoView(); return true;")
        .await;
    page.shot("compare-practice.png").await;
    let beside = page
        .js(&format!(
            "return document.querySelector({})?.textContent;",
            json!(format!(
                ".practice-table tr[data-finding={}] td.practice",
                json!(id)
            ))
        ))
        .await;
    assert_eq!(
        beside, practice["text"]["fr"],
        "the practice beside the finding on /compare"
    );
    page.only_own_origin("the comparison with practice").await;
}

/// The sign-in form with a pasted token, in Chromium: its form post names
/// the page's origin (the pages' Referrer-Policy lets it), so the server
/// takes it; the map; then "Sign out", after which the pages ask to sign in
/// again and the old session cookie opens nothing.
async fn sign_in_and_out(app: &TestApp, page: &Page) {
    let coordinator = &app.tokens.coordinator;
    page.goto("/").await;
    page.until(
        "the sign-in message",
        "document.body.dataset.ready === 'signin'",
    )
    .await;
    assert_eq!(
        page.count("#signout:not([hidden])").await,
        0,
        "no sign-out without a session"
    );
    page.c
        .find(Locator::Css("#token"))
        .await
        .expect("the token field")
        .send_keys(&coordinator.secret)
        .await
        .expect("paste the token");
    page.c
        .find(Locator::Css(".signin-form button[type=submit]"))
        .await
        .expect("the sign-in button")
        .click()
        .await
        .expect("sign in");

    page.until(
        "the map after signing in with a token",
        "document.body.dataset.ready === '1'",
    )
    .await;
    let url = page.c.current_url().await.expect("the URL");
    assert_eq!(url.path(), "/", "signing in lands on the map");
    assert!(page.count("svg.net .node").await > 0, "nodes on the map");
    let who = page.text("#who").await;
    assert!(
        who.contains(&coordinator.name),
        "the header names the coordinator: {who}"
    );
    let cookie = page
        .c
        .get_named_cookie("passerelle_session")
        .await
        .expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    assert_eq!(
        page.js("return document.cookie;").await,
        json!(""),
        "a script can read the session cookie"
    );
    page.only_own_origin("the map after signing in").await;

    let sign_out = page.text("#signout button").await;
    assert_eq!(sign_out, "Sign out");
    page.c
        .find(Locator::Css("#signout button"))
        .await
        .expect("the sign-out button")
        .click()
        .await
        .expect("sign out");
    page.until(
        "the sign-in message after signing out",
        "document.body.dataset.ready === 'signin'",
    )
    .await;
    let url = page.c.current_url().await.expect("the URL");
    assert_eq!(
        url.path(),
        "/",
        "signing out goes back to the map's address"
    );
    assert!(
        page.c.get_named_cookie("passerelle_session").await.is_err(),
        "the browser still holds the session cookie"
    );
    let old = format!("passerelle_session={}", cookie.value());
    app.get("/api/v1/me", Auth::Cookie(&old), "", &[])
        .await
        .problem(401);
}

async fn journey(app: &TestApp, page: &Page) {
    let coordinator = Auth::from(&app.tokens.coordinator);
    let api_network = |query: &'static str| async move {
        app.get("/api/v1/network", coordinator, query, &[])
            .await
            .ok_json(200)
    };
    let latest = api_network("programme=sjdlr").await;
    let (nodes, edges) = (
        latest["nodes"].as_array().unwrap().len() as u64,
        latest["edges"].as_array().unwrap().len() as u64,
    );

    // The pages are guarded like the API, and say how to sign in.
    let reply = app.get("/", Auth::None, "", &[]).await;
    reply.expect(200);
    assert_eq!(
        reply
            .header("content-security-policy")
            .map(|v| v.split(';').next()),
        Some(Some("default-src 'self'")),
        "the map page's Content-Security-Policy"
    );
    page.goto("/").await;
    page.until(
        "the sign-in message",
        "document.body.dataset.ready === 'signin'",
    )
    .await;
    let message = page.text(".signin").await;
    for words in ["passerelle demo", "passerelle token create"] {
        assert!(message.contains(words), "sign-in message: {message}");
    }

    // A mentor follows a login link: the code leaves the address bar.
    page.goto(&login_link(app, &app.tokens.mentor.id)).await;
    page.ready("the map after login").await;
    let url = page.c.current_url().await.expect("the URL");
    assert_eq!(url.path(), "/", "login lands on the map");
    assert!(
        !url.as_str().contains("code="),
        "the login code left: {url}"
    );

    // The map draws every node and every present tie of the latest network.
    page.until("the map's ties", "document.querySelector('svg.net .edge')")
        .await;
    assert_eq!(page.count("svg.net .node").await, nodes, "nodes on the map");
    assert_eq!(page.count("svg.net .edge").await, edges, "ties on the map");
    assert!(
        page.count(".finding-list .finding").await > 0,
        "findings beside the map"
    );
    page.shot("map.png").await;
    page.only_own_origin("the map").await;
    assert_eq!(
        page.count("#nav a[href^='/log']").await,
        0,
        "a mentor is not offered the event log"
    );

    // Clicking a node opens its profile.
    let ccas = latest["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "sj-ccas")
        .expect("the CCAS in the demo");
    page.c
        .find(Locator::Css("svg.net .node[data-id='sj-ccas'] circle"))
        .await
        .expect("the CCAS node")
        .click()
        .await
        .expect("click the CCAS");
    let title = page
        .until(
            "the CCAS profile",
            "document.getElementById('detail-title')?.textContent.includes('CCAS') && document.getElementById('detail-title').textContent",
        )
        .await;
    assert_eq!(title, ccas["name"], "the profile's title");
    assert!(
        page.count("#detail .tie-list li").await > 0,
        "the profile lists its ties"
    );

    // The slider, moved to September 2021 (before the study visit of 13
    // October 2021), shows the fewer ties of that time.
    let before = api_network("programme=sjdlr&as_of=2021-09-30T23:59:59Z").await;
    let before_edges = before["edges"].as_array().unwrap().len() as u64;
    assert!(before_edges < edges, "the demo gains ties after the visit");
    let stop = page
        .js("return document.getElementById('slider').dataset.months.split(',').indexOf('2021-09');")
        .await;
    assert!(
        stop.as_i64().is_some_and(|i| i >= 0),
        "a September 2021 stop: {stop}"
    );
    page.js(&format!(
        "const s = document.getElementById('slider'); s.value = {stop}; s.dispatchEvent(new Event('input')); return true;"
    ))
    .await;
    page.until(
        "the map as of September 2021",
        "document.querySelector('svg.net').dataset.asOf === '2021-09-30T23:59:59Z'",
    )
    .await;
    assert_eq!(
        page.count("svg.net .edge").await,
        before_edges,
        "ties before the study visit"
    );
    assert!(
        page.text("#asof").await.contains("2021"),
        "the slider's date"
    );
    page.shot("map-before-study-visit.png").await;

    // The gap report: every finding the mentor may see, grouped by kind,
    // with its evidence. The girls' share in the youth sessions (3 of 9,
    // then 5 of 12) is the coordinator's only: those counts are small.
    let mentor = Auth::from(&app.tokens.mentor);
    let gaps = app
        .get("/api/v1/gaps", mentor, "programme=sjdlr", &[])
        .await
        .ok_json(200);
    let full = app
        .get("/api/v1/gaps", coordinator, "programme=sjdlr", &[])
        .await
        .ok_json(200);
    let ids = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(&full).contains(&"participation/women_share+sj-young-migrants".to_owned()));
    assert!(!ids(&gaps)
        .iter()
        .any(|i| i.starts_with("participation/women_share")));
    page.goto("/gaps?programme=sjdlr").await;
    page.ready("the gap report").await;
    assert_eq!(
        page.count(".finding-card").await,
        gaps["findings"].as_array().unwrap().len() as u64,
        "finding cards"
    );
    assert_eq!(
        page.count("section.gap-kind[id^='kind-']").await,
        12,
        "one section per kind"
    );
    // Grouped by kind, each group headed by its size from the API's counts,
    // the most important group first; the demo's report is small enough to
    // be shown whole, every group without "show more".
    let groups = page
        .js("return [...document.querySelectorAll('section.gap-kind[id^=\"kind-\"]')].map(s => [s.dataset.kind, s.querySelector('h2 .count').textContent.trim(), s.querySelectorAll('.finding-card').length, s.querySelector('button.more').hidden]);")
        .await;
    let groups = groups.as_array().expect("the groups");
    let by_kind = gaps["counts"]["by_kind"]
        .as_array()
        .expect("counts.by_kind");
    for (i, k) in by_kind.iter().enumerate() {
        let n = k["total"].as_u64().unwrap();
        assert_eq!(
            groups[i],
            json!([k["kind"], n.to_string(), n, true]),
            "group {i}, most important first: {groups:?}"
        );
    }
    for g in &groups[by_kind.len()..] {
        assert_eq!(
            (&g[1], &g[2]),
            (&json!("0"), &json!(0)),
            "an empty group last: {g}"
        );
    }
    // The severity filter keeps one severity's findings, in the same groups.
    page.js("const s = document.getElementById('gap-severity'); s.value = 'medium'; s.dispatchEvent(new Event('change')); return true;")
        .await;
    let medium = gaps["counts"]["by_severity"]["medium"].as_u64().unwrap();
    page.until(
        "the medium findings only",
        &format!(
            "document.querySelectorAll('.finding-card').length === {medium} && document.querySelectorAll('.finding-card:not(.sev-medium)').length === 0"
        ),
    )
    .await;
    page.js("const s = document.getElementById('gap-severity'); s.value = ''; s.dispatchEvent(new Event('change')); return true;")
        .await;
    page.until(
        "every finding again",
        &format!(
            "document.querySelectorAll('.finding-card').length === {}",
            gaps["findings"].as_array().unwrap().len()
        ),
    )
    .await;
    assert!(
        page.count(".finding-card .evidence li").await > 0,
        "the findings list their evidence"
    );
    assert_eq!(
        page.count(".finding-card .evidence a[href^='/log']").await,
        0,
        "a mentor's evidence does not link to the event log"
    );
    assert!(
        page.count("button.add-note").await > 0,
        "a mentor may add review notes"
    );
    page.shot("gaps.png").await;
    page.only_own_origin("the gap report").await;
    page.never_asked_for_the_log("the mentor's gap report")
        .await;

    // The event log's address, typed by a mentor: the reason, not the log.
    page.goto("/log?programme=sjdlr").await;
    page.ready("the mentor's event log page").await;
    let why = page.text("#log-restricted").await;
    for words in ["coordinators and admins", "attendance", "mentor"] {
        assert!(why.contains(words), "the explanation: {why}");
    }
    assert_eq!(page.count("table.log").await, 0, "no log for a mentor");
    page.never_asked_for_the_log("the mentor's event log page")
        .await;
    page.only_own_origin("the mentor's event log page").await;

    // Participation: five charts drawn as SVG; a mentor sees no count of 1–4.
    page.goto("/participation?programme=sjdlr").await;
    page.ready("the participation page").await;
    assert_eq!(page.count("figure.chart svg").await, 5, "charts");
    assert!(
        page.count("figure.chart svg .bar rect").await > 0,
        "bars in the charts"
    );
    let shown = page
        .js("return document.getElementById('chart-persession').textContent;")
        .await;
    assert!(
        shown.as_str().is_some_and(|s| s.contains("<5")),
        "small counts are hidden from a mentor: {shown}"
    );
    assert!(
        page.count("#chart-persession .hidden-bar").await > 0,
        "a session whose parts are hidden is drawn as its total alone"
    );
    // A month's sums leave such sessions out, and say so.
    let months = page
        .js("return document.getElementById('chart-permonth').textContent;")
        .await;
    assert!(
        months.as_str().is_some_and(|s| s.contains("not counted")),
        "a month says how many of its sessions its sums leave out: {months}"
    );
    page.shot("participation.png").await;
    page.only_own_origin("the participation page").await;

    // An admin erases the contact person of the AFCCRE.
    app.erase(
        &app.tokens.admin,
        &json!({"subject": "contact:sjdlr/sj-afccre", "reason": "Asked by letter"}),
    )
    .await
    .expect(201);

    // A coordinator logs a contact: first without its `to`, then whole.
    page.c.delete_all_cookies().await.expect("log out");
    page.goto(&login_link(app, &app.tokens.coordinator.id))
        .await;
    page.ready("the map for the coordinator").await;
    assert_eq!(
        page.count("#nav a[href^='/log']").await,
        1,
        "a coordinator is offered the event log"
    );
    let (from, to) = ("sj-afccre", "sj-women-chaises");
    let pair = format!("{from}|{to}");
    assert!(
        !latest["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["a"] == from && e["b"] == to || e["a"] == to && e["b"] == from),
        "{pair} is not tied yet"
    );
    page.goto("/record?programme=sjdlr#stakeholder").await;
    page.ready("the stakeholder form").await;
    let privacy = page.text("#main").await;
    for words in [
        "encrypted",
        "a key of its own for each person",
        "coordinators and admins",
        "destroys their key",
    ] {
        assert!(privacy.contains(words), "the privacy sentence: {privacy}");
    }
    page.goto("/record?programme=sjdlr#contact").await;
    page.ready("the recording forms").await;
    let select = |id: &'static str, value: &'static str| async move {
        page.c
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choose {value} in #{id}: {e}"));
    };
    select("contact-data-from", from).await;
    select("contact-data-channel", "meeting").await;
    select("contact-data-outcome", "committed").await;
    let date = page
        .c
        .find(Locator::Id("contact-occurred-at"))
        .await
        .expect("the date field");
    page.js("document.getElementById('contact-occurred-at').value = '2022-07-01'; return true;")
        .await;
    assert_eq!(
        date.prop("value").await.unwrap().as_deref(),
        Some("2022-07-01")
    );
    page.c
        .find(Locator::Id("contact-data-purpose"))
        .await
        .expect("the purpose field")
        .send_keys("Introduce the AFCCRE's EU funding desk to the women of Les Chaises")
        .await
        .expect("type the purpose");
    let submit = "#form-contact button[type=submit]";
    page.c
        .find(Locator::Css(submit))
        .await
        .expect("the submit button")
        .click()
        .await
        .expect("submit");
    let error = page
        .until(
            "the error beside `to`",
            "!document.getElementById('contact-data-to-err').hidden && document.getElementById('contact-data-to-err').textContent",
        )
        .await;
    assert_eq!(error, json!("is required"), "the API's message for data.to");
    assert_eq!(
        page.count("#form-contact .field-error:not([hidden])").await,
        1,
        "only the missing field is marked"
    );
    assert_eq!(
        page.js("return document.getElementById('contact-data-to').getAttribute('aria-invalid');")
            .await,
        json!("true")
    );

    page.shot("record-error.png").await;
    select("contact-data-to", to).await;
    page.c
        .find(Locator::Css(submit))
        .await
        .expect("the submit button")
        .click()
        .await
        .expect("submit again");
    let status = page
        .until(
            "the contact to be recorded",
            "document.getElementById('contact-status').textContent",
        )
        .await;
    assert!(
        status.as_str().unwrap_or_default().contains("Recorded"),
        "{status}"
    );
    assert_eq!(
        page.count("#form-contact .field-error:not([hidden])").await,
        0
    );
    page.only_own_origin("the recording forms").await;

    page.goto("/?programme=sjdlr").await;
    page.ready("the map after the contact").await;
    page.until(
        "the new tie on the map",
        &format!("document.querySelector(\"svg.net .edge[data-pair='{pair}']\")"),
    )
    .await;
    assert_eq!(page.count("svg.net .edge").await, edges + 1, "one tie more");

    // The AFCCRE's profile says its contact was erased.
    page.goto("/?programme=sjdlr&focus=sj-afccre").await;
    page.ready("the AFCCRE's profile").await;
    let contact = page
        .until(
            "the AFCCRE's contact line",
            "document.querySelector('#detail dd.contact')?.textContent",
        )
        .await;
    assert_eq!(contact, json!("erased"));

    // The coordinator's event log: every event of the programme, the gap
    // report's evidence linking to it.
    let log = app
        .get(
            "/api/v1/events",
            coordinator,
            "programme=sjdlr&limit=1000",
            &[],
        )
        .await
        .ok_json(200);
    page.goto("/gaps?programme=sjdlr").await;
    page.ready("the coordinator's gap report").await;
    let evidence = page
        .js("return document.querySelector(\".finding-card > details.evidence a[href^='/log']\")?.getAttribute('href');")
        .await;
    let evidence = evidence
        .as_str()
        .expect("evidence linking to the log")
        .to_owned();
    page.goto(&evidence).await;
    page.ready("the coordinator's event log").await;
    assert_eq!(
        page.count("table.log tbody tr").await,
        log["events"].as_array().unwrap().len() as u64,
        "every event of the programme"
    );
    assert_eq!(
        page.count("table.log tbody tr.target").await,
        1,
        "the evidence, marked"
    );
    page.only_own_origin("the event log").await;

    // The mentee and the mentor side by side, then the switch to French.
    page.goto("/compare").await;
    page.ready("the comparison").await;
    assert_eq!(page.count("svg.net").await, 2, "two networks side by side");
    assert!(
        page.count(".compare-table tbody tr").await >= 10,
        "key metrics"
    );
    page.shot("compare.png").await;
    page.switch_language().await;
    page.until(
        "the French page",
        "document.documentElement.lang === 'fr' && document.body.dataset.ready === '1'",
    )
    .await;
    assert_eq!(page.text("h1").await, "Comparer les programmes");
    page.only_own_origin("the comparison").await;
    page.goto("/?programme=sjdlr&focus=sj-afccre").await;
    page.ready("the AFCCRE's profile in French").await;
    let contact = page
        .until(
            "the AFCCRE's contact line in French",
            "document.querySelector('#detail dd.contact')?.textContent",
        )
        .await;
    assert_eq!(contact, json!("effacé"));

    // The pages' words and the gap report's come from one catalogue: the
    // form offers each outcome with its label, the one the report uses.
    page.goto("/record?programme=sjdlr#contact").await;
    page.ready("the French contact form").await;
    let outcomes = page
        .js("return [...document.querySelectorAll('select[name=\"data.outcome\"] option')].map(o => o.value + '=' + o.textContent);")
        .await;
    let outcomes: Vec<&str> = outcomes
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for o in [
        "no_response=pas de réponse",
        "declined=refus",
        "committed=engagé",
    ] {
        assert!(outcomes.contains(&o), "{o} not in {outcomes:?}");
    }
    page.goto("/gaps?programme=sjdlr").await;
    page.ready("the French gap report").await;
    let report = page.text("main").await;
    assert!(
        report.contains("Points de fragilité")
            && report.contains("(dernière\u{202F}: pas de réponse)"),
        "{report}"
    );
}

/// The map of the generated 2,000-stakeholder programme, as a coordinator:
/// drawn on canvas, not as SVG; the overview rings the stakeholders the
/// first findings name; a search centres the map on a stakeholder and lights
/// its ties; the slider redraws an earlier month; nothing comes from another
/// host. The times of the first drawing and of slider steps are measured in
/// the page and printed, not asserted.
async fn large_map(app: &TestApp, page: &Page) {
    let coordinator = Auth::from(&app.tokens.coordinator);
    // The login link lands on the map of the log's only programme: the
    // server reads it cold. Then the page again, the server's reads cached.
    for (visit, path) in [
        ("cold", login_link(app, &app.tokens.coordinator.id)),
        ("warm", "/?programme=gen".to_owned()),
    ] {
        let asked = Instant::now();
        page.goto(&path).await;
        page.ready_within(&format!("the large map ({visit})"), LARGE_PATIENCE)
            .await;
        let mark = page
            .until(
                "the first drawing",
                "performance.getEntriesByName('passerelle.map-drawn')[0]",
            )
            .await;
        let wall = asked.elapsed();
        let at = page
            .js("return performance.getEntriesByName('passerelle.map-drawn')[0].startTime;")
            .await;
        eprintln!(
            "large map ({visit}): first drawing {:.0} ms after the page's navigation began \
             ({:.0} ms after the page script started; {:.1} s as the test saw it)",
            at.as_f64().unwrap_or(f64::NAN),
            mark["detail"]["since"].as_f64().unwrap_or(f64::NAN),
            wall.as_secs_f64()
        );
        assert_eq!(
            mark["detail"]["first"],
            json!(true),
            "the first mark is the first drawing: {mark}"
        );
    }
    let url = page.c.current_url().await.expect("the URL");
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "programme" && v == "gen"),
        "the map of the generated programme: {url}"
    );

    // Drawn on canvas (WebGL), not as SVG.
    assert!(
        page.count(".bigmap canvas").await > 0,
        "the large map draws on canvas"
    );
    assert_eq!(
        page.count("svg.net").await,
        0,
        "no SVG map for a large network"
    );
    let network = app
        .get("/api/v1/network", coordinator, "programme=gen", &[])
        .await
        .ok_json(200);
    let nodes: std::collections::HashSet<&str> = network["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    let ties = network["edges"].as_array().unwrap().len() as u64;
    assert!(
        nodes.len() > 300 && ties > 2_000,
        "the generated programme is large: {} nodes, {ties} ties",
        nodes.len()
    );
    let drawn_ties: u64 = page
        .js("return +document.querySelector('.bigmap').dataset.ties;")
        .await
        .as_u64()
        .expect("the ties of the drawing");
    assert_eq!(drawn_ties, ties, "the map holds every present tie");
    let overview: u64 = page
        .js("return +document.querySelector('.bigmap').dataset.edges;")
        .await
        .as_u64()
        .expect("the ties drawn");
    assert!(
        overview > 0 && overview < ties,
        "the overview draws the strongest ties only: {overview} of {ties}"
    );

    // The overview rings the stakeholders the first findings name.
    let gaps = app
        .get("/api/v1/gaps", coordinator, "programme=gen&limit=50", &[])
        .await
        .ok_json(200);
    let first_finding = &gaps["findings"][0];
    let named: Vec<&str> = first_finding["subjects"]
        .as_array()
        .expect("the first finding's subjects")
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| nodes.contains(s))
        .collect();
    assert!(
        !named.is_empty(),
        "the first finding names a stakeholder on the map: {first_finding}"
    );
    page.until_within(
        "the findings' stakeholders",
        "document.querySelector('#flagged li')",
        LARGE_PATIENCE,
    )
    .await;
    for id in &named {
        assert_eq!(
            page.count(&format!("#flagged li[data-id='{id}']")).await,
            1,
            "the overview lists {id}, named by the first finding"
        );
    }
    let ringed: u64 = page
        .js("return +document.querySelector('.bigmap').dataset.flagged;")
        .await
        .as_u64()
        .expect("the ringed nodes");
    assert!(
        ringed >= named.len() as u64,
        "the canvas rings the findings' stakeholders: {ringed}"
    );
    page.shot("map-large.png").await;

    // Search: a stakeholder's name, Enter; the map centres on it, opens its profile and lights its ties.
    let all = network["nodes"].as_array().unwrap();
    let hub = all
        .iter()
        .filter(|n| all.iter().filter(|m| m["name"] == n["name"]).count() == 1)
        .max_by_key(|n| n["degree"].as_u64().unwrap_or(0))
        .expect("a stakeholder with a name of its own");
    let (hub_id, hub_name) = (hub["id"].as_str().unwrap(), hub["name"].as_str().unwrap());
    let search = page
        .c
        .find(Locator::Id("search"))
        .await
        .expect("the search field");
    search.send_keys(hub_name).await.expect("type the name");
    search.send_keys("\u{E007}").await.expect("press Enter");
    page.until(
        "the searched stakeholder's profile",
        &format!(
            "document.getElementById('detail-title')?.textContent === {}",
            json!(hub_name)
        ),
    )
    .await;
    let url = page.c.current_url().await.expect("the URL");
    assert!(
        url.query_pairs().any(|(k, v)| k == "focus" && v == hub_id),
        "search selected {hub_id}: {url}"
    );
    let lit = page
        .until(
            "its ties lit",
            "+document.querySelector('.bigmap').dataset.lit",
        )
        .await;
    assert_eq!(
        lit,
        json!(hub["degree"]),
        "every tie of the found stakeholder is lit"
    );
    page.until(
        "the map centred on it",
        &format!(
            "(() => {{ const el = document.querySelector('.bigmap'); const p = el.screenOf({}); \
             return p && Math.abs(p.x - el.clientWidth / 2) < 20 && Math.abs(p.y - el.clientHeight / 2) < 20; }})()",
            json!(hub_id)
        ),
    )
    .await;
    page.shot("map-large-search.png").await;

    // The slider: one month back, then one more; each drawing timed in the page.
    let months = page
        .js("return document.getElementById('slider').dataset.months.split(',').length;")
        .await
        .as_u64()
        .expect("the slider's months");
    assert!(months > 2, "the slider has months: {months}");
    let mut previous = drawn_ties;
    for stop in [months - 1, months - 2] {
        let step = page
            .js(&format!(
                "window.__step = performance.now(); const s = document.getElementById('slider'); \
                 s.value = {stop}; s.dispatchEvent(new Event('input')); \
                 return s.dataset.months.split(',')[{stop}];"
            ))
            .await;
        let month = step.as_str().expect("the month").to_owned();
        page.until_within(
            &format!("the map of {month}"),
            &format!(
                "(document.querySelector('.bigmap').dataset.asOf || '').startsWith({})",
                json!(month)
            ),
            LARGE_PATIENCE,
        )
        .await;
        let took = page
            .js("const ms = performance.getEntriesByName('passerelle.map-drawn'); const m = ms[ms.length - 1]; \
                 return [m.startTime - window.__step, m.detail.fetch, m.detail.draw];")
            .await;
        let ms = |i: usize| took[i].as_f64().unwrap_or(f64::NAN);
        eprintln!(
            "large map: slider step to {month}: {:.0} ms from the input to the drawing \
             (the slider's rest 120 ms, waiting for the network {:.0} ms, drawing {:.0} ms)",
            ms(0),
            ms(1),
            ms(2)
        );
        let now: u64 = page
            .js("return +document.querySelector('.bigmap').dataset.ties;")
            .await
            .as_u64()
            .expect("the ties of the drawing");
        assert!(
            now > 0 && now <= previous,
            "{month} has ties, no more than later: {now} (then {previous})"
        );
        previous = now;
    }
    assert!(
        previous < drawn_ties,
        "the slider changed the drawing: {previous} ties two months back, {drawn_ties} now"
    );
    page.shot("map-large-slider.png").await;

    // The same network drawn by the page's two drawings, three times each
    // (until the next frame is painted): the SVG one is the baseline.
    let runs = page
        .js(
            "return (async () => { \
               const net = await P.api('getNetwork', { programme: 'gen' }); \
               const data = mapOf(await P.api('getMap', { programme: 'gen' }), []); \
               const host = document.createElement('div'); host.className = 'map-host'; \
               document.querySelector('.map-col').append(host); \
               const painted = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))); \
               const svg = [], canvas = []; \
               for (let i = 0; i < 3; i++) { \
                 let t = performance.now(); \
                 NetDraw.create(host, { label: 'svg' }).render(net, { bounds: NetDraw.bounds(net.nodes) }); \
                 await painted(); svg.push(performance.now() - t); host.replaceChildren(); \
                 t = performance.now(); \
                 const m = BigMap.create(host, { label: 'canvas' }); m.render(data, {}); \
                 await painted(); canvas.push(performance.now() - t); m.kill(); \
               } \
               host.remove(); \
               return { svg, canvas }; })();",
        )
        .await;
    let median = |key: &str| {
        let mut v: Vec<f64> = runs[key]
            .as_array()
            .expect("three runs")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (svg, canvas) = (median("svg"), median("canvas"));
    eprintln!(
        "large map: drawing {} nodes and {ties} ties until painted, median of 3: canvas {canvas:.0} ms, \
         SVG (baseline, same run) {svg:.0} ms: {:.1}× faster; runs {runs}",
        nodes.len(),
        svg / canvas
    );
    page.only_own_origin("the large map").await;
}
