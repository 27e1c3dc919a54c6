//! The route table: every path the server answers, with its methods and, for
//! each operation, the parameters it reads. Dispatch (`crate::server`), the
//! `Allow` header of a 405, the route label of logs and metrics, the query
//! parameters each operation accepts, the OpenAPI paths
//! (`crate::api::openapi`) and the pages' API paths (`/assets/routes.js`)
//! are all derived from [`ROUTES`]; no path is written anywhere else.

use std::fmt;
use std::sync::OnceLock;

use warp::http::{HeaderMap, Method};

/// Where the JSON API is mounted.
pub const API_BASE: &str = "/api/v1";

/// A route: one path template of [`ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST` appends events, `GET` pages through the log.
    Events,
    /// The log as Server-Sent Events.
    EventStream,
    /// The programmes a token sees.
    Programmes,
    /// A programme's stakeholders.
    Stakeholders,
    /// One stakeholder with its ties and contacts.
    Stakeholder,
    /// A programme's partnerships.
    Partnerships,
    /// A programme's co-creation sessions.
    Sessions,
    /// A programme's needs.
    Needs,
    /// A programme's milestones.
    Milestones,
    /// A programme's review notes.
    Notes,
    /// The network map.
    Network,
    /// The map's frame: positions and present ties, kept per month.
    Map,
    /// The gap report.
    Gaps,
    /// The evidence of one finding.
    GapEvidence,
    /// Participation.
    Participation,
    /// A before/after comparison.
    Diff,
    /// Liveness.
    Health,
    /// Prometheus metrics.
    Metrics,
    /// The OpenAPI document.
    OpenApi,
    /// Who is asking.
    Me,
    /// Erasure of a person's data.
    Erasures,
    /// Subject access.
    Subject,
    /// The tokens an admin manages.
    Tokens,
    /// Revocation of a token.
    Revocations,
    /// A web page (`Page` names it).
    Page(Page),
    /// An embedded asset.
    Asset,
    /// `GET /login?code=` (a login link) and `POST /login` (a pasted token).
    Login,
    /// `POST /logout`.
    Logout,
}

/// The web pages; each is served by one script, `/assets/{script}.js`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    /// The network map, `/`.
    Map,
    /// The gap report.
    Gaps,
    /// Participation.
    Participation,
    /// The recording forms.
    Record,
    /// The comparison of two programmes.
    Compare,
    /// The event log.
    Log,
}

impl Page {
    /// The page's script name (`/assets/{name}.js`).
    pub const fn script(self) -> &'static str {
        match self {
            Page::Map => "map",
            Page::Gaps => "gaps",
            Page::Participation => "participation",
            Page::Record => "record",
            Page::Compare => "compare",
            Page::Log => "log",
        }
    }
}

/// An HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET (and, for pages and assets, HEAD).
    Get,
    /// POST.
    Post,
}

impl Verb {
    /// As in a request line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }

    /// As in an OpenAPI path item.
    pub const fn lower(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a parameter is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// In the query string.
    Query,
    /// A path segment.
    Path,
    /// A request header.
    Header,
}

impl In {
    /// As in an OpenAPI parameter.
    pub const fn as_str(self) -> &'static str {
        match self {
            In::Query => "query",
            In::Path => "path",
            In::Header => "header",
        }
    }
}

