//! The JSON bodies the API answers, as types: each is serialised straight to
//! the response and derives its OpenAPI schema (utoipa), so the document
//! describes exactly what is sent. A field that refers to a shared component
//! (ids, dates, counts, the event envelopes of `passerelle-events`) takes its
//! schema from one of the functions below, a `$ref` with the field's own
//! description where it has one.
//!
//! A count that may be hidden from the caller is a
//! [`passerelle_projections::model::Count`], decided where the read model
//! is made from the caller's audience (`SuppressibleCount`).

use passerelle_events::event::{
    Channel, Level, MilestoneKind, Outcome, PartnershipKind, Priority, Role as ProgrammeRole,
};
use passerelle_projections::model::Count;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// Where a field's schema is written as JSON: the derive puts this `$ref`,
/// and [`schemas`] puts the field's schema ([`field_schema`]) in its place.
const FIELD: &str = "x-passerelle-field:";

/// `{"$ref": "#/components/schemas/{name}"}`.
fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Field schemas: `name => JSON` makes `fn name() -> RefOr<Schema>` (for
/// `schema_with`) and the arm of [`field_schema`] that gives the JSON.
macro_rules! fields {
    ($($name:ident => $json:expr;)*) => {
        $(fn $name() -> RefOr<Schema> {
            RefOr::Ref(utoipa::openapi::Ref::new(concat!("x-passerelle-field:", stringify!($name))))
        })*

        /// The schema of the field schema named `name`.
        fn field_schema(name: &str) -> Option<Value> {
            match name {
                $(stringify!($name) => Some($json),)*
                _ => None,
            }
        }
    };
}

/// A `$ref` to a shared component.
fn to(name: &str) -> Value {
    r(name)
}

/// A `$ref` with the field's description.
fn to_described(name: &str, description: &str) -> Value {
    json!({ "allOf": [r(name)], "description": description })
}

fn array_of(name: &str) -> Value {
    json!({ "type": "array", "items": r(name) })
}

fn nullable(v: Value) -> Value {
    json!({ "anyOf": [v, { "type": "null" }] })
}

fields! {
    id => to("Id");
    ids => array_of("Id");
    programme_id => to("ProgrammeId");
    date_time => to("DateTime");
    date_time_or_null => nullable(to("DateTime"));
    count => to("Count");
    position => to("Position");
    next_link => to("NextLink");
    as_of_read => to("AsOfRead");
    themes => array_of("Theme");
    theme => to("Theme");
    stakeholder_kind => to("StakeholderKind");
    partnership_kind => to("PartnershipKind");
    milestone_kind => to("MilestoneKind");
    need_status => to("NeedStatus");
    priority => nullable(to("Priority"));
    programme_role => nullable(to("ProgrammeRole"));
    country => nullable(to("Country"));
    channel => to("Channel");
    outcome => to("Outcome");
    best_outcome => nullable(to("Outcome"));
    level => to("Level");
    highest_level => nullable(to("Level"));
    metric => to("Metric");
    share => to("Share");
    suppressible => to("SuppressibleCount");
    string_or_null => json!({ "type": ["string", "null"] });
    pair => to("Pair");
    pairs => array_of("Pair");
    stored_date_or_null => nullable(to("StoredDate"));
    stored_about => to("StoredAbout");
    stakeholder_contact => to("StakeholderContact");
    tie_partnership_or_null => nullable(to("TiePartnership"));
    stored_events => array_of("StoredEvent");
    subject_id => to("SubjectId");
    erased_subject => to("ErasedSubject");
    stored_erasure => to("StoredPersonalDataErased");
    estimate => to("Estimate");
    strength => json!({ "type": "number", "minimum": 0 });
    edge_strength => to_described("Metric", "`base` decayed with the half-life since `last_interaction`.");
    edge_contacts => json!({ "allOf": [r("ContactSummary")], "required": ["last", "best_outcome"] });
    edge_evidence => json!({ "type": "array", "items": r("Uuid"), "description": "Ids of the events behind the tie." });
    tie_sessions => json!({ "type": "array", "items": r("Id"), "description": "Sessions both attended." });
    constraint => to_described("Metric", "Burt's constraint; `null` for an isolate.");
    effective_size => to_described("Metric", "Burt's effective size; `null` for an isolate.");
    measured_at => to_described("DateTime", "The time the network is measured at: `as_of`, or the programme's last event time when `as_of` is not given.");
    evidence_measured_at => to_described("DateTime", "The time the network is measured at, as in the gap report.");
    ei_by_kind => to_described("Metric", "Krackhardt's E-I index of the network by stakeholder kind, from -1 to 1; `null` without ties.");
    ei_per_kind => json!({
        "type": "object",
        "propertyNames": r("StakeholderKind"),
        "additionalProperties": r("Metric"),
        "description": "E-I index of each stakeholder kind.",
    });
    finding_id => json!({ "type": "string", "description": "Stable: depends only on the kind and subjects." });
    finding_kind => to("FindingKind");
    severity => to("Severity");
    subjects => json!({ "type": "array", "items": { "type": "string" }, "description": "Stakeholder, need, partnership or session ids, kinds or themes concerned." });
    finding_evidence => json!({ "type": "array", "items": r("Uuid"), "maxItems": 20, "description": "Ids of the events that show it: the first 20, by id." });
    evidence_more => to_described("Count", "How many other events show it.");
    merged_ids => json!({ "type": "array", "items": { "type": "string" }, "description": "Ids of the findings told in this one: the same problem seen by several rules (an isolated stakeholder whose only tie is dormant). Their evidence is in `evidence`, their review notes in `notes`." });
    finding_themes => json!({ "type": "array", "items": r("Theme"), "description": "The themes the finding is about." });
    finding_introduces => json!({ "type": "array", "items": r("Pair"), "description": "The pairs of stakeholders the suggestion proposes to bring together; never two that already share a present tie." });
    finding_notes => json!({ "type": "array", "items": r("Note"), "description": "Review notes about this finding (its id or a merged one), the need or partnership it names, or the stakeholder it is centred on, in log order." });
    practice_evidence => json!({ "type": "array", "items": r("Uuid"), "description": "Ids of the mentor programme's events that show it." });
    finding_practice => json!({ "type": "array", "items": r("Practice"), "description": "What a mentor programme's network does on the finding's theme or sector. Given only to readers of that programme too; empty otherwise." });
    evidence_next => to_described("NextLink", "The other events, at `/gaps/evidence`; `null` when there is none.");
    gap_counts => to_described("GapCounts", "How many findings the whole report holds, by severity and by kind: the report as this token may read it, before the `kind`, `severity` and `subject` filters and the paging, so that a page showing one group can show every group's size.");
    counts_total => to_described("Count", "Findings in all.");
    counts_by_kind => json!({ "type": "array", "items": r("KindCount"), "description": "The kinds that have findings, most important group first: in the order of each kind's first finding in the report." });
    kind_total => to_described("Count", "Findings of this kind.");
    severity_high => to_described("Count", "Findings of severity `high`.");
    severity_medium => to_described("Count", "Findings of severity `medium`.");
    severity_low => to_described("Count", "Findings of severity `low`.");
    evidence_finding => json!({ "type": "string", "description": "The finding's id." });
    evidence_ids => json!({ "type": "array", "items": r("Uuid"), "description": "Ids of events that show it, by id." });
    attended_session => to_described("SuppressibleCount", "Participants recorded as attending; always `null` for mentor and viewer tokens.");
    repeat_session => to_described("SuppressibleCount", "Of those, participants seen at an earlier session; always `null` for mentor and viewer tokens.");
    month => json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "description": "`YYYY-MM`." });
    withheld => to_described("Count", "Sessions left out of the month's sums: for mentor and viewer tokens, those whose counts are hidden (any count from 1 to 4); 0 otherwise.");
    participants => to_described("SuppressibleCount", "Distinct pseudonymous participants; `null` for mentor and viewer tokens.");
    repeat_participants => to_described("SuppressibleCount", "Participants who attended more than one session; `null` for mentor and viewer tokens.");
    diff_side => to_described("DateTime", "The time this side is as of: `from` or `to`.");
    diff_position => to_described("Position", "The log position when the diff was read; `from` and `to` say which positions each side reflects.");
    ties_added => json!({ "type": "array", "items": r("Pair"), "description": "Present ties gained." });
    ties_removed => json!({ "type": "array", "items": r("Pair"), "description": "Present ties lost." });
    findings_opened => json!({ "type": "array", "items": { "type": "string" }, "description": "Ids of findings that appeared." });
    findings_closed => json!({ "type": "array", "items": { "type": "string" }, "description": "Ids of findings that went away." });
    summary_stakeholders => to_described("Count", "Stakeholders in the directory.");
    summary_partnerships => to_described("Count", "Partnerships formed.");
    summary_sessions => to_described("Count", "Co-creation sessions held.");
    summary_events => to_described("Count", "Events in the programme's log (for mentor and viewer tokens, those they can see).");
    session_groups => json!({ "type": "array", "items": r("Id"), "description": "Beneficiary-group stakeholders." });
    contact_event => to_described("Uuid", "The id of the `OutreachContactLogged` event.");
    next_after => to_described("Count", "Pass as `after` for the next page.");
    erased_key => to_described("KeyId", "The data key that was destroyed.");
    live_key => to_described("KeyId", "The subject's live data key.");
    access_events => json!({
        "type": "array", "items": r("StoredEvent"),
        "description": "Every event holding the subject's data, oldest first, opened.",
    });
    me_name => json!({ "type": "string", "description": "The token's name (`recorded_by` of what it appends)." });
    me_role => json!({
        "type": "string",
        "enum": ["admin", "coordinator", "mentor", "viewer"],
        "description": "What the token may do: admin and coordinator write, mentor reads and adds review notes, viewer reads.",
    });
    me_programme => nullable(json!({ "type": "string", "description": "The one programme a scoped token sees and writes; null when it sees all." }));
    health_status => json!({ "const": "ok" });
    token_id => json!({ "type": "string", "pattern": "^tok_[0-9a-f]{12}$", "description": "The token's id: not secret, never the token itself." });
    token_created => to_described("DateTime", "When the token was created.");
    token_revoked => nullable(to_described("DateTime", "When the token was revoked; null while it is valid."));
    token_list => array_of("Token");
    outputs => json!({ "type": "array", "items": { "type": "string" } });
    attended_sessions => to_described("SuppressibleCount", "Participant attendances recorded; always `null` for mentor and viewer tokens.");
    layout_settled => json!({ "type": "boolean", "description": "Whether the positions are the settled layout of the programme's month-by-month chain (each month warm-started from the one before, kept by the server). `false` while the server is still computing the months before this time: the positions were laid out from the latest month computed, are not kept, and a later read may place nodes otherwise." });
    map_steps => json!({ "type": "array", "items": r("DateTime"), "description": "The time slider's steps: the end of every month from the programme's first event to its last, then its last event's time. Each step's frame is computed in the background and kept." });
    map_community => to_described("Count", "Community (Louvain on the present ties at this time), numbered as `/network` numbers them.");
    map_ties => json!({
        "type": "array",
        "items": {
            "type": "array",
            "prefixItems": [r("Count"), r("Count"), { "type": "number", "minimum": 0 }],
            "items": false,
            "minItems": 3,
        },
        "description": "Present ties, strongest first: `[a, b, strength]`, with `a` and `b` indexes into `nodes` (`a < b`) and the strength decayed to `as_of`, in single precision, written with the fewest digits that read back as it (about 7 significant digits; `/network` gives it in full).",
    });
}

