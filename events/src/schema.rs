//! The JSON Schemas of the wire events, for the API's OpenAPI 3.1 document,
//! built from the types and the rules that parse them: every pattern, length
//! and range comes from the constant or the check next to its parser
//! ([`crate::values`], [`crate::event`], [`crate::personal`],
//! [`crate::envelope`]), never written twice.
//!
//! Each event's `data` schema is derived (`utoipa::ToSchema`) from its struct,
//! as sent. As answered, the same schema with its texts and dates as they were
//! recorded (`Stored…`: the rules of new input do not apply to them,
//! decision 011) and its personal fields opened: a value, or marked erased or
//! unreadable. [`schemas`] gives every component under the names the document
//! uses.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, ArrayItems, Discriminator,
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::envelope::{STORED_KEYS, WIRE_KEYS};
use crate::event::{
    About, Beneficiaries, Channel, Contact, Country, Event, Gender, Grammar, GrammaticalNumber,
    Level, MilestoneKind, Outcome, PartnershipKind, Priority, Role, StakeholderKind,
    COUNTRY_PATTERN, SCHEMA_VERSION,
};
use crate::personal::{
    erased_subject_pattern, key_id_regex, subject_pattern, ErasedSubject, KeyId,
};
use crate::values::{
    id_pattern, participant_code_regex, phone_pattern, text_patterns, theme_pattern, Day, Email,
    OccurredAt, ParticipantCode, Phone, ProgrammeId, Slug, Text, Theme, EMAIL_PATTERN,
    FROM_EARLIEST_PATTERN, MAX_EMAIL_LEN, MAX_LIST, MAX_PHONE_LEN, MAX_THEMES,
};

/// A component schema: its name and the schema.
pub type Component = (String, RefOr<Schema>);

const PREFIX: &str = "#/components/schemas/";

fn r(name: &str) -> RefOr<Schema> {
    Ref::from_schema_name(name).into()
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// A schema of any type (its other keywords constrain).
fn any() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::AnyValue)
}

/// The one value `value`.
fn constant(ty: Type, value: impl Into<serde_json::Value>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(ty)
        .enum_values(Some([value.into()]))
        .into()
}

fn nullable(schema: RefOr<Schema>) -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// The bounded texts: component name, length, what it holds. `Text<MAX>`
/// is named by the first entry of its length.
const TEXTS: [(&str, usize, &str); 5] = [
    ("Name", 200, "A name, title, label, territory or action."),
    ("Reason", 1000, "A purpose or reason."),
    ("LongText", 4000, "A description or note text."),
    ("Output", 500, "One output of a session."),
    ("ShortText", 200, "A short text (a gap-report finding id)."),
];

fn text(max: usize, what: &str, stored: bool) -> RefOr<Schema> {
    let (new, recorded) = text_patterns();
    let description = if stored {
        format!(
            "{what} As recorded: not blank; at most {max} characters once trimmed; no control \
             characters but line breaks and tabs. The rules of new texts (something visible, no \
             bidirectional control) apply when an event is recorded: an event recorded before \
             them may hold a text they refuse."
        )
    } else {
        format!(
            "{what} Not blank; at most {max} characters once trimmed; no control characters but \
             line breaks and tabs. Something must be visible once the invisible characters \
             (Unicode's default ignorable code points: zero-width space and joiners, soft hyphen, \
             byte order mark, variation selectors, Hangul fillers, …) are set aside, and no \
             bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069) is \
             allowed: it can make a text display as something else. The marks U+200E, U+200F \
             and U+061C are allowed."
        )
    };
    string(&description)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(if stored { recorded } else { new }))
        .into()
}

impl<const MAX: usize> PartialSchema for Text<MAX> {
    fn schema() -> RefOr<Schema> {
        let (_, _, what) = text_entry(MAX);
        text(MAX, what, false)
    }
}

impl<const MAX: usize> ToSchema for Text<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(text_entry(MAX).0)
    }
}

fn text_entry(max: usize) -> (&'static str, usize, &'static str) {
    *TEXTS
        .iter()
        .find(|(_, m, _)| *m == max)
        .unwrap_or_else(|| panic!("no component name for Text<{max}>"))
}

