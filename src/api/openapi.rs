//! The OpenAPI 3.1 description of the JSON API, served at
//! `/api/v1/openapi.json`, assembled from what the code already knows: the
//! paths, operation ids, parameters and security from the route table
//! ([`ROUTES`]); the schemas of the event model (values, enums, each event
//! type's `data`, the wire and stored envelopes) from the types of
//! `passerelle-events` (`events/src/schema.rs`); those of the response bodies
//! from their types (`src/api/body.rs`). What is written here is what only
//! prose can say: each operation's summary, description and answers, each
//! parameter's meaning. `tests/openapi.rs` checks the document against the
//! OAS 3.1 schema and real requests and renderings against the document
//! (`tests/support/openapi.rs`).

use serde_json::{json, Map, Value};

use crate::http::route::{Access, Param, Route, Verb, API_BASE as BASE_PATH, ROUTES};

// ---------------------------------------------------------------------------
// Small builders
// ---------------------------------------------------------------------------

/// `{"$ref": "#/components/schemas/{name}"}`.
fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A closed object: `required` keys, `properties`, no other key.
fn object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// A closed object with a description.
fn described(description: &str, required: &[&str], properties: Value) -> Value {
    let mut o = object(required, properties);
    o["description"] = json!(description);
    o
}

fn param(p: Param) -> Value {
    json!({ "$ref": format!("#/components/parameters/{p:?}") })
}

fn response(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// A `200` JSON read with its `ETag`.
fn ok_json(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "headers": { "ETag": { "$ref": "#/components/headers/ETag" } },
        "content": { "application/json": { "schema": r(schema) } },
    })
}

/// Error responses by status, from `components/responses`.
fn errors(statuses: &[u16]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|s| {
            let name = match s {
                304 => "NotModified",
                400 => "BadRequest",
                401 => "Unauthorized",
                403 => "Forbidden",
                404 => "NotFound",
                409 => "Conflict",
                413 => "TooLarge",
                415 => "UnsupportedMediaType",
                422 => "ValidationFailed",
                500 => "InternalError",
                503 => "Unavailable",
                other => panic!("no shared response for status {other}"),
            };
            (s.to_string(), response(name))
        })
        .collect()
}

/// The statuses of a projected read (besides 200).
const READ_ERRORS: &[u16] = &[304, 400, 401, 403, 404, 409, 500, 503];

/// A projected read of one programme (its parameters are the route
/// table's: its own, `programme`, `as_of`/`position`, `min_position`,
/// `If-None-Match`).
fn read_op(tag: &str, summary: &str, description: &str, body: (&str, &str)) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), ok_json(body.0, body.1));
    responses.extend(errors(READ_ERRORS));
    json!({
        "tags": [tag],
        "summary": summary,
        "description": description,
        "responses": responses,
    })
}

// ---------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------

/// The OpenAPI 3.1.0 document of the API.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": info(),
        "servers": [{ "url": BASE_PATH, "description": "This server" }],
        "security": [{ "bearerAuth": [] }, { "sessionCookie": [] }],
        "tags": [
            { "name": "events", "description": "The event log: append idempotently, page through it, follow it live." },
            { "name": "directory", "description": "Current state of a programme's directory, as of a time or a log position." },
            { "name": "analysis", "description": "The network map with metrics, the gap report, participation and before/after diffs." },
            { "name": "service", "description": "Health, Prometheus metrics and this document." },
            { "name": "rights", "description": "The rights of the people whose data the log holds: erasure and access (admin tokens only)." },
        ],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "psl_…",
                    "description": "An API token made with `passerelle token create`: `Authorization: Bearer psl_…`. Each token has a role (`admin`, `coordinator`, `mentor`, `viewer`) and may be scoped to one programme. A missing, malformed, unknown or revoked token is answered 401; a role or scope that does not allow the request, 403.",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "passerelle_session",
                    "description": "The browser session the web pages use, opened by `/login` (a one-time login link or the sign-in form) and ended by `POST /logout`; it stands for the token it was opened with, role and scope included, for at most 12 hours. A write made with it (any method but GET and HEAD) must come from this server's own pages: its `Origin` header must be the server's origin (the `--public-url` it was started with, else `http://` and the `Host` header), `Sec-Fetch-Site`, when sent, must be `same-origin`, and at least one of the two must be sent; otherwise `403`, naming the header. Programs send a bearer token instead.",
                },
            },
            "parameters": parameters(),
            "headers": headers(),
            "responses": responses(),
            "schemas": schemas(),
        },
    })
}