// ---------------------------------------------------------------------------
// Directory
// ---------------------------------------------------------------------------

/// A page of one of a programme's directory lists (`GET /stakeholders`,
/// `/partnerships`, …): the position and time it reflects, its items, the
/// next page's link.
macro_rules! directory_list {
    ($name:ident, $field:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Serialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[schema(schema_with = position)]
            pub position: u64,
            #[schema(schema_with = programme_id)]
            pub programme: String,
            #[schema(schema_with = as_of_read, required = true)]
            pub as_of: Option<String>,
            pub $field: Vec<$item>,
            #[schema(schema_with = next_link, required = true)]
            pub next: Option<String>,
        }
    };
}

/// One programme the token may read.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeSummary {
    #[schema(schema_with = programme_id)]
    pub id: String,
    pub name: String,
    #[schema(schema_with = programme_role)]
    pub role: Option<ProgrammeRole>,
    #[schema(schema_with = country)]
    pub country: Option<String>,
    #[schema(schema_with = summary_stakeholders)]
    pub stakeholders: usize,
    #[schema(schema_with = summary_partnerships)]
    pub partnerships: usize,
    #[schema(schema_with = summary_sessions)]
    pub sessions: usize,
    #[schema(schema_with = summary_events)]
    pub events: u64,
}