/// A parameter an operation reads. One name may have several meanings
/// (`after` is a position in the log, an id in a list): each meaning is its
/// own parameter, described once (`crate::api::openapi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    /// `programme`: the programme a read is of.
    Programme,
    /// `programme`: only the log of this programme.
    ProgrammeFilter,
    /// `as_of`: a read as of a time.
    AsOf,
    /// `position`: a read as of a log position.
    Position,
    /// `min_position`: wait until reads reflect this position.
    MinPosition,
    /// `If-None-Match`.
    IfNoneMatch,
    /// `after`: a log position.
    After,
    /// `limit`: events in a page of the log.
    Limit,
    /// `limit`: items in a page of a list.
    PageLimit,
    /// `after`: an id of a list ordered by id.
    AfterId,
    /// `after`: the id of an item of a list in its own order.
    AfterListed,
    /// `after`: a finding's id.
    AfterFinding,
    /// `after`: an event id.
    AfterEvent,
    /// `ties_after`.
    TiesAfter,
    /// `contacts_after`.
    ContactsAfter,
    /// `finding`.
    FindingId,
    /// `kind`: only findings of this kind.
    FindingKindFilter,
    /// `severity`: only findings of this severity.
    SeverityFilter,
    /// `subject`: only findings about this stakeholder, need, partnership,
    /// session, sector or theme.
    FindingSubjectFilter,
    /// `type`: only events of this type.
    EventTypeFilter,
    /// `{id}`: a stakeholder.
    StakeholderId,
    /// `from`.
    From,
    /// `to`.
    To,
    /// `milestone`.
    Milestone,
    /// `{subject}`.
    Subject,
    /// `Last-Event-ID`.
    LastEventId,
    /// `code`: a one-time login code.
    LoginCode,
}

impl Param {
    /// Every parameter, for the document's `components/parameters`.
    pub const ALL: [Param; 27] = [
        Param::Programme,
        Param::ProgrammeFilter,
        Param::AsOf,
        Param::Position,
        Param::MinPosition,
        Param::IfNoneMatch,
        Param::After,
        Param::Limit,
        Param::PageLimit,
        Param::AfterId,
        Param::AfterListed,
        Param::AfterFinding,
        Param::AfterEvent,
        Param::TiesAfter,
        Param::ContactsAfter,
        Param::FindingId,
        Param::FindingKindFilter,
        Param::SeverityFilter,
        Param::FindingSubjectFilter,
        Param::EventTypeFilter,
        Param::StakeholderId,
        Param::From,
        Param::To,
        Param::Milestone,
        Param::Subject,
        Param::LastEventId,
        Param::LoginCode,
    ];

    /// Its name in the request.
    pub const fn name(self) -> &'static str {
        match self {
            Param::Programme | Param::ProgrammeFilter => "programme",
            Param::AsOf => "as_of",
            Param::Position => "position",
            Param::MinPosition => "min_position",
            Param::IfNoneMatch => "If-None-Match",
            Param::After
            | Param::AfterId
            | Param::AfterListed
            | Param::AfterFinding
            | Param::AfterEvent => "after",
            Param::Limit | Param::PageLimit => "limit",
            Param::TiesAfter => "ties_after",
            Param::ContactsAfter => "contacts_after",
            Param::FindingId => "finding",
            Param::FindingKindFilter => "kind",
            Param::SeverityFilter => "severity",
            Param::FindingSubjectFilter => "subject",
            Param::EventTypeFilter => "type",
            Param::StakeholderId => "id",
            Param::From => "from",
            Param::To => "to",
            Param::Milestone => "milestone",
            Param::Subject => "subject",
            Param::LastEventId => "Last-Event-ID",
            Param::LoginCode => "code",
        }
    }

    /// Where it is sent.
    pub const fn location(self) -> In {
        match self {
            Param::IfNoneMatch | Param::LastEventId => In::Header,
            Param::StakeholderId | Param::Subject => In::Path,
            _ => In::Query,
        }
    }
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: no credential is read.
    Public,
    /// A token or session; the handler checks the role.
    Token,
}

/// One operation: a method on a route.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    /// Its method.
    pub verb: Verb,
    /// The OpenAPI `operationId` (empty for pages, assets and sign-in).
    pub id: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The parameters it reads, in the order the document lists them.
    pub params: &'static [Param],
}

impl Op {
    /// The names of the query parameters it accepts; any other is refused.
    pub fn query(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.params
            .iter()
            .filter(|p| p.location() == In::Query)
            .map(|p| p.name())
    }
}

