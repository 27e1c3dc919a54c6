//! The OpenAPI 3.1 description of the JSON API, served at
//! `/api/v1/openapi.json`, and the checks that keep it honest: the document
//! against the official OAS 3.1 schema, every `$ref` resolved, [`ROUTES`]
//! equal to `paths`, and any response (or request body) against the schema the
//! document gives it.
//!
//! This module only describes HTTP; it routes and serves nothing. The shapes it
//! documents are those of `events/src/envelope.rs` (the wire and stored
//! envelopes), `events/src/event.rs` (each event type's `data`) and
//! `src/render.rs` (network, gaps, diff, participation): a change there needs a
//! change here, and `tests/openapi.rs` validates real renderings to catch one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Registry, Validator};
use passerelle_events::event::Event;
use passerelle_events::values::{BIDI_CONTROLS, INVISIBLE};
use serde_json::{json, Map, Value};

/// Where the API is mounted; the paths of the document and of [`ROUTES`] are
/// relative to it.
pub const BASE_PATH: &str = "/api/v1";

/// Every operation of the API: `(method, path template)`, the template relative
/// to [`BASE_PATH`] and written as in the document (`/stakeholders/{id}`).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/events"),
    ("GET", "/events"),
    ("GET", "/events/stream"),
    ("GET", "/programmes"),
    ("GET", "/stakeholders"),
    ("GET", "/stakeholders/{id}"),
    ("GET", "/partnerships"),
    ("GET", "/sessions"),
    ("GET", "/needs"),
    ("GET", "/milestones"),
    ("GET", "/notes"),
    ("GET", "/network"),
    ("GET", "/gaps"),
    ("GET", "/gaps/evidence"),
    ("GET", "/participation"),
    ("GET", "/diff"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/me"),
    ("POST", "/erasures"),
    ("GET", "/subjects/{subject}"),
];

/// The OAS 3.1 schema (2022-10-07), vendored from openapi-spec-validator;
/// see `tests/fixtures/openapi/README.md`.
const OAS_SCHEMA: &str = include_str!("../../tests/fixtures/openapi/oas-3.1-schema.json");
/// The OAS 3.1 Schema Object dialect (`https://spec.openapis.org/oas/3.1/dialect/base`).
const OAS_DIALECT: &str = include_str!("../../tests/fixtures/openapi/oas-3.1-dialect-base.json");
/// The OAS 3.1 base vocabulary meta-schema (`https://spec.openapis.org/oas/3.1/meta/base`).
const OAS_META: &str = include_str!("../../tests/fixtures/openapi/oas-3.1-meta-base.json");

const OAS_SCHEMA_ID: &str = "https://spec.openapis.org/oas/3.1/schema/2022-10-07";
const OAS_SCHEMA_BASE_ID: &str = "https://spec.openapis.org/oas/3.1/schema-base/2022-10-07";
const OAS_DIALECT_ID: &str = "https://spec.openapis.org/oas/3.1/dialect/base";
const OAS_META_ID: &str = "https://spec.openapis.org/oas/3.1/meta/base";
/// The base URI the document is registered under when its schemas are compiled.
const DOCUMENT_URI: &str = "https://passerelle.invalid/api/v1/openapi.json";

// ---------------------------------------------------------------------------
// Small builders
// ---------------------------------------------------------------------------

/// `{"$ref": "#/components/schemas/{name}"}`.
fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A schema that also admits `null`.
fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
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

fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn param(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
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

/// The paging parameters of a list ordered by id.
const PAGED: &[&str] = &["PageLimit", "AfterId"];
/// The year of a date or time of a request: 1900 or later.
const FROM_1900: &str = "^(19[0-9]{2}|[2-9][0-9]{3})-";

/// Parameters every projected read takes, after its own.
fn read_params(own: &[&str]) -> Vec<Value> {
    own.iter()
        .chain(&["MinPosition", "IfNoneMatch"])
        .map(|p| param(p))
        .collect()
}

/// A projected read of one programme: its path parameters, `programme`,
/// `as_of`/`position`, its own query parameters (`query`: paging),
/// `min_position`, `If-None-Match`.
fn read_op(
    id: &str,
    tag: &str,
    summary: &str,
    description: &str,
    (path_params, query): (&[&str], &[&str]),
    body: (&str, &str),
) -> Value {
    let mut own: Vec<&str> = path_params.to_vec();
    own.extend(["Programme", "AsOf", "Position"]);
    own.extend(query);
    let mut responses = Map::new();
    responses.insert("200".into(), ok_json(body.0, body.1));
    responses.extend(errors(READ_ERRORS));
    json!({
        "operationId": id,
        "tags": [tag],
        "summary": summary,
        "description": description,
        "parameters": read_params(&own),
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

fn paths() -> Value {
    let as_of_note = "Takes `as_of` or `position` to answer for an earlier time or log position; `as_of` in the answer says the time it is for.";
    let page_note = "One page: `limit` items (default 100), the next page at `next`.";
    let mut paths = json!({
        "/events": {
            "post": append_events(),
            "get": list_events(),
        },
        "/events/stream": { "get": stream_events() },
        "/programmes": { "get": list_programmes() },
        "/stakeholders": { "get": read_op(
            "listStakeholders", "directory", "Stakeholders of a programme",
            &format!("Every stakeholder registered in the programme, archived ones included (`archived: true`). `contact` is present only for admin and coordinator tokens. {page_note} {as_of_note}"),
            (&[], PAGED), ("A page of the programme's stakeholders, by id.", "StakeholderList"),
        )},
        "/stakeholders/{id}": { "get": read_op(
            "getStakeholder", "directory", "One stakeholder with its ties and contacts",
            &format!("The stakeholder, each tie it has (partnership, outreach contacts, co-attended sessions, with the decayed strength; by the other stakeholder's id) and every outreach contact from or to it (in log order). Both lists are paged: `limit` items each (default 100), the next page of ties at `ties_next`, of contacts at `contacts_next`. 404 when the programme has no such stakeholder. {as_of_note}"),
            (&["StakeholderId"], &["PageLimit", "TiesAfter", "ContactsAfter"]), ("The stakeholder, a page of its ties and one of its contacts.", "StakeholderDetail"),
        )},
        "/partnerships": { "get": read_op(
            "listPartnerships", "directory", "Partnerships of a programme",
            &format!("Every partnership formed in the programme; an ended one has `ended_at`. {page_note} {as_of_note}"),
            (&[], PAGED), ("A page of the programme's partnerships, by id.", "PartnershipList"),
        )},
        "/sessions": { "get": read_op(
            "listSessions", "directory", "Co-creation sessions of a programme",
            &format!("Every co-creation session with its IAP2 level and beneficiary counts. For mentor and viewer tokens, a session with any count from 1 to 4 shows its counts as `null` (a total of at least 5 stays) and `suppressed` true, and `attended` is always `null`. {page_note} {as_of_note}"),
            (&[], PAGED), ("A page of the programme's sessions, by id.", "SessionList"),
        )},
        "/needs": { "get": read_op(
            "listNeeds", "directory", "Needs of the action plan",
            &format!("Every declared need with its status and who addressed it. {page_note} {as_of_note}"),
            (&[], PAGED), ("A page of the programme's needs, by id.", "NeedList"),
        )},
        "/milestones": { "get": read_op(
            "listMilestones", "directory", "Milestones of a programme",
            &format!("Dated markers (mentoring visits, decisions, …) for before/after comparisons. {page_note} {as_of_note}"),
            (&[], &["PageLimit", "AfterListed"]), ("A page of the programme's milestones, in time order.", "MilestoneList"),
        )},
        "/notes": { "get": read_op(
            "listNotes", "directory", "Review notes of a programme",
            &format!("Notes left on a stakeholder, need, partnership or gap-report finding. {page_note} {as_of_note}"),
            (&[], &["PageLimit", "AfterListed"]), ("A page of the programme's review notes, in log order.", "NoteList"),
        )},
        "/network": { "get": read_op(
            "getNetwork", "analysis", "The network map",
            &format!("Nodes (stakeholders) with centralities, core number, Burt's constraint, community and map position; edges (present ties) with decayed strength, partnership, contacts and co-attended sessions; network-wide metrics. {as_of_note}"),
            (&[], &[]), ("The network with metrics and layout.", "Network"),
        )},
        "/gaps": { "get": read_op(
            "getGaps", "analysis", "The gap report",
            &format!("Findings of ten kinds, by severity, kind and id, each with a severity, its subjects, a one-line explanation and a suggested next step in English and French, and the ids of the events that show it: the first 20 (by id), with the count of the others (`evidence_more`) and a link to them (`evidence_next`, at `/gaps/evidence`). A finding's `id` depends only on its kind and subjects. {page_note} {as_of_note}"),
            (&[], &["PageLimit", "AfterFinding"]), ("A page of the gap report's findings.", "GapReport"),
        )},
        "/participation": { "get": read_op(
            "getParticipation", "analysis", "How beneficiaries take part",
            &format!("Per session and per month: beneficiaries, women's share, first-time and returning, IAP2 level; each beneficiary group's trajectory across levels. For mentor and viewer tokens, a session with any count from 1 to 4 shows its counts as `null` (a total of at least 5 stays) and is left out of its month's sums (`withheld` says how many were), and attendance figures are `null`. {as_of_note}"),
            (&[], &[]), ("Participation in the programme.", "Participation"),
        )},
        "/diff": { "get": diff_op() },
        "/healthz": { "get": {
            "operationId": "getHealth",
            "tags": ["service"],
            "summary": "Liveness",
            "description": "Answers while the server runs. Needs no token, so it tells nothing about the log.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The server is up.",
                    "content": { "application/json": { "schema": r("Health") } },
                },
                "400": response("BadRequest"),
                "500": response("InternalError"),
            },
        }},
        "/metrics": { "get": {
            "operationId": "getMetrics",
            "tags": ["service"],
            "summary": "Prometheus metrics",
            "description": "Request counts by route and status, latency histograms, the number of events appended, the log head and the projection lag, in the Prometheus text exposition format 0.0.4. Admin tokens and coordinator tokens not scoped to a programme only: they count every event of the log (403 for others).",
            "responses": {
                "200": {
                    "description": "The metrics.",
                    "content": { "text/plain; version=0.0.4": { "schema": {
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
        }},
        "/me": { "get": {
            "operationId": "getMe",
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
        }},
        "/openapi.json": { "get": {
            "operationId": "getOpenApi",
            "tags": ["service"],
            "summary": "This document",
            "description": "The OpenAPI 3.1 description of the API. Needs no token.",
            "security": [],
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
        }},
    });
    paths["/gaps/evidence"] = json!({ "get": read_op(
        "getFindingEvidence", "analysis", "The evidence of one finding",
        &format!("The ids of the events that show one finding of the gap report, in id order, as of the same point as the report (a finding's `evidence_next` link says it). 404 when the report has no such finding. {page_note} {as_of_note}"),
        (&[], &["FindingId", "PageLimit", "AfterEvent"]), ("A page of the finding's evidence.", "EvidencePage"),
    )});
    paths["/erasures"] = json!({ "post": erase_op() });
    paths["/subjects/{subject}"] = json!({ "get": subject_access_op() });
    // Any request may meet the connection limit.
    for op in paths
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|p| p.values_mut())
    {
        op["responses"]["503"] = response("Unavailable");
    }
    paths
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
        "operationId": "appendEvents",
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
    let params = [
        "After",
        "Limit",
        "EventTypeFilter",
        "ProgrammeFilter",
        "IfNoneMatch",
    ]
    .map(param);
    json!({
        "operationId": "listEvents",
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
        "parameters": params,
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
        "operationId": "streamEvents",
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
        "parameters": [param("After"), param("LastEventId")],
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
        "operationId": "eraseSubject",
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
        "operationId": "getSubject",
        "tags": ["rights"],
        "summary": "Everything held about one person",
        "description": concat!(
            "Answers an access request (GDPR art. 15): every event that holds data of the subject, ",
            "with that data opened, as a city must hand it over. For admin tokens only, with the ",
            "scope rule of `POST /erasures`. Answered with `Cache-Control: no-store`; logs and ",
            "metrics name the route template, never the subject.",
        ),
        "parameters": [param("Subject")],
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
        "operationId": "listProgrammes",
        "tags": ["directory"],
        "summary": "Programmes",
        "description": "Every programme the token may read, by id, with its role in the mentoring scheme and counts. One page: `limit` items (default 100), the next page at `next`.",
        "parameters": read_params(&["PageLimit", "AfterId"]),
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
        "operationId": "getDiff",
        "tags": ["analysis"],
        "summary": "What changed between two times",
        "description": "Give `from` and `to` (`from` not later than `to`), or `milestone`: the network just before the milestone compared with the network just before the next milestone (or as of the programme's latest event). Anything else is `400`; an unknown milestone is `404`.",
        "parameters": read_params(&["Programme", "From", "To", "Milestone"]),
        "responses": responses,
    })
}

fn parameters() -> Value {
    let slug = r("Id");
    json!({
        "Programme": {
            "name": "programme", "in": "query", "required": false,
            "description": "The programme to read (e.g. `sjdlr`). Required when the token sees several programmes (400 otherwise); 404 when unknown, 403 when outside the token's scope.",
            "schema": r("ProgrammeId"),
        },
        "ProgrammeFilter": {
            "name": "programme", "in": "query", "required": false,
            "description": "Only events of this programme (403 when outside the token's scope); without it, events of every programme the token may read.",
            "schema": r("ProgrammeId"),
        },
        "AsOf": {
            "name": "as_of", "in": "query", "required": false,
            "description": "Answer as of this time: a date (midnight UTC) or an RFC 3339 time, on or after 1900-01-01, compared with each event's `occurred_at`. Not with `position`.",
            "schema": r("DateOrDateTime"),
        },
        "Position": {
            "name": "position", "in": "query", "required": false,
            "description": "Answer as of this log position (the events at positions 1 to `position`; for mentor and viewer tokens, up to the `position`-th event they can see; for a token scoped to one programme, up to that programme's `position`-th event). Not with `as_of`.",
            "schema": { "type": "integer", "minimum": 0 },
        },
        "MinPosition": {
            "name": "min_position", "in": "query", "required": false,
            "description": "Wait (at most 5 s) until the read reflects at least this log position, e.g. the `position` an append returned; 503 if it does not in time, or if the server already has as many reads waiting as it lets wait at once (256 by default). A position beyond the log's head (in the positions the token is told) is refused at once with 409, naming the head. Without it, a read may answer the previous rendering (reflecting an earlier position, which its `position` and `ETag` say) while the current one is computed.",
            "schema": { "type": "integer", "minimum": 0 },
        },
        "IfNoneMatch": {
            "name": "If-None-Match", "in": "header", "required": false,
            "description": "An `ETag` from an earlier answer: 304 with no body while it still matches.",
            "schema": { "type": "string" },
        },
        "After": {
            "name": "after", "in": "query", "required": false,
            "description": "Only events after this log position.",
            "schema": { "type": "integer", "minimum": 0, "default": 0 },
        },
        "Limit": {
            "name": "limit", "in": "query", "required": false,
            "description": "Most events in the page.",
            "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 },
        },
        "PageLimit": {
            "name": "limit", "in": "query", "required": false,
            "description": "Most items in the page (400 beyond 1000).",
            "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 },
        },
        "AfterId": {
            "name": "after", "in": "query", "required": false,
            "description": "Start after this id (the list is by id); the `next` link of a page sets it.",
            "schema": r("Id"),
        },
        "AfterListed": {
            "name": "after", "in": "query", "required": false,
            "description": "Start after the item with this id, which must be in the list (400 otherwise); the `next` link of a page sets it.",
            "schema": r("Id"),
        },
        "AfterFinding": {
            "name": "after", "in": "query", "required": false,
            "description": "Start after the finding with this id, which must be in the report (400 otherwise: it may have closed since; start again); the `next` link of a page sets it.",
            "schema": { "type": "string" },
        },
        "AfterEvent": {
            "name": "after", "in": "query", "required": false,
            "description": "Start after this event id (the list is by id); the `next` link of a page sets it.",
            "schema": r("Uuid"),
        },
        "TiesAfter": {
            "name": "ties_after", "in": "query", "required": false,
            "description": "Start the ties after the one with this stakeholder (ties are by the other stakeholder's id); `ties_next` sets it.",
            "schema": r("Id"),
        },
        "ContactsAfter": {
            "name": "contacts_after", "in": "query", "required": false,
            "description": "Start the contacts after the one with this event id, which must be among them (400 otherwise); `contacts_next` sets it.",
            "schema": r("Uuid"),
        },
        "FindingId": {
            "name": "finding", "in": "query", "required": true,
            "description": "The `id` of a finding of the gap report.",
            "schema": { "type": "string" },
        },
        "EventTypeFilter": {
            "name": "type", "in": "query", "required": false,
            "description": "Only events of this type.",
            "schema": r("EventType"),
        },
        "StakeholderId": {
            "name": "id", "in": "path", "required": true,
            "description": "The stakeholder's id.",
            "schema": slug,
        },
        "From": {
            "name": "from", "in": "query", "required": false,
            "description": "Start of the comparison (a date or an RFC 3339 time, on or after 1900-01-01); with `to`, not with `milestone`.",
            "schema": r("DateOrDateTime"),
        },
        "To": {
            "name": "to", "in": "query", "required": false,
            "description": "End of the comparison (a date or an RFC 3339 time, on or after 1900-01-01); with `from`.",
            "schema": r("DateOrDateTime"),
        },
        "Milestone": {
            "name": "milestone", "in": "query", "required": false,
            "description": "Compare the network just before this milestone with the network just before the next one (or as of the latest event); instead of `from` and `to`.",
            "schema": r("Id"),
        },
        "Subject": {
            "name": "subject", "in": "path", "required": true,
            "description": "A subject id, percent-encoded as one path segment: `contact%3Asjdlr%2Fsj-ccas` for `contact:sjdlr/sj-ccas`, `participant%3Asjdlr%2FP-0042` for `participant:sjdlr/P-0042`.",
            "schema": r("SubjectId"),
        },
        "LastEventId": {
            "name": "Last-Event-ID", "in": "header", "required": false,
            "description": "Sent by a reconnecting Server-Sent Events client: resume after this position, the `id:` of the last event it received (in its programme's own units for a token scoped to one programme; wins over `after`).",
            "schema": { "type": "string", "pattern": "^[0-9]+$" },
        },
    })
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

/// The `data` schema of each event type, in catalogue order: as sent
/// (`opened` false: personal fields in clear, or sealed by this store) or as
/// answered (`opened` true: personal fields in clear, or marked erased or
/// unreadable).
fn event_data(opened: bool) -> Vec<(&'static str, Value)> {
    // As answered, texts and dates are as their event was recorded: a new
    // event's are held to more rules than a stored one's (decision 011).
    let recorded = |base: &str| {
        if opened {
            r(&format!("Stored{base}"))
        } else {
            r(base)
        }
    };
    let name = || recorded("Name");
    let id = || r("Id");
    let contact = || {
        nullable(r(if opened {
            "StakeholderContact"
        } else {
            "ContactInput"
        }))
    };
    let participant = if opened {
        personal_opened("ParticipantCode", "The participant's pseudonymous code")
    } else {
        r("ParticipantCode")
    };
    vec![
        ("ProgrammeDefined", described(
            "The first event of every programme. `programme` must equal the event's `programme`.",
            &["programme", "name"],
            json!({
                "programme": r("ProgrammeId"),
                "name": name(),
                "role": nullable(r("ProgrammeRole")),
                "country": nullable(r("Country")),
            }),
        )),
        ("StakeholderRegistered", described(
            "A stakeholder joins the directory. `contact` is personal data.",
            &["stakeholder", "name", "kind"],
            json!({
                "stakeholder": id(),
                "name": name(),
                "kind": r("StakeholderKind"),
                "themes": r("Themes"),
                "territory": nullable(name()),
                "contact": contact(),
            }),
        )),
        ("StakeholderProfileChanged", {
            let mut s = described(
                "Some of a stakeholder's profile changes; absent fields stay as they were. At least one of `name`, `kind`, `themes`, `territory`, `contact` must be given.",
                &["stakeholder"],
                json!({
                    "stakeholder": id(),
                    "name": nullable(name()),
                    "kind": nullable(r("StakeholderKind")),
                    "themes": nullable(r("Themes")),
                    "territory": nullable(name()),
                    "contact": contact(),
                }),
            );
            s["anyOf"] = json!(["name", "kind", "themes", "territory", "contact"]
                .iter()
                .map(|k| json!({ "required": [k] }))
                .collect::<Vec<_>>());
            s
        }),
        ("StakeholderArchived", described(
            "A stakeholder leaves the directory; it can no longer be referenced.",
            &["stakeholder"],
            json!({ "stakeholder": id(), "reason": nullable(recorded("Reason")) }),
        )),
        ("OutreachContactLogged", described(
            "One outreach contact from one stakeholder to another (`to` differs from `from`), and its outcome. `follow_up_due`, when given, lies between 1900-01-01 and 5 years after the server's date when the event is recorded.",
            &["from", "to", "channel", "outcome"],
            json!({
                "from": id(),
                "to": id(),
                "channel": r("Channel"),
                "purpose": nullable(recorded("Reason")),
                "outcome": r("Outcome"),
                "follow_up_due": nullable(recorded("Date")),
            }),
        )),
        ("PartnershipFormed", described(
            "Two different stakeholders form a partnership.",
            &["partnership", "between", "kind"],
            json!({
                "partnership": id(),
                "between": r("Pair"),
                "kind": r("PartnershipKind"),
                "themes": r("Themes"),
            }),
        )),
        ("PartnershipRevised", {
            let mut s = described(
                "A partnership's kind or themes change; at least one of them must be given.",
                &["partnership"],
                json!({
                    "partnership": id(),
                    "kind": nullable(r("PartnershipKind")),
                    "themes": nullable(r("Themes")),
                }),
            );
            s["anyOf"] = json!([{ "required": ["kind"] }, { "required": ["themes"] }]);
            s
        }),
        ("PartnershipEnded", described(
            "A partnership ends.",
            &["partnership"],
            json!({ "partnership": id(), "reason": nullable(recorded("Reason")) }),
        )),
        ("CoCreationSessionHeld", described(
            "A co-creation session was held. `groups` are beneficiary-group stakeholders; beneficiaries are counts, never individuals.",
            &["session", "title", "level", "beneficiaries"],
            json!({
                "session": id(),
                "title": name(),
                "themes": r("Themes"),
                "level": r("Level"),
                "stakeholders": r("IdList"),
                "facilitators": r("IdList"),
                "groups": r("IdList"),
                "beneficiaries": r("Beneficiaries"),
                "outputs": {
                    "type": "array", "items": recorded("Output"), "maxItems": 200, "uniqueItems": true,
                },
            }),
        )),
        ("ParticipantAttended", described(
            "A pseudonymous participant attended a session. `participant` is personal data.",
            &["session", "participant"],
            json!({ "session": id(), "participant": participant }),
        )),
        ("NeedDeclared", described(
            "The action plan needs something.",
            &["need", "action", "theme"],
            json!({
                "need": id(),
                "action": name(),
                "theme": r("Theme"),
                "description": nullable(recorded("LongText")),
                "priority": nullable(r("Priority")),
            }),
        )),
        ("NeedAddressed", described(
            "Stakeholders take a need on.",
            &["need", "by"],
            json!({
                "need": id(),
                "by": { "allOf": [r("IdList")], "minItems": 1 },
            }),
        )),
        ("NeedWithdrawn", described(
            "A need is dropped from the plan.",
            &["need"],
            json!({ "need": id(), "reason": nullable(recorded("Reason")) }),
        )),
        ("MilestoneMarked", described(
            "A dated marker for before/after comparisons.",
            &["milestone", "label", "kind"],
            json!({ "milestone": id(), "label": name(), "kind": r("MilestoneKind") }),
        )),
        ("ReviewNoteAdded", described(
            "A mentor's or coordinator's review note.",
            &["note", "about", "text"],
            json!({ "note": id(), "about": recorded("About"), "text": recorded("LongText") }),
        )),
        ("PersonalDataErased", described(
            "A data subject's personal data was erased: its key was destroyed in the same transaction. Written only by an erasure (`passerelle erase`, `POST /erasures`); `POST /events` refuses it. It holds no personal data: `subject` names a contact person by its stakeholder and a participant by the id of the destroyed key, never by its code; `reason` is stored in clear.",
            &["subject"],
            json!({ "subject": r("ErasedSubject"), "reason": nullable(recorded("Reason")) }),
        )),
    ]
}

/// A personal field as answered (to admin and coordinator tokens only).
fn personal_opened(base: &str, what: &str) -> Value {
    json!({
        "description": format!("{what} (personal data): a string, or `{{\"erased\": true}}` once the person's data was erased (its key destroyed), or `{{\"unreadable\": true}}` when no key this server holds opens it."),
        "oneOf": [r(base), r("ErasedValue"), r("UnreadableValue")],
    })
}

fn enum_of(description: &str, values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values, "description": description })
}

/// The control characters a text may not hold: all but `\t`, `\n` and `\r`
/// (`char::is_control`: U+0000–U+001F, U+007F–U+009F), as a regex class body.
const CONTROLS: &str = "\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F";

/// A regex class body of the characters in `ranges`, written as themselves.
fn class(ranges: impl IntoIterator<Item = (char, char)>) -> String {
    ranges
        .into_iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect()
}

/// A text of a new event or request ([`passerelle_events::values::Text::parse`]).
fn text(max: u32, description: &str) -> Value {
    let bidi = class(BIDI_CONTROLS.iter().map(|&(c, _)| (c, c)));
    let invisible = class(INVISIBLE);
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": max,
        // One visible character, and no control character but \t, \n and
        // \r nor any bidirectional embedding, override or isolate.
        "pattern": format!("^[^{CONTROLS}{bidi}]*[^\\s\\x00-\\x1F\\x7F-\\x9F{invisible}][^{CONTROLS}{bidi}]*$"),
        "description": format!(
            "{description} Not blank; at most {max} characters once trimmed; no control \
             characters but line breaks and tabs. Something must be visible once the invisible \
             characters (Unicode's default ignorable code points: zero-width space and joiners, \
             soft hyphen, byte order mark, variation selectors, Hangul fillers, …) are set \
             aside, and no bidirectional embedding, override or isolate (U+202A–U+202E, \
             U+2066–U+2069) is allowed: it can make a text display as something else. The \
             marks U+200E, U+200F and U+061C are allowed."
        ),
    })
}

/// A text as its event was recorded ([`passerelle_events::values::Text::parse_stored`]).
fn stored_text(max: u32, description: &str) -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": max,
        "pattern": format!("^[^{CONTROLS}]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^{CONTROLS}]*$"),
        "description": format!(
            "{description} As recorded: not blank; at most {max} characters once trimmed; no \
             control characters but line breaks and tabs. The rules of new texts (something \
             visible, no bidirectional control) apply when an event is recorded: an event \
             recorded before them may hold a text they refuse."
        ),
    })
}