/// Implements `ToSchema` under `$name` with the schema `$schema`.
macro_rules! component {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

component!(
    Slug,
    "Id",
    string("An id (stakeholder, partnership, session, need, milestone, note): 1–64 characters of a-z, 0-9, `_` and `-`, starting with a letter or digit; unique within its programme and kind.")
        .pattern(Some(id_pattern()))
        .examples(["sj-ccas"])
        .into()
);
component!(
    ProgrammeId,
    "ProgrammeId",
    string("A programme id, e.g. `sjdlr`.")
        .pattern(Some(id_pattern()))
        .examples(["sjdlr"])
        .into()
);
component!(
    Theme,
    "Theme",
    string(&format!(
        "A theme slug. Reference vocabulary: {}; other slugs are allowed.",
        Theme::REFERENCE.join(", ")
    ))
    .pattern(Some(theme_pattern()))
    .into()
);
component!(
    Email,
    "Email",
    string(&format!(
        "An e-mail address (personal data), at most {MAX_EMAIL_LEN} characters."
    ))
    .max_length(Some(MAX_EMAIL_LEN))
    .pattern(Some(EMAIL_PATTERN))
    .into()
);
component!(
    Phone,
    "Phone",
    string(&format!(
        "A phone number (personal data): digits, spaces and `{}`, at least {} digits, at most {MAX_PHONE_LEN} characters.",
        crate::values::PHONE_PUNCTUATION.trim(),
        crate::values::MIN_PHONE_DIGITS
    ))
    .max_length(Some(MAX_PHONE_LEN))
    .pattern(Some(phone_pattern()))
    .into()
);
component!(
    ParticipantCode,
    "ParticipantCode",
    string("A pseudonymous participant code (personal data), never a name.")
        .pattern(Some(format!("^{}$", participant_code_regex())))
        .into()
);
component!(
    Country,
    "Country",
    string("An ISO 3166-1 alpha-2 country code, e.g. `FR`.")
        .pattern(Some(COUNTRY_PATTERN))
        .into()
);
component!(
    Day,
    "Date",
    string(&format!(
        "A calendar date, `YYYY-MM-DD`, on or after {}.",
        crate::values::EARLIEST
    ))
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
    .pattern(Some(FROM_EARLIEST_PATTERN))
    .into()
);
component!(
    OccurredAt,
    "DateOrDateTime",
    AllOfBuilder::new()
        .description(Some(format!(
            "A date (`2022-02-07`, read as midnight UTC) or an RFC 3339 time (`2022-02-07T10:00:00Z`), on or after {} in UTC: an earlier year is refused as a typing error.",
            crate::values::EARLIEST
        )))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(FROM_EARLIEST_PATTERN))
        )
        .item(
            AnyOfBuilder::new()
                .item(any().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
                .item(any().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        )
        .into()
);
component!(
    KeyId,
    "KeyId",
    string("The id of one person's data key: `k_` and 32 hex digits, drawn at random. It links the sealed fields of one person and tells nothing else.")
        .pattern(Some(format!("^{}$", key_id_regex())))
        .into()
);
component!(
    ErasedSubject,
    "ErasedSubject",
    string("Whose data an erasure destroyed: `contact:{programme}/{stakeholder}`, or `participant:{programme}/{key id}` — a participant is named by its destroyed key, never by its code.")
        .pattern(Some(erased_subject_pattern()))
        .into()
);
component!(About, "About", {
    let mut one_of = OneOfBuilder::new().description(Some(
            "What a review note is about: exactly one of a stakeholder, a need, a partnership or a gap-report finding (by its id).",
        ));
    for (key, schema) in [
        ("stakeholder", r("Id")),
        ("need", r("Id")),
        ("partnership", r("Id")),
        ("gap", r("ShortText")),
    ] {
        one_of = one_of.item(closed([key], [(key, schema)]));
    }
    one_of.into()
});

/// A closed object: `required` keys, `properties`, no other key.
fn closed<'a>(
    required: impl IntoIterator<Item = &'a str>,
    properties: impl IntoIterator<Item = (&'a str, RefOr<Schema>)>,
) -> ObjectBuilder {
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    for k in required {
        o = o.required(k);
    }
    for (k, v) in properties {
        o = o.property(k, v);
    }
    o
}

/// The themes of a stakeholder, partnership or session.
pub struct Themes;
component!(
    Themes,
    "Themes",
    ArrayBuilder::new()
        .items(r("Theme"))
        .max_items(Some(MAX_THEMES))
        .unique_items(true)
        .description(Some(format!("At most {MAX_THEMES} themes, each once.")))
        .into()
);

/// A list of ids (a session's stakeholders, facilitators, groups and
/// distrusted services; a partnership's or need's groups; a milestone's
/// stakeholders; a note's `distrusted_by`).
pub struct IdList;
component!(
    IdList,
    "IdList",
    ArrayBuilder::new()
        .items(r("Id"))
        .max_items(Some(MAX_LIST))
        .unique_items(true)
        .description(Some(format!("At most {MAX_LIST} ids, each once.")))
        .into()
);

/// The two stakeholders of a partnership.
pub struct Pair;
component!(
    Pair,
    "Pair",
    ArrayBuilder::new()
        .items(r("Id"))
        .min_items(Some(2))
        .max_items(Some(2))
        .unique_items(true)
        .description(Some("Two different stakeholder ids."))
        .into()
);

/// A count held in 32 bits (a session's beneficiaries).
pub struct Count32;
component!(
    Count32,
    "Count32",
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(u32::MIN))
        .maximum(Some(u32::MAX))
        .into()
);