/// `GET /programmes`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeList {
    #[schema(schema_with = position)]
    pub position: u64,
    pub programmes: Vec<ProgrammeSummary>,
    #[schema(schema_with = next_link, required = true)]
    pub next: Option<String>,
}

/// A stakeholder of the directory.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stakeholder {
    #[schema(schema_with = id)]
    pub id: String,
    pub name: String,
    #[schema(schema_with = stakeholder_kind)]
    pub kind: String,
    #[schema(schema_with = themes)]
    pub themes: Vec<String>,
    #[schema(schema_with = string_or_null)]
    pub territory: Option<String>,
    pub archived: bool,
    #[schema(schema_with = date_time)]
    pub registered_at: String,
    /// Present only for admin and coordinator tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = stakeholder_contact)]
    pub contact: Option<passerelle_events::event::Contact>,
}

directory_list!(
    StakeholderList,
    stakeholders,
    Stakeholder,
    "`GET /stakeholders`."
);

/// A partnership as a tie shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TiePartnership {
    #[schema(schema_with = id)]
    pub id: String,
    #[schema(schema_with = partnership_kind)]
    pub kind: PartnershipKind,
    #[schema(schema_with = themes)]
    pub themes: Vec<String>,
    #[schema(schema_with = date_time)]
    pub formed_at: String,
    #[schema(schema_with = date_time_or_null)]
    pub ended_at: Option<String>,
}