fn info() -> Value {
    json!({
        "title": "Passerelle API",
        "version": "1",
        "summary": "Event-sourced tracker of the stakeholder and partnership network a city builds with its migrant residents.",
        "description": concat!(
            "Every change is an event appended to one log; every read is a fold over that log.\n\n",
            "**Positions.** The store numbers events 1, 2, 3… without gaps. Every read body carries ",
            "`position`, the log position it reflects, and an `ETag` header; send it back in ",
            "`If-None-Match` to get `304 Not Modified` while nothing changed. Reads follow the log ",
            "shortly after an append: pass `min_position` (e.g. the `position` an append returned) to ",
            "wait, at most 5 s, until the read reflects it, or get `503`. While a programme's view is ",
            "being computed again after an append, a read without `min_position` may get the previous ",
            "answer at once: its `position` and `ETag` then say the earlier position it reflects, which ",
            "can be lower than an earlier answer's. To never go back, pass the last `position` seen as ",
            "`min_position`.\n\n",
            "**Programmes.** Reads of one programme take `programme`; it may be left out only when ",
            "the token sees a single programme (otherwise `400`). An unknown programme is `404`; one ",
            "outside the token's scope, `403`.\n\n",
            "**Time travel.** Reads marked so take `as_of` (a date or an RFC 3339 time: what the ",
            "network looked like then, by `occurred_at`) or `position` (what the log held then); ",
            "not both. The answer's `as_of` says the time it is for; a time far after the ",
            "programme's last event costs what any read costs.\n\n",
            "**Pages.** Every list is paged: `limit` items (default 100, at most 1000) and a `next` ",
            "link to the following page (`null` on the last), which keeps the read's parameters and ",
            "sets its cursor (`after`). A gap-report finding gives its first 20 evidence ids, the ",
            "count of the others and a link to them.\n\n",
            "**Bounded work.** A read that has to be computed runs for 10 s at most (by default) and ",
            "only while a request waits for it; the server computes a bounded number of reads at ",
            "once, and a read waits 2 s at most (by default) for its turn. Beyond either bound the ",
            "read is answered `503` (`/problems/busy`) with `Retry-After`.\n\n",
            "**Errors** are RFC 9457 `application/problem+json` documents: `type` (a URI reference ",
            "such as `/problems/validation`), `title`, `status`, `detail`, and for `422` `errors`, ",
            "each naming a `field` and the rule it broke.\n\n",
            "**Connections.** HTTP/1.1, kept alive. A client has 10 s (`passerelle serve ",
            "--header-timeout`) to send a request's headers, counted from when it connected or its ",
            "previous answer ended; then the server closes the connection without an answer, so an ",
            "idle connection is closed after as long. A request in flight (a stream, a ",
            "`min_position` wait) is never cut. The server holds at most 4,096 connections ",
            "(`--max-connections`, lowered to fit its open-file limit): beyond, it closes the oldest ",
            "connection that has not sent a complete request, or, when every one has, answers a new ",
            "connection `503` (`/problems/unavailable`, `Retry-After`) and closes it.\n\n",
            "**Privacy.** Personal data — a stakeholder's contact person, e-mail and phone, and ",
            "participant codes — is stored encrypted, under one key per person (a *data subject*), ",
            "and opened only in answers to admin and coordinator tokens. Mentor and viewer tokens ",
            "never receive it: the directory leaves `contact` out for them, and the raw log ",
            "(`/events`, `/events/stream`) is refused to them with `403`, because each attendance is ",
            "an event of its own and counting them would give the small counts they must not see. ",
            "Mentor and viewer tokens see no count of 1 to 4 beneficiaries, alone or worked out from ",
            "several answers: a session with such a count shows its counts as `null`, sums and ",
            "shares leave it out, attendance figures are `null`, and the positions they are told ",
            "(`position`, `ETag`, `min_position`, the `position` of an append) count only the events ",
            "they can see — not attendances and erasures. An erasure (`POST /erasures`, admin ",
            "tokens) destroys the person's key: each of their fields then reads `{\"erased\": true}` ",
            "in every answer, while the events, ties and counts stay. A field whose key this server ",
            "does not hold reads `{\"unreadable\": true}`.",
        ),
        "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
    })
}

/// The API's paths, from the route table: each operation's id, parameters
/// and security come from its entry in [`ROUTES`]; what it does and answers,
/// from [`operation`].
fn paths() -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let Some(path) = spec.api_path() else {
            continue;
        };
        let mut item = Map::new();
        for op in spec.ops {
            let mut o = operation(spec.route, op.verb);
            o["operationId"] = op.id.into();
            if !op.params.is_empty() {
                o["parameters"] = op.params.iter().map(|&p| param(p)).collect();
            }
            if op.access == Access::Public {
                o["security"] = json!([]);
            }
            // Any request may meet the connection limit.
            if o["responses"].get("503").is_none() {
                o["responses"]["503"] = response("Unavailable");
            }
            item.insert(op.verb.lower().to_owned(), o);
        }
        paths.insert(path.to_owned(), Value::Object(item));
    }
    Value::Object(paths)
}

