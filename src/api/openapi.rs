//! The OpenAPI 3.1 description of the JSON API, served at
//! `/api/v1/openapi.json`, assembled from what the code already knows: the
//! paths, operation ids, parameters and security from the route table
//! ([`ROUTES`]); the schemas of the event model (values, enums, each event
//! type's `data`, the wire and stored envelopes) from the types of
//! `passerelle-events` (`events/src/schema.rs`); those of the response bodies
//! from their types (`src/api/body.rs`) and of problems from
//! `src/http/problem.rs`; the values of the projections' enums from their
//! `ALL` lists.
//!
//! What only prose can say is data, in `openapi.json` beside this file: each
//! operation's summary, description, request body and answers (by operation
//! id), each parameter's meaning and schema (by [`Param`]), the shared
//! answers and headers, and the few schemas no type stands for.
//! `tests/openapi.rs` checks the document against the OAS 3.1 schema and
//! real requests and renderings against it (`tests/support/openapi.rs`).

use passerelle_projections::gaps::{FindingKind, Severity};
use passerelle_projections::model::NeedStatus;
use serde_json::{json, Map, Value};

use crate::http::route::{Access, Param, API_BASE, ROUTES};

/// The prose of the document (see the module's documentation).
const TEXT: &str = include_str!("openapi.json");

/// The OpenAPI 3.1.0 document of the API.
pub fn document() -> Value {
    let mut doc: Value = serde_json::from_str(TEXT).expect("openapi.json is JSON");
    let text = doc.as_object_mut().expect("openapi.json is an object");
    let Some(Value::Object(mut operations)) = text.remove("operations") else {
        panic!("openapi.json has no operations");
    };
    text.insert(
        "servers".into(),
        json!([{ "url": API_BASE, "description": "This server" }]),
    );
    text.insert("paths".into(), paths(&mut operations));
    assert!(
        operations.is_empty(),
        "openapi.json describes operations the route table does not have: {:?}",
        operations.keys().collect::<Vec<_>>()
    );
    let components = &mut doc["components"];
    name_parameters(&mut components["parameters"]);
    add_schemas(&mut components["schemas"]);
    doc
}

/// The API's paths, from the route table: each operation's id, parameters
/// and security from its entry in [`ROUTES`], the rest from its prose (taken
/// out of `operations`). Every operation may meet the connection limit (503)
/// and every path answers 405 to a method it does not take.
fn paths(operations: &mut Map<String, Value>) -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let Some(path) = spec.api_path() else {
            continue;
        };
        let mut item = Map::new();
        for op in spec.ops {
            let mut o = operations
                .remove(op.id)
                .unwrap_or_else(|| panic!("openapi.json does not describe {}", op.id));
            o["operationId"] = op.id.into();
            if !op.params.is_empty() {
                o["parameters"] = op.params.iter().map(|&p| parameter_ref(p)).collect();
            }
            if op.access == Access::Public {
                o["security"] = json!([]);
            }
            let responses = o["responses"]
                .as_object_mut()
                .unwrap_or_else(|| panic!("{} has no responses", op.id));
            for (status, name) in [("405", "MethodNotAllowed"), ("503", "Unavailable")] {
                responses
                    .entry(status)
                    .or_insert_with(|| json!({ "$ref": format!("#/components/responses/{name}") }));
            }
            sort_statuses(responses);
            item.insert(op.verb.lower().to_owned(), o);
        }
        paths.insert(path.to_owned(), Value::Object(item));
    }
    Value::Object(paths)
}

/// Answers in the order of their status.
fn sort_statuses(responses: &mut Map<String, Value>) {
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(sorted);
}

fn parameter_ref(p: Param) -> Value {
    json!({ "$ref": format!("#/components/parameters/{p:?}") })
}

/// Each parameter's name and place are the route table's.
fn name_parameters(params: &mut Value) {
    for p in Param::ALL {
        // Not every parameter is under the API (`code` of a login link).
        let Some(entry) = params.get_mut(format!("{p:?}")) else {
            continue;
        };
        entry["name"] = p.name().into();
        entry["in"] = p.location().as_str().into();
    }
}

/// The schemas that types stand for, beside the few written in
/// `openapi.json`.
fn add_schemas(schemas: &mut Value) {
    let schemas = schemas
        .as_object_mut()
        .expect("openapi.json has component schemas");
    let mut put = |name: String, schema: Value| {
        let clash = schemas.insert(name.clone(), schema);
        assert!(clash.is_none(), "schema {name} defined twice");
    };
    for (name, schema) in passerelle_events::schema::schemas() {
        put(
            name,
            serde_json::to_value(schema).expect("a schema serialises"),
        );
    }
    for (name, schema) in super::body::schemas() {
        put(name, schema);
    }
    // The projections' enums: the description is prose, the values are theirs.
    let values = [
        ("NeedStatus", NeedStatus::ALL.map(|v| v.as_str()).to_vec()),
        ("FindingKind", FindingKind::ALL.map(|v| v.as_str()).to_vec()),
        ("Severity", Severity::ALL.map(|v| v.as_str()).to_vec()),
    ];
    for (name, values) in values {
        let schema = schemas
            .get_mut(name)
            .unwrap_or_else(|| panic!("openapi.json does not describe {name}"));
        schema["type"] = "string".into();
        schema["enum"] = values.into();
    }
}