fn schemas() -> Value {
    let mut s = Map::new();
    let mut put = |name: &str, schema: Value| {
        let clash = s.insert(name.to_owned(), schema);
        assert!(clash.is_none(), "schema {name} defined twice");
    };

    // --- values -----------------------------------------------------------
    put(
        "Id",
        json!({
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$",
            "description": "An id (stakeholder, partnership, session, need, milestone, note): 1–64 characters of a-z, 0-9, `_` and `-`, starting with a letter or digit; unique within its programme and kind.",
            "examples": ["sj-ccas"],
        }),
    );
    put(
        "ProgrammeId",
        json!({
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$",
            "description": "A programme id, e.g. `sjdlr`.",
            "examples": ["sjdlr"],
        }),
    );
    put(
        "Theme",
        json!({
            "type": "string",
            "pattern": "^[a-z0-9_]{1,40}$",
            "description": "A theme slug. Reference vocabulary: employment, language, housing, social_support, rights, violence_against_women, childcare, interpreting, digital_inclusion, health, education, funding, political_support, precariousness, community_outreach; other slugs are allowed.",
        }),
    );
    put(
        "Themes",
        json!({
            "type": "array", "items": r("Theme"), "maxItems": 20, "uniqueItems": true,
            "description": "At most 20 themes, each once.",
        }),
    );
    put(
        "IdList",
        json!({
            "type": "array", "items": r("Id"), "maxItems": 200, "uniqueItems": true,
            "description": "At most 200 ids, each once.",
        }),
    );
    put(
        "Pair",
        json!({
            "type": "array", "items": r("Id"), "minItems": 2, "maxItems": 2, "uniqueItems": true,
            "description": "Two different stakeholder ids.",
        }),
    );
    for (name, max, what) in [
        ("Name", 200, "A name, title, label, territory or action."),
        ("Reason", 1000, "A purpose or reason."),
        ("LongText", 4000, "A description or note text."),
        ("Output", 500, "One output of a session."),
        ("ShortText", 200, "A short text (a gap-report finding id)."),
    ] {
        put(name, text(max, what));
        put(&format!("Stored{name}"), stored_text(max, what));
    }
    put(
        "Email",
        json!({
            "type": "string", "maxLength": 254,
            "pattern": "^\\s*[^\\s@]+@[^\\s@]*\\.[^\\s@]*\\s*$",
            "description": "An e-mail address (personal data), at most 254 characters.",
        }),
    );
    put(
        "Phone",
        json!({
            "type": "string", "maxLength": 40,
            "pattern": "^\\s*[ +().\\-/]*(?:[0-9][ +().\\-/]*){3,}\\s*$",
            "description": "A phone number (personal data): digits, spaces and `+().-/`, at least 3 digits, at most 40 characters.",
        }),
    );
    put(
        "ParticipantCode",
        json!({
            "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "description": "A pseudonymous participant code (personal data), never a name.",
        }),
    );
    put(
        "Country",
        json!({
            "type": "string", "pattern": "^[A-Z]{2}$",
            "description": "An ISO 3166-1 alpha-2 country code, e.g. `FR`.",
        }),
    );
    put(
        "Date",
        json!({
            "type": "string", "format": "date", "pattern": FROM_1900,
            "description": "A calendar date, `YYYY-MM-DD`, on or after 1900-01-01.",
        }),
    );
    put(
        "StoredDate",
        json!({ "type": "string", "format": "date", "description": "A calendar date, `YYYY-MM-DD`, as its event was recorded." }),
    );
    put(
        "DateTime",
        json!({ "type": "string", "format": "date-time", "description": "An RFC 3339 time." }),
    );
    put(
        "DateOrDateTime",
        json!({
            "type": "string",
            "anyOf": [{ "format": "date" }, { "format": "date-time" }],
            "pattern": FROM_1900,
            "description": "A date (`2022-02-07`, read as midnight UTC) or an RFC 3339 time (`2022-02-07T10:00:00Z`), on or after 1900-01-01 in UTC: an earlier year is refused as a typing error.",
        }),
    );
    put("Uuid", json!({ "type": "string", "format": "uuid" }));
    put("Count", json!({ "type": "integer", "minimum": 0 }));
    put(
        "SuppressibleCount",
        json!({
            "type": ["integer", "null"], "minimum": 0,
            "description": "A count, or `null` when it is from 1 to 4 and the token (mentor or viewer) may not see groups smaller than 5.",
        }),
    );
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

    // --- enums ------------------------------------------------------------
    put(
        "EventType",
        enum_of(
            "The type of an event (PRODUCT.md §3, schema version 1).",
            Event::TYPES,
        ),
    );
    put(
        "StakeholderKind",
        enum_of(
            "What a stakeholder is.",
            &[
                "city_service",
                "integration_agency",
                "association",
                "community_champion",
                "beneficiary_group",
                "employer",
                "education",
                "health",
                "legal_aid",
                "childcare",
                "interpreting",
                "funder",
                "network_body",
                "consultant",
                "volunteer_group",
                "media",
                "political",
                "other",
            ],
        ),
    );
    put(
        "Channel",
        enum_of(
            "How an outreach contact was made.",
            &[
                "meeting", "phone", "email", "visit", "event", "letter", "message", "other",
            ],
        ),
    );
    put(
        "Outcome",
        enum_of(
            "What came of an outreach contact; `interested` and `committed` are positive.",
            &[
                "no_response",
                "acknowledged",
                "interested",
                "declined",
                "committed",
            ],
        ),
    );
    put(
        "PartnershipKind",
        enum_of(
            "How formal a partnership is, from least to most.",
            &[
                "informal",
                "information_sharing",
                "referral",
                "co_delivery",
                "funding",
                "formal_agreement",
            ],
        ),
    );
    put("Level", enum_of("The IAP2 spectrum of public participation: inform < consult < involve < collaborate < empower.", &[
        "inform", "consult", "involve", "collaborate", "empower",
    ]));
    put(
        "MilestoneKind",
        enum_of(
            "What kind of dated marker a milestone is.",
            &[
                "mentoring_visit",
                "study_visit",
                "workshop",
                "decision",
                "funding",
                "other",
            ],
        ),
    );
    put(
        "Priority",
        enum_of("Priority of a declared need.", &["high", "medium", "low"]),
    );
    put(
        "ProgrammeRole",
        enum_of(
            "A programme's role in its mentoring scheme.",
            &["mentor", "mentee", "peer"],
        ),
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

    // --- event payloads ---------------------------------------------------
    put(
        "ContactInput",
        described(
            "A stakeholder's contact details (personal data of the subject `contact:{programme}/{stakeholder}`), sent in clear; each field is stored encrypted under the subject's key.",
            &[],
            json!({
                "person": nullable(r("Name")),
                "email": nullable(r("Email")),
                "phone": nullable(r("Phone")),
            }),
        ),
    );
    put(
        "ErasedValue",
        described(
            "A personal value whose person was erased: the key that sealed it is destroyed, and this store can never read it again. Never accepted in a request.",
            &["erased"],
            json!({ "erased": { "const": true } }),
        ),
    );
    put(
        "UnreadableValue",
        described(
            "A personal value that no key this server holds opens (e.g. copied from another store without its keys). Never accepted in a request.",
            &["unreadable"],
            json!({ "unreadable": { "const": true } }),
        ),
    );
    put(
        "KeyId",
        json!({
            "type": "string", "pattern": "^k_[0-9a-f]{32}$",
            "description": "The id of one person's data key: `k_` and 32 hex digits, drawn at random. It links the sealed fields of one person and tells nothing else.",
        }),
    );
    put(
        "SubjectId",
        json!({
            "type": "string",
            "pattern": "^(contact:[a-z0-9][a-z0-9_-]{0,63}/[a-z0-9][a-z0-9_-]{0,63}|participant:[a-z0-9][a-z0-9_-]{0,63}/[A-Za-z0-9_-]{1,64})$",
            "description": "A data subject: `contact:{programme}/{stakeholder}` (a stakeholder's contact person) or `participant:{programme}/{code}` (a participant, by its pseudonymous code — personal data).",
            "examples": ["contact:sjdlr/sj-ccas"],
        }),
    );
    put(
        "ErasedSubject",
        json!({
            "type": "string",
            "pattern": "^(contact:[a-z0-9][a-z0-9_-]{0,63}/[a-z0-9][a-z0-9_-]{0,63}|participant:[a-z0-9][a-z0-9_-]{0,63}/k_[0-9a-f]{32})$",
            "description": "Whose data an erasure destroyed: `contact:{programme}/{stakeholder}`, or `participant:{programme}/{key id}` — a participant is named by its destroyed key, never by its code.",
        }),
    );
    put("Beneficiaries", described(
        "How many beneficiaries took part: counts, never individuals. `women + men + undisclosed` and `first_time + returning` must not exceed `total`. Absent counts are 0.",
        &["total"],
        json!({
            "total": r("Count32"),
            "women": r("Count32"),
            "men": r("Count32"),
            "undisclosed": r("Count32"),
            "first_time": r("Count32"),
            "returning": r("Count32"),
        }),
    ));
    put(
        "Count32",
        json!({ "type": "integer", "minimum": 0, "maximum": 4_294_967_295u64 }),
    );
    for (name, gap) in [("About", "ShortText"), ("StoredAbout", "StoredShortText")] {
        put(
            name,
            json!({
                "description": "What a review note is about: exactly one of a stakeholder, a need, a partnership or a gap-report finding (by its id).",
                "oneOf": [
                    object(&["stakeholder"], json!({ "stakeholder": r("Id") })),
                    object(&["need"], json!({ "need": r("Id") })),
                    object(&["partnership"], json!({ "partnership": r("Id") })),
                    object(&["gap"], json!({ "gap": r(gap) })),
                ],
            }),
        );
    }
    let data = event_data(false);
    // The data of a stored event where it differs from what is sent: its
    // personal fields as answered.
    let mut stored_data = BTreeMap::new();
    for ((ty, sent), (_, answered)) in data.iter().zip(event_data(true)) {
        put(&format!("{ty}Data"), sent.clone());
        let name = if answered == *sent {
            format!("{ty}Data")
        } else {
            let name = format!("Stored{ty}Data");
            put(&name, answered);
            name
        };
        stored_data.insert(*ty, name);
    }

    // --- envelopes --------------------------------------------------------
    let mut new_refs = Vec::new();
    let mut stored_refs = Vec::new();
    let mut new_map = Map::new();
    let mut stored_map = Map::new();
    for (ty, _) in &data {
        let new_name = format!("New{ty}");
        let stored_name = format!("Stored{ty}");
        put(
            &new_name,
            object(
                &["type", "programme", "occurred_at", "data"],
                json!({
                    "id": nullable(r("Uuid")),
                    "type": { "const": ty },
                    "programme": r("ProgrammeId"),
                    "occurred_at": r("DateOrDateTime"),
                    "data": r(&format!("{ty}Data")),
                    "expected_version": nullable(json!({ "type": "integer", "minimum": 0 })),
                }),
            ),
        );
        put(
            &stored_name,
            object(
                &[
                    "position",
                    "stream",
                    "version",
                    "schema_version",
                    "id",
                    "type",
                    "programme",
                    "occurred_at",
                    "data",
                    "recorded_at",
                    "recorded_by",
                ],
                json!({
                    "position": { "type": "integer", "minimum": 1, "description": "Global position: gap-free from 1, in commit order. In the envelope a mentor's append gets back, counted in the events a mentor can see (attendances and erasures left out), as every position told to mentors and viewers; for a token scoped to one programme, counted in that programme's events (the k-th event of the programme has position k), as every position told to it." },
                    "stream": { "type": "string", "description": "`{programme}/{kind}/{id}`, e.g. `sjdlr/stakeholder/sj-ccas`; `{programme}/outreach/{from}/{to}` for contacts." },
                    "version": { "type": "integer", "minimum": 1, "description": "Version within the stream, from 1." },
                    "schema_version": { "const": 1, "description": "Schema version of `data`." },
                    "id": r("Uuid"),
                    "type": { "const": ty },
                    "programme": r("ProgrammeId"),
                    "occurred_at": { "allOf": [r("DateTime")], "description": "When it happened in the world, RFC 3339 in UTC." },
                    "data": r(&stored_data[ty]),
                    "recorded_at": { "allOf": [r("DateTime")], "description": "When the store recorded it (server clock), RFC 3339 in UTC with microseconds." },
                    "recorded_by": { "type": "string", "minLength": 1, "description": "The authenticated actor who recorded it." },
                }),
            ),
        );
        new_map.insert(
            ty.to_string(),
            json!(format!("#/components/schemas/{new_name}")),
        );
        stored_map.insert(
            ty.to_string(),
            json!(format!("#/components/schemas/{stored_name}")),
        );
        new_refs.push(r(&new_name));
        stored_refs.push(r(&stored_name));
    }
    put(
        "NewEvent",
        json!({
            "description": "An event as sent: `{id?, type, programme, occurred_at, data, expected_version?}`. `id` (a UUID) is assigned when absent; sending the same `id` again is an idempotent retry. `occurred_at` is when it happened in the world: on or after 1900-01-01 and at most one day after the server's clock when the event is recorded. If `expected_version` is set, the event's stream must be at exactly that version (0 for a new stream). Any other key, including the stored fields, is refused.",
            "type": "object",
            "oneOf": new_refs,
            "discriminator": { "propertyName": "type", "mapping": new_map },
        }),
    );
    put(
        "StoredEvent",
        json!({
            "description": "An event as the log holds it: the sent fields plus `position`, `stream`, `version`, `schema_version`, `recorded_at` and `recorded_by`.",
            "type": "object",
            "oneOf": stored_refs,
            "discriminator": { "propertyName": "type", "mapping": stored_map },
        }),
    );
    put(
        "AppendRequest",
        json!({
            "oneOf": [
                r("NewEvent"),
                { "type": "array", "items": r("NewEvent"), "minItems": 1, "description": "A batch, appended atomically and in order." },
            ],
        }),
    );
    put(
        "AppendResult",
        json!({
            "oneOf": [
                r("StoredEvent"),
                { "type": "array", "items": r("StoredEvent"), "minItems": 1, "description": "One envelope per event of a batch, in order." },
            ],
        }),
    );
    put(
        "EventPage",
        object(
            &["position", "events", "next_after"],
            json!({
                "position": r("Position"),
                "events": array(r("StoredEvent")),
                "next_after": { "allOf": [r("Count")], "description": "Pass as `after` for the next page." },
            }),
        ),
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
    put(
        "Erasure",
        object(
            &["erased", "key", "event"],
            json!({
                "erased": r("ErasedSubject"),
                "key": { "allOf": [r("KeyId")], "description": "The data key that was destroyed." },
                "event": r("StoredPersonalDataErased"),
            }),
        ),
    );
    put(
        "SubjectAccess",
        object(
            &["subject", "key", "position", "events"],
            json!({
                "subject": r("SubjectId"),
                "key": { "allOf": [r("KeyId")], "description": "The subject's live data key." },
                "position": r("Position"),
                "events": {
                    "type": "array", "items": r("StoredEvent"),
                    "description": "Every event holding the subject's data, oldest first, opened.",
                },
            }),
        ),
    );

    // --- problems ---------------------------------------------------------
    let problem_props = |errors: bool| {
        let mut p = json!({
            "type": { "type": "string", "format": "uri-reference", "description": "A URI reference naming the problem type, e.g. `/problems/validation`." },
            "title": { "type": "string", "description": "A short, stable summary of the problem type." },
            "status": { "type": "integer", "minimum": 100, "maximum": 599, "description": "The HTTP status." },
            "detail": { "type": "string", "description": "What happened this time." },
        });
        if errors {
            p["errors"] = json!({ "type": "array", "items": r("FieldError"), "minItems": 1 });
        }
        p
    };
    put(
        "Problem",
        described(
            "An RFC 9457 problem document.",
            &["type", "title", "status", "detail"],
            problem_props(false),
        ),
    );
    let mut validation = described(
        "An RFC 9457 problem document for broken rules (422): `errors` names each field and the rule it broke.",
        &["type", "title", "status", "detail", "errors"],
        problem_props(true),
    );
    validation["properties"]["type"]["const"] = json!("/problems/validation");
    validation["properties"]["status"]["const"] = json!(422);
    put("ValidationProblem", validation);
    put("FieldError", described(
        "One broken rule. `field` is a path such as `data.beneficiaries.total`, `data.themes[2]` or, in a batch, `[1].data.to`; empty for the body as a whole.",
        &["field", "message"],
        json!({
            "field": { "type": "string" },
            "message": { "type": "string" },
        }),
    ));

    // --- directory --------------------------------------------------------
    put(
        "ProgrammeSummary",
        object(
            &[
                "id",
                "name",
                "stakeholders",
                "partnerships",
                "sessions",
                "events",
            ],
            json!({
                "id": r("ProgrammeId"),
                "name": { "type": "string" },
                "role": nullable(r("ProgrammeRole")),
                "country": nullable(r("Country")),
                "stakeholders": { "allOf": [r("Count")], "description": "Stakeholders in the directory." },
                "partnerships": { "allOf": [r("Count")], "description": "Partnerships formed." },
                "sessions": { "allOf": [r("Count")], "description": "Co-creation sessions held." },
                "events": { "allOf": [r("Count")], "description": "Events in the programme's log (for mentor and viewer tokens, those they can see)." },
            }),
        ),
    );
    put(
        "ProgrammeList",
        object(
            &["position", "programmes", "next"],
            json!({
                "position": r("Position"),
                "programmes": array(r("ProgrammeSummary")),
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "StakeholderContact",
        described(
            "A stakeholder's contact details (personal data), opened: in a read, present only for admin and coordinator tokens; a field never given is left out.",
            &[],
            json!({
                "person": personal_opened("StoredName", "The contact person's name or role"),
                "email": personal_opened("Email", "The e-mail address"),
                "phone": personal_opened("Phone", "The phone number"),
            }),
        ),
    );
    put(
        "Stakeholder",
        object(
            &["id", "name", "kind", "themes", "archived", "registered_at"],
            json!({
                "id": r("Id"),
                "name": { "type": "string" },
                "kind": r("StakeholderKind"),
                "themes": array(r("Theme")),
                "territory": { "type": ["string", "null"] },
                "archived": { "type": "boolean" },
                "registered_at": r("DateTime"),
                "contact": r("StakeholderContact"),
            }),
        ),
    );
    put(
        "StakeholderList",
        object(
            &["position", "programme", "as_of", "stakeholders", "next"],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "stakeholders": array(r("Stakeholder")),
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "TiePartnership",
        object(
            &["id", "kind", "themes", "formed_at"],
            json!({
                "id": r("Id"),
                "kind": r("PartnershipKind"),
                "themes": array(r("Theme")),
                "formed_at": r("DateTime"),
                "ended_at": nullable(r("DateTime")),
            }),
        ),
    );
    put("ContactSummary", described(
        "The outreach contacts of a tie: how many, how many positive (interested or committed), the last one and the best outcome.",
        &["count", "positive"],
        json!({
            "count": r("Count"),
            "positive": r("Count"),
            "last": nullable(r("DateTime")),
            "best_outcome": nullable(r("Outcome")),
        }),
    ));
    put("Tie", described(
        "Everything that ties the stakeholder to another one. `strength` decays with the half-life since `last_interaction`; `present` is false once it has decayed away or the partnership ended with nothing else left.",
        &["with", "strength", "present", "contacts", "sessions", "last_interaction"],
        json!({
            "with": r("Id"),
            "strength": { "type": "number", "minimum": 0 },
            "present": { "type": "boolean" },
            "partnership": nullable(r("TiePartnership")),
            "contacts": r("ContactSummary"),
            "sessions": { "type": "array", "items": r("Id"), "description": "Sessions both attended." },
            "last_interaction": r("DateTime"),
        }),
    ));
    put(
        "OutreachContact",
        object(
            &["event", "from", "to", "channel", "outcome", "occurred_at"],
            json!({
                "event": { "allOf": [r("Uuid")], "description": "The id of the `OutreachContactLogged` event." },
                "from": r("Id"),
                "to": r("Id"),
                "channel": r("Channel"),
                "purpose": { "type": ["string", "null"] },
                "outcome": r("Outcome"),
                "occurred_at": r("DateTime"),
                "follow_up_due": nullable(r("StoredDate")),
            }),
        ),
    );
    put(
        "StakeholderDetail",
        object(
            &[
                "position",
                "programme",
                "as_of",
                "stakeholder",
                "ties",
                "ties_next",
                "contacts",
                "contacts_next",
            ],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "stakeholder": r("Stakeholder"),
                "ties": array(r("Tie")),
                "ties_next": r("NextLink"),
                "contacts": array(r("OutreachContact")),
                "contacts_next": r("NextLink"),
            }),
        ),
    );
    put(
        "Partnership",
        object(
            &["id", "between", "kind", "themes", "formed_at"],
            json!({
                "id": r("Id"),
                "between": r("Pair"),
                "kind": r("PartnershipKind"),
                "themes": array(r("Theme")),
                "formed_at": r("DateTime"),
                "ended_at": nullable(r("DateTime")),
            }),
        ),
    );
    put(
        "PartnershipList",
        object(
            &["position", "programme", "as_of", "partnerships", "next"],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "partnerships": array(r("Partnership")),
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "SessionBeneficiaries",
        object(
            &[
                "total",
                "women",
                "men",
                "undisclosed",
                "first_time",
                "returning",
            ],
            json!({
                "total": r("SuppressibleCount"),
                "women": r("SuppressibleCount"),
                "men": r("SuppressibleCount"),
                "undisclosed": r("SuppressibleCount"),
                "first_time": r("SuppressibleCount"),
                "returning": r("SuppressibleCount"),
            }),
        ),
    );
    put(
        "Session",
        object(
            &[
                "id",
                "title",
                "themes",
                "level",
                "stakeholders",
                "facilitators",
                "groups",
                "beneficiaries",
                "suppressed",
                "outputs",
                "occurred_at",
                "attended",
            ],
            json!({
                "id": r("Id"),
                "title": { "type": "string" },
                "themes": array(r("Theme")),
                "level": r("Level"),
                "stakeholders": array(r("Id")),
                "facilitators": array(r("Id")),
                "groups": { "type": "array", "items": r("Id"), "description": "Beneficiary-group stakeholders." },
                "beneficiaries": r("SessionBeneficiaries"),
                "suppressed": { "type": "boolean", "description": "Whether counts were hidden from this token." },
                "outputs": array(json!({ "type": "string" })),
                "occurred_at": r("DateTime"),
                "attended": { "allOf": [r("SuppressibleCount")], "description": "Participant attendances recorded; always `null` for mentor and viewer tokens." },
            }),
        ),
    );
    put(
        "SessionList",
        object(
            &["position", "programme", "as_of", "sessions", "next"],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "sessions": array(r("Session")),
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "Need",
        object(
            &[
                "id",
                "action",
                "theme",
                "status",
                "addressed_by",
                "declared_at",
            ],
            json!({
                "id": r("Id"),
                "action": { "type": "string" },
                "theme": r("Theme"),
                "description": { "type": ["string", "null"] },
                "priority": nullable(r("Priority")),
                "status": r("NeedStatus"),
                "addressed_by": array(r("Id")),
                "declared_at": r("DateTime"),
            }),
        ),
    );
    put(
        "NeedList",
        object(
            &["position", "programme", "as_of", "needs", "next"],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "needs": array(r("Need")),
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "Milestone",
        object(
            &["id", "label", "kind", "occurred_at"],
            json!({
                "id": r("Id"),
                "label": { "type": "string" },
                "kind": r("MilestoneKind"),
                "occurred_at": r("DateTime"),
            }),
        ),
    );
    put(
        "MilestoneList",
        object(
            &["position", "programme", "as_of", "milestones", "next"],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "milestones": array(r("Milestone")),
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "Note",
        object(
            &["id", "about", "text", "recorded_by", "occurred_at"],
            json!({
                "id": r("Id"),
                "about": r("StoredAbout"),
                "text": { "type": "string" },
                "recorded_by": { "type": "string" },
                "occurred_at": r("DateTime"),
            }),
        ),
    );
    put(
        "NoteList",
        object(
            &["position", "programme", "as_of", "notes", "next"],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "notes": array(r("Note")),
                "next": r("NextLink"),
            }),
        ),
    );

    // --- analysis (src/render.rs) -----------------------------------------
    put(
        "NetworkNode",
        object(
            &[
                "id",
                "name",
                "kind",
                "themes",
                "territory",
                "degree",
                "weighted_degree",
                "betweenness",
                "closeness",
                "eigenvector",
                "core_number",
                "constraint",
                "effective_size",
                "community",
                "component",
                "x",
                "y",
            ],
            json!({
                "id": r("Id"),
                "name": { "type": "string" },
                "kind": r("StakeholderKind"),
                "themes": array(r("Theme")),
                "territory": { "type": ["string", "null"] },
                "degree": r("Count"),
                "weighted_degree": r("Metric"),
                "betweenness": r("Metric"),
                "closeness": r("Metric"),
                "eigenvector": r("Metric"),
                "core_number": r("Count"),
                "constraint": { "allOf": [r("Metric")], "description": "Burt's constraint; `null` for an isolate." },
                "effective_size": { "allOf": [r("Metric")], "description": "Burt's effective size; `null` for an isolate." },
                "community": r("Count"),
                "component": r("Count"),
                "x": r("Metric"),
                "y": r("Metric"),
            }),
        ),
    );
    put(
        "NetworkEdge",
        object(
            &[
                "a",
                "b",
                "strength",
                "base",
                "component",
                "partnership",
                "contacts",
                "sessions",
                "first_interaction",
                "last_interaction",
                "evidence",
            ],
            json!({
                "a": r("Id"),
                "b": r("Id"),
                "strength": { "allOf": [r("Metric")], "description": "`base` decayed with the half-life since `last_interaction`." },
                "base": r("Metric"),
                "component": r("Count"),
                "partnership": nullable(r("TiePartnership")),
                "contacts": { "allOf": [r("ContactSummary")], "required": ["last", "best_outcome"] },
                "sessions": array(r("Id")),
                "first_interaction": r("DateTime"),
                "last_interaction": r("DateTime"),
                "evidence": { "type": "array", "items": r("Uuid"), "description": "Ids of the events behind the tie." },
            }),
        ),
    );
    put(
        "Estimate",
        json!({
            "description": "How a centrality was computed: `exact`, or sampled from `pivots` sources drawn with `seed`.",
            "oneOf": [
                { "const": "exact" },
                object(&["sampled"], json!({
                    "sampled": object(&["pivots", "seed"], json!({
                        "pivots": r("Count"),
                        "seed": r("Count"),
                    })),
                })),
            ],
        }),
    );
    put(
        "NetworkMetrics",
        object(
            &[
                "nodes",
                "edges",
                "density",
                "components",
                "communities",
                "modularity",
                "ei_by_kind",
                "ei_per_kind",
                "articulation_points",
                "bridges",
                "betweenness",
                "closeness",
            ],
            json!({
                "nodes": r("Count"),
                "edges": r("Count"),
                "density": r("Metric"),
                "components": r("Count"),
                "communities": r("Count"),
                "modularity": r("Metric"),
                "ei_by_kind": { "allOf": [r("Metric")], "description": "Krackhardt's E-I index of the network by stakeholder kind, from -1 to 1; `null` without ties." },
                "ei_per_kind": {
                    "type": "object",
                    "propertyNames": r("StakeholderKind"),
                    "additionalProperties": r("Metric"),
                    "description": "E-I index of each stakeholder kind.",
                },
                "articulation_points": array(r("Id")),
                "bridges": array(r("Pair")),
                "betweenness": r("Estimate"),
                "closeness": r("Estimate"),
            }),
        ),
    );
    put(
        "Network",
        object(
            &[
                "programme",
                "as_of",
                "position",
                "nodes",
                "edges",
                "metrics",
            ],
            json!({
                "programme": r("ProgrammeId"),
                "as_of": { "allOf": [r("DateTime")], "description": "The time the network is measured at: `as_of`, or the programme's last event time when `as_of` is not given." },
                "position": r("Position"),
                "nodes": array(r("NetworkNode")),
                "edges": array(r("NetworkEdge")),
                "metrics": r("NetworkMetrics"),
            }),
        ),
    );
    put(
        "Bilingual",
        object(
            &["en", "fr"],
            json!({
                "en": { "type": "string" },
                "fr": { "type": "string" },
            }),
        ),
    );
    put(
        "Finding",
        object(
            &[
                "id",
                "kind",
                "severity",
                "subjects",
                "explanation",
                "evidence",
                "evidence_more",
                "evidence_next",
                "suggestion",
            ],
            json!({
                "id": { "type": "string", "description": "Stable: depends only on the kind and subjects." },
                "kind": r("FindingKind"),
                "severity": r("Severity"),
                "subjects": { "type": "array", "items": { "type": "string" }, "description": "Stakeholder, need, partnership or session ids, kinds or themes concerned." },
                "explanation": r("Bilingual"),
                "evidence": { "type": "array", "items": r("Uuid"), "maxItems": 20, "description": "Ids of the events that show it: the first 20, by id." },
                "evidence_more": { "allOf": [r("Count")], "description": "How many other events show it." },
                "evidence_next": { "allOf": [r("NextLink")], "description": "The other events, at `/gaps/evidence`; `null` when there is none." },
                "suggestion": r("Bilingual"),
            }),
        ),
    );
    put(
        "GapReport",
        object(
            &["programme", "as_of", "position", "findings", "next"],
            json!({
                "programme": r("ProgrammeId"),
                "as_of": { "allOf": [r("DateTime")], "description": "The time the network is measured at: `as_of`, or the programme's last event time when `as_of` is not given." },
                "position": r("Position"),
                "findings": array(r("Finding")),
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "EvidencePage",
        object(
            &[
                "programme",
                "as_of",
                "position",
                "finding",
                "evidence",
                "next",
            ],
            json!({
                "programme": r("ProgrammeId"),
                "as_of": { "allOf": [r("DateTime")], "description": "The time the network is measured at, as in the gap report." },
                "position": r("Position"),
                "finding": { "type": "string", "description": "The finding's id." },
                "evidence": { "type": "array", "items": r("Uuid"), "description": "Ids of events that show it, by id." },
                "next": r("NextLink"),
            }),
        ),
    );
    put(
        "SessionParticipation",
        object(
            &[
                "session",
                "title",
                "occurred_at",
                "level",
                "total",
                "women",
                "men",
                "undisclosed",
                "women_share",
                "first_time",
                "returning",
                "groups",
                "attended",
                "repeat",
            ],
            json!({
                "session": r("Id"),
                "title": { "type": "string" },
                "occurred_at": r("DateTime"),
                "level": r("Level"),
                "total": r("SuppressibleCount"),
                "women": r("SuppressibleCount"),
                "men": r("SuppressibleCount"),
                "undisclosed": r("SuppressibleCount"),
                "women_share": r("Share"),
                "first_time": r("SuppressibleCount"),
                "returning": r("SuppressibleCount"),
                "groups": array(r("Id")),
                "attended": { "allOf": [r("SuppressibleCount")], "description": "Participants recorded as attending; always `null` for mentor and viewer tokens." },
                "repeat": { "allOf": [r("SuppressibleCount")], "description": "Of those, participants seen at an earlier session; always `null` for mentor and viewer tokens." },
            }),
        ),
    );
    put(
        "MonthParticipation",
        object(
            &[
                "month",
                "sessions",
                "withheld",
                "total",
                "women",
                "women_share",
                "first_time",
                "returning",
                "highest_level",
            ],
            json!({
                "month": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "description": "`YYYY-MM`." },
                "sessions": r("Count"),
                "withheld": { "allOf": [r("Count")], "description": "Sessions left out of the month's sums: for mentor and viewer tokens, those whose counts are hidden (any count from 1 to 4); 0 otherwise." },
                "total": r("SuppressibleCount"),
                "women": r("SuppressibleCount"),
                "women_share": r("Share"),
                "first_time": r("SuppressibleCount"),
                "returning": r("SuppressibleCount"),
                "highest_level": nullable(r("Level")),
            }),
        ),
    );
    put(
        "Trajectory",
        described(
            "The IAP2 levels of the sessions a beneficiary group took part in, in time order.",
            &["group", "steps"],
            json!({
                "group": r("Id"),
                "steps": array(object(&["occurred_at", "session", "level"], json!({
                    "occurred_at": r("DateTime"),
                    "session": r("Id"),
                    "level": r("Level"),
                }))),
            }),
        ),
    );
    put(
        "Participation",
        object(
            &[
                "position",
                "programme",
                "as_of",
                "sessions",
                "months",
                "trajectories",
                "participants",
                "repeat_participants",
            ],
            json!({
                "position": r("Position"),
                "programme": r("ProgrammeId"),
                "as_of": r("AsOfRead"),
                "sessions": array(r("SessionParticipation")),
                "months": array(r("MonthParticipation")),
                "trajectories": array(r("Trajectory")),
                "participants": { "allOf": [r("SuppressibleCount")], "description": "Distinct pseudonymous participants; `null` for mentor and viewer tokens." },
                "repeat_participants": { "allOf": [r("SuppressibleCount")], "description": "Participants who attended more than one session; `null` for mentor and viewer tokens." },
            }),
        ),
    );
    put(
        "DiffPoint",
        object(
            &["as_of", "position"],
            json!({
                "as_of": { "allOf": [r("DateTime")], "description": "The time this side is as of: `from` or `to`." },
                "position": r("Position"),
            }),
        ),
    );
    put(
        "Diff",
        object(
            &[
                "programme",
                "position",
                "from",
                "to",
                "stakeholders_added",
                "stakeholders_removed",
                "ties_added",
                "ties_removed",
                "findings_opened",
                "findings_closed",
            ],
            json!({
                "programme": r("ProgrammeId"),
                "position": { "allOf": [r("Position")], "description": "The log position when the diff was read; `from` and `to` say which positions each side reflects." },
                "from": r("DiffPoint"),
                "to": r("DiffPoint"),
                "stakeholders_added": array(r("Id")),
                "stakeholders_removed": array(r("Id")),
                "ties_added": { "type": "array", "items": r("Pair"), "description": "Present ties gained." },
                "ties_removed": { "type": "array", "items": r("Pair"), "description": "Present ties lost." },
                "findings_opened": { "type": "array", "items": { "type": "string" }, "description": "Ids of findings that appeared." },
                "findings_closed": { "type": "array", "items": { "type": "string" }, "description": "Ids of findings that went away." },
            }),
        ),
    );
    put(
        "Me",
        object(
            &["name", "role", "programme"],
            json!({
                "name": { "type": "string", "description": "The token's name (`recorded_by` of what it appends)." },
                "role": enum_of("What the token may do: admin and coordinator write, mentor reads and adds review notes, viewer reads.", &["admin", "coordinator", "mentor", "viewer"]),
                "programme": nullable(json!({ "type": "string", "description": "The one programme a scoped token sees and writes; null when it sees all." })),
            }),
        ),
    );
    put(
        "Health",
        object(
            &["status"],
            json!({
                "status": { "const": "ok" },
            }),
        ),
    );

    Value::Object(s)
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(document)
}

/// The document registered as a resource, so that a wrapper `$ref` to any of
/// its schemas resolves the document's own `#/components/...` references.
fn registry() -> &'static Registry<'static> {
    static REGISTRY: OnceLock<Registry<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new()
            .add(DOCUMENT_URI, doc().clone())
            .and_then(|b| b.prepare())
            .expect("the OpenAPI document registers as a resource")
    })
}

/// A validator for the schema at `pointer` (a JSON pointer into the document),
/// compiled once.
fn validator_at(pointer: &str) -> Result<Arc<Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("validator cache").get(pointer) {
        return Ok(v.clone());
    }
    let wrapper = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("{DOCUMENT_URI}#{}", fragment(pointer)),
    });
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_registry(registry())
        .build(&wrapper)
        .map_err(|e| format!("the schema at {pointer} does not compile: {e}"))?;
    let v = Arc::new(v);
    cache
        .lock()
        .expect("validator cache")
        .insert(pointer.to_owned(), v.clone());
    Ok(v)
}

/// A JSON pointer as a URI fragment (percent-encoding what a fragment may not hold).
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for c in pointer.chars() {
        match c {
            'A'..='Z'
            | 'a'..='z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '/'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '='
            | ':'
            | '@' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// Escapes one JSON-pointer token.
fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Validates `instance` against the schema at `pointer`; errors are
/// `"{instance path}: {message}"`.
fn check(pointer: &str, instance: &Value) -> Result<(), Vec<String>> {
    let v = validator_at(pointer).map_err(|e| vec![e])?;
    let mut out = Vec::new();
    for e in v.iter_errors(instance) {
        describe(&e, &mut out, 0);
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// Renders an error; for a failed `oneOf`/`anyOf` the errors of the branch
/// that came closest instead (skipping branches whose JSON type or `type`
/// discriminator does not even match), so that a stored envelope missing a
/// field names that field rather than "not valid under any schema".
fn describe(e: &jsonschema::ValidationError<'_>, out: &mut Vec<String>, depth: usize) {
    use jsonschema::error::ValidationErrorKind as K;
    let at = e.instance_path().as_str().to_owned();
    let shown = if at.is_empty() { "(body)" } else { at.as_str() };
    let push = |out: &mut Vec<String>, message: String| {
        const MAX: usize = 300;
        let message = match message.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message,
        };
        out.push(format!("{shown}: {message}"));
    };
    let context = match e.kind() {
        K::OneOfNotValid { context } | K::AnyOf { context } if depth < 8 => context,
        _ => return push(out, e.to_string()),
    };
    let best = context
        .iter()
        .filter(|b| !mismatched(b, &at))
        .min_by_key(|b| b.len());
    match best {
        Some(branch) if !branch.is_empty() => {
            for b in branch {
                describe(b, out, depth + 1);
            }
        }
        Some(_) => push(out, e.to_string()),
        None => match e.instance().get("type").and_then(Value::as_str) {
            Some(ty) if e.instance().is_object() => push(
                out,
                format!("`type` {ty:?} matches none of the documented shapes"),
            ),
            _ => push(
                out,
                format!(
                    "a JSON {} matches none of the documented shapes",
                    json_type(e.instance())
                ),
            ),
        },
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a `oneOf`/`anyOf` branch fails on the instance's JSON type or on
/// its `type` discriminator, directly or because every branch of a nested
/// `oneOf`/`anyOf` at the same place does.
fn mismatched(branch: &[jsonschema::ValidationError<'static>], at: &str) -> bool {
    use jsonschema::error::ValidationErrorKind as K;
    let discriminator = format!("{at}/type");
    branch.iter().any(|b| {
        let p = b.instance_path().as_str();
        match b.kind() {
            K::Type { .. } => p == at,
            K::Constant { .. } => p == discriminator,
            K::OneOfNotValid { context } | K::AnyOf { context } => {
                p == at && context.iter().all(|c| mismatched(c, at))
            }
            _ => false,
        }
    })
}

/// Checks the document: against the official OAS 3.1 schema (with Schema
/// Objects checked against the OAS 3.1 dialect, i.e. JSON Schema 2020-12),
/// every `$ref` resolving, every component used, [`ROUTES`] equal to
/// `paths`, operation ids unique, path parameters declared, every schema
/// compiling, and every example valid against its schema.
pub fn validate_document() -> Result<(), Vec<String>> {
    let doc = doc();
    let mut errors = validate_against_oas_schema(doc);
    errors.extend(check_refs(doc));
    errors.extend(check_routes(doc));
    errors.extend(check_operations(doc));
    if errors.is_empty() {
        errors.extend(check_examples(doc));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Validates any value as an OpenAPI 3.1 document; exposed so tests can show
/// that the vendored schema does reject a broken document.
pub fn validate_against_oas_schema(document: &Value) -> Vec<String> {
    let parse = |name: &str, text: &str| -> Result<Value, String> {
        serde_json::from_str(text).map_err(|e| format!("vendored {name} is not JSON: {e}"))
    };
    let (schema, dialect, meta) = match (
        parse("OAS schema", OAS_SCHEMA),
        parse("OAS dialect", OAS_DIALECT),
        parse("OAS meta", OAS_META),
    ) {
        (Ok(s), Ok(d), Ok(m)) => (s, d, m),
        (s, d, m) => {
            return [s.err(), d.err(), m.err()].into_iter().flatten().collect();
        }
    };
    // The OAI's `schema-base.json` of the same date: the document schema with
    // every Schema Object checked against the OAS 3.1 dialect.
    let schema_base = json!({
        "$id": OAS_SCHEMA_BASE_ID,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": "The description of OpenAPI v3.1.x documents using the OpenAPI JSON Schema dialect",
        "$ref": OAS_SCHEMA_ID,
        "properties": { "jsonSchemaDialect": { "$ref": "#/$defs/dialect" } },
        "$defs": {
            "dialect": { "const": OAS_DIALECT_ID },
            "schema": {
                "$dynamicAnchor": "meta",
                "$ref": OAS_DIALECT_ID,
                "properties": { "$schema": { "$ref": "#/$defs/dialect" } },
            },
        },
    });
    let registry = match Registry::new()
        .add(OAS_SCHEMA_ID, schema)
        .and_then(|b| b.add(OAS_DIALECT_ID, dialect))
        .and_then(|b| b.add(OAS_META_ID, meta))
        .and_then(|b| b.prepare())
    {
        Ok(r) => r,
        Err(e) => return vec![format!("cannot register the OAS 3.1 schemas: {e}")],
    };
    let validator = match jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema_base)
    {
        Ok(v) => v,
        Err(e) => return vec![format!("cannot compile the OAS 3.1 schema: {e}")],
    };
    let mut out = Vec::new();
    for e in validator.iter_errors(document) {
        describe(&e, &mut out, 0);
    }
    out.into_iter()
        .map(|m| format!("OAS 3.1 schema: {m}"))
        .collect()
}

/// Every `(pointer, $ref)` in `v`.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "$ref" {
                    if let Value::String(s) = child {
                        out.push((at.to_owned(), s.clone()));
                    }
                } else {
                    refs(child, &format!("{at}/{}", token(k)), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn check_refs(doc: &Value) -> Vec<String> {
    let mut all = Vec::new();
    refs(doc, "", &mut all);
    let mut errors = Vec::new();
    let mut used = BTreeSet::new();
    for (at, target) in &all {
        match target.strip_prefix('#') {
            Some(pointer) if doc.pointer(pointer).is_some() => {
                used.insert(pointer.to_owned());
            }
            _ => errors.push(format!("{at}: $ref {target:?} does not resolve")),
        }
    }
    // Discriminator mappings are references too.
    let mut mapped = Vec::new();
    collect_mappings(doc, "", &mut mapped);
    for (at, target) in mapped {
        match target.strip_prefix('#') {
            Some(pointer) if doc.pointer(pointer).is_some() => {}
            _ => errors.push(format!("{at}: mapping {target:?} does not resolve")),
        }
    }
    if let Some(Value::Object(components)) = doc.get("components") {
        for (section, items) in components {
            if section == "securitySchemes" {
                continue;
            }
            for name in items.as_object().into_iter().flat_map(Map::keys) {
                let pointer = format!("/components/{section}/{}", token(name));
                if !used.contains(&pointer) {
                    errors.push(format!("{pointer} is never referenced"));
                }
            }
        }
    }
    errors
}

fn collect_mappings(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(map)) = m.get("discriminator").and_then(|d| d.get("mapping"))
            {
                for (k, t) in map {
                    if let Value::String(t) = t {
                        out.push((
                            format!("{at}/discriminator/mapping/{}", token(k)),
                            t.clone(),
                        ));
                    }
                }
            }
            for (k, child) in m {
                collect_mappings(child, &format!("{at}/{}", token(k)), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_mappings(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every `(METHOD, path)` operation of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

fn check_routes(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut routes = BTreeSet::new();
    for (m, p) in ROUTES {
        if !routes.insert((m.to_string(), p.to_string())) {
            errors.push(format!("ROUTES lists {m} {p} twice"));
        }
    }
    let ops = operations(doc);
    for (m, p) in routes.difference(&ops) {
        errors.push(format!(
            "ROUTES has {m} {p} but the document's paths do not"
        ));
    }
    for (m, p) in ops.difference(&routes) {
        errors.push(format!("the document has {m} {p} but ROUTES does not"));
    }
    errors
}

/// Follows a `$ref` to a component (one level is all the document uses).
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(t) => t
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or(v),
        None => v,
    }
}

fn check_operations(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut ids = BTreeMap::new();
    for (method, path) in operations(doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        match op.get("operationId").and_then(Value::as_str) {
            Some(id) => {
                if let Some(prev) = ids.insert(id.to_owned(), format!("{method} {path}")) {
                    errors.push(format!(
                        "operationId {id} is used by {prev} and {method} {path}"
                    ));
                }
            }
            None => errors.push(format!("{method} {path} has no operationId")),
        }
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| deref(doc, p))
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        if declared != templated {
            errors.push(format!(
                "{method} {path}: path parameters {templated:?} but declared {declared:?}"
            ));
        }
        let statuses: Vec<&String> = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(s, _)| s)
            .collect();
        if !statuses.iter().any(|s| s.starts_with('2')) {
            errors.push(format!("{method} {path} documents no success response"));
        }
        // Every schema of the operation must compile.
        for (pointer, _) in media_schemas(doc, &method, &path) {
            if let Err(e) = validator_at(&pointer) {
                errors.push(e);
            }
        }
    }
    errors
}

/// `(pointer to schema, pointer to media object)` of every request and
/// response media type of an operation (responses `$ref`'d to components are
/// followed).
fn media_schemas(doc: &Value, method: &str, path: &str) -> Vec<(String, String)> {
    let op_ptr = format!("/paths/{}/{}", token(path), method.to_lowercase());
    let mut containers = vec![format!("{op_ptr}/requestBody")];
    for (status, resp) in doc
        .pointer(&format!("{op_ptr}/responses"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match resp.get("$ref").and_then(Value::as_str) {
            Some(t) => containers.push(t.trim_start_matches('#').to_owned()),
            None => containers.push(format!("{op_ptr}/responses/{}", token(status))),
        }
    }
    let mut out = Vec::new();
    for c in containers {
        for (media, m) in doc
            .pointer(&format!("{c}/content"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if m.get("schema").is_some() {
                let media_ptr = format!("{c}/content/{}", token(media));
                out.push((format!("{media_ptr}/schema"), media_ptr));
            }
        }
    }
    out
}

fn check_examples(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (method, path) in operations(doc) {
        for (schema_ptr, media_ptr) in media_schemas(doc, &method, &path) {
            if !seen.insert(media_ptr.clone()) {
                continue;
            }
            let media = doc.pointer(&media_ptr).expect("media object");
            let mut examples: Vec<(String, &Value)> = Vec::new();
            if let Some(e) = media.get("example") {
                examples.push(("example".into(), e));
            }
            for (name, e) in media
                .get("examples")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(v) = e.get("value") {
                    examples.push((format!("examples/{name}"), v));
                }
            }
            for (name, value) in examples {
                if let Err(es) = check(&schema_ptr, value) {
                    for e in es {
                        errors.push(format!("{media_ptr}/{name}: {e}"));
                    }
                }
            }
        }
    }
    errors
}

/// The operation object for `method` and `path_template` (with or without
/// [`BASE_PATH`]), and its pointer.
fn operation(method: &str, path_template: &str) -> Result<(String, &'static Value), Vec<String>> {
    let path = path_template
        .strip_prefix(BASE_PATH)
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path_template);
    let doc = doc();
    let Some(item) = doc["paths"].get(path) else {
        return Err(vec![format!("{path} is not a path of the document")]);
    };
    let m = method.to_lowercase();
    match item.get(&m) {
        Some(op) => Ok((format!("/paths/{}/{m}", token(path)), op)),
        None => Err(vec![format!(
            "{path} has no {} operation in the document",
            method.to_uppercase()
        )]),
    }
}

/// The media type without parameters, lower-cased (`application/json`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Picks the documented media type matching `content_type`: an exact match
/// first, then one with the same essence.
fn media_for<'a>(content: &'a Map<String, Value>, content_type: &str) -> Option<&'a String> {
    let norm = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    content
        .keys()
        .find(|k| norm(k) == norm(content_type))
        .or_else(|| content.keys().find(|k| essence(k) == essence(content_type)))
}

/// Checks one response: `status` documented for the operation,
/// `content_type` one of its media types (parameters aside), and `body`
/// valid against that media type's schema. A response documented without
/// content (304) must come with a `null` body. `path_template` is relative to
/// [`BASE_PATH`] (a leading `/api/v1` is accepted) and written as in
/// [`ROUTES`]. Non-JSON bodies (Server-Sent Events, Prometheus text) are
/// passed as a JSON string.
///
/// A request the document has no operation for may only be answered by the
/// router's fallbacks: `405` (a documented path with another method) or `404`
/// (an undocumented path), each an `application/problem+json` `Problem` with
/// that status.
pub fn validate_response(
    method: &str,
    path_template: &str,
    status: u16,
    content_type: &str,
    body: &Value,
) -> Result<(), Vec<String>> {
    let (op_ptr, op) = match operation(method, path_template) {
        Ok(found) => found,
        Err(errors) => return unrouted(method, path_template, status, content_type, body, errors),
    };
    let what = format!("{} {path_template} → {status}", method.to_uppercase());
    let Some(resp) = op["responses"].get(status.to_string()) else {
        let documented: Vec<&String> = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(s, _)| s)
            .collect();
        return Err(vec![format!(
            "{what}: status {status} is not documented (documented: {})",
            documented
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )]);
    };
    let (resp_ptr, resp) = match resp.get("$ref").and_then(Value::as_str) {
        Some(t) => {
            let p = t.trim_start_matches('#').to_owned();
            let v = doc().pointer(&p).expect("response refs resolve");
            (p, v)
        }
        None => (format!("{op_ptr}/responses/{status}"), resp),
    };
    let Some(content) = resp.get("content").and_then(Value::as_object) else {
        return if body.is_null() {
            Ok(())
        } else {
            Err(vec![format!(
                "{what}: documented without a body, but one was sent"
            )])
        };
    };
    let Some(media) = media_for(content, content_type) else {
        return Err(vec![format!(
            "{what}: content type {content_type:?} is not documented (documented: {})",
            content
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )]);
    };
    let schema_ptr = format!("{resp_ptr}/content/{}/schema", token(media));
    check(&schema_ptr, body).map_err(|es| es.into_iter().map(|e| format!("{what}: {e}")).collect())
}

/// The router's answer to a request outside the document: 404 or 405 as a
/// problem document, or else the lookup's own errors.
fn unrouted(
    method: &str,
    path_template: &str,
    status: u16,
    content_type: &str,
    body: &Value,
    lookup: Vec<String>,
) -> Result<(), Vec<String>> {
    let path = path_template
        .strip_prefix(BASE_PATH)
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path_template);
    let documented = doc()["paths"].get(path).is_some();
    let expected = if documented { 405 } else { 404 };
    if status != expected {
        return Err(lookup);
    }
    let what = format!("{} {path_template} → {status}", method.to_uppercase());
    let mut errors = Vec::new();
    if essence(content_type) != "application/problem+json" {
        errors.push(format!(
            "{what}: content type {content_type:?} is not application/problem+json"
        ));
    }
    if let Err(es) = check("/components/schemas/Problem", body) {
        errors.extend(es.into_iter().map(|e| format!("{what}: {e}")));
    }
    if body.get("status").is_some_and(|s| s != status) {
        errors.push(format!(
            "{what}: /status: {} is not {status}",
            body["status"]
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks a request body against the operation's request body schema for
/// `content_type`, which must be one the operation documents (parameters
/// aside), as the server refuses any other with `415`.
pub fn validate_request(
    method: &str,
    path_template: &str,
    content_type: &str,
    body: &Value,
) -> Result<(), Vec<String>> {
    let (op_ptr, op) = operation(method, path_template)?;
    let what = format!("{} {path_template} request", method.to_uppercase());
    let Some(content) = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
    else {
        return Err(vec![format!("{what}: the operation takes no body")]);
    };
    let Some(media) = media_for(content, content_type) else {
        return Err(vec![format!(
            "{what}: content type {content_type:?} is not documented"
        )]);
    };
    let schema_ptr = format!("{op_ptr}/requestBody/content/{}/schema", token(media));
    check(&schema_ptr, body).map_err(|es| es.into_iter().map(|e| format!("{what}: {e}")).collect())
}

/// Checks `instance` against the component schema `name`
/// (`#/components/schemas/{name}`), e.g. one event's `data` against
/// `OutreachContactLoggedData`.
pub fn validate_schema(name: &str, instance: &Value) -> Result<(), Vec<String>> {
    if doc()["components"]["schemas"].get(name).is_none() {
        return Err(vec![format!("no component schema named {name}")]);
    }
    check(&format!("/components/schemas/{}", token(name)), instance)
}