/// One path of the server.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The route.
    pub route: Route,
    /// The path template (`/api/v1/stakeholders/{id}`); `{…}` is one segment.
    pub template: &'static str,
    /// Whether the last `{…}` takes the rest of the path, any number of
    /// segments, so its handler can say what is wrong with it.
    pub rest: bool,
    /// Its operations, in the order `Allow` lists them.
    pub ops: &'static [Op],
}

impl Spec {
    /// The operation of `verb`, if the route has one.
    pub fn op(&self, verb: Verb) -> Option<&'static Op> {
        self.ops.iter().find(|o| o.verb == verb)
    }

    /// The `Allow` header of a 405 on this route.
    pub fn allow(&self) -> String {
        let verbs: Vec<&str> = self.ops.iter().map(|o| o.verb.as_str()).collect();
        verbs.join(", ")
    }

    /// Whether the route is under [`API_BASE`].
    pub fn is_api(&self) -> bool {
        self.template.starts_with(API_BASE)
    }

    /// The template relative to [`API_BASE`] (`/stakeholders/{id}`), for
    /// API routes.
    pub fn api_path(&self) -> Option<&'static str> {
        self.template.strip_prefix(API_BASE)
    }
}

const fn get(id: &'static str, params: &'static [Param]) -> Op {
    Op {
        verb: Verb::Get,
        id,
        access: Access::Token,
        params,
    }
}

const fn post(id: &'static str) -> Op {
    Op {
        verb: Verb::Post,
        id,
        access: Access::Token,
        params: &[],
    }
}

const fn public(op: Op) -> Op {
    Op {
        access: Access::Public,
        ..op
    }
}

const fn at(route: Route, template: &'static str, ops: &'static [Op]) -> Spec {
    Spec {
        route,
        template,
        rest: false,
        ops,
    }
}

use Param as P;

/// A read of one programme: its own parameters, then `programme`, `as_of`
/// or `position`, `min_position` and `If-None-Match`. Written out per route
/// because a `const` cannot concatenate slices.
macro_rules! read {
    ($id:literal $(, $p:ident)*) => {
        get($id, &[$(P::$p,)* P::Programme, P::AsOf, P::Position, P::MinPosition, P::IfNoneMatch])
    };
}