/// The partnership of the network's edge (no end: an ended partnership
/// ties no one).
#[derive(Serialize)]
pub struct EdgePartnership {
    pub id: String,
    pub kind: PartnershipKind,
    pub themes: Vec<String>,
    pub formed_at: String,
}

/// The outreach contacts of a tie: how many, how many positive (interested or committed), the last one and the best outcome.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactSummary {
    #[schema(schema_with = count)]
    pub count: usize,
    #[schema(schema_with = count)]
    pub positive: usize,
    #[schema(schema_with = date_time_or_null)]
    pub last: Option<String>,
    #[schema(schema_with = best_outcome)]
    pub best_outcome: Option<Outcome>,
}

/// Everything that ties the stakeholder to another one. `strength` decays with the half-life since `last_interaction`; `present` is false once it has decayed away or the partnership ended with nothing else left.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tie {
    #[schema(schema_with = id)]
    pub with: String,
    #[schema(schema_with = strength)]
    pub strength: f64,
    pub present: bool,
    #[schema(schema_with = tie_partnership_or_null)]
    pub partnership: Option<TiePartnership>,
    pub contacts: ContactSummary,
    #[schema(schema_with = tie_sessions)]
    pub sessions: Vec<String>,
    #[schema(schema_with = date_time)]
    pub last_interaction: String,
}

/// One outreach contact.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutreachContact {
    #[schema(schema_with = contact_event)]
    pub event: uuid::Uuid,
    #[schema(schema_with = id)]
    pub from: String,
    #[schema(schema_with = id)]
    pub to: String,
    #[schema(schema_with = channel)]
    pub channel: Channel,
    #[schema(schema_with = string_or_null)]
    pub purpose: Option<String>,
    #[schema(schema_with = outcome)]
    pub outcome: Outcome,
    #[schema(schema_with = date_time)]
    pub occurred_at: String,
    #[schema(schema_with = stored_date_or_null)]
    pub follow_up_due: Option<String>,
}

/// `GET /stakeholders/{id}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StakeholderDetail {
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = programme_id)]
    pub programme: String,
    #[schema(schema_with = as_of_read, required = true)]
    pub as_of: Option<String>,
    pub stakeholder: Stakeholder,
    pub ties: Vec<Tie>,
    #[schema(schema_with = next_link, required = true)]
    pub ties_next: Option<String>,
    pub contacts: Vec<OutreachContact>,
    #[schema(schema_with = next_link, required = true)]
    pub contacts_next: Option<String>,
}

/// A partnership.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Partnership {
    #[schema(schema_with = id)]
    pub id: String,
    #[schema(schema_with = pair)]
    pub between: [String; 2],
    #[schema(schema_with = partnership_kind)]
    pub kind: PartnershipKind,
    #[schema(schema_with = themes)]
    pub themes: Vec<String>,
    #[schema(schema_with = date_time)]
    pub formed_at: String,
    #[schema(schema_with = date_time_or_null)]
    pub ended_at: Option<String>,
}

directory_list!(
    PartnershipList,
    partnerships,
    Partnership,
    "`GET /partnerships`."
);

/// A session's beneficiary counts, each hidden where the caller may not see it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBeneficiaries {
    #[schema(schema_with = suppressible)]
    pub total: Count,
    #[schema(schema_with = suppressible)]
    pub women: Count,
    #[schema(schema_with = suppressible)]
    pub men: Count,
    #[schema(schema_with = suppressible)]
    pub undisclosed: Count,
    #[schema(schema_with = suppressible)]
    pub first_time: Count,
    #[schema(schema_with = suppressible)]
    pub returning: Count,
}

/// A co-creation session.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Session {
    #[schema(schema_with = id)]
    pub id: String,
    pub title: String,
    #[schema(schema_with = themes)]
    pub themes: Vec<String>,
    #[schema(schema_with = level)]
    pub level: Level,
    #[schema(schema_with = ids)]
    pub stakeholders: Vec<String>,
    #[schema(schema_with = ids)]
    pub facilitators: Vec<String>,
    #[schema(schema_with = session_groups)]
    pub groups: Vec<String>,
    pub beneficiaries: SessionBeneficiaries,
    /// Whether counts were hidden from this token.
    pub suppressed: bool,
    #[schema(schema_with = outputs)]
    pub outputs: Vec<String>,
    #[schema(schema_with = date_time)]
    pub occurred_at: String,
    #[schema(schema_with = attended_sessions)]
    pub attended: Count,
}