/// The stakeholders who take a need on: at least one.
pub(crate) fn non_empty_ids() -> RefOr<Schema> {
    AllOfBuilder::new()
        .item(r(&IdList::name()))
        .item(ArrayBuilder::new().min_items(Some(1)))
        .into()
}

/// A session's outputs.
pub(crate) fn outputs() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(r(&crate::values::Output::name()))
        .max_items(Some(MAX_LIST))
        .unique_items(true)
        .into()
}

/// A personal field as answered (to admin and coordinator tokens only).
fn opened(value: RefOr<Schema>) -> RefOr<Schema> {
    OneOfBuilder::new()
        .description(Some(
            "Personal data: a value, or `{\"erased\": true}` once the person's data was erased \
             (its key destroyed), or `{\"unreadable\": true}` when no key this server holds \
             opens it.",
        ))
        .item(value)
        .item(r("ErasedValue"))
        .item(r("UnreadableValue"))
        .into()
}

/// The component a value is answered with: a text, date or note subject
/// as recorded, a personal value opened. `None`: the same as sent.
fn answered_ref(name: &str) -> Option<RefOr<Schema>> {
    if TEXTS.iter().any(|(n, _, _)| *n == name) || name == Day::name() || name == About::name() {
        return Some(r(&format!("Stored{name}")));
    }
    if name == Contact::name() {
        return Some(r("StakeholderContact"));
    }
    if name == ParticipantCode::name() {
        return Some(opened(r(name)));
    }
    None
}

fn ref_name(r: &Ref) -> &str {
    r.ref_location
        .strip_prefix(PREFIX)
        .unwrap_or(&r.ref_location)
}

/// Rewrites every reference of `schema` with `f`.
fn rewrite(schema: &mut RefOr<Schema>, f: &impl Fn(&str) -> Option<RefOr<Schema>>) {
    match schema {
        RefOr::Ref(reference) => {
            if let Some(new) = f(ref_name(reference)) {
                *schema = new;
            }
        }
        RefOr::T(Schema::Object(o)) => o.properties.values_mut().for_each(|p| rewrite(p, f)),
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                rewrite(items, f);
            }
        }
        RefOr::T(Schema::OneOf(o)) => o.items.iter_mut().for_each(|i| rewrite(i, f)),
        RefOr::T(Schema::AllOf(o)) => o.items.iter_mut().for_each(|i| rewrite(i, f)),
        RefOr::T(Schema::AnyOf(o)) => o.items.iter_mut().for_each(|i| rewrite(i, f)),
        RefOr::T(_) => {}
    }
}

