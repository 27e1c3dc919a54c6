//! Cross-site request forgery (decision 013): a write made with the browser
//! session cookie is accepted only from the server's own pages (`Origin`,
//! `Sec-Fetch-Site`), every JSON body is labelled JSON, the cookie is
//! `Secure` behind an https public URL, and signing out ends the session.
//! Every refused write leaves the log as it was.

use std::time::Duration;

use super::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

const EVIL: &str = "http://evil.example";
const FORM: &str = "application/x-www-form-urlencoded";

/// The `Cookie` header of a new session for `token`.
fn session(app: &TestApp, token: &Token) -> String {
    let secret = app
        .app
        .tokens()
        .open_session(&token.id, Duration::from_secs(600))
        .expect("a session");
    format!("passerelle_session={secret}")
}

/// `POST /api/v1/events` of `event` with `auth` and extra headers.
async fn append(app: &TestApp, auth: Auth<'_>, headers: &[(&str, &str)], event: &Value) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/events",
        auth,
        "",
        headers,
        Some(event.to_string().into()),
    )
    .await
}

/// `POST /logout` with `auth` and extra headers.
async fn logout(app: &TestApp, auth: Auth<'_>, headers: &[(&str, &str)]) -> Reply {
    app.send(Method::POST, "/logout", auth, "", headers, None)
        .await
}

/// Asserts a 403 whose detail names `header`, and returns the detail.
#[track_caller]
fn refused_naming(reply: &Reply, header: &str) -> String {
    let p = reply.problem(403);
    let detail = p["detail"].as_str().expect("a detail").to_owned();
    assert!(
        detail.contains(header),
        "the detail should name {header}: {detail}"
    );
    detail
}

#[tokio::test]
async fn a_cookie_write_that_does_not_come_from_the_servers_pages_is_refused_naming_the_header() {
    let app = TestApp::spawn_empty().await;
    let cookie = session(&app, &app.tokens.coordinator);
    let auth = Auth::Cookie(&cookie);
    let head = app.head().await;

    let evil = append(&app, auth, &[("origin", EVIL)], &stakeholder(LAB, "a")).await;
    let detail = refused_naming(&evil, "Origin");
    assert!(
        detail.contains(EVIL) && detail.contains(&app.base),
        "{detail}"
    );
    // The request of the known attack: a cross-site form's text/plain body.
    let form = append(
        &app,
        auth,
        &[("origin", EVIL), ("content-type", "text/plain")],
        &stakeholder(LAB, "b"),
    )
    .await;
    refused_naming(&form, "Origin");
    let null = append(&app, auth, &[("origin", "null")], &stakeholder(LAB, "c")).await;
    refused_naming(&null, "\"null\"");
    let silent = append(&app, auth, &[], &stakeholder(LAB, "d")).await;
    let detail = refused_naming(&silent, "Origin");
    assert!(detail.contains("Sec-Fetch-Site"), "{detail}");
    for site in ["cross-site", "same-site", "none"] {
        let reply = append(
            &app,
            auth,
            &[("sec-fetch-site", site)],
            &stakeholder(LAB, "e"),
        )
        .await;
        let detail = refused_naming(&reply, "Sec-Fetch-Site");
        assert!(detail.contains(site), "{detail}");
    }
    // Both headers must say the same: one own origin does not cover a cross-site fetch.
    let mixed = append(
        &app,
        auth,
        &[("origin", &app.base), ("sec-fetch-site", "cross-site")],
        &stakeholder(LAB, "f"),
    )
    .await;
    refused_naming(&mixed, "Sec-Fetch-Site");
    let twice = append(
        &app,
        auth,
        &[("origin", &app.base), ("origin", EVIL)],
        &stakeholder(LAB, "g"),
    )
    .await;
    refused_naming(&twice, "Origin header is sent 2 times");

    assert_eq!(app.head().await, head, "a refused write recorded something");
    let directory = app
        .stakeholders(&app.tokens.coordinator, "")
        .await
        .ok_json(200);
    assert_eq!(directory["stakeholders"], json!([]));
}

#[tokio::test]
async fn a_cookie_write_from_the_servers_own_pages_is_recorded_when_its_body_is_json() {
    let app = TestApp::spawn_empty().await;
    let cookie = session(&app, &app.tokens.coordinator);
    let auth = Auth::Cookie(&cookie);
    let head = app.head().await;

    let plain = append(
        &app,
        auth,
        &[("origin", &app.base), ("content-type", "text/plain")],
        &stakeholder(LAB, "a"),
    )
    .await;
    let p = plain.problem(415);
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("text/plain") && detail.contains("application/json"),
        "{detail}"
    );
    assert_eq!(plain.header("accept-post"), Some("application/json"));
    assert_eq!(app.head().await, head, "a refused write recorded something");

    let stored = append(&app, auth, &[("origin", &app.base)], &stakeholder(LAB, "a"))
        .await
        .ok_json(201);
    assert_eq!(stored["recorded_by"], json!(app.tokens.coordinator.name));
    // A browser that leaves Origin out of a same-origin request still says so.
    append(
        &app,
        auth,
        &[("sec-fetch-site", "same-origin")],
        &stakeholder(LAB, "b"),
    )
    .await
    .ok_json(201);
    assert_eq!(app.head().await, head + 2);
}