directory_list!(SessionList, sessions, Session, "`GET /sessions`.");

/// A need of a programme's action.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Need {
    #[schema(schema_with = id)]
    pub id: String,
    pub action: String,
    #[schema(schema_with = theme)]
    pub theme: String,
    #[schema(schema_with = string_or_null)]
    pub description: Option<String>,
    #[schema(schema_with = priority)]
    pub priority: Option<Priority>,
    #[schema(schema_with = need_status)]
    pub status: &'static str,
    #[schema(schema_with = ids)]
    pub addressed_by: Vec<String>,
    #[schema(schema_with = date_time)]
    pub declared_at: String,
}

directory_list!(NeedList, needs, Need, "`GET /needs`.");

/// A milestone.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    #[schema(schema_with = id)]
    pub id: String,
    pub label: String,
    #[schema(schema_with = milestone_kind)]
    pub kind: MilestoneKind,
    #[schema(schema_with = date_time)]
    pub occurred_at: String,
}

directory_list!(MilestoneList, milestones, Milestone, "`GET /milestones`.");

/// A note.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    #[schema(schema_with = id)]
    pub id: String,
    #[schema(schema_with = stored_about)]
    pub about: passerelle_events::event::About,
    pub text: String,
    pub recorded_by: String,
    #[schema(schema_with = date_time)]
    pub occurred_at: String,
}

directory_list!(NoteList, notes, Note, "`GET /notes`.");

// ---------------------------------------------------------------------------
// Analysis (built in src/render.rs)
// ---------------------------------------------------------------------------

/// A stakeholder of the network with its metrics and position.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkNode {
    #[schema(schema_with = id)]
    pub id: String,
    pub name: String,
    #[schema(schema_with = stakeholder_kind)]
    pub kind: String,
    #[schema(schema_with = themes)]
    pub themes: Vec<String>,
    #[schema(schema_with = string_or_null, required = true)]
    pub territory: Option<String>,
    #[schema(schema_with = count)]
    pub degree: usize,
    #[schema(schema_with = metric, required = true)]
    pub weighted_degree: Option<f64>,
    #[schema(schema_with = metric, required = true)]
    pub betweenness: Option<f64>,
    #[schema(schema_with = metric, required = true)]
    pub closeness: Option<f64>,
    #[schema(schema_with = metric, required = true)]
    pub eigenvector: Option<f64>,
    #[schema(schema_with = count)]
    pub core_number: usize,
    #[schema(schema_with = constraint, required = true)]
    pub constraint: Option<f64>,
    #[schema(schema_with = effective_size, required = true)]
    pub effective_size: Option<f64>,
    #[schema(schema_with = count)]
    pub community: usize,
    #[schema(schema_with = count)]
    pub component: usize,
    #[schema(schema_with = metric, required = true)]
    pub x: Option<f64>,
    #[schema(schema_with = metric, required = true)]
    pub y: Option<f64>,
}

/// A present tie of the network.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkEdge {
    #[schema(schema_with = id)]
    pub a: String,
    #[schema(schema_with = id)]
    pub b: String,
    #[schema(schema_with = edge_strength, required = true)]
    pub strength: Option<f64>,
    #[schema(schema_with = metric, required = true)]
    pub base: Option<f64>,
    #[schema(schema_with = count)]
    pub component: usize,
    #[schema(schema_with = tie_partnership_or_null, required = true)]
    pub partnership: Option<EdgePartnership>,
    #[schema(schema_with = edge_contacts)]
    pub contacts: ContactSummary,
    #[schema(schema_with = ids)]
    pub sessions: Vec<String>,
    #[schema(schema_with = date_time)]
    pub first_interaction: String,
    #[schema(schema_with = date_time)]
    pub last_interaction: String,
    #[schema(schema_with = edge_evidence)]
    pub evidence: Vec<uuid::Uuid>,
}

/// How a centrality was computed: `exact`, or sampled from `pivots` sources drawn with `seed`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimate {
    /// Exact.
    Exact,
    /// Sampled.
    Sampled {
        /// Sources drawn.
        pivots: usize,
        /// The seed they were drawn with.
        seed: u64,
    },
}

fn closed(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// Network-wide metrics.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkMetrics {
    #[schema(schema_with = count)]
    pub nodes: usize,
    #[schema(schema_with = count)]
    pub edges: usize,
    #[schema(schema_with = metric, required = true)]
    pub density: Option<f64>,
    #[schema(schema_with = count)]
    pub components: usize,
    #[schema(schema_with = count)]
    pub communities: usize,
    #[schema(schema_with = metric, required = true)]
    pub modularity: Option<f64>,
    #[schema(schema_with = ei_by_kind, required = true)]
    pub ei_by_kind: Option<f64>,
    #[schema(schema_with = ei_per_kind)]
    #[serde(serialize_with = "as_map")]
    pub ei_per_kind: Vec<(String, Option<f64>)>,
    #[schema(schema_with = ids)]
    pub articulation_points: Vec<String>,
    #[schema(schema_with = pairs)]
    pub bridges: Vec<[String; 2]>,
    #[schema(schema_with = estimate)]
    pub betweenness: Estimate,
    #[schema(schema_with = estimate)]
    pub closeness: Estimate,
}