fn answered(schema: &RefOr<Schema>) -> RefOr<Schema> {
    let mut out = schema.clone();
    rewrite(&mut out, &answered_ref);
    out
}

/// The first reference in `schema`.
fn first_ref(schema: &RefOr<Schema>) -> Option<String> {
    let found = std::cell::RefCell::new(None);
    let mut copy = schema.clone();
    rewrite(&mut copy, &|name| {
        found.borrow_mut().get_or_insert_with(|| name.to_owned());
        None
    });
    found.into_inner()
}

/// A contact as answered: each field (all personal) opened, as recorded.
fn stakeholder_contact() -> RefOr<Schema> {
    let RefOr::T(Schema::Object(sent)) = Contact::schema() else {
        panic!("a contact is an object");
    };
    let mut o = closed([], []).description(Some(
        "A stakeholder's contact details (personal data), opened: in a read, present only for admin and coordinator tokens; a field never given is left out.",
    ));
    for (key, field) in &sent.properties {
        let name = first_ref(field).expect("a contact field is a component");
        let value = answered_ref(&name).unwrap_or_else(|| r(&name));
        o = o.property(key, opened(value));
    }
    o.into()
}

/// "At least one of the optional fields": what an event that changes some
/// fields of something needs. The fields are the schema's optional ones.
fn at_least_one_optional(schema: RefOr<Schema>) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(o)) = &schema else {
        panic!("event data is an object");
    };
    let mut one = AnyOfBuilder::new();
    for key in o.properties.keys().filter(|k| !o.required.contains(k)) {
        one = one.item(any().required(key.as_str()));
    }
    AllOfBuilder::new()
        .description(o.description.clone())
        .item(schema.clone())
        .item(one)
        .into()
}

/// Event types whose `data` changes some fields and must change one.
const SOME_CHANGE: [&str; 2] = ["StakeholderProfileChanged", "PartnershipRevised"];

fn enum_schema<T: ToSchema>() -> Component {
    (T::name().into_owned(), T::schema())
}

/// A property of the sent envelope ([`WIRE_KEYS`]).
fn wire_property(key: &str, ty: &str, data: &str) -> (RefOr<Schema>, bool) {
    match key {
        "id" => (nullable(r("Uuid")), false),
        "type" => (constant(Type::String, ty), true),
        "programme" => (r(&ProgrammeId::name()), true),
        "occurred_at" => (r(&OccurredAt::name()), true),
        "data" => (r(data), true),
        "expected_version" => (
            nullable(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .into(),
            ),
            false,
        ),
        other => panic!("no schema for the envelope key {other}"),
    }
}

/// A property of the stored envelope, in the order it is written.
fn stored_property(key: &str, ty: &str, data: &str) -> RefOr<Schema> {
    let described = |name: &str, description: &str| -> RefOr<Schema> {
        AllOfBuilder::new()
            .item(r(name))
            .description(Some(description))
            .into()
    };
    match key {
        "position" => ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).description(Some("Global position: gap-free from 1, in commit order. In the envelope a mentor's append gets back, counted in the events a mentor can see (attendances and erasures left out), as every position told to mentors and viewers; for a token scoped to one programme, counted in that programme's events (the k-th event of the programme has position k), as every position told to it.")).into(),
        "stream" => string("`{programme}/{kind}/{id}`, e.g. `sjdlr/stakeholder/sj-ccas`; `{programme}/outreach/{from}/{to}` for contacts.").into(),
        "version" => ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).description(Some("Version within the stream, from 1.")).into(),
        "schema_version" => ObjectBuilder::new().schema_type(Type::Integer).enum_values(Some([SCHEMA_VERSION])).description(Some("Schema version of `data`.")).into(),
        "id" => r("Uuid"),
        "type" => constant(Type::String, ty),
        "programme" => r(&ProgrammeId::name()),
        "occurred_at" => described("DateTime", "When it happened in the world, RFC 3339 in UTC."),
        "data" => r(data),
        "recorded_at" => described("DateTime", "When the store recorded it (server clock), RFC 3339 in UTC with microseconds."),
        "recorded_by" => string("The authenticated actor who recorded it.").min_length(Some(1)).into(),
        other => panic!("no schema for the stored key {other}"),
    }
}