/// What an operation of the API does and answers (its parameters are the
/// route table's).
fn operation(route: Route, verb: Verb) -> Value {
    let as_of_note = "Takes `as_of` or `position` to answer for an earlier time or log position; `as_of` in the answer says the time it is for.";
    let page_note = "One page: `limit` items (default 100), the next page at `next`.";
    match route {
        Route::Events if verb == Verb::Post => append_events(),
        Route::Events => list_events(),
        Route::EventStream => stream_events(),
        Route::Programmes => list_programmes(),
        Route::Stakeholders => read_op(
            "directory", "Stakeholders of a programme",
            &format!("Every stakeholder registered in the programme, archived ones included (`archived: true`). `contact` is present only for admin and coordinator tokens. {page_note} {as_of_note}"),
            ("A page of the programme's stakeholders, by id.", "StakeholderList"),
        ),
        Route::Stakeholder => read_op(
            "directory", "One stakeholder with its ties and contacts",
            &format!("The stakeholder, each tie it has (partnership, outreach contacts, co-attended sessions, with the decayed strength; by the other stakeholder's id) and every outreach contact from or to it (in log order). Both lists are paged: `limit` items each (default 100), the next page of ties at `ties_next`, of contacts at `contacts_next`. 404 when the programme has no such stakeholder. {as_of_note}"),
            ("The stakeholder, a page of its ties and one of its contacts.", "StakeholderDetail"),
        ),
        Route::Partnerships => read_op(
            "directory", "Partnerships of a programme",
            &format!("Every partnership formed in the programme; an ended one has `ended_at`. {page_note} {as_of_note}"),
            ("A page of the programme's partnerships, by id.", "PartnershipList"),
        ),
        Route::Sessions => read_op(
            "directory", "Co-creation sessions of a programme",
            &format!("Every co-creation session with its IAP2 level and beneficiary counts. For mentor and viewer tokens, a session with any count from 1 to 4 shows its counts as `null` (a total of at least 5 stays) and `suppressed` true, and `attended` is always `null`. {page_note} {as_of_note}"),
            ("A page of the programme's sessions, by id.", "SessionList"),
        ),
        Route::Needs => read_op(
            "directory", "Needs of the action plan",
            &format!("Every declared need with its status and who addressed it. {page_note} {as_of_note}"),
            ("A page of the programme's needs, by id.", "NeedList"),
        ),
        Route::Milestones => read_op(
            "directory", "Milestones of a programme",
            &format!("Dated markers (mentoring visits, decisions, …) for before/after comparisons. {page_note} {as_of_note}"),
            ("A page of the programme's milestones, in time order.", "MilestoneList"),
        ),
        Route::Notes => read_op(
            "directory", "Review notes of a programme",
            &format!("Notes left on a stakeholder, need, partnership or gap-report finding. {page_note} {as_of_note}"),
            ("A page of the programme's review notes, in log order.", "NoteList"),
        ),
        Route::Network => read_op(
            "analysis", "The network map",
            &format!("Nodes (stakeholders) with centralities, core number, Burt's constraint, community and map position; edges (present ties) with decayed strength, partnership, contacts and co-attended sessions; network-wide metrics. {as_of_note}"),
            ("The network with metrics and layout.", "Network"),
        ),
        Route::Gaps => read_op(
            "analysis", "The gap report",
            &format!("Findings of ten kinds, by severity, kind and id, each with a severity, its subjects, a one-line explanation and a suggested next step in English and French, and the ids of the events that show it: the first 20 (by id), with the count of the others (`evidence_more`) and a link to them (`evidence_next`, at `/gaps/evidence`). A finding's `id` depends only on its kind and subjects. {page_note} {as_of_note}"),
            ("A page of the gap report's findings.", "GapReport"),
        ),
        Route::Participation => read_op(
            "analysis", "How beneficiaries take part",
            &format!("Per session and per month: beneficiaries, women's share, first-time and returning, IAP2 level; each beneficiary group's trajectory across levels. For mentor and viewer tokens, a session with any count from 1 to 4 shows its counts as `null` (a total of at least 5 stays) and is left out of its month's sums (`withheld` says how many were), and attendance figures are `null`. {as_of_note}"),
            ("Participation in the programme.", "Participation"),
        ),
        Route::GapEvidence => read_op(
            "analysis", "The evidence of one finding",
        &format!("The ids of the events that show one finding of the gap report, in id order, as of the same point as the report (a finding's `evidence_next` link says it). 404 when the report has no such finding. {page_note} {as_of_note}"),
            ("A page of the finding's evidence.", "EvidencePage"),
        ),
        Route::Health => json!({
        "tags": ["service"],
        "summary": "Liveness",
        "description": "Answers while the server runs. Needs no token, so it tells nothing about the log.",
        "responses": {
            "200": {
                "description": "The server is up.",
                "content": { "application/json": { "schema": r("Health") } },
            },
            "400": response("BadRequest"),
            "500": response("InternalError"),
        },
        }),
        Route::Metrics => json!({
        "tags": ["service"],
        "summary": "Prometheus metrics",
        "description": "Request counts by route and status, latency histograms, the number of events appended, the log head and the projection lag, in the Prometheus text exposition format 0.0.4. Admin tokens and coordinator tokens not scoped to a programme only: they count every event of the log (403 for others).",
        "responses": {
            "200": {
                "description": "The metrics.",
                "content": { (super::telemetry::CONTENT_TYPE): { "schema": {
                    "type": "string",
                    "description": "Prometheus text exposition format, version 0.0.4.",
                }}},
            },
            "400": response("BadRequest"),
            "401": response("Unauthorized"),
            "403": response("Forbidden"),
            "500": response("InternalError"),
            "503": response("Unavailable"),
        },
        }),
        Route::Me => json!({
        "tags": ["service"],
        "summary": "Who is asking",
        "description": "The name, role and programme scope of the token or browser session the request carries, so a client (the web pages) can offer only what the role may do. Takes no parameter.",
        "responses": {
            "200": {
                "description": "The caller.",
                "content": { "application/json": { "schema": r("Me") } },
            },
            "400": response("BadRequest"),
            "401": response("Unauthorized"),
            "500": response("InternalError"),
        },
        }),
        Route::OpenApi => json!({
        "tags": ["service"],
        "summary": "This document",
        "description": "The OpenAPI 3.1 description of the API. Needs no token.",
        "responses": {
            "200": {
                "description": "The OpenAPI document.",
                "content": { "application/json": { "schema": {
                    "type": "object",
                    "description": "An OpenAPI 3.1 document (this one).",
                    "required": ["openapi", "info", "paths"],
                    "properties": {
                        "openapi": { "type": "string", "pattern": "^3\\.1\\.\\d+$" },
                        "info": { "type": "object" },
                        "paths": { "type": "object" },
                    },
                }}},
            },
            "400": response("BadRequest"),
            "500": response("InternalError"),
        },
        }),
        Route::Diff => diff_op(),
        Route::Erasures => erase_op(),
        Route::Subject => subject_access_op(),
        Route::Page(_) | Route::Asset | Route::Login | Route::Logout => {
            unreachable!("{route:?} is not under the API")
        }
    }
}