/// Pairs as a JSON object, in their order.
fn as_map<S: serde::Serializer>(pairs: &[(String, Option<f64>)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

/// `GET /network`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[schema(schema_with = programme_id)]
    pub programme: String,
    #[schema(schema_with = measured_at)]
    pub as_of: String,
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = layout_settled)]
    pub settled: bool,
    pub nodes: Vec<NetworkNode>,
    pub edges: Vec<NetworkEdge>,
    pub metrics: NetworkMetrics,
}

/// A stakeholder on the map.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MapNode {
    #[schema(schema_with = id)]
    pub id: String,
    pub name: String,
    #[schema(schema_with = stakeholder_kind)]
    pub kind: String,
    #[schema(schema_with = map_community)]
    pub community: usize,
    #[schema(schema_with = metric, required = true)]
    pub x: Option<f64>,
    #[schema(schema_with = metric, required = true)]
    pub y: Option<f64>,
}

/// `GET /map`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MapFrame {
    #[schema(schema_with = programme_id)]
    pub programme: String,
    #[schema(schema_with = measured_at)]
    pub as_of: String,
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = layout_settled)]
    pub settled: bool,
    #[schema(schema_with = map_steps)]
    pub steps: Vec<String>,
    pub nodes: Vec<MapNode>,
    #[schema(schema_with = map_ties)]
    pub ties: Vec<(u32, u32, f64)>,
}

/// A text in English and French.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub en: String,
    pub fr: String,
}

/// A finding of the gap report.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    #[schema(schema_with = finding_id)]
    pub id: String,
    #[schema(schema_with = finding_kind)]
    pub kind: &'static str,
    #[schema(schema_with = severity)]
    pub severity: &'static str,
    #[schema(schema_with = subjects)]
    pub subjects: Vec<String>,
    pub explanation: Bilingual,
    #[schema(schema_with = finding_evidence)]
    pub evidence: Vec<uuid::Uuid>,
    #[schema(schema_with = evidence_more)]
    pub evidence_more: usize,
    #[schema(schema_with = evidence_next, required = true)]
    pub evidence_next: Option<String>,
    pub suggestion: Bilingual,
    #[schema(schema_with = merged_ids)]
    pub merged: Vec<String>,
    #[schema(schema_with = finding_themes)]
    pub themes: Vec<String>,
    #[schema(schema_with = finding_introduces)]
    pub introduces: Vec<[String; 2]>,
    #[schema(schema_with = finding_notes)]
    pub notes: Vec<Note>,
    #[schema(schema_with = finding_practice)]
    pub practice: Vec<Practice>,
}

/// What a mentor programme does on a finding's theme or sector.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Practice {
    #[schema(schema_with = programme_id)]
    pub programme: String,
    pub text: Bilingual,
    #[schema(schema_with = practice_evidence)]
    pub evidence: Vec<uuid::Uuid>,
}

/// How many findings there are of each severity.
#[derive(Serialize, ToSchema, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SeverityCounts {
    #[schema(schema_with = severity_high)]
    pub high: usize,
    #[schema(schema_with = severity_medium)]
    pub medium: usize,
    #[schema(schema_with = severity_low)]
    pub low: usize,
}

/// How many findings of one kind there are, in all and by severity.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindCount {
    #[schema(schema_with = finding_kind)]
    pub kind: &'static str,
    #[schema(schema_with = kind_total)]
    pub total: usize,
    pub by_severity: SeverityCounts,
}

/// The sizes of the gap report's groups.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GapCounts {
    #[schema(schema_with = counts_total)]
    pub total: usize,
    pub by_severity: SeverityCounts,
    #[schema(schema_with = counts_by_kind)]
    pub by_kind: Vec<KindCount>,
}

/// `GET /gaps`.
#[derive(Serialize, ToSchema)]
#[schema(as = GapReport)]
#[serde(deny_unknown_fields)]
pub struct GapPage {
    #[schema(schema_with = programme_id)]
    pub programme: String,
    #[schema(schema_with = measured_at)]
    pub as_of: String,
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = gap_counts)]
    pub counts: GapCounts,
    pub findings: Vec<Finding>,
    #[schema(schema_with = next_link, required = true)]
    pub next: Option<String>,
}