/// Every route, API first. Order matters only for readers.
pub const ROUTES: &[Spec] = &[
    at(
        Route::Events,
        "/api/v1/events",
        &[
            get(
                "listEvents",
                &[
                    P::After,
                    P::Limit,
                    P::EventTypeFilter,
                    P::ProgrammeFilter,
                    P::IfNoneMatch,
                ],
            ),
            post("appendEvents"),
        ],
    ),
    at(
        Route::EventStream,
        "/api/v1/events/stream",
        &[get("streamEvents", &[P::After, P::LastEventId])],
    ),
    at(
        Route::Programmes,
        "/api/v1/programmes",
        &[get(
            "listProgrammes",
            &[P::PageLimit, P::AfterId, P::MinPosition, P::IfNoneMatch],
        )],
    ),
    at(
        Route::Stakeholders,
        "/api/v1/stakeholders",
        &[read!("listStakeholders", PageLimit, AfterId)],
    ),
    at(
        Route::Stakeholder,
        "/api/v1/stakeholders/{id}",
        &[read!(
            "getStakeholder",
            StakeholderId,
            PageLimit,
            TiesAfter,
            ContactsAfter
        )],
    ),
    at(
        Route::Partnerships,
        "/api/v1/partnerships",
        &[read!("listPartnerships", PageLimit, AfterId)],
    ),
    at(
        Route::Sessions,
        "/api/v1/sessions",
        &[read!("listSessions", PageLimit, AfterId)],
    ),
    at(
        Route::Needs,
        "/api/v1/needs",
        &[read!("listNeeds", PageLimit, AfterId)],
    ),
    at(
        Route::Milestones,
        "/api/v1/milestones",
        &[read!("listMilestones", PageLimit, AfterListed)],
    ),
    at(
        Route::Notes,
        "/api/v1/notes",
        &[read!("listNotes", PageLimit, AfterListed)],
    ),
    at(Route::Network, "/api/v1/network", &[read!("getNetwork")]),
    at(
        Route::Map,
        "/api/v1/map",
        &[get(
            "getMap",
            &[P::Programme, P::AsOf, P::MinPosition, P::IfNoneMatch],
        )],
    ),
    at(
        Route::Gaps,
        "/api/v1/gaps",
        &[read!(
            "getGaps",
            PageLimit,
            AfterFinding,
            FindingKindFilter,
            SeverityFilter,
            FindingSubjectFilter
        )],
    ),
    at(
        Route::GapEvidence,
        "/api/v1/gaps/evidence",
        &[read!(
            "getFindingEvidence",
            FindingId,
            PageLimit,
            AfterEvent
        )],
    ),
    at(
        Route::Participation,
        "/api/v1/participation",
        &[read!("getParticipation")],
    ),
    at(
        Route::Diff,
        "/api/v1/diff",
        &[get(
            "getDiff",
            &[
                P::Programme,
                P::From,
                P::To,
                P::Milestone,
                P::MinPosition,
                P::IfNoneMatch,
            ],
        )],
    ),
    at(
        Route::Health,
        "/api/v1/healthz",
        &[public(get("getHealth", &[]))],
    ),
    at(Route::Metrics, "/api/v1/metrics", &[get("getMetrics", &[])]),
    at(
        Route::OpenApi,
        "/api/v1/openapi.json",
        &[public(get("getOpenApi", &[]))],
    ),
    at(Route::Me, "/api/v1/me", &[get("getMe", &[])]),
    at(Route::Erasures, "/api/v1/erasures", &[post("eraseSubject")]),
    at(Route::Tokens, "/api/v1/tokens", &[get("listTokens", &[])]),
    at(
        Route::Revocations,
        "/api/v1/revocations",
        &[post("revokeToken")],
    ),
    Spec {
        route: Route::Subject,
        template: "/api/v1/subjects/{subject}",
        rest: true,
        ops: &[get("getSubject", &[P::Subject])],
    },
    at(Route::Page(Page::Map), "/", &[public(get("", &[]))]),
    at(Route::Page(Page::Gaps), "/gaps", &[public(get("", &[]))]),
    at(
        Route::Page(Page::Participation),
        "/participation",
        &[public(get("", &[]))],
    ),
    at(
        Route::Page(Page::Record),
        "/record",
        &[public(get("", &[]))],
    ),
    at(
        Route::Page(Page::Compare),
        "/compare",
        &[public(get("", &[]))],
    ),
    at(Route::Page(Page::Log), "/log", &[public(get("", &[]))]),
    at(Route::Asset, "/assets/{file}", &[public(get("", &[]))]),
    at(
        Route::Login,
        "/login",
        &[public(get("", &[P::LoginCode])), public(post(""))],
    ),
    at(Route::Logout, "/logout", &[public(post(""))]),
];

impl Route {
    /// Its entry in [`ROUTES`].
    pub fn spec(self) -> &'static Spec {
        ROUTES
            .iter()
            .find(|s| s.route == self)
            .expect("every route is in ROUTES")
    }

    /// Its path template, the label of its requests in logs and metrics.
    pub fn template(self) -> &'static str {
        self.spec().template
    }
}

/// A request the table has routed to one operation.
#[derive(Debug)]
pub struct Routed<'a> {
    /// Its route.
    pub route: Route,
    /// Its operation.
    pub op: &'static Op,
    /// The method as sent (HEAD for a page's GET).
    pub method: &'a Method,
    /// The path as sent.
    pub path: &'a str,
    /// The `{…}` segments, in template order.
    pub params: Vec<&'a str>,
    /// The query string as sent.
    pub raw_query: &'a str,
    /// The headers.
    pub headers: &'a HeaderMap,
}