fn append_events() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "201".into(),
        json!({
            "description": "At least one event was appended. The body holds the stored envelope of each event sent, in order — an object for an object body, an array for an array body; events that were already stored come back as they were first stored.",
            "content": { "application/json": { "schema": r("AppendResult") } },
        }),
    );
    responses.insert(
        "200".into(),
        json!({
            "description": "Every event was already stored with the same body (an idempotent retry): nothing was appended and the original envelopes are returned — an object for an object body, an array for an array body.",
            "content": { "application/json": { "schema": r("AppendResult") } },
        }),
    );
    responses.extend(errors(&[400, 401, 403, 409, 413, 415, 422, 500, 503]));
    json!({
        "tags": ["events"],
        "summary": "Append events",
        "description": concat!(
            "Appends one event, or a batch atomically (all or nothing), in order. Each event is ",
            "validated against the log it follows: references must exist in the same programme and ",
            "not be archived, ids are unique, unknown fields are refused (there is no field for ",
            "ethnicity, nationality, religion or any other special category of personal data). ",
            "Every broken rule is reported as `422` with `errors[]`, each naming its `field`; in a ",
            "batch fields are prefixed with the event's index (`[2].data.to`). Nothing is appended ",
            "then.\n\n",
            "Input is read strictly: a body that is not JSON is `400`; a key given twice in any ",
            "object is `422` naming its path (`data.name is given twice`). Every text must show ",
            "something once invisible characters are set aside and must not hold a bidirectional ",
            "embedding, override or isolate (U+202A–U+202E, U+2066–U+2069). Dates lie in a window: ",
            "`occurred_at` between 1900-01-01 and one day after the server's clock, a planned date ",
            "(`follow_up_due`) between 1900-01-01 and 5 years after the server's date, both as of ",
            "the time the event is recorded; the error says the server's time.\n\n",
            "Sending an event again with the same `id` and body is an idempotent retry; the same ",
            "`id` with another body is `409`, as is an `expected_version` that does not match the ",
            "stream's. `recorded_at` and `recorded_by` are set by the server (`recorded_by` is the ",
            "token's name), never taken from the client.\n\n",
            "Coordinator and admin tokens may append any event but `PersonalDataErased` (written only ",
            "by an erasure, `passerelle erase` or `POST /erasures`; refused with `403`); mentor tokens ",
            "only `ReviewNoteAdded`; ",
            "viewer tokens nothing (`403`). A token scoped to a programme may append only to it ",
            "(`403`). The body is sent as `application/json` (with no charset or ",
            "`charset=utf-8`); any other content type is `415`, before the body is read. Bodies ",
            "over the server's limit (1 MiB by default) are `413`. With the session cookie, the ",
            "request must come from this server's own pages (`Origin`, `Sec-Fetch-Site`; see the ",
            "`sessionCookie` scheme), or it is `403`.\n\n",
            "Personal fields (a contact's `person`, `email`, `phone`; a `participant`) are sent in ",
            "clear and stored encrypted under the person's key; the envelopes answered hold them ",
            "opened again. A sealed value (`{\"key\", \"sealed\"}`, as an export writes it) is ",
            "refused here with `422`: exports are read back by `passerelle import`.",
        ),
        "requestBody": {
            "required": true,
            "description": "One event, or a non-empty array of events appended atomically.",
            "content": { "application/json": {
                "schema": r("AppendRequest"),
                "examples": {
                    "one": {
                        "summary": "One outreach contact",
                        "value": {
                            "id": "0d6f1f9e-4a5b-4f7e-9a52-2f8d1c3b7a10",
                            "type": "OutreachContactLogged",
                            "programme": "sjdlr",
                            "occurred_at": "2022-02-07T10:00:00Z",
                            "data": {
                                "from": "sj-ccas", "to": "sj-women-group", "channel": "meeting",
                                "purpose": "Present the Maison des Femmes project",
                                "outcome": "interested", "follow_up_due": "2022-03-01",
                            },
                        },
                    },
                    "batch": {
                        "summary": "A stakeholder and a partnership, atomically",
                        "value": [
                            {
                                "type": "StakeholderRegistered", "programme": "sjdlr",
                                "occurred_at": "2022-02-07",
                                "data": {
                                    "stakeholder": "sj-nursery", "name": "Municipal nursery",
                                    "kind": "childcare", "themes": ["childcare"],
                                },
                                "expected_version": 0,
                            },
                            {
                                "type": "PartnershipFormed", "programme": "sjdlr",
                                "occurred_at": "2022-02-08",
                                "data": {
                                    "partnership": "p-nursery-ccas", "between": ["sj-nursery", "sj-ccas"],
                                    "kind": "referral", "themes": ["childcare", "social_support"],
                                },
                            },
                        ],
                    },
                },
            }},
        },
        "responses": responses,
    })
}

fn list_events() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        ok_json(
            "A page of stored events in log order. `next_after` is the position to pass as `after` for the next page (the last event's position, or `after` itself when the page is empty).",
            "EventPage",
        ),
    );
    responses.extend(errors(&[304, 400, 401]));
    responses.insert(
        "403".into(),
        problem_response(
            &format!("{RAW_LOG_FORBIDDEN} Also a `programme` outside the token's scope."),
            403,
            "/problems/forbidden",
            Value::Null,
        ),
    );
    responses.extend(errors(&[404, 500, 503]));
    json!({
        "tags": ["events"],
        "summary": "Page through the log",
        "description": concat!(
            "Stored events after a position, oldest first, of the programmes the token may read. ",
            "`position` in the body is the log's head when the page was read. Personal fields come ",
            "opened: in clear, or `{\"erased\": true}` once the person's data was erased.\n\n",
            "For admin and coordinator tokens only: mentor and viewer tokens get `403`. Each ",
            "participant's attendance is an event of its own, so counting a session's events would ",
            "give the attendance those roles must not see below five; they read the projections ",
            "(directory, network, gaps, participation) instead.",
        ),
        "responses": responses,
    })
}