/// `GET /gaps/evidence`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidencePage {
    #[schema(schema_with = programme_id)]
    pub programme: String,
    #[schema(schema_with = evidence_measured_at)]
    pub as_of: String,
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = evidence_finding)]
    pub finding: String,
    #[schema(schema_with = evidence_ids)]
    pub evidence: Vec<String>,
    #[schema(schema_with = next_link, required = true)]
    pub next: Option<String>,
}

/// A session's participation, each count hidden where the caller may not see it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionParticipation {
    #[schema(schema_with = id)]
    pub session: String,
    pub title: String,
    #[schema(schema_with = date_time)]
    pub occurred_at: String,
    #[schema(schema_with = level)]
    pub level: Level,
    #[schema(schema_with = suppressible)]
    pub total: Count,
    #[schema(schema_with = suppressible)]
    pub women: Count,
    #[schema(schema_with = suppressible)]
    pub men: Count,
    #[schema(schema_with = suppressible)]
    pub undisclosed: Count,
    #[schema(schema_with = share, required = true)]
    pub women_share: Option<f64>,
    #[schema(schema_with = suppressible)]
    pub first_time: Count,
    #[schema(schema_with = suppressible)]
    pub returning: Count,
    #[schema(schema_with = ids)]
    pub groups: Vec<String>,
    #[schema(schema_with = attended_session)]
    pub attended: Count,
    #[schema(schema_with = repeat_session)]
    pub repeat: Count,
}

/// A month's participation: sums over the sessions whose counts the caller may see.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthParticipation {
    #[schema(schema_with = month)]
    pub month: String,
    #[schema(schema_with = count)]
    pub sessions: usize,
    #[schema(schema_with = withheld)]
    pub withheld: usize,
    #[schema(schema_with = suppressible)]
    pub total: u64,
    #[schema(schema_with = suppressible)]
    pub women: u64,
    #[schema(schema_with = share, required = true)]
    pub women_share: Option<f64>,
    #[schema(schema_with = suppressible)]
    pub first_time: u64,
    #[schema(schema_with = suppressible)]
    pub returning: u64,
    #[schema(schema_with = highest_level, required = true)]
    pub highest_level: Option<Level>,
}

/// One step of a trajectory.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrajectoryStep {
    #[schema(schema_with = date_time)]
    pub occurred_at: String,
    #[schema(schema_with = id)]
    pub session: String,
    #[schema(schema_with = level)]
    pub level: Level,
}

/// The IAP2 levels of the sessions a beneficiary group took part in, in time order.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trajectory {
    #[schema(schema_with = id)]
    pub group: String,
    pub steps: Vec<TrajectoryStep>,
}

/// `GET /participation`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Participation {
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = programme_id)]
    pub programme: String,
    #[schema(schema_with = as_of_read, required = true)]
    pub as_of: Option<String>,
    pub sessions: Vec<SessionParticipation>,
    pub months: Vec<MonthParticipation>,
    pub trajectories: Vec<Trajectory>,
    #[schema(schema_with = participants)]
    pub participants: Count,
    #[schema(schema_with = repeat_participants)]
    pub repeat_participants: Count,
}

/// One side of a diff.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffPoint {
    #[schema(schema_with = diff_side)]
    pub as_of: String,
    #[schema(schema_with = position)]
    pub position: u64,
}

/// `GET /diff`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Diff {
    #[schema(schema_with = programme_id)]
    pub programme: String,
    /// Always given by the API; the CLI's diff, read from a log rather than
    /// a server, leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = diff_position, required = true)]
    pub position: Option<u64>,
    pub from: DiffPoint,
    pub to: DiffPoint,
    #[schema(schema_with = ids)]
    pub stakeholders_added: Vec<String>,
    #[schema(schema_with = ids)]
    pub stakeholders_removed: Vec<String>,
    #[schema(schema_with = ties_added)]
    pub ties_added: Vec<(String, String)>,
    #[schema(schema_with = ties_removed)]
    pub ties_removed: Vec<(String, String)>,
    #[schema(schema_with = findings_opened)]
    pub findings_opened: Vec<String>,
    #[schema(schema_with = findings_closed)]
    pub findings_closed: Vec<String>,
}

// ---------------------------------------------------------------------------
// The token, health, the log, rights, problems
// ---------------------------------------------------------------------------

/// `GET /me`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Me {
    #[schema(schema_with = me_name)]
    pub name: String,
    #[schema(schema_with = me_role)]
    pub role: &'static str,
    #[schema(schema_with = me_programme, required = true)]
    pub programme: Option<String>,
}