/// The route a path is on, with its `{…}` segments in template order (on a
/// [`Spec::rest`] route the last template segment takes every remaining
/// segment, none or several). Slashes at either end are ignored. `None`: no
/// route.
pub fn find(path: &str) -> Option<(&'static Spec, Vec<&str>)> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    ROUTES
        .iter()
        .zip(templates())
        .find_map(|(spec, template)| matches(spec, template, &segs).map(|params| (spec, params)))
}

/// The segments of every template of [`ROUTES`], in its order, split once.
fn templates() -> &'static [Vec<&'static str>] {
    static SPLIT: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();
    SPLIT.get_or_init(|| {
        ROUTES
            .iter()
            .map(|s| s.template.trim_matches('/').split('/').collect())
            .collect()
    })
}

/// Whether `segs` are on `spec` (whose template's segments are
/// `template`), and its `{…}` segments if so.
fn matches<'p>(spec: &Spec, template: &[&str], segs: &[&'p str]) -> Option<Vec<&'p str>> {
    let n = template.len();
    let fits = if spec.rest {
        segs.len() + 1 >= n
    } else {
        segs.len() == n
    };
    if !fits {
        return None;
    }
    let same = template
        .iter()
        .zip(segs)
        .all(|(t, seg)| t.starts_with('{') || t == seg);
    if !same {
        return None;
    }
    let mut params = Vec::new();
    for (i, t) in template.iter().enumerate() {
        if spec.rest && i + 1 == n {
            params.extend_from_slice(segs.get(i..).unwrap_or_default());
        } else if t.starts_with('{') {
            params.push(segs[i]);
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_table_once_and_templates_are_unique() {
        let mut templates: Vec<&str> = ROUTES.iter().map(|s| s.template).collect();
        templates.sort_unstable();
        templates.dedup();
        assert_eq!(templates.len(), ROUTES.len());
        for spec in ROUTES {
            assert_eq!(spec.route.spec().template, spec.template);
            assert!(!spec.ops.is_empty(), "{} has no operation", spec.template);
        }
    }

    #[test]
    fn paths_find_their_route_and_parameters() {
        let (spec, params) = find("/api/v1/stakeholders/sj-ccas").unwrap();
        assert_eq!(spec.route, Route::Stakeholder);
        assert_eq!(params, ["sj-ccas"]);
        assert_eq!(find("/api/v1/events/").unwrap().0.route, Route::Events);
        assert_eq!(find("/").unwrap().0.route, Route::Page(Page::Map));
        assert!(find("/api/v1/stakeholders/a/b").is_none());
        assert!(find("/api/v1/nothing").is_none());
        let (spec, params) = find("/api/v1/subjects/a/b").unwrap();
        assert_eq!(spec.route, Route::Subject);
        assert_eq!(params, ["a", "b"]);
        assert!(find("/api/v1/subjects").unwrap().1.is_empty());
    }

    #[test]
    fn allow_lists_the_methods_of_the_route() {
        assert_eq!(Route::Events.spec().allow(), "GET, POST");
        assert_eq!(Route::Logout.spec().allow(), "POST");
        assert_eq!(Route::Network.spec().allow(), "GET");
    }

    #[test]
    fn operation_ids_are_unique_and_parameter_names_unique_per_operation() {
        let mut ids: Vec<&str> = ROUTES
            .iter()
            .flat_map(|s| s.ops)
            .map(|o| o.id)
            .filter(|id| !id.is_empty())
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for op in ROUTES.iter().flat_map(|s| s.ops) {
            let mut names: Vec<(&str, &str)> = op
                .params
                .iter()
                .map(|p| (p.name(), p.location().as_str()))
                .collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{} reads a parameter twice", op.id);
        }
    }
}