fn stream_events() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": concat!(
                "A Server-Sent Events stream that stays open until the client or the server closes it, ",
                "or until the client falls too far behind: the server keeps the latest events (4,096 by ",
                "default) for its streams, and a client that has not taken events that far back is ",
                "dropped — its stream ends — rather than buffered without bound. It then reconnects, ",
                "and its `Last-Event-ID` resumes after the last event it received, with no gap and no ",
                "duplicate.",
            ),
            "content": { "text/event-stream": { "schema": {
                "type": "string",
                "description": concat!(
                    "Server-Sent Events. One message per stored event, in log order: `id:` is its ",
                    "position, `event:` its type (e.g. `OutreachContactLogged`) and `data:` its stored ",
                    "envelope as one line of JSON (the `StoredEvent` schema). For a token scoped to one ",
                    "programme, `id:` and the envelope's `position` count that programme's events only: ",
                    "its k-th event has position k. Comment lines (`: heartbeat`) are sent as heartbeats. ",
                    "A reconnecting client's `Last-Event-ID` header resumes after that position."
                ),
                "example": "id: 42\nevent: OutreachContactLogged\ndata: {\"position\":42,\"stream\":\"sjdlr/outreach/sj-ccas/sj-women-group\",…}\n\n: heartbeat\n\n",
            }}},
        }),
    );
    responses.insert(
        "400".into(),
        problem_response(
            "`after` or `Last-Event-ID` is not a whole number, or is beyond the last position of the log (for a token scoped to one programme, beyond that programme's last event, in its own units); `detail` names it.",
            400,
            "/problems/bad-request",
            Value::Null,
        ),
    );
    responses.extend(errors(&[401]));
    responses.insert(
        "403".into(),
        problem_response(RAW_LOG_FORBIDDEN, 403, "/problems/forbidden", Value::Null),
    );
    responses.insert(
        "429".into(),
        problem_response(
            "The token already has as many event streams open as one token may (8 by default); `detail` says so. Close one, or retry after `Retry-After` seconds.",
            429,
            "/problems/too-many-requests",
            json!({ "Retry-After": { "$ref": "#/components/headers/RetryAfter" } }),
        ),
    );
    responses.extend(errors(&[500]));
    responses.insert(
        "503".into(),
        problem_response(
            "The server already has as many event streams open as it serves at once (1,000 by default), or the store is unavailable; `detail` says which. Retry after `Retry-After` seconds.",
            503,
            "/problems/unavailable",
            json!({ "Retry-After": { "$ref": "#/components/headers/RetryAfter" } }),
        ),
    );
    json!({
        "tags": ["events"],
        "summary": "Follow the log live",
        "description": concat!(
            "Every stored event after `after` (or after `Last-Event-ID`, which wins), then each new ",
            "one as it is appended, of the programmes the token may read, its personal fields ",
            "opened. A token scoped to one programme gets that programme's events only, and every ",
            "position it gives or is told — `after`, `Last-Event-ID`, `id:`, `position` — counts ",
            "that programme's events only (its k-th event is k), so the stream says nothing of ",
            "other programmes' activity. For admin and coordinator tokens only: mentor and viewer ",
            "tokens get `403`, for the reason given at `GET /events`. A token may hold a few streams open at once ",
            "(`429` past that) and the server a bounded number in all (`503`); a stream's place is ",
            "freed when it ends.",
        ),
        "responses": responses,
    })
}

/// The 403 of the rights routes.
fn rights_forbidden() -> Value {
    problem_response(
        "Not an admin token (erasure and access are for admins only, whatever the subject), or an admin token scoped to another programme than the subject's. Said before anything is looked up: a refusal tells nothing about the subject. Also an erasure made with the session cookie that does not come from this server's own pages (see the `sessionCookie` scheme).",
        403,
        "/problems/forbidden",
        Value::Null,
    )
}