/// A token as `GET /tokens` and `POST /revocations` answer it: never its
/// secret nor the secret's hash.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Token {
    #[schema(schema_with = token_id)]
    pub id: String,
    #[schema(schema_with = me_name)]
    pub name: String,
    #[schema(schema_with = me_role)]
    pub role: &'static str,
    #[schema(schema_with = me_programme, required = true)]
    pub programme: Option<String>,
    #[schema(schema_with = token_created)]
    pub created_at: String,
    #[schema(schema_with = token_revoked, required = true)]
    pub revoked_at: Option<String>,
}

/// `GET /tokens`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenList {
    #[schema(schema_with = token_list)]
    pub tokens: Vec<Token>,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    #[schema(schema_with = health_status)]
    pub status: &'static str,
}

/// `GET /events`: a page of stored events (envelopes of `passerelle-events`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventPage {
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = stored_events)]
    pub events: Vec<Value>,
    #[schema(schema_with = next_after)]
    pub next_after: u64,
}

/// `POST /events`: the stored envelope, or one per event of a batch.
#[derive(Serialize)]
#[serde(untagged)]
pub enum AppendResult {
    /// One event sent alone.
    One(Value),
    /// A batch.
    Batch(Vec<Value>),
}

/// `POST /erasures`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    #[schema(schema_with = erased_subject)]
    pub erased: String,
    #[schema(schema_with = erased_key)]
    pub key: String,
    #[schema(schema_with = stored_erasure)]
    pub event: Value,
}

/// `GET /subjects/{subject}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectAccess {
    #[schema(schema_with = subject_id)]
    pub subject: String,
    #[schema(schema_with = live_key)]
    pub key: String,
    #[schema(schema_with = position)]
    pub position: u64,
    #[schema(schema_with = access_events)]
    pub events: Vec<Value>,
}

/// The `Estimate` component.
fn estimate_schema() -> Value {
    json!({
        "description": "How a centrality was computed: `exact`, or sampled from `pivots` sources drawn with `seed`.",
        "oneOf": [
            { "const": "exact" },
            closed(&["sampled"], json!({
                "sampled": closed(&["pivots", "seed"], json!({
                    "pivots": r("Count"),
                    "seed": r("Count"),
                })),
            })),
        ],
    })
}

/// The `AppendResult` component.
fn append_result_schema() -> Value {
    json!({
        "oneOf": [
            r("StoredEvent"),
            { "type": "array", "items": r("StoredEvent"), "minItems": 1, "description": "One envelope per event of a batch, in order." },
        ],
    })
}

/// The `SuppressibleCount` component: the schema of a [`Count`].
fn suppressible_count() -> Value {
    json!({
        "type": ["integer", "null"], "minimum": 0,
        "description": "A count, or `null` when it is from 1 to 4 and the token (mentor or viewer) may not see groups smaller than 5.",
    })
}

/// `v` with every field placeholder replaced by the field's schema.
fn fill(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let field = o
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(FIELD))
                .map(str::to_owned);
            if let Some(name) = field {
                *v = field_schema(&name).expect("a field schema of this module");
            } else {
                o.values_mut().for_each(fill);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(fill),
        _ => {}
    }
}

/// Every response component this module generates, by name, as JSON.
pub fn schemas() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    macro_rules! collect {
        ($($t:ty),* $(,)?) => {
            $({
                let mut v = serde_json::to_value(<$t as utoipa::PartialSchema>::schema())
                    .expect("a schema serialises to JSON");
                fill(&mut v);
                out.push((<$t as ToSchema>::name().into_owned(), v));
            })*
        };
    }
    collect!(
        ProgrammeSummary,
        ProgrammeList,
        Stakeholder,
        StakeholderList,
        TiePartnership,
        ContactSummary,
        Tie,
        OutreachContact,
        StakeholderDetail,
        Partnership,
        PartnershipList,
        SessionBeneficiaries,
        Session,
        SessionList,
        Need,
        NeedList,
        Milestone,
        MilestoneList,
        Note,
        NoteList,
        NetworkNode,
        NetworkEdge,
        NetworkMetrics,
        Network,
        MapNode,
        MapFrame,
        Bilingual,
        Finding,
        Practice,
        SeverityCounts,
        KindCount,
        GapCounts,
        GapPage,
        EvidencePage,
        SessionParticipation,
        MonthParticipation,
        TrajectoryStep,
        Trajectory,
        Participation,
        DiffPoint,
        Diff,
        Me,
        Token,
        TokenList,
        Health,
        EventPage,
        Erasure,
        SubjectAccess,
        crate::http::problem::Document,
        crate::http::problem::ValidationDocument,
    );
    out.push(("AppendResult".to_owned(), append_result_schema()));
    out.push(("Estimate".to_owned(), estimate_schema()));
    out.push(("SuppressibleCount".to_owned(), suppressible_count()));
    out
}