/// Every component of the event model, named as the document names them:
/// values, enums, each event type's `data` as sent (`{Type}Data`) and, where
/// it differs, as answered (`Stored{Type}Data`), the envelopes of each type
/// (`New{Type}`, `Stored{Type}`) and their unions (`NewEvent`, `StoredEvent`,
/// `AppendRequest`). References to `Uuid` are left to the document.
pub fn schemas() -> Vec<Component> {
    let mut out: Vec<Component> = vec![
        enum_schema::<Slug>(),
        enum_schema::<ProgrammeId>(),
        enum_schema::<Theme>(),
        enum_schema::<Themes>(),
        enum_schema::<IdList>(),
        enum_schema::<Pair>(),
    ];
    for (name, max, what) in TEXTS {
        out.push((name.to_owned(), text(max, what, false)));
        out.push((format!("Stored{name}"), text(max, what, true)));
    }
    out.extend([
        enum_schema::<Email>(),
        enum_schema::<Phone>(),
        enum_schema::<ParticipantCode>(),
        enum_schema::<Country>(),
        enum_schema::<Day>(),
        (
            format!("Stored{}", Day::name()),
            string("A calendar date, `YYYY-MM-DD`, as its event was recorded.")
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                .into(),
        ),
        (
            "DateTime".to_owned(),
            string("An RFC 3339 time.")
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .into(),
        ),
        enum_schema::<OccurredAt>(),
        (
            "EventType".to_owned(),
            string("The type of an event (PRODUCT.md §3, schema version 1).")
                .enum_values(Some(Event::TYPES.iter().copied()))
                .into(),
        ),
        enum_schema::<StakeholderKind>(),
        enum_schema::<Channel>(),
        enum_schema::<Outcome>(),
        enum_schema::<PartnershipKind>(),
        enum_schema::<Level>(),
        enum_schema::<MilestoneKind>(),
        enum_schema::<Priority>(),
        enum_schema::<Role>(),
        enum_schema::<Gender>(),
        enum_schema::<GrammaticalNumber>(),
        enum_schema::<Grammar>(),
        enum_schema::<Contact>(),
        ("StakeholderContact".to_owned(), stakeholder_contact()),
        (
            "ErasedValue".to_owned(),
            closed(["erased"], [("erased", constant(Type::Boolean, true))])
                .description(Some("A personal value whose person was erased: the key that sealed it is destroyed, and this store can never read it again. Never accepted in a request."))
                .into(),
        ),
        (
            "UnreadableValue".to_owned(),
            closed(["unreadable"], [("unreadable", constant(Type::Boolean, true))])
                .description(Some("A personal value that no key this server holds opens (e.g. copied from another store without its keys). Never accepted in a request."))
                .into(),
        ),
        enum_schema::<KeyId>(),
        (
            "SubjectId".to_owned(),
            string("A data subject: `contact:{programme}/{stakeholder}` (a stakeholder's contact person) or `participant:{programme}/{code}` (a participant, by its pseudonymous code — personal data).")
                .pattern(Some(subject_pattern()))
                .examples(["contact:sjdlr/sj-ccas"])
                .into(),
        ),
        enum_schema::<ErasedSubject>(),
        enum_schema::<Beneficiaries>(),
        enum_schema::<Count32>(),
        enum_schema::<About>(),
        (format!("Stored{}", About::name()), answered(&About::schema())),
    ]);

    // Each event type's data, sent and answered, and its envelopes.
    let mut new_one_of = OneOfBuilder::new();
    let mut stored_one_of = OneOfBuilder::new();
    let mut new_mapping = Discriminator::new("type");
    let mut stored_mapping = Discriminator::new("type");
    for (ty, data_name, mut sent) in Event::data_schemas() {
        if SOME_CHANGE.contains(&ty) {
            sent = at_least_one_optional(sent);
        }
        let recorded = answered(&sent);
        let stored_name = if recorded == sent {
            data_name.clone()
        } else {
            format!("Stored{data_name}")
        };
        out.push((data_name.clone(), sent));
        if stored_name != data_name {
            out.push((stored_name.clone(), recorded));
        }

        let mut new = closed([], []);
        for key in WIRE_KEYS {
            let (schema, required) = wire_property(key, ty, &data_name);
            new = new.property(key, schema);
            if required {
                new = new.required(key);
            }
        }
        let mut stored = closed([], []);
        for key in STORED_KEYS
            .iter()
            .take(4)
            .chain(&WIRE_KEYS[..5])
            .chain(&STORED_KEYS[4..])
        {
            stored = stored
                .property(*key, stored_property(key, ty, &stored_name))
                .required(*key);
        }
        let (new_name, stored_envelope) = (format!("New{ty}"), format!("Stored{ty}"));
        out.push((new_name.clone(), new.into()));
        out.push((stored_envelope.clone(), stored.into()));
        new_mapping
            .mapping
            .insert(ty.to_owned(), format!("{PREFIX}{new_name}"));
        stored_mapping
            .mapping
            .insert(ty.to_owned(), format!("{PREFIX}{stored_envelope}"));
        new_one_of = new_one_of.item(r(&new_name));
        stored_one_of = stored_one_of.item(r(&stored_envelope));
    }
    out.push((
        "NewEvent".to_owned(),
        new_one_of
            .schema_type(Type::Object)
            .discriminator(Some(new_mapping))
            .description(Some("An event as sent: `{id?, type, programme, occurred_at, data, expected_version?}`. `id` (a UUID) is assigned when absent; sending the same `id` again is an idempotent retry. `occurred_at` is when it happened in the world: on or after 1900-01-01 and at most one day after the server's clock when the event is recorded. If `expected_version` is set, the event's stream must be at exactly that version (0 for a new stream). Any other key, including the stored fields, is refused."))
            .into(),
    ));
    out.push((
        "StoredEvent".to_owned(),
        stored_one_of
            .schema_type(Type::Object)
            .discriminator(Some(stored_mapping))
            .description(Some("An event as the log holds it: the sent fields plus `position`, `stream`, `version`, `schema_version`, `recorded_at` and `recorded_by`."))
            .into(),
    ));
    out.push((
        "AppendRequest".to_owned(),
        OneOfBuilder::new()
            .item(r("NewEvent"))
            .item(
                ArrayBuilder::new()
                    .items(r("NewEvent"))
                    .min_items(Some(1))
                    .description(Some("A batch, appended atomically and in order.")),
            )
            .into(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;
    use crate::personal::Subject;
    use crate::values::{Name, EARLIEST};

    /// Every pattern of the document beside the parser it states.
    #[allow(clippy::type_complexity)]
    fn pairs() -> Vec<(&'static str, String, Box<dyn Fn(&str) -> bool>)> {
        let (new_text, stored_text) = text_patterns().clone();
        vec![
            ("id", id_pattern(), Box::new(|s| Slug::parse(s).is_ok())),
            (
                "theme",
                theme_pattern(),
                Box::new(|s| Theme::parse(s).is_ok()),
            ),
            (
                "participant code",
                format!("^{}$", participant_code_regex()),
                Box::new(|s| ParticipantCode::parse(s).is_ok()),
            ),
            (
                "email",
                EMAIL_PATTERN.to_owned(),
                Box::new(|s| Email::parse(s).is_ok()),
            ),
            (
                "phone",
                phone_pattern(),
                Box::new(|s| Phone::parse(s).is_ok()),
            ),
            (
                "country",
                COUNTRY_PATTERN.to_owned(),
                Box::new(|s| Country::parse(s).is_ok()),
            ),
            (
                "key id",
                format!("^{}$", key_id_regex()),
                Box::new(|s| KeyId::parse(s).is_ok()),
            ),
            (
                "subject",
                subject_pattern(),
                Box::new(|s| Subject::parse(s, None).is_ok()),
            ),
            (
                "erased subject",
                erased_subject_pattern(),
                Box::new(|s| ErasedSubject::parse(s).is_ok()),
            ),
            ("new text", new_text, Box::new(|s| Name::parse(s).is_ok())),
            (
                "stored text",
                stored_text,
                Box::new(|s| Name::parse_stored(s).is_ok()),
            ),
        ]
    }

    fn agree(sample: &str) {
        for (what, pattern, parses) in pairs() {
            let re = Regex::new(&pattern).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                re.is_match(sample),
                parses(sample),
                "{what}: the pattern {pattern:?} and the parser disagree on {sample:?}"
            );
        }
    }

    const SAMPLES: &[&str] = &[
        "",
        "a",
        "sj-ccas",
        "-x",
        "Upper",
        "a_b",
        "FR",
        "fr",
        "FRA",
        "name@example.org",
        " name@example.org ",
        "a@b",
        "a@@b.c",
        "a b@c.d",
        "+33 (0)1 23.45-67/89",
        "12",
        "1 2 3",
        "12a",
        "k_0123456789abcdef0123456789abcdef",
        "k_0123456789ABCDEF0123456789abcdef",
        "k_0123",
        "contact:sjdlr/sj-ccas",
        "participant:sjdlr/P-0042",
        "participant:sjdlr/k_0123456789abcdef0123456789abcdef",
        "contact:sjdlr/Upper",
        "person:sjdlr/x",
        "participant:0/d",
        "Two lines\nand a\ttab",
        "   ",
        "a\u{7}bell",
        "a C1 control \u{97}",
        "\u{7f}",
        "\u{200B}\u{FEFF}",
        " \u{00AD} \u{2060} ",
        "abc\u{202E}def",
        "x\u{2068}y",
        "\u{200F}بيت\u{200F}",
        "ትግራይ",
        "\u{E0001}x",
        "\u{1D173}",
    ];

    #[test]
    fn every_pattern_agrees_with_its_parser_on_the_samples() {
        for s in SAMPLES {
            agree(s);
        }
        agree(&"a".repeat(64));
        agree(&"a".repeat(65));
        agree("\u{b}x\u{c}");
        agree("x\u{b}y");
    }

    #[test]
    fn the_year_pattern_is_the_earliest_date() {
        let re = Regex::new(FROM_EARLIEST_PATTERN).unwrap();
        for year in (0..=9999).step_by(7).chain([1899, 1900, 1999, 2000, 9999]) {
            let date = format!("{year:04}-01-01");
            assert_eq!(
                re.is_match(&date),
                OccurredAt::parse(&date).is_ok(),
                "{date}"
            );
            let day = Day::parse(&date).unwrap();
            assert_eq!(re.is_match(&date), day.check_earliest().is_ok(), "{date}");
        }
        assert_eq!(EARLIEST.format("%m-%d").to_string(), "01-01");
    }

    proptest! {
        #[test]
        fn patterns_agree_with_parsers_on_random_strings(
            s in "[a-zA-Z0-9_\\-:/@. +()\t\n\u{0}-\u{1F}\u{7F}-\u{9F}\u{AD}\u{200B}-\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}\u{FEFF}é]{0,12}"
        ) {
            agree(&s);
        }
    }

    #[test]
    fn every_event_type_has_its_data_and_envelopes() {
        let names: Vec<String> = schemas().into_iter().map(|(n, _)| n).collect();
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "a component is defined twice");
        for ty in Event::TYPES {
            for name in [
                format!("{ty}Data"),
                format!("New{ty}"),
                format!("Stored{ty}"),
            ] {
                assert!(names.contains(&name), "no {name}");
            }
        }
        for name in ["StoredParticipantAttendedData", "StoredReviewNoteAddedData"] {
            assert!(names.contains(&name.to_owned()), "no {name}");
        }
        assert!(
            !names.contains(&"StoredNeedAddressedData".to_owned()),
            "a data with nothing recorded nor personal is answered as sent"
        );
    }
}