fn erase_op() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "201".into(),
        json!({
            "description": "The subject's key was destroyed and `PersonalDataErased` appended, in one transaction. The answer comes once reads reflect the erasure (at most 5 s; after that the erasure is answered all the same, and a read with `min_position` set to the event's position waits for it).",
            "content": { "application/json": { "schema": r("Erasure") } },
        }),
    );
    responses.extend(errors(&[400, 401]));
    responses.insert("403".into(), rights_forbidden());
    responses.insert(
        "404".into(),
        problem_response(
            "No personal data of this subject is held: it was never recorded, or was erased. An erased participant leaves no trace of its code, so erasing it again is also 404. The detail never quotes a participant's code.",
            404,
            "/problems/not-found",
            Value::Null,
        ),
    );
    responses.insert(
        "409".into(),
        problem_response(
            "This contact person was erased already (the detail gives the erasure's log position); nothing was appended.",
            409,
            "/problems/conflict",
            Value::Null,
        ),
    );
    responses.extend(errors(&[413, 415, 422, 500, 503]));
    json!({
        "tags": ["rights"],
        "summary": "Erase a person's data",
        "description": concat!(
            "Honours an erasure request (GDPR art. 17) by crypto-shredding: the subject's data key ",
            "is destroyed, so every field sealed under it — in every event, however many — can no ",
            "longer be read in this store (database backups taken before keep it until they ",
            "expire), and `PersonalDataErased` (holding no personal data) is appended, ",
            "recorded by the token's name. The events themselves, their hash chain, the ",
            "stakeholder, its ties and every count stay; each erased field then reads ",
            "`{\"erased\": true}`.\n\n",
            "For admin tokens only (`403` for any other role, before anything is looked up); an ",
            "admin token scoped to a programme erases only subjects of that programme (`403` ",
            "otherwise, whether or not the subject exists there). The body is sent as ",
            "`application/json` (`415` otherwise) and read strictly: ",
            "exactly `subject` and `reason`, each a string; any other key, a key given twice (at ",
            "any depth), a missing or malformed value is `422` naming the field. `reason` is a ",
            "text as an event's (visible, no bidirectional control). It is stored in clear in ",
            "the log: it must not hold personal data.",
        ),
        "requestBody": {
            "required": true,
            "content": { "application/json": {
                "schema": r("ErasureRequest"),
                "examples": {
                    "contact": {
                        "summary": "A stakeholder's contact person",
                        "value": { "subject": "contact:sjdlr/sj-ccas", "reason": "Request of 3 March 2025, by e-mail" },
                    },
                    "participant": {
                        "summary": "A participant, by its code",
                        "value": { "subject": "participant:sjdlr/P-0042", "reason": "Request received at the Maison des Femmes" },
                    },
                },
            }},
        },
        "responses": responses,
    })
}

fn subject_access_op() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "Every event holding the subject's data, oldest first, its personal fields opened.",
            "content": { "application/json": { "schema": r("SubjectAccess") } },
        }),
    );
    responses.insert(
        "400".into(),
        problem_response(
            "The subject in the path is malformed or not percent-encoded as one segment, or a query parameter was given (none is taken). The detail never quotes a participant's code.",
            400,
            "/problems/bad-request",
            Value::Null,
        ),
    );
    responses.extend(errors(&[401]));
    responses.insert("403".into(), rights_forbidden());
    responses.insert(
        "404".into(),
        problem_response(
            "No personal data of this subject is held: it was never recorded, or was erased.",
            404,
            "/problems/not-found",
            Value::Null,
        ),
    );
    responses.extend(errors(&[500, 503]));
    json!({
        "tags": ["rights"],
        "summary": "Everything held about one person",
        "description": concat!(
            "Answers an access request (GDPR art. 15): every event that holds data of the subject, ",
            "with that data opened, as a city must hand it over. For admin tokens only, with the ",
            "scope rule of `POST /erasures`. Answered with `Cache-Control: no-store`; logs and ",
            "metrics name the route template, never the subject.",
        ),
        "responses": responses,
    })
}

/// Why the raw log answers 403 to mentors and viewers.
const RAW_LOG_FORBIDDEN: &str = "A mentor or viewer token: the raw log is read by admin and coordinator tokens only, because it lists each participant's attendance and counting them would reveal counts from 1 to 4.";

fn list_programmes() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        ok_json(
            "A page of the programmes the token may read.",
            "ProgrammeList",
        ),
    );
    responses.extend(errors(&[304, 400, 401, 409, 500, 503]));
    json!({
        "tags": ["directory"],
        "summary": "Programmes",
        "description": "Every programme the token may read, by id, with its role in the mentoring scheme and counts. One page: `limit` items (default 100), the next page at `next`.",
        "responses": responses,
    })
}

fn diff_op() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        ok_json(
            "What changed between the two points: stakeholders, present ties and gap-report findings.",
            "Diff",
        ),
    );
    responses.extend(errors(READ_ERRORS));
    json!({
        "tags": ["analysis"],
        "summary": "What changed between two times",
        "description": "Give `from` and `to` (`from` not later than `to`), or `milestone`: the network just before the milestone compared with the network just before the next milestone (or as of the programme's latest event). Anything else is `400`; an unknown milestone is `404`.",
        "responses": responses,
    })
}