#[tokio::test]
async fn a_bearer_token_writes_from_anywhere_but_only_json() {
    let app = TestApp::spawn_empty().await;
    let token = Auth::from(&app.tokens.coordinator);
    let head = app.head().await;

    for (content_type, says) in [
        ("text/plain", "\"text/plain\""),
        ("application/x-www-form-urlencoded", FORM),
        ("application/merge-patch+json", "application/json only"),
        ("application/json; charset=iso-8859-1", "UTF-8 only"),
    ] {
        let reply = append(
            &app,
            token,
            &[("content-type", content_type)],
            &stakeholder(LAB, "a"),
        )
        .await;
        let p = reply.problem(415);
        assert!(
            p["detail"].as_str().unwrap().contains(says),
            "{content_type}: {p}"
        );
    }
    assert_eq!(app.head().await, head, "a refused write recorded something");

    append(&app, token, &[("origin", EVIL)], &stakeholder(LAB, "a"))
        .await
        .ok_json(201);
    append(
        &app,
        token,
        &[
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
            ("content-type", "application/json; charset=utf-8"),
        ],
        &stakeholder(LAB, "b"),
    )
    .await
    .ok_json(201);
    assert_eq!(app.head().await, head + 2);
}

#[tokio::test]
async fn an_erasure_is_guarded_like_an_append() {
    let app = TestApp::spawn_empty().await;
    let admin = &app.tokens.admin;
    app.post_events(admin, &stakeholder(LAB, "desk"))
        .await
        .ok_json(201);
    let head = app.head().await;
    let cookie = session(&app, admin);
    let erasure = json!({"subject": "contact:lab/desk", "reason": "Asked at the desk"});
    let erase = |auth, headers: &'static [(&'static str, &'static str)]| {
        let body = erasure.to_string();
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/erasures",
                auth,
                "",
                headers,
                Some(body.into()),
            )
            .await
        }
    };

    refused_naming(
        &erase(Auth::Cookie(&cookie), &[("origin", EVIL)]).await,
        "Origin",
    );
    refused_naming(&erase(Auth::Cookie(&cookie), &[]).await, "Sec-Fetch-Site");
    erase(admin.into(), &[("content-type", "text/plain")])
        .await
        .problem(415);
    assert_eq!(
        app.head().await,
        head,
        "a refused erasure recorded something"
    );
    let desk = app.stakeholder(admin, "desk", "").await.ok_json(200);
    assert_eq!(desk["stakeholder"]["contact"]["person"], json!("Desk"));

    let done = erase(Auth::Cookie(&cookie), &[("sec-fetch-site", "same-origin")])
        .await
        .ok_json(201);
    assert_eq!(done["erased"], json!("contact:lab/desk"));
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_an_https_public_url_and_host_is_not_trusted_then() {
    const PUBLIC: &str = "https://passerelle.example.org";
    let app = TestApp::spawn_empty_at(Some(PUBLIC)).await;
    let code = app
        .app
        .tokens()
        .issue_login(&app.tokens.coordinator.id, Duration::from_secs(60))
        .expect("a login code");
    let linked = app.login(&code).await;
    linked.expect(303);
    let set_cookie = linked.header("set-cookie").expect("Set-Cookie");
    assert!(
        set_cookie.split("; ").any(|a| a == "Secure"),
        "{set_cookie}"
    );
    let form = format!("token={}", app.tokens.coordinator.secret);
    let sign_in = |origin: &'static str| {
        let body = form.clone();
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/login",
                Auth::None,
                "",
                &[("origin", origin), ("content-type", FORM)],
                Some(body.into()),
            )
            .await
        }
    };
    let signed_in = sign_in(PUBLIC).await;
    signed_in.expect(303);
    let set_cookie = signed_in.header("set-cookie").expect("Set-Cookie");
    assert!(
        set_cookie.split("; ").any(|a| a == "Secure"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    // The address the server was reached at is not its origin any more,
    // and a Host header that agrees with a foreign Origin does not help.
    let head = app.head().await;
    let own_host = format!("http://{}", app.addr);
    for (origin, host) in [
        (own_host.as_str(), app.addr.to_string()),
        (EVIL, "evil.example".to_owned()),
    ] {
        let reply = append(
            &app,
            Auth::Cookie(&cookie),
            &[("origin", origin), ("host", &host)],
            &stakeholder(LAB, "a"),
        )
        .await;
        let detail = refused_naming(&reply, "Origin");
        assert!(detail.contains(PUBLIC), "{detail}");
    }
    assert_eq!(app.head().await, head, "a refused write recorded something");
    append(
        &app,
        Auth::Cookie(&cookie),
        &[("origin", PUBLIC)],
        &stakeholder(LAB, "a"),
    )
    .await
    .ok_json(201);

    // Without a public URL, the cookie is not Secure: the server is reached over http.
    let plain = TestApp::spawn_empty().await;
    let code = plain
        .app
        .tokens()
        .issue_login(&plain.tokens.viewer.id, Duration::from_secs(60))
        .expect("a login code");
    let linked = plain.login(&code).await;
    let set_cookie = linked.header("set-cookie").expect("Set-Cookie");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test]
async fn signing_out_ends_the_session_and_only_the_servers_pages_may_do_it() {
    let app = TestApp::spawn_empty().await;
    let cookie = session(&app, &app.tokens.coordinator);
    let me = |cookie: String| {
        let app = &app;
        async move { app.get("/api/v1/me", Auth::Cookie(&cookie), "", &[]).await }
    };

    let evil = logout(&app, Auth::Cookie(&cookie), &[("origin", EVIL)]).await;
    refused_naming(&evil, "Origin");
    assert!(evil.header("set-cookie").is_none());
    refused_naming(
        &logout(
            &app,
            Auth::Cookie(&cookie),
            &[("sec-fetch-site", "cross-site")],
        )
        .await,
        "Sec-Fetch-Site",
    );
    me(cookie.clone()).await.ok_json(200);

    let bearer = logout(
        &app,
        (&app.tokens.coordinator).into(),
        &[("origin", &app.base)],
    )
    .await;
    let p = bearer.problem(400);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("passerelle token revoke"),
        "{p}"
    );
    app.get("/logout", Auth::Cookie(&cookie), "", &[])
        .await
        .problem(405);
    let with_body = app
        .send(
            Method::POST,
            "/logout",
            Auth::Cookie(&cookie),
            "",
            &[("origin", &app.base)],
            Some("{}".into()),
        )
        .await;
    with_body.problem(413);
    me(cookie.clone()).await.ok_json(200);

    // A script signs out: 204, the cookie cleared, the session gone.
    let out = logout(&app, Auth::Cookie(&cookie), &[("origin", &app.base)]).await;
    out.expect(204);
    let cleared = out.header("set-cookie").expect("Set-Cookie");
    assert!(
        cleared.starts_with("passerelle_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    me(cookie.clone()).await.problem(401);
    let gone = append(
        &app,
        Auth::Cookie(&cookie),
        &[("origin", &app.base)],
        &stakeholder(LAB, "a"),
    )
    .await;
    gone.problem(401);

    // A form signs out: back to the map, which then asks to sign in.
    let other = session(&app, &app.tokens.coordinator);
    let out = logout(
        &app,
        Auth::Cookie(&other),
        &[
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("content-type", FORM),
        ],
    )
    .await;
    out.expect(303);
    assert_eq!(out.header("location"), Some("/"));
    me(other).await.problem(401);
    // The token itself still works: signing out ends a session, not a token.
    app.get("/api/v1/me", (&app.tokens.coordinator).into(), "", &[])
        .await
        .ok_json(200);
}

#[tokio::test]
async fn the_sign_in_form_is_taken_only_from_the_servers_pages_and_as_a_form() {
    let app = TestApp::spawn_empty().await;
    let form = format!("token={}", app.tokens.viewer.secret);
    let sign_in = |headers: Vec<(&'static str, String)>| {
        let body = form.clone();
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.send(
                Method::POST,
                "/login",
                Auth::None,
                "",
                &headers,
                Some(body.into()),
            )
            .await
        }
    };
    let form_type = ("content-type", FORM.to_owned());

    // Chromium on the pages' own form: Origin and Sec-Fetch-Site.
    let ok = sign_in(vec![
        ("origin", app.base.clone()),
        ("sec-fetch-site", "same-origin".into()),
        form_type.clone(),
    ])
    .await;
    ok.expect(303);
    assert!(ok.header("set-cookie").is_some());
    // A browser that leaves Origin out but sends Sec-Fetch-Site.
    sign_in(vec![
        ("sec-fetch-site", "same-origin".into()),
        form_type.clone(),
    ])
    .await
    .expect(303);

    for (headers, names) in [
        (
            vec![("origin", "null".to_owned()), form_type.clone()],
            "Origin",
        ),
        (vec![form_type.clone()], "Sec-Fetch-Site"),
        (
            vec![("sec-fetch-site", "cross-site".into()), form_type.clone()],
            "Sec-Fetch-Site",
        ),
    ] {
        let reply = sign_in(headers).await;
        refused_naming(&reply, names);
        assert!(reply.header("set-cookie").is_none());
    }
    let json = sign_in(vec![
        ("origin", app.base.clone()),
        ("content-type", "application/json".into()),
    ])
    .await;
    let p = json.problem(415);
    assert!(p["detail"].as_str().unwrap().contains(FORM), "{p}");
}

#[tokio::test]
async fn pages_name_their_origin_to_this_server_only() {
    let app = TestApp::spawn_empty().await;
    let page = app.get("/record", Auth::None, "", &[]).await;
    page.expect(200);
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
}