fn parameters() -> Value {
    let slug = r("Id");
    let mut params = json!({
        "Programme": {
            "required": false,
            "description": "The programme to read (e.g. `sjdlr`). Required when the token sees several programmes (400 otherwise); 404 when unknown, 403 when outside the token's scope.",
            "schema": r("ProgrammeId"),
        },
        "ProgrammeFilter": {
            "required": false,
            "description": "Only events of this programme (403 when outside the token's scope); without it, events of every programme the token may read.",
            "schema": r("ProgrammeId"),
        },
        "AsOf": {
            "required": false,
            "description": "Answer as of this time: a date (midnight UTC) or an RFC 3339 time, on or after 1900-01-01, compared with each event's `occurred_at`. Not with `position`.",
            "schema": r("DateOrDateTime"),
        },
        "Position": {
            "required": false,
            "description": "Answer as of this log position (the events at positions 1 to `position`; for mentor and viewer tokens, up to the `position`-th event they can see; for a token scoped to one programme, up to that programme's `position`-th event). Not with `as_of`.",
            "schema": { "type": "integer", "minimum": 0 },
        },
        "MinPosition": {
            "required": false,
            "description": "Wait (at most 5 s) until the read reflects at least this log position, e.g. the `position` an append returned; 503 if it does not in time, or if the server already has as many reads waiting as it lets wait at once (256 by default). A position beyond the log's head (in the positions the token is told) is refused at once with 409, naming the head. Without it, a read may answer the previous rendering (reflecting an earlier position, which its `position` and `ETag` say) while the current one is computed.",
            "schema": { "type": "integer", "minimum": 0 },
        },
        "IfNoneMatch": {
            "required": false,
            "description": "An `ETag` from an earlier answer: 304 with no body while it still matches.",
            "schema": { "type": "string" },
        },
        "After": {
            "required": false,
            "description": "Only events after this log position.",
            "schema": { "type": "integer", "minimum": 0, "default": 0 },
        },
        "Limit": {
            "required": false,
            "description": "Most events in the page.",
            "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 },
        },
        "PageLimit": {
            "required": false,
            "description": "Most items in the page (400 beyond 1000).",
            "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 },
        },
        "AfterId": {
            "required": false,
            "description": "Start after this id (the list is by id); the `next` link of a page sets it.",
            "schema": r("Id"),
        },
        "AfterListed": {
            "required": false,
            "description": "Start after the item with this id, which must be in the list (400 otherwise); the `next` link of a page sets it.",
            "schema": r("Id"),
        },
        "AfterFinding": {
            "required": false,
            "description": "Start after the finding with this id, which must be in the report (400 otherwise: it may have closed since; start again); the `next` link of a page sets it.",
            "schema": { "type": "string" },
        },
        "AfterEvent": {
            "required": false,
            "description": "Start after this event id (the list is by id); the `next` link of a page sets it.",
            "schema": r("Uuid"),
        },
        "TiesAfter": {
            "required": false,
            "description": "Start the ties after the one with this stakeholder (ties are by the other stakeholder's id); `ties_next` sets it.",
            "schema": r("Id"),
        },
        "ContactsAfter": {
            "required": false,
            "description": "Start the contacts after the one with this event id, which must be among them (400 otherwise); `contacts_next` sets it.",
            "schema": r("Uuid"),
        },
        "FindingId": {
            "required": true,
            "description": "The `id` of a finding of the gap report.",
            "schema": { "type": "string" },
        },
        "EventTypeFilter": {
            "required": false,
            "description": "Only events of this type.",
            "schema": r("EventType"),
        },
        "StakeholderId": {
            "required": true,
            "description": "The stakeholder's id.",
            "schema": slug,
        },
        "From": {
            "required": false,
            "description": "Start of the comparison (a date or an RFC 3339 time, on or after 1900-01-01); with `to`, not with `milestone`.",
            "schema": r("DateOrDateTime"),
        },
        "To": {
            "required": false,
            "description": "End of the comparison (a date or an RFC 3339 time, on or after 1900-01-01); with `from`.",
            "schema": r("DateOrDateTime"),
        },
        "Milestone": {
            "required": false,
            "description": "Compare the network just before this milestone with the network just before the next one (or as of the latest event); instead of `from` and `to`.",
            "schema": r("Id"),
        },
        "Subject": {
            "required": true,
            "description": "A subject id, percent-encoded as one path segment: `contact%3Asjdlr%2Fsj-ccas` for `contact:sjdlr/sj-ccas`, `participant%3Asjdlr%2FP-0042` for `participant:sjdlr/P-0042`.",
            "schema": r("SubjectId"),
        },
        "LastEventId": {
            "required": false,
            "description": "Sent by a reconnecting Server-Sent Events client: resume after this position, the `id:` of the last event it received (in its programme's own units for a token scoped to one programme; wins over `after`).",
            "schema": { "type": "string", "pattern": "^[0-9]+$" },
        },
    });
    // Each parameter's name and place are the route table's.
    for p in Param::ALL {
        // Not every parameter is under the API (`code` of a login link).
        let Some(entry) = params.get_mut(format!("{p:?}")) else {
            continue;
        };
        entry["name"] = p.name().into();
        entry["in"] = p.location().as_str().into();
    }
    params
}

fn headers() -> Value {
    json!({
        "ETag": {
            "description": "Identifies this answer (it changes with the log position and the request); send it in `If-None-Match`.",
            "required": true,
            "schema": { "type": "string" },
        },
        "WWWAuthenticate": {
            "description": "`Bearer realm=\"passerelle\"`.",
            "required": true,
            "schema": { "type": "string" },
        },
        "AcceptPost": {
            "description": "The media type the operation reads: `application/json`.",
            "required": true,
            "schema": { "type": "string" },
        },
        "RetryAfter": {
            "description": "Seconds to wait before trying again.",
            "required": true,
            "schema": { "type": "integer", "minimum": 0 },
        },
    })
}

/// One shared problem response: the `Problem` schema with `status` and `type` pinned.
fn problem_response(description: &str, status: u16, kind: &str, headers: Value) -> Value {
    let mut resp = json!({
        "description": description,
        "content": { "application/problem+json": { "schema": {
            "allOf": [r("Problem")],
            "properties": {
                "type": { "const": kind },
                "status": { "const": status },
            },
        }}},
    });
    if !headers.is_null() {
        resp["headers"] = headers;
    }
    resp
}

fn responses() -> Value {
    json!({
        "NotModified": {
            "description": "The `If-None-Match` ETag still matches: no body.",
            "headers": { "ETag": { "$ref": "#/components/headers/ETag" } },
        },
        "BadRequest": problem_response(
            "A malformed JSON body or a bad parameter; `detail` names it (e.g. a missing `programme` when the token sees several).",
            400, "/problems/bad-request", Value::Null,
        ),
        "Unauthorized": problem_response(
            "No token, or a malformed, unknown or revoked one.",
            401, "/problems/unauthorized",
            json!({ "WWW-Authenticate": { "$ref": "#/components/headers/WWWAuthenticate" } }),
        ),
        "Forbidden": problem_response(
            "The token's role or programme scope does not allow this; or a write made with the session cookie does not come from this server's own pages (see the `sessionCookie` scheme), and `detail` names the header.",
            403, "/problems/forbidden", Value::Null,
        ),
        "NotFound": problem_response(
            "No such programme, stakeholder or milestone.",
            404, "/problems/not-found", Value::Null,
        ),
        "Conflict": problem_response(
            "On a write: an `expected_version` that does not match the stream's version, or an event id already stored with another body; nothing was appended. On a read: `min_position` is beyond the log's head (in the positions the token is told), so no wait could reach it; `detail` names the head.",
            409, "/problems/conflict", Value::Null,
        ),
        "TooLarge": problem_response(
            "The body is over the server's limit (1 MiB by default).",
            413, "/problems/too-large", Value::Null,
        ),
        "UnsupportedMediaType": problem_response(
            "The body's `Content-Type` is not the one the operation reads (named in `Accept-Post`); `detail` says what was sent. Nothing was read or appended.",
            415, "/problems/unsupported-media-type",
            json!({ "Accept-Post": { "$ref": "#/components/headers/AcceptPost" } }),
        ),
        "ValidationFailed": {
            "description": "Broken rules, each naming its field (prefixed `[i].` in a batch). Nothing was appended.",
            "content": { "application/problem+json": { "schema": r("ValidationProblem") } },
        },
        "InternalError": problem_response(
            "A bug or a corrupt store; the detail is logged, not shown.",
            500, "/problems/internal", Value::Null,
        ),
        "Unavailable": {
            "description": "`/problems/unavailable`: the store is unavailable, `min_position` was not reached in time or too many reads wait for one, or the server holds its limit of connections (on any operation: see the description of the API). `/problems/busy`: the read needs a computation and the server ran as many as it runs at once for as long as the read could wait (2 s by default), or the computation took longer than the server allows (10 s by default) and was stopped; nothing of it is cached.",
            "headers": { "Retry-After": { "$ref": "#/components/headers/RetryAfter" } },
            "content": { "application/problem+json": { "schema": {
                "allOf": [r("Problem")],
                "properties": {
                    "type": { "enum": ["/problems/unavailable", "/problems/busy"] },
                    "status": { "const": 503 },
                },
            }}},
        },
    })
}

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

fn enum_of(description: &str, values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values, "description": description })
}

fn schemas() -> Value {
    let mut s = Map::new();
    let mut put = |name: &str, schema: Value| {
        let clash = s.insert(name.to_owned(), schema);
        assert!(clash.is_none(), "schema {name} defined twice");
    };

    // The event model: values, enums, each event type's data and envelopes,
    // generated from the types of `passerelle-events` and their rules.
    for (name, schema) in passerelle_events::schema::schemas() {
        put(
            &name,
            serde_json::to_value(schema).expect("a schema serialises"),
        );
    }

    put("Uuid", json!({ "type": "string", "format": "uuid" }));
    put("Count", json!({ "type": "integer", "minimum": 0 }));
    put(
        "Share",
        json!({
            "type": ["number", "null"], "minimum": 0, "maximum": 1,
            "description": "A share from 0 to 1, or `null` when undefined (no one counted) or suppressed.",
        }),
    );
    put(
        "Metric",
        json!({
            "type": ["number", "null"],
            "description": "A metric value, or `null` when it is not a finite number.",
        }),
    );
    put(
        "NextLink",
        json!({
            "type": ["string", "null"],
            "description": "The next page: this read's path and query with the cursor set (`/api/v1/stakeholders?programme=sjdlr&after=sj-ccas`); `null` on the last page.",
        }),
    );
    put(
        "AsOfRead",
        json!({
            "anyOf": [r("DateTime"), { "type": "null" }],
            "description": "The time the answer is as of: `as_of` as given; `null` for a read as of a position or of the latest state.",
        }),
    );
    put(
        "Position",
        json!({
            "type": "integer", "minimum": 0,
            "description": "The log position this answer reflects: every event at positions 1 to it, none after. For mentor and viewer tokens, counted in the events they can see (attendances and erasures left out); for a token scoped to one programme, counted in that programme's events only (decision 015), so that no position moves with another programme's activity.",
        }),
    );

    put(
        "NeedStatus",
        enum_of("Where a need stands.", &["open", "addressed", "withdrawn"]),
    );
    put(
        "FindingKind",
        enum_of(
            "The kind of a gap-report finding.",
            &[
                "uncovered_need",
                "missing_sector",
                "single_point_of_failure",
                "isolated_stakeholder",
                "stalled_outreach",
                "dormant_tie",
                "broker_dependency",
                "siloed_sector",
                "suggested_introduction",
                "participation",
            ],
        ),
    );
    put(
        "Severity",
        enum_of("How urgent a finding is.", &["high", "medium", "low"]),
    );

    // --- rights -----------------------------------------------------------
    put(
        "ErasureRequest",
        object(
            &["subject", "reason"],
            json!({
                "subject": r("SubjectId"),
                "reason": { "allOf": [r("Reason")], "description": "Why (e.g. the request's date and channel). Stored in clear in the log: no personal data." },
            }),
        ),
    );

    // --- problems ---------------------------------------------------------
    put("FieldError", described(
        "One broken rule. `field` is a path such as `data.beneficiaries.total`, `data.themes[2]` or, in a batch, `[1].data.to`; empty for the body as a whole.",
        &["field", "message"],
        json!({
            "field": { "type": "string" },
            "message": { "type": "string" },
        }),
    ));

    // --- response bodies (src/api/body.rs) ---------------------------------
    for (name, schema) in super::body::schemas() {
        put(&name, schema);
    }

    Value::Object(s)
}
