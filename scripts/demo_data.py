#!/usr/bin/env python3
"""Generate Passerelle's demo event log: ``events/demo/demo.jsonl``.

The demo tells the story of the IncluCities transfer workshop report
(``seeds/000_791f38ff69599b3a.txt``) as events (schema version 1, PRODUCT.md section 3):
Saint-Jean-de-la-Ruelle (``sjdlr``, mentee) builds the stakeholder network behind its
*Maison des Femmes* action plan while the City of Brussels and BAPA (``brussels``, mentor)
bring a mature network to compare with.

Standard library only. The output is deterministic: event ids are
``uuid5(NAMESPACE, f"{programme}:{n}")`` with a per-programme running counter, so running the
script twice yields byte-identical files.

Usage:
    python3 scripts/demo_data.py             # write events/demo/demo.jsonl, check it, print a summary
    python3 scripts/demo_data.py --check F   # only check an existing file against the rules

Stakeholders carry the French names the two cities really use, with the grammar a French
sentence needs to refer to them (``grammar``: gender, number, article).

Besides the validator's rules the script checks the story's special structures (the single
point of failure, the stalled outreach, the dormant tie, the suggested introduction and the
uncovered needs), the facts of the seed report the story keeps (the two deputy mayors, the
institutional links, the milestones naming their partners, the youth-only partnership, the
women's distrust of the CCAS, the femmes-relais' workload, the Schaerbeek offer, the needs
still open) and that every name is French, without a gloss, with the grammar its first word
calls for, so that a later edit cannot silently break what the tests rely on.
Any broken rule makes the script exit with status 1 and name the offending line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import uuid
from collections import Counter, defaultdict
from pathlib import Path

NAMESPACE = uuid.UUID("6f1d3c2a-9b8e-5d47-a1c0-7e2f4b5a9c31")
OUTPUT = Path(__file__).resolve().parent.parent / "events" / "demo" / "demo.jsonl"
ACTION = "Maison des Femmes"

# --------------------------------------------------------------------------------------------
# Schema (PRODUCT.md section 3)
# --------------------------------------------------------------------------------------------

KINDS = {
    "city_service", "integration_agency", "association", "community_champion",
    "beneficiary_group", "employer", "education", "health", "legal_aid", "childcare",
    "interpreting", "funder", "network_body", "consultant", "volunteer_group", "media",
    "political", "other",
}
CHANNELS = {"meeting", "phone", "email", "visit", "event", "letter", "message", "other"}
OUTCOMES = {"no_response", "acknowledged", "interested", "declined", "committed"}
POSITIVE_OUTCOMES = {"interested", "committed"}
PARTNERSHIP_KINDS = {
    "informal", "information_sharing", "referral", "co_delivery", "funding", "formal_agreement",
    "institutional",
}
LEVELS = ["inform", "consult", "involve", "collaborate", "empower"]
ROLES = {"mentor", "mentee", "peer"}
PRIORITIES = {"high", "medium", "low"}
MILESTONE_KINDS = {"mentoring_visit", "study_visit", "workshop", "decision", "funding", "other"}
GENDERS = {"masculine", "feminine"}
GRAMMATICAL_NUMBERS = {"singular", "plural"}
REFERENCE_THEMES = {
    "employment", "language", "housing", "social_support", "rights", "violence_against_women",
    "childcare", "interpreting", "digital_inclusion", "health", "education", "funding",
    "political_support", "precariousness", "community_outreach",
}

# type -> (required fields, optional fields), in wire order
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ProgrammeDefined": (("programme", "name"), ("role", "country")),
    "StakeholderRegistered": (
        ("stakeholder", "name", "kind"), ("themes", "territory", "contact", "grammar"),
    ),
    "StakeholderProfileChanged": (
        ("stakeholder",), ("name", "kind", "themes", "territory", "contact", "grammar"),
    ),
    "StakeholderArchived": (("stakeholder",), ("reason",)),
    "OutreachContactLogged": (("from", "to", "channel", "outcome"), ("purpose", "follow_up_due")),
    "PartnershipFormed": (("partnership", "between", "kind"), ("themes", "groups")),
    "PartnershipRevised": (("partnership",), ("kind", "themes", "groups")),
    "PartnershipEnded": (("partnership",), ("reason",)),
    "CoCreationSessionHeld": (
        ("session", "title", "level", "beneficiaries"),
        ("themes", "stakeholders", "facilitators", "groups", "outputs", "distrusted"),
    ),
    "ParticipantAttended": (("session", "participant"), ()),
    "NeedDeclared": (("need", "action", "theme"), ("description", "priority", "groups")),
    "NeedAddressed": (("need", "by"), ()),
    "NeedWithdrawn": (("need",), ("reason",)),
    "MilestoneMarked": (("milestone", "label", "kind"), ("stakeholders",)),
    "ReviewNoteAdded": (("note", "about", "text"), ("distrusted_by",)),
}
# The order in which data fields are written (required and optional interleaved as in §3).
WIRE_ORDER: dict[str, tuple[str, ...]] = {
    "ProgrammeDefined": ("programme", "name", "role", "country"),
    "StakeholderRegistered": (
        "stakeholder", "name", "kind", "themes", "territory", "contact", "grammar",
    ),
    "StakeholderProfileChanged": (
        "stakeholder", "name", "kind", "themes", "territory", "contact", "grammar",
    ),
    "StakeholderArchived": ("stakeholder", "reason"),
    "OutreachContactLogged": ("from", "to", "channel", "purpose", "outcome", "follow_up_due"),
    "PartnershipFormed": ("partnership", "between", "kind", "themes", "groups"),
    "PartnershipRevised": ("partnership", "kind", "themes", "groups"),
    "PartnershipEnded": ("partnership", "reason"),
    "CoCreationSessionHeld": (
        "session", "title", "themes", "level", "stakeholders", "facilitators", "groups",
        "beneficiaries", "outputs", "distrusted",
    ),
    "ParticipantAttended": ("session", "participant"),
    "NeedDeclared": ("need", "action", "theme", "description", "priority", "groups"),
    "NeedAddressed": ("need", "by"),
    "NeedWithdrawn": ("need", "reason"),
    "MilestoneMarked": ("milestone", "label", "kind", "stakeholders"),
    "ReviewNoteAdded": ("note", "about", "text", "distrusted_by"),
}
BENEFICIARY_FIELDS = ("total", "women", "men", "undisclosed", "first_time", "returning")
CONTACT_FIELDS = ("person", "email", "phone")
# A stakeholder name's grammar, as the store writes it: every key, in this order (absent keys on
# the wire default to masculine, singular, true).
GRAMMAR_FIELDS = ("gender", "number", "article")
ABOUT_KINDS = ("stakeholder", "need", "partnership", "gap")

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
THEME = re.compile(r"^[a-z0-9_]{1,40}$")
PARTICIPANT = re.compile(r"^[a-z]{2}-p[0-9]{3}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
EMAIL_RE = re.compile(r"^[a-z0-9._-]+@example\.(org|net|com)$")

LIMITS = {  # field -> max characters
    "name": 200, "title": 200, "label": 200, "territory": 200, "action": 200,
    "purpose": 1000, "reason": 1000, "description": 4000, "text": 4000,
    "person": 200, "email": 200, "phone": 50,
}
OUTPUT_LIMIT = 500
MAX_THEMES = 20
KEY_ORDER = ["id", "type", "programme", "occurred_at", "data"]


# --------------------------------------------------------------------------------------------
# Authoring helpers
# --------------------------------------------------------------------------------------------

class Codes:
    """Hands out pseudonymous participant codes (``sj-p001``...) in order of first attendance."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.next = 1

    def new(self, count: int) -> list[str]:
        out = [f"{self.prefix}-p{n:03d}" for n in range(self.next, self.next + count)]
        self.next += count
        return out


class Programme:
    """Collects one programme's events in the order they are recorded."""

    def __init__(self, programme: str) -> None:
        self.programme = programme
        self.events: list[tuple[str, str, dict]] = []  # (type, occurred_at, data)

    def _add(self, type_: str, when: str, data: dict) -> None:
        # Absent optionals and empty lists are left out, as in the store's canonical data.
        unknown = [k for k, v in data.items() if v not in (None, []) and k not in WIRE_ORDER[type_]]
        if unknown:
            raise SystemExit(f"authoring error: {type_} has no field {unknown} in the schema tables")
        ordered = {k: data[k] for k in WIRE_ORDER[type_] if data.get(k) not in (None, [])}
        self.events.append((type_, when, ordered))

    def defined(self, when, name, role, country):
        self._add("ProgrammeDefined", when, {
            "programme": self.programme, "name": name, "role": role, "country": country})

    def stakeholder(self, when, sid, name, kind, themes, territory, contact=None, grammar=None):
        self._add("StakeholderRegistered", when, {
            "stakeholder": sid, "name": name, "kind": kind, "themes": themes,
            "territory": territory, "contact": contact, "grammar": grammar})

    def profile(self, when, sid, **changes):
        self._add("StakeholderProfileChanged", when, {"stakeholder": sid, **changes})

    def archive(self, when, sid, reason):
        self._add("StakeholderArchived", when, {"stakeholder": sid, "reason": reason})

    def contact(self, when, frm, to, channel, purpose, outcome, follow_up=None):
        self._add("OutreachContactLogged", when, {
            "from": frm, "to": to, "channel": channel, "purpose": purpose,
            "outcome": outcome, "follow_up_due": follow_up})

    def partnership(self, when, pid, a, b, kind, themes, groups=None):
        self._add("PartnershipFormed", when, {
            "partnership": pid, "between": [a, b], "kind": kind, "themes": themes,
            "groups": groups})

    def revise(self, when, pid, kind=None, themes=None, groups=None):
        self._add("PartnershipRevised", when, {
            "partnership": pid, "kind": kind, "themes": themes, "groups": groups})

    def end(self, when, pid, reason):
        self._add("PartnershipEnded", when, {"partnership": pid, "reason": reason})

    def session(self, when, sid, title, themes, level, stakeholders, facilitators, groups,
                beneficiaries, outputs, attendees=None, distrusted=None):
        total, women, men, undisclosed, first_time, returning = beneficiaries
        self._add("CoCreationSessionHeld", when, {
            "session": sid, "title": title, "themes": themes, "level": level,
            "stakeholders": stakeholders, "facilitators": facilitators, "groups": groups,
            "beneficiaries": {
                "total": total, "women": women, "men": men, "undisclosed": undisclosed,
                "first_time": first_time, "returning": returning},
            "outputs": outputs, "distrusted": distrusted})
        for code in attendees or []:
            self._add("ParticipantAttended", when, {"session": sid, "participant": code})

    def need(self, when, nid, theme, description, priority, groups=None):
        self._add("NeedDeclared", when, {
            "need": nid, "action": ACTION, "theme": theme, "description": description,
            "priority": priority, "groups": groups})

    def addressed(self, when, nid, by):
        self._add("NeedAddressed", when, {"need": nid, "by": by})

    def withdrawn(self, when, nid, reason):
        self._add("NeedWithdrawn", when, {"need": nid, "reason": reason})

    def milestone(self, when, mid, label, kind, stakeholders=None):
        self._add("MilestoneMarked", when, {
            "milestone": mid, "label": label, "kind": kind, "stakeholders": stakeholders})

    def note(self, when, nid, about_kind, about_id, text, distrusted_by=None):
        self._add("ReviewNoteAdded", when, {
            "note": nid, "about": {about_kind: about_id}, "text": text,
            "distrusted_by": distrusted_by})


# --------------------------------------------------------------------------------------------
# Special structures the tests rely on (also printed in the summary)
# --------------------------------------------------------------------------------------------

SPECIAL = {
    "single_point_of_failure": {
        "stakeholder": "sj-champions",
        "groups": ["sj-women-salmoneries", "sj-women-chaises"],
    },
    "stalled_outreach": {"from": "sj-employment", "to": "sj-employers",
                         "overdue_follow_up_due": "2022-03-31"},
    "dormant_tie": {"partnership": "pt-ccas-housing", "between": ["sj-ccas", "sj-housing"],
                    "formed": "2021-02-09"},
    "suggested_introduction": {"pair": ["sj-french-assoc", "sj-french-school"],
                               "common_partner": "sj-ccas", "shared_theme": "language"},
    "uncovered_needs": {"need-nursery": "childcare", "need-interpreting": "interpreting"},
    "contacted_only_uncovered": ["sj-nursery", "sj-interpreting"],
    "partnership_revised": "pt-ccas-champions",
    "partnership_ended": "pt-comms-media",
    "need_withdrawn": "need-premises",
    "staff_only_session": "ses-staff-briefing",
    "archived_stakeholder": "sj-covid-aid",
    # A council and its own elected officials or services: structural links, not working ones.
    "institutional": ["pt-deputy-council", "pt-deputy2-council", "pt-ccas-deputy", "pt-ccas-maison-femmes"],
    "deputy_mayors": {"sj-deputy-mayor": "Adjoint au maire", "sj-deputy-mayor-2": "Adjointe au maire",
                      "council": "sj-council"},
    # Milestones naming the partners who made them happen (each pair holds a partnership).
    "milestones_naming": {"ms-maison-femmes-moves": ["sj-maison-femmes", "sj-social-centre"],
                          "ms-french-workshop-opens": ["sj-french-assoc", "sj-maison-femmes"]},
    "youth_partnership": {"partnership": "pt-employment-mission-locale", "groups": ["sj-young-migrants"]},
    "youth_sessions": {"group": "sj-young-migrants", "girls_of_total": [[3, 9], [5, 12]]},
    "distrust": {"service": "sj-ccas", "groups": ["sj-women-salmoneries"],
                 "note": "note-ccas-distrust", "session": "ses-listening-salmoneries"},
    "champion_workload": {"facilitator": "sj-champions", "sessions": 4, "of": 7},
    "offer_followed_up": {"from": "sj-schaerbeek-women", "to": "sj-ccas", "outcome": "interested"},
    "staff_training_need": {"need": "need-staff-training", "themes": ["rights", "education"],
                            "by": "sj-hr-training"},
    "open_needs": ["need-employment", "need-funding", "need-interpreting", "need-nursery"],
}

# How French refers to a name, told by its first word (lowercased). Every stakeholder's name must
# start with a word listed here, so that a new name cannot slip in with the wrong grammar.
FEMININE_HEADS = {
    "adjointe", "afccre", "association", "associations", "cocof", "crèche", "ddets", "familles",
    "femmes", "femmes-relais", "halte-garderie", "maison", "mission", "orléans", "permanence",
    "presse", "région", "ville",
}
MASCULINE_HEADS = {
    "accueil", "adjoint", "ateliers", "bailleur", "bapa", "bapa-via", "brulocalis", "ccre",
    "centre", "cidff", "club", "collectif", "conseil", "cpas", "département", "espace", "espaces",
    "fami", "greta", "institut", "jeunes", "lire", "migrationwork", "point-justice", "pôle", "relais",
    "service", "setis", "actiris", "travailleur",
}
PLURAL_HEADS = {"ateliers", "associations", "espaces", "familles", "femmes", "femmes-relais", "jeunes",
                "relais"}
NO_ARTICLE_HEADS = {"actiris", "brulocalis", "lire", "migrationwork", "orléans", "pôle"}
# English words that betray a gloss or an untranslated name.
ENGLISH_WORDS = {
    "and", "advice", "agency", "city", "community", "council", "for", "free", "migrant", "migrants",
    "neighbourhood", "of", "office", "the", "with", "women", "women's", "young",
}


# --------------------------------------------------------------------------------------------
# French grammar of the names (how a French sentence refers to each stakeholder)
# --------------------------------------------------------------------------------------------

def grammar(gender: str = "masculine", number: str = "singular", article: bool = True) -> dict | None:
    """The grammar object, or None (left out) when it is the default: masculine, singular, article."""
    if (gender, number, article) == ("masculine", "singular", True):
        return None
    return {"gender": gender, "number": number, "article": article}


FEM = grammar("feminine")  # la Maison des Femmes, la Mission locale
FEM_PL = grammar("feminine", "plural")  # les femmes-relais, les Femmes du quartier des Salmoneries
MASC_PL = grammar(number="plural")  # les Ateliers sociolinguistiques, les Jeunes ...
BARE = grammar(article=False)  # MigrationWork, Pôle emploi, Actiris
FEM_BARE = grammar("feminine", article=False)  # Orléans Métropole


# --------------------------------------------------------------------------------------------
# Saint-Jean-de-la-Ruelle (mentee)
# --------------------------------------------------------------------------------------------

def sjdlr() -> Programme:
    p = Programme("sjdlr")
    codes = Codes("sj")
    SJ = "Saint-Jean-de-la-Ruelle"
    SAL = "Quartier des Salmoneries, Saint-Jean-de-la-Ruelle"
    CHA = "Quartier des Chaises, Saint-Jean-de-la-Ruelle"
    OM = "Orléans Métropole"
    WOMEN = ["sj-women-salmoneries", "sj-women-chaises"]

    # ---- November 2020: the scheme starts -------------------------------------------------
    p.defined("2020-11-16", "Saint-Jean-de-la-Ruelle", "mentee", "FR")
    p.stakeholder("2020-11-16", "sj-ccas", "Centre communal d'action sociale (CCAS)",
                  "city_service", ["social_support", "precariousness", "housing", "rights"], SJ,
                  {"person": "Reception desk", "email": "ccas@example.org"})
    # The two deputy mayors who spoke at the transfer workshop (seed): their office, as the
    # report names it; no contact details.
    p.stakeholder("2020-11-16", "sj-deputy-mayor", "Adjoint au maire Fabien Riviere da Silva",
                  "political", ["political_support", "social_support"], SJ)
    p.stakeholder("2020-11-16", "sj-deputy-mayor-2", "Adjointe au maire Olivia Bellizio",
                  "political", ["political_support", "rights"], SJ, grammar=FEM)
    p.stakeholder("2020-11-16", "sj-council", "Conseil municipal de Saint-Jean-de-la-Ruelle",
                  "political", ["political_support"], SJ)
    p.stakeholder("2020-11-16", "sj-afccre",
                  "AFCCRE (Association française du Conseil des communes et régions d'Europe)",
                  "network_body", ["political_support", "funding", "mentoring"], "France",
                  {"person": "Programme officer", "email": "inclucities@example.org"}, grammar=FEM)
    p.stakeholder("2020-11-16", "sj-ccre", "CCRE (Conseil des communes et régions d'Europe)",
                  "network_body", ["political_support", "funding", "mentoring"], "Europe")
    p.stakeholder("2020-11-16", "sj-migrationwork", "MigrationWork",
                  "consultant", ["mentoring", "community_outreach", "employment"], "Europe", grammar=BARE)
    p.milestone("2020-11-16", "ms-kickoff",
                "IncluCities mentoring scheme starts: Saint-Jean-de-la-Ruelle paired with the City of Brussels",
                "other", ["sj-afccre", "sj-ccre"])
    p.partnership("2020-11-20", "pt-afccre-deputy", "sj-afccre", "sj-deputy-mayor", "formal_agreement",
                  ["political_support", "mentoring"])
    p.partnership("2020-11-20", "pt-afccre-ccre", "sj-afccre", "sj-ccre", "formal_agreement",
                  ["funding", "mentoring"])
    # The council and its own elected officials: a structural link, not a working partnership.
    p.partnership("2020-11-25", "pt-deputy-council", "sj-deputy-mayor", "sj-council", "institutional",
                  ["political_support"])
    p.partnership("2020-11-25", "pt-deputy2-council", "sj-deputy-mayor-2", "sj-council", "institutional",
                  ["political_support"])

    # ---- December 2020: the city's own services ------------------------------------------
    # The CCAS is the city's own public body, its board chaired for the mayor by a deputy.
    p.partnership("2020-12-01", "pt-ccas-deputy", "sj-ccas", "sj-deputy-mayor", "institutional",
                  ["social_support", "political_support"])
    p.stakeholder("2020-12-03", "sj-employment", "Service emploi de la Ville",
                  "city_service", ["employment", "education"], SJ)
    p.stakeholder("2020-12-03", "sj-education", "Service éducation de la Ville", "city_service",
                  ["education", "language"], SJ)
    p.stakeholder("2020-12-03", "sj-early-childhood", "Service petite enfance de la Ville",
                  "city_service", ["early_childhood", "parenting", "education"], SJ)
    p.stakeholder("2020-12-03", "sj-communications", "Service communication de la Ville", "city_service",
                  ["community_outreach"], SJ)
    p.stakeholder("2020-12-03", "sj-hr-training", "Service des ressources humaines (formation des agents)",
                  "city_service", ["education", "rights"], SJ)
    p.partnership("2020-12-10", "pt-afccre-migrationwork", "sj-afccre", "sj-migrationwork", "co_delivery",
                  ["mentoring", "community_outreach"])

    # ---- January 2021: mapping the local landscape ----------------------------------------
    for sid, name, kind, themes, terr, gram in [
        ("sj-social-centre", "Centre social des Chaises", "association",
         ["social_support", "community_outreach", "education"], CHA, None),
        ("sj-french-assoc", "Ateliers sociolinguistiques (ASL)", "association",
         ["language", "social_support"], CHA, MASC_PL),
        ("sj-vaw-assoc", "Association d'aide aux femmes victimes de violences", "association",
         ["violence_against_women", "rights", "social_support"], OM, FEM),
        ("sj-womens-rights", "CIDFF du Loiret (Centre d'information sur les droits des femmes et des familles)",
         "association", ["rights", "violence_against_women", "employment"], "Loiret", None),
        ("sj-legal-aid", "Point-justice", "legal_aid", ["rights"], SJ, None),
        ("sj-health-centre", "Maison de santé pluriprofessionnelle", "health", ["health"], SJ, FEM),
        ("sj-housing", "Bailleur social des quartiers prioritaires", "other",
         ["housing", "precariousness"], OM, None),
        ("sj-covid-aid", "Collectif d'aide alimentaire des Salmoneries", "association",
         ["precariousness", "social_support"], SAL, None),
        ("sj-departement", "Département du Loiret", "funder",
         ["social_support", "precariousness", "funding"], "Loiret", None),
        ("sj-prefecture", "DDETS du Loiret (services de l'État)", "funder",
         ["funding", "language", "employment"], "Loiret", FEM),
        ("sj-metropole", "Orléans Métropole", "city_service",
         ["housing", "employment", "funding"], OM, FEM_BARE),
        ("sj-media", "Presse locale et radio associative", "media", ["community_outreach"], OM, FEM),
        ("sj-mission-locale", "Mission locale", "association", ["employment", "education"], OM, FEM),
        ("sj-pole-emploi", "Pôle emploi", "other", ["employment"], OM, BARE),
        ("sj-employers", "Club d'entreprises de l'ouest orléanais", "employer", ["employment"], OM, None),
        ("sj-women-salmoneries", "Femmes du quartier des Salmoneries", "beneficiary_group",
         ["social_support", "language", "employment"], SAL, FEM_PL),
        ("sj-women-chaises", "Femmes du quartier des Chaises", "beneficiary_group",
         ["social_support", "language", "rights"], CHA, FEM_PL),
        ("sj-young-migrants", "Jeunes des quartiers prioritaires (16-25 ans)", "beneficiary_group",
         ["employment", "education", "digital_inclusion"], SJ, MASC_PL),
    ]:
        p.stakeholder("2021-01-08", sid, name, kind, themes, terr, grammar=gram)
    p.partnership("2021-01-12", "pt-migrationwork-ccas", "sj-migrationwork", "sj-ccas", "co_delivery",
                  ["mentoring", "social_support"])
    p.partnership("2021-01-14", "pt-ccas-social-centre", "sj-ccas", "sj-social-centre", "formal_agreement",
                  ["social_support", "community_outreach"])
    p.contact("2021-01-18", "sj-ccas", "sj-housing", "meeting",
              "Understand the housing situation of migrant households in the priority neighbourhoods; agree to share data on overcrowding and arrears.",
              "committed")
    p.contact("2021-01-20", "sj-ccas", "sj-french-assoc", "meeting",
              "Present IncluCities and ask how many women attend the French workshops and what keeps others away.",
              "interested", "2021-02-15")
    p.contact("2021-01-25", "sj-deputy-mayor", "sj-departement", "letter",
              "Inform the Département of the mentoring scheme and ask for its social-action data on the two priority neighbourhoods.",
              "acknowledged")
    p.contact("2021-01-27", "sj-ccas", "sj-vaw-assoc", "phone",
              "First call: does the association see migrant women in its helpline, and would it join the needs assessment?",
              "interested", "2021-03-01")
    p.contact("2021-02-01", "sj-employment", "sj-employers", "email",
              "Invite the employers' club to share its members' recruitment needs and experience of hiring migrant women.",
              "no_response", "2021-02-22")
    p.contact("2021-02-03", "sj-employment", "sj-mission-locale", "meeting",
              "Agree on referrals of young migrants to the Mission locale's youth guarantee (garantie jeunes).",
              "committed")
    p.contact("2021-02-05", "sj-ccas", "sj-womens-rights", "email",
              "Ask the CIDFF whether it runs rights-information sessions in the priority neighbourhoods.",
              "acknowledged", "2021-03-15")
    p.partnership("2021-02-09", "pt-ccas-housing", "sj-ccas", "sj-housing", "information_sharing",
                  ["housing", "precariousness"])
    p.contact("2021-02-10", "sj-communications", "sj-media", "phone",
              "Propose a monthly community-radio slot on access to city services.",
              "interested", "2021-03-01")
    p.contact("2021-02-12", "sj-ccas", "sj-health-centre", "meeting",
              "Ask the health centre which barriers migrant women meet (language, appointments, childcare).",
              "acknowledged")
    p.contact("2021-02-15", "sj-ccas", "sj-french-assoc", "meeting",
              "Agree a referral route from the CCAS to the French workshops.", "committed")
    # The Mission locale works with young people only: the partnership is limited to them.
    p.partnership("2021-02-16", "pt-employment-mission-locale", "sj-employment", "sj-mission-locale",
                  "referral", ["employment", "education"], groups=["sj-young-migrants"])
    p.contact("2021-02-18", "sj-ccas", "sj-covid-aid", "phone",
              "Ask the food-aid collective which families it reaches that the CCAS does not.",
              "interested")
    p.contact("2021-02-24", "sj-employment", "sj-employers", "phone",
              "Follow up the February email; ask for a contact person for the needs assessment.",
              "acknowledged", "2021-03-31")
    p.milestone("2021-02-26", "ms-desk-analysis",
                "Desk-based needs analysis of migrant residents completed (no ethnic data; disparities for migrant women and girls in employment)",
                "other", ["sj-migrationwork", "sj-ccas"])
    p.partnership("2021-03-01", "pt-ccas-french-assoc", "sj-ccas", "sj-french-assoc", "referral",
                  ["language", "social_support"])
    p.contact("2021-03-01", "sj-ccas", "sj-vaw-assoc", "meeting",
              "Agree on referrals of migrant women disclosing violence and on joint case reviews.", "committed")
    p.contact("2021-03-03", "sj-deputy-mayor", "sj-metropole", "letter",
              "Ask Orléans Métropole to co-fund a women's project under the urban policy contract (contrat de ville).",
              "declined")
    p.contact("2021-03-05", "sj-ccas", "sj-pole-emploi", "email",
              "Ask for anonymised figures on jobseeking women from the priority neighbourhoods.",
              "acknowledged")
    p.partnership("2021-03-08", "pt-comms-media", "sj-communications", "sj-media", "information_sharing",
                  ["community_outreach"])
    p.session("2021-03-10", "ses-staff-briefing",
              "Staff briefing: migrant residents' needs and access to city services",
              ["social_support", "rights", "education"], "inform",
              ["sj-ccas", "sj-employment", "sj-education", "sj-early-childhood", "sj-communications",
               "sj-hr-training"],
              ["sj-migrationwork"], [], (0, 0, 0, 0, 0, 0),
              ["Staff are not always informed about migrants' specific needs; a training need is recorded.",
               "Findings of the desk-based needs analysis presented to six city services."])
    p.partnership("2021-03-15", "pt-ccas-vaw-assoc", "sj-ccas", "sj-vaw-assoc", "referral",
                  ["violence_against_women", "rights"])
    p.contact("2021-03-17", "sj-ccas", "sj-early-childhood", "meeting",
              "Ask whether municipal crèches could hold places for mothers attending courses or appointments.",
              "declined")
    p.stakeholder("2021-03-22", "sj-nursery", "Crèche associative des Salmoneries",
                  "childcare", ["childcare"], SAL, grammar=FEM)
    p.contact("2021-03-22", "sj-ccas", "sj-nursery", "visit",
              "Visit the parent-run crèche: could it offer occasional places (halte-garderie) for women attending French lessons?",
              "declined")
    p.contact("2021-03-24", "sj-ccas", "sj-social-centre", "meeting",
              "Plan listening sessions with migrant women in both priority neighbourhoods.", "committed")
    p.stakeholder("2021-03-29", "sj-champions", "Femmes-relais",
                  "community_champion", ["community_outreach", "social_support"], SJ, grammar=FEM_PL)
    p.contact("2021-03-29", "sj-social-centre", "sj-champions", "meeting",
              "Introduce the IncluCities project to women who are well known in their communities.",
              "interested")
    p.contact("2021-04-06", "sj-ccas", "sj-champions", "meeting",
              "Ask the femmes-relais to host listening sessions with migrant women in the Salmoneries and Les Chaises.",
              "committed")
    p.partnership("2021-04-08", "pt-ccas-champions", "sj-ccas", "sj-champions", "referral",
                  ["community_outreach", "social_support"])
    p.partnership("2021-04-08", "pt-champions-salmoneries", "sj-champions", "sj-women-salmoneries",
                  "informal", ["community_outreach"])
    p.partnership("2021-04-08", "pt-champions-chaises", "sj-champions", "sj-women-chaises",
                  "informal", ["community_outreach"])
    p.contact("2021-04-12", "sj-employment", "sj-employers", "letter",
              "Formal letter from the city inviting the employers' club to the mentoring visit.",
              "no_response", "2021-05-10")
    p.milestone("2021-04-14", "ms-benchmark", "Benchmark of practices prepared by MigrationWork", "other",
                ["sj-migrationwork"])
    p.stakeholder("2021-04-15", "sj-interpreting", "Service d'interprétariat en milieu social",
                  "interpreting", ["interpreting"], "Centre-Val de Loire")
    p.contact("2021-04-15", "sj-ccas", "sj-interpreting", "email",
              "Ask for rates and availability of interpreters in the languages most spoken in the priority neighbourhoods.",
              "no_response", "2021-04-26")
    p.contact("2021-04-20", "sj-ccas", "sj-legal-aid", "meeting",
              "Could the Point-justice hold a monthly session on residence rights?", "interested")
    s2 = codes.new(11)
    p.session("2021-04-22", "ses-listening-salmoneries",
              "Listening session with migrant women, quartier des Salmoneries",
              ["social_support", "language", "employment", "childcare"], "consult",
              [], ["sj-champions"], ["sj-women-salmoneries"], (11, 11, 0, 0, 11, 0),
              ["Women ask for French lessons close to home, with somewhere to leave young children.",
               "Several women do not know which city service to go to; the CCAS is seen as 'only for money'."],
              s2, distrusted=["sj-ccas"])
    p.note("2021-04-23", "note-ccas-distrust", "stakeholder", "sj-ccas",
           "The women of the Salmoneries see the CCAS as 'only for money' (allowances) and would not go there "
           "for advice or French lessons. The Maison des Femmes must not look like a CCAS counter: meet the "
           "women where the femmes-relais already do.",
           distrusted_by=["sj-women-salmoneries"])
    p.contact("2021-04-26", "sj-ccas", "sj-interpreting", "phone",
              "Follow up the email; a quote is promised.", "acknowledged", "2021-05-31")
    p.contact("2021-04-28", "sj-deputy-mayor", "sj-prefecture", "letter",
              "Inform the state services of the action plan work and ask about integration funding calls.",
              "acknowledged")
    p.contact("2021-05-03", "sj-migrationwork", "sj-ccas", "email",
              "Agree the agenda of the online mentoring visit and the stakeholders to invite.", "committed")
    p.partnership("2021-05-06", "pt-mission-locale-young", "sj-mission-locale", "sj-young-migrants",
                  "informal", ["employment", "education"])
    s3 = codes.new(9)
    p.session("2021-05-06", "ses-young-employment",
              "Consultation with young migrants on training and first jobs",
              ["employment", "education", "digital_inclusion"], "consult",
              ["sj-mission-locale"], ["sj-employment"], ["sj-young-migrants"], (9, 3, 5, 1, 9, 0),
              ["Young people want help with online job applications and CVs.",
               "Girls attended less (3 of 9); the group suggests a girls-only time slot."],
              s3)
    p.stakeholder("2021-05-10", "sj-french-school", "GRETA (centre de formation pour adultes)", "education",
                  ["language", "education", "employment"], OM)
    p.contact("2021-05-10", "sj-education", "sj-french-school", "email",
              "Ask about certified French courses for adults (français langue étrangère) and waiting times.",
              "acknowledged")
    p.milestone("2021-05-18", "ms-first-mentoring-visit",
                "First mentoring visit hosted by Saint-Jean-de-la-Ruelle, held online because of COVID-19 rules",
                "mentoring_visit",
                ["sj-ccas", "sj-migrationwork", "sj-afccre", "sj-deputy-mayor", "sj-deputy-mayor-2"])
    p.contact("2021-05-18", "sj-ccas", "sj-womens-rights", "event",
              "Met during the online mentoring visit; the CIDFF offers to train staff on migrant women's rights.",
              "interested", "2021-06-30")
    p.contact("2021-05-18", "sj-ccas", "sj-health-centre", "event",
              "Met during the online mentoring visit; discussed women's access to health care.", "interested")
    p.contact("2021-05-18", "sj-ccas", "sj-legal-aid", "event",
              "Met during the online mentoring visit; monthly residence-rights session agreed in principle.",
              "committed")
    p.contact("2021-05-25", "sj-employment", "sj-employers", "email",
              "Share the mentoring visit conclusions on women's employment; ask for a meeting.",
              "acknowledged", "2021-06-30")
    p.contact("2021-05-31", "sj-deputy-mayor-2", "sj-hr-training", "meeting",
              "City staff are not always well informed about migrants' specific needs: plan training for front-desk staff.",
              "committed")
    p.partnership("2021-06-03", "pt-ccas-legal-aid", "sj-ccas", "sj-legal-aid", "referral", ["rights"])
    s4_new = codes.new(13)
    p.session("2021-06-10", "ses-listening-chaises", "Listening session with migrant women, Les Chaises",
              ["social_support", "rights", "violence_against_women", "language"], "consult",
              [], ["sj-champions"], ["sj-women-chaises"], (14, 13, 0, 1, 13, 1),
              ["Women describe isolation since the lockdowns and little knowledge of their rights.",
               "Violence against women raised by several participants; the femmes-relais will follow up one to one."],
              s4_new + [s2[2]])
    p.partnership("2021-06-14", "pt-departement-ccas", "sj-departement", "sj-ccas", "funding",
                  ["social_support", "precariousness", "funding"])
    p.partnership("2021-06-21", "pt-social-centre-champions", "sj-social-centre", "sj-champions",
                  "informal", ["community_outreach"])
    p.archive("2021-09-15", "sj-covid-aid",
              "The collective dissolved after the end of lockdown measures; families were referred to the CCAS.")
    p.profile("2021-09-15", "sj-ccas", contact={"person": "Integration officer", "email": "integration@example.org"})
    p.partnership("2021-09-20", "pt-ccas-health-centre", "sj-ccas", "sj-health-centre", "referral",
                  ["health", "social_support"])
    p.profile("2021-10-04", "sj-french-assoc", territory="Quartiers des Chaises et des Salmoneries, Saint-Jean-de-la-Ruelle")

    # ---- October 2021: the study visit to Brussels ----------------------------------------
    p.milestone("2021-10-13", "ms-study-visit-brussels",
                "Study visit to the City of Brussels and BAPA (themes: precariousness, employment, women)",
                "study_visit", ["sj-ccas", "sj-afccre", "sj-migrationwork"])

    # ---- After the study visit: the action plan takes shape -------------------------------
    p.contact("2021-11-04", "sj-ccas", "sj-french-school", "meeting",
              "After Brussels: ask the GRETA to run a women-only French course in the priority neighbourhoods.",
              "committed")
    p.contact("2021-11-08", "sj-ccas", "sj-womens-rights", "meeting",
              "Agree a weekly rights-information desk for women, modelled on what was seen in Brussels.",
              "committed")
    p.contact("2021-11-10", "sj-ccas", "sj-interpreting", "email",
              "Third request for a quote for interpreting at the future Maison des Femmes.",
              "no_response", "2021-12-10")
    p.stakeholder("2021-11-15", "sj-young-volunteers", "Jeunes volontaires en service civique",
                  "volunteer_group", ["volunteering", "digital_inclusion", "community_outreach"], SJ,
                  grammar=MASC_PL)
    p.contact("2021-11-15", "sj-education", "sj-young-volunteers", "meeting",
              "Could young volunteers help run a digital help desk and welcome women at the Maison des Femmes?",
              "interested")
    p.partnership("2021-11-18", "pt-ccas-french-school", "sj-ccas", "sj-french-school", "co_delivery",
                  ["language", "education"])
    needs = [
        ("need-social-support", "social_support",
         "Un lieu où les femmes migrantes trouvent un accompagnement social et des informations pratiques près de chez elles.", "high", WOMEN),
        ("need-rights-advice", "rights",
         "Des conseils sur les droits des femmes, le droit au séjour et l'accès aux services, en langage simple.", "high", WOMEN),
        ("need-french-lessons", "language",
         "Des cours de français pour les femmes, à des horaires compatibles avec l'école.", "high", WOMEN),
        ("need-nursery", "childcare",
         "Une halte-garderie sur place pour que les mères de jeunes enfants puissent venir.", "high", WOMEN),
        ("need-interpreting", "interpreting",
         "Un service d'interprétariat pour les premiers entretiens et les conseils juridiques.", "high", WOMEN),
        ("need-community-champions", "community_outreach",
         "Des femmes connues dans leur communauté, recrutées comme femmes-relais de la Maison des Femmes.", "medium",
         None),
        ("need-vaw-social-worker", "violence_against_women",
         "Un travailleur social formé aux droits des personnes migrantes et aux violences faites aux femmes.", "high", None),
        ("need-young-volunteers", "volunteering",
         "Des jeunes volontaires pour accueillir les femmes et aider aux démarches en ligne.", "low", None),
        ("need-funding", "funding",
         "Le financement des locaux, du personnel et des activités, par des fonds nationaux ou européens.", "high", None),
        ("need-employment", "employment",
         "Un accompagnement des femmes vers la formation et l'emploi, là où le diagnostic montre le plus grand écart.", "medium",
         WOMEN),
        ("need-premises", "premises",
         "Des locaux dédiés à la Maison des Femmes dans l'un des quartiers prioritaires.", "medium", None),
        ("need-staff-training", "rights",
         "Formation des agents : former les agents de la Ville aux besoins spécifiques et aux droits des "
         "personnes migrantes, pour que les femmes soient bien reçues à chaque guichet.", "medium", None),
    ]
    for nid, theme, description, priority, groups in needs:
        p.need("2021-11-22", nid, theme, description, priority, groups)
    s5_ret = [s2[0], s2[1], s2[3], s2[4], s2[5], s2[2], s4_new[0], s4_new[1], s4_new[2], s4_new[3], s4_new[4]]
    s5_new = codes.new(7)
    p.session("2021-11-25", "ses-womens-centre-ideas",
              "Workshop: what should a women's centre offer? (both neighbourhoods)",
              ["social_support", "rights", "language", "childcare", "interpreting"], "involve",
              [], ["sj-champions"], WOMEN, (18, 17, 0, 1, 7, 11),
              ["Priorities ranked by the women: French lessons, rights advice, childcare on site, someone who speaks their language.",
               "Women ask to be involved in choosing opening hours and the name of the centre."],
              s5_ret + s5_new)
    p.contact("2021-11-29", "sj-employment", "sj-employers", "email",
              "Invite the employers' club to contribute to the employment strand of the action plan.",
              "no_response", "2022-01-15")
    p.contact("2021-12-06", "sj-afccre", "sj-ccas", "email",
              "Information on FAMI and national calls that could fund the Maison des Femmes.", "committed")
    p.stakeholder("2021-12-09", "sj-fami", "FAMI (Fonds asile, migration et intégration)",
                  "funder", ["funding"], "Union européenne")
    p.contact("2021-12-09", "sj-ccas", "sj-fami", "email",
              "Enquiry about eligibility of a municipal women's centre under FAMI integration calls.",
              "acknowledged")
    p.stakeholder("2021-12-13", "sj-digital", "Espace public numérique",
                  "association", ["digital_inclusion", "education"], SJ)
    p.contact("2021-12-13", "sj-young-volunteers", "sj-digital", "meeting",
              "Plan a digital help desk run by young volunteers with the association's trainers.", "committed")
    p.partnership("2021-12-15", "pt-ccas-womens-rights", "sj-ccas", "sj-womens-rights", "co_delivery",
                  ["rights", "violence_against_women"])
    p.contact("2022-01-10", "sj-ccas", "sj-french-assoc", "meeting",
              "Plan the French workshops to be hosted at the Maison des Femmes.", "committed")
    p.contact("2022-01-11", "sj-ccas", "sj-nursery", "phone",
              "Ask again for occasional places once the Maison des Femmes opens.", "declined")
    p.contact("2022-01-12", "sj-ccas", "sj-french-school", "meeting",
              "Timetable of the women-only French course; enrolment through the CCAS.", "committed")
    p.partnership("2022-01-17", "pt-volunteers-digital", "sj-young-volunteers", "sj-digital", "co_delivery",
                  ["digital_inclusion", "community_outreach"])
    p.partnership("2022-01-19", "pt-hr-womens-rights", "sj-hr-training", "sj-womens-rights", "co_delivery",
                  ["rights", "violence_against_women", "education"])
    p.addressed("2022-01-19", "need-staff-training", ["sj-hr-training", "sj-womens-rights"])
    p.stakeholder("2022-01-24", "sj-region", "Région Centre-Val de Loire",
                  "funder", ["funding"], "Centre-Val de Loire", grammar=FEM)
    p.contact("2022-01-24", "sj-ccas", "sj-region", "email",
              "Ask whether regional ESF+ (FSE+) funds could co-finance the social worker post.", "acknowledged")

    # ---- 7 February 2022: the transfer workshop -------------------------------------------
    p.milestone("2022-02-07T10:00:00Z", "ms-transfer-workshop",
                "IncluCities transfer workshop Saint-Jean-de-la-Ruelle – Brussels: the action plan and the Maison des Femmes presented",
                "workshop",
                ["sj-deputy-mayor", "sj-deputy-mayor-2", "sj-afccre", "sj-ccre", "sj-migrationwork", "sj-ccas"])
    # At the workshop the Maison des femmes de Schaerbeek offered to share its experience: in this
    # network it is a peer to learn from (its own services are in the Brussels programme).
    p.stakeholder("2022-02-07T10:00:00Z", "sj-schaerbeek-women", "Maison des femmes de Schaerbeek",
                  "association", ["mentoring"], "Schaerbeek, Bruxelles", grammar=FEM)
    p.contact("2022-02-07T11:30:00Z", "sj-schaerbeek-women", "sj-ccas", "event",
              "At the transfer workshop the Maison des femmes de Schaerbeek offered to meet and share how it "
              "runs its women's centre.",
              "interested", "2022-03-18")
    p.note("2022-02-10", "note-champions-spof", "stakeholder", "sj-champions",
           "Every tie to the migrant women's groups runs through the femmes-relais. That is a strength "
           "(trust) and a risk: if two or three femmes-relais step back, the city loses its only route to the "
           "women. Before the Maison des Femmes opens, build a second route: the French workshops or the "
           "Centre social could meet the women directly.")
    p.note("2022-02-10", "note-nursery", "need", "need-nursery",
           "In Brussels the halte-garderie next to the language courses is what made attendance possible for "
           "mothers. No childcare partner is in sight here (the Crèche associative des Salmoneries declined "
           "twice). Without one, expect the women with the youngest children to stay away.")
    p.note("2022-02-10", "note-interpreting", "need", "need-interpreting",
           "BAPA works with SeTIS Bruxelles, a social interpreting service, under an agreement paid per hour. "
           "Three requests to the Service d'interprétariat en milieu social went unanswered: ask the "
           "Département whether a convention already exists that the CCAS could join.")
    p.stakeholder("2022-02-14", "sj-vaw-shelter", "Accueil de jour pour femmes victimes de violences",
                  "association", ["violence_against_women", "housing", "social_support"], OM)
    p.contact("2022-02-14", "sj-ccas", "sj-vaw-shelter", "meeting",
              "Reach out beyond the first circle: how could the accueil de jour work with the Maison des Femmes?",
              "interested", "2022-03-21")
    p.contact("2022-02-21", "sj-employment", "sj-employers", "phone",
              "Fifth attempt: ask for ten minutes at the club's next breakfast meeting.",
              "acknowledged", "2022-03-31")
    p.revise("2022-03-01", "pt-ccas-champions", kind="co_delivery",
             themes=["community_outreach", "social_support", "violence_against_women"])
    p.profile("2022-03-01", "sj-champions",
              themes=["community_outreach", "social_support", "violence_against_women"])
    p.end("2022-03-07", "pt-comms-media",
          "The community radio dropped its monthly integration slot during the presidential campaign; "
          "the communications service ended the arrangement.")
    s6_ret = [s2[0], s2[1], s2[2], s2[4], s2[6], s2[7], s4_new[0], s4_new[1], s4_new[3], s4_new[5],
              s4_new[6], s5_new[0], s5_new[1], s5_new[2], s5_new[3]]
    s6_new = codes.new(6)
    p.session("2022-03-09", "ses-codesign-maison",
              "Co-design session: services, opening hours and welcome of the Maison des Femmes",
              ["social_support", "rights", "language", "violence_against_women"], "collaborate",
              [], ["sj-champions"], WOMEN, (21, 20, 0, 1, 6, 15),
              ["Opening hours agreed with the women: mornings during school time, one evening a week.",
               "The women chose the welcome routine and will take turns at the reception with the femmes-relais.",
               "Rights advice and French lessons on the same morning, to limit trips."],
              s6_ret + s6_new)
    p.addressed("2022-03-14", "need-social-support", ["sj-ccas", "sj-social-centre"])
    p.addressed("2022-03-14", "need-french-lessons", ["sj-french-assoc", "sj-french-school"])
    p.contact("2022-03-16", "sj-ccas", "sj-schaerbeek-women", "meeting",
              "Follow-up of the offer made at the transfer workshop (online): how Schaerbeek organises the welcome, "
              "childcare and volunteers; a visit of the Maison des Femmes' team is agreed for its opening.",
              "committed")
    p.partnership("2022-03-21", "pt-vaw-assoc-shelter", "sj-vaw-assoc", "sj-vaw-shelter", "referral",
                  ["violence_against_women", "housing"])
    p.addressed("2022-03-21", "need-rights-advice", ["sj-womens-rights", "sj-legal-aid"])
    p.addressed("2022-03-21", "need-community-champions", ["sj-champions"])
    p.note("2022-03-28", "note-french-intro", "stakeholder", "sj-french-assoc",
           "The Ateliers sociolinguistiques and the GRETA both teach French to women referred by the CCAS, "
           "but they have never met. Worth introducing them: the workshops could prepare women for the certified "
           "course.")
    p.note("2022-03-28", "note-housing-dormant", "partnership", "pt-ccas-housing",
           "No contact with the social housing landlord since February 2021. Housing came up in every Brussels "
           "session: is this partnership still alive?")
    p.withdrawn("2022-04-04", "need-premises",
                "The council will host the Maison des Femmes in the existing Centre social des Chaises; no new premises are needed.")
    s7_ret = s3[:7]
    s7_new = codes.new(5)
    p.session("2022-04-06", "ses-young-digital-desk",
              "Young volunteers and young migrants design a digital help desk",
              ["digital_inclusion", "employment", "volunteering"], "involve",
              ["sj-digital", "sj-mission-locale"], ["sj-young-volunteers"], ["sj-young-migrants"],
              (12, 5, 6, 1, 5, 7),
              ["A weekly help desk for online procedures, run by volunteers with the Espace public numérique.",
               "Girls came back in greater numbers (5 of 12); a girls-only slot, as asked for in May 2021."],
              s7_ret + s7_new)
    p.note("2022-04-11", "note-employers-stalled", "stakeholder", "sj-employers",
           "Five contacts in a year and no real answer. Stop writing letters: ask the Mission locale, which the "
           "employers already know, to bring the city to one of their meetings.")
    p.contact("2022-04-19", "sj-ccas", "sj-french-assoc", "phone",
              "Confirm the workshop schedule for the opening term.", "committed")
    p.contact("2022-04-20", "sj-ccas", "sj-french-school", "email",
              "Confirm enrolment dates for the women-only course.", "committed")
    p.milestone("2022-04-24", "ms-presidential-election",
                "Presidential election (second round): a campaign marked by the far right and by cuts to funding for social work",
                "other")
    p.note("2022-04-25", "note-funding-context", "need", "need-funding",
           "The deputy mayors warned at the transfer workshop that the election context goes with cuts to "
           "funding for social work. Keep the actions simple to run, and keep FAMI and the Région's ESF+ as "
           "fallbacks if the state integration funds are cut.")
    p.contact("2022-04-25", "sj-ccas", "sj-prefecture", "meeting",
              "Present the Maison des Femmes to the state services before the funding application.",
              "interested", "2022-09-30")
    p.milestone("2022-05-16", "ms-funding-application",
                "Funding application for the Maison des Femmes submitted to the state integration funds (FAMI kept as a fallback)",
                "funding", ["sj-ccas", "sj-prefecture"])
    p.addressed("2022-05-23", "need-young-volunteers", ["sj-young-volunteers"])
    p.contact("2022-06-20", "sj-ccas", "sj-french-school", "meeting",
              "End-of-year review of the women-only French course: 14 women finished it, 9 ask for the next level.",
              "committed")
    p.contact("2022-06-22", "sj-ccas", "sj-french-assoc", "meeting",
              "Plan the summer session of the French workshops, to open at the Maison des Femmes.", "committed")
    p.milestone("2022-06-27", "ms-council-decision",
                "Municipal council approves the action plan and the creation of the Maison des Femmes", "decision",
                ["sj-council", "sj-deputy-mayor", "sj-deputy-mayor-2"])
    p.stakeholder("2022-06-30", "sj-maison-femmes", "Maison des Femmes",
                  "city_service", ["social_support", "rights", "language", "violence_against_women"], CHA,
                  grammar=FEM)
    p.partnership("2022-06-30", "pt-ccas-maison-femmes", "sj-ccas", "sj-maison-femmes", "institutional",
                  ["social_support", "rights"])
    p.stakeholder("2022-06-30", "sj-social-worker",
                  "Travailleur social de la Maison des Femmes (droits des personnes migrantes, violences faites aux femmes)",
                  "other", ["rights", "violence_against_women", "social_support"], SJ)
    # The Maison des Femmes moves into the Centre social des Chaises (see need-premises).
    p.partnership("2022-07-01", "pt-social-centre-maison-femmes", "sj-social-centre", "sj-maison-femmes",
                  "formal_agreement", ["social_support", "community_outreach"])
    p.milestone("2022-07-01", "ms-maison-femmes-moves",
                "The Maison des Femmes moves into the Centre social des Chaises", "other",
                ["sj-maison-femmes", "sj-social-centre"])
    p.partnership("2022-07-04", "pt-vaw-assoc-social-worker", "sj-vaw-assoc", "sj-social-worker", "referral",
                  ["violence_against_women", "rights"])
    p.addressed("2022-07-04", "need-vaw-social-worker", ["sj-social-worker", "sj-vaw-assoc"])
    p.partnership("2022-07-04", "pt-maison-femmes-french-assoc", "sj-maison-femmes", "sj-french-assoc",
                  "co_delivery", ["language"])
    # The Maison des Femmes opens with the femmes-relais at its reception, as the women asked in
    # the co-design session.
    p.partnership("2022-07-04", "pt-maison-femmes-champions", "sj-maison-femmes", "sj-champions",
                  "co_delivery", ["community_outreach", "social_support"])
    p.contact("2022-07-05", "sj-maison-femmes", "sj-schaerbeek-women", "visit",
              "The Maison des Femmes' new team visits the Maison des femmes de Schaerbeek, as offered at the "
              "transfer workshop: welcome, childcare and volunteers.",
              "committed")
    p.milestone("2022-07-05", "ms-french-workshop-opens",
                "First French workshop at the Maison des Femmes (summer session), opened by the Ateliers sociolinguistiques and the Maison des Femmes",
                "workshop", ["sj-french-assoc", "sj-maison-femmes"])
    return p


# --------------------------------------------------------------------------------------------
# City of Brussels (mentor)
# --------------------------------------------------------------------------------------------

def brussels() -> Programme:
    p = Programme("brussels")
    codes = Codes("bx")
    BXL = "Ville de Bruxelles"
    REG = "Région de Bruxelles-Capitale"

    p.defined("2020-11-16", "Ville de Bruxelles", "mentor", "BE")
    for sid, name, kind, themes, terr, contact, gram in [
        ("br-city", "Ville de Bruxelles (Égalité des chances)", "city_service",
         ["social_support", "political_support", "community_outreach"], BXL, None, FEM),
        ("br-bapa", "BAPA (Bureau d'accueil pour primo-arrivants)",
         "integration_agency", ["social_support", "language", "employment", "housing", "rights"], BXL,
         {"person": "Front office", "email": "accueil@example.org"}, None),
        ("br-bapa-via", "BAPA-VIA", "integration_agency",
         ["social_support", "language", "employment", "rights"], REG, None, None),
        ("br-brulocalis", "Brulocalis", "network_body", ["political_support", "mentoring"], REG, None, BARE),
        ("br-cpas", "CPAS de Bruxelles", "city_service",
         ["social_support", "precariousness", "housing"], BXL, None, None),
        ("br-schaerbeek-women", "Maison des femmes de Schaerbeek", "association",
         ["violence_against_women", "rights", "social_support", "language"], "Schaerbeek", None, FEM),
        ("br-language-school", "Institut de promotion sociale (cours de français et de néerlandais)",
         "education", ["language", "education"], BXL, None, None),
        ("br-literacy", "Lire et Écrire Bruxelles", "association",
         ["language", "education"], BXL, None, BARE),
        ("br-actiris", "Actiris", "other", ["employment"], REG, None, BARE),
        ("br-mission-locale", "Mission locale de Bruxelles-Ville", "association",
         ["employment", "education"], BXL, None, FEM),
        ("br-housing", "Service d'accompagnement au logement", "association", ["housing", "precariousness"],
         BXL, None, None),
        ("br-digital", "Espaces publics numériques (EPN)", "association",
         ["digital_inclusion"], BXL, None, MASC_PL),
        ("br-health", "Maison médicale", "health", ["health"], BXL, None, FEM),
        ("br-legal", "Permanence juridique pour personnes étrangères", "legal_aid", ["rights"], REG, None, FEM),
        ("br-interpreting", "SeTIS Bruxelles (Service d'interprétariat social)", "interpreting",
         ["interpreting"], REG, None, None),
        ("br-childcare", "Halte-garderie pour parents en formation", "childcare", ["childcare"], BXL, None, FEM),
        ("br-community-assoc", "Associations de quartier du Pentagone et de Laeken", "association",
         ["community_outreach", "social_support"], BXL, None, FEM_PL),
        ("br-relais", "Relais (anciens usagers du BAPA)", "community_champion",
         ["community_outreach", "social_support"], BXL, None, MASC_PL),
        ("br-cocof", "COCOF (Commission communautaire française)", "funder",
         ["funding"], REG, None, FEM),
        ("br-newcomer-women", "Femmes primo-arrivantes (usagères du BAPA)", "beneficiary_group",
         ["social_support", "language", "employment"], BXL, None, FEM_PL),
        ("br-newcomer-families", "Familles primo-arrivantes de Bruxelles-Ville", "beneficiary_group",
         ["social_support", "housing", "education"], BXL, None, FEM_PL),
    ]:
        p.stakeholder("2020-11-16", sid, name, kind, themes, terr, contact, gram)

    # The mentor's network is mature: its standing partnerships are recorded at onboarding.
    for pid, a, b, kind, themes in [
        ("pb-city-bapa", "br-city", "br-bapa", "formal_agreement", ["social_support", "funding"]),
        ("pb-city-cpas", "br-city", "br-cpas", "institutional", ["social_support", "precariousness"]),
        ("pb-city-brulocalis", "br-city", "br-brulocalis", "information_sharing", ["political_support"]),
        ("pb-bapa-via", "br-bapa", "br-bapa-via", "co_delivery", ["social_support", "language"]),
        ("pb-bapa-language", "br-bapa", "br-language-school", "referral", ["language"]),
        ("pb-bapa-literacy", "br-bapa", "br-literacy", "referral", ["language"]),
        ("pb-bapa-actiris", "br-bapa", "br-actiris", "referral", ["employment"]),
        ("pb-bapa-mission-locale", "br-bapa", "br-mission-locale", "referral", ["employment"]),
        ("pb-bapa-cpas", "br-bapa", "br-cpas", "referral", ["social_support", "precariousness"]),
        ("pb-bapa-legal", "br-bapa", "br-legal", "referral", ["rights"]),
        ("pb-bapa-health", "br-bapa", "br-health", "referral", ["health"]),
        ("pb-bapa-interpreting", "br-bapa", "br-interpreting", "formal_agreement", ["interpreting"]),
        ("pb-bapa-childcare", "br-bapa", "br-childcare", "co_delivery", ["childcare", "language"]),
        ("pb-bapa-cocof", "br-bapa", "br-cocof", "funding", ["funding"]),
        ("pb-via-cocof", "br-bapa-via", "br-cocof", "funding", ["funding"]),
        ("pb-via-language", "br-bapa-via", "br-language-school", "co_delivery", ["language"]),
        ("pb-via-actiris", "br-bapa-via", "br-actiris", "referral", ["employment"]),
        ("pb-via-interpreting", "br-bapa-via", "br-interpreting", "formal_agreement", ["interpreting"]),
        ("pb-bapa-women", "br-bapa", "br-newcomer-women", "informal", ["social_support"]),
        ("pb-bapa-families", "br-bapa", "br-newcomer-families", "informal", ["social_support"]),
        ("pb-via-women", "br-bapa-via", "br-newcomer-women", "informal", ["social_support", "employment"]),
        ("pb-community-families", "br-community-assoc", "br-newcomer-families", "informal",
         ["community_outreach"]),
        ("pb-relais-women", "br-relais", "br-newcomer-women", "informal", ["community_outreach"]),
        ("pb-bapa-relais", "br-bapa", "br-relais", "co_delivery", ["community_outreach"]),
        ("pb-schaerbeek-legal", "br-schaerbeek-women", "br-legal", "referral",
         ["rights", "violence_against_women"]),
        ("pb-cpas-housing", "br-cpas", "br-housing", "referral", ["housing"]),
        ("pb-literacy-childcare", "br-literacy", "br-childcare", "co_delivery", ["childcare", "language"]),
        ("pb-community-city", "br-community-assoc", "br-city", "information_sharing",
         ["community_outreach"]),
    ]:
        p.partnership("2020-11-30", pid, a, b, kind, themes)

    p.session("2020-12-08", "bses-welcome-panel", "BAPA client panel: reviewing the first welcome interview",
              ["social_support", "language", "rights"], "consult",
              ["br-cpas", "br-language-school"], ["br-bapa"], ["br-newcomer-women", "br-newcomer-families"],
              (16, 10, 5, 1, 6, 10),
              ["The welcome interview is shortened and an interpreter is offered by default."])
    p.contact("2021-01-20", "br-bapa", "br-digital", "meeting",
              "Lockdowns left many clients unable to do procedures online: explore a joint digital help desk.",
              "interested", "2021-02-08")
    p.contact("2021-02-08", "br-bapa", "br-digital", "meeting", "Agree the help-desk format and trainers.",
              "committed")
    p.milestone("2021-02-15", "bms-digital-priority", "BAPA makes digital exclusion a current priority",
                "decision", ["br-bapa"])
    p.profile("2021-02-15", "br-bapa",
              themes=["social_support", "language", "employment", "housing", "rights", "digital_inclusion"])
    p.partnership("2021-03-01", "pb-bapa-digital", "br-bapa", "br-digital", "co_delivery", ["digital_inclusion"])
    p.session("2021-03-16", "bses-via-orientation",
              "BAPA-VIA co-design workshop: the orientation pathway redesigned with former clients",
              ["social_support", "employment", "language"], "collaborate",
              ["br-actiris", "br-language-school"], ["br-bapa-via"], ["br-newcomer-women"],
              (14, 9, 4, 1, 3, 11),
              ["The orientation pathway is co-written with former clients, who now present it to new arrivals.",
               "Course timetables moved to fit school hours."])
    p.milestone("2021-03-30", "bms-via-pathway",
                "BAPA-VIA's orientation pathway, co-created with its clients, is open to all new arrivals", "other",
                ["br-bapa-via"])
    p.contact("2021-04-27", "br-bapa", "br-city", "email",
              "Prepare the online mentoring visit to Saint-Jean-de-la-Ruelle.", "committed")
    p.milestone("2021-05-18", "bms-mentoring-visit",
                "First mentoring visit to Saint-Jean-de-la-Ruelle (online because of COVID-19)", "mentoring_visit",
                ["br-bapa", "br-city"])
    p.contact("2021-06-01", "br-city", "br-brulocalis", "email",
              "Share the first visit's themes (precariousness, employment, women) to structure the study visit.",
              "acknowledged")
    p.session("2021-06-22", "bses-digital-desk", "Digital help desk: testing the service with newcomers",
              ["digital_inclusion", "social_support"], "involve",
              ["br-digital", "br-cpas"], ["br-bapa"], ["br-newcomer-families", "br-newcomer-women"],
              (19, 11, 7, 1, 8, 11),
              ["Newcomers tested the help desk and rewrote the instructions in plain language."])
    p.contact("2021-08-30", "br-bapa", "br-housing", "meeting",
              "Structuring the study visit around precariousness: a new partner on housing.", "committed")
    p.contact("2021-09-06", "br-bapa", "br-schaerbeek-women", "meeting",
              "Invite the Maison des femmes de Schaerbeek to present its work during the study visit.", "interested",
              "2021-09-27")
    p.partnership("2021-09-13", "pb-bapa-housing", "br-bapa", "br-housing", "referral",
                  ["housing", "precariousness"])
    p.contact("2021-09-20", "br-bapa", "br-actiris", "email",
              "Ask Actiris to present its services for newcomer women during the study visit.", "acknowledged")
    p.contact("2021-09-27", "br-bapa", "br-schaerbeek-women", "meeting",
              "Agree the programme of the study-visit afternoon at the Maison des femmes.", "committed")
    p.partnership("2021-10-04", "pb-bapa-schaerbeek", "br-bapa", "br-schaerbeek-women", "information_sharing",
                  ["violence_against_women", "rights", "social_support"])
    p.milestone("2021-10-13", "bms-study-visit", "Study visit of Saint-Jean-de-la-Ruelle hosted in Brussels",
                "study_visit", ["br-bapa", "br-city", "br-schaerbeek-women", "br-bapa-via"])
    b4 = codes.new(12)
    p.session("2021-10-13", "bses-study-visit-women",
              "Study visit: newcomer women present the services they helped design",
              ["social_support", "employment", "violence_against_women"], "collaborate",
              ["br-city", "br-brulocalis", "br-schaerbeek-women", "br-bapa-via"], ["br-bapa"],
              ["br-newcomer-women"], (12, 12, 0, 0, 2, 10),
              ["Women explain to the visitors how the orientation pathway and the women's groups were co-created.",
               "Visitors from Saint-Jean-de-la-Ruelle note the role of the relais and of on-site childcare."],
              b4)
    p.contact("2021-11-16", "br-bapa", "br-community-assoc", "meeting",
              "Reach newcomer women the BAPA does not see yet, through the neighbourhood associations.",
              "committed")
    p.contact("2022-01-18", "br-bapa-via", "br-interpreting", "phone",
              "Ask for extra interpreting hours for group sessions.", "declined")
    p.milestone("2022-02-07T10:00:00Z", "bms-transfer-workshop",
                "Transfer workshop with Saint-Jean-de-la-Ruelle: lessons shared on co-creation with clients",
                "workshop", ["br-bapa", "br-bapa-via", "br-schaerbeek-women", "br-city", "br-brulocalis"])
    p.revise("2022-03-01", "pb-bapa-digital", kind="formal_agreement",
             themes=["digital_inclusion", "employment"])
    b5_new = codes.new(1)
    p.session("2022-03-22", "bses-women-steering",
              "Newcomer women's steering group sets the priorities of the women's programme",
              ["social_support", "violence_against_women", "employment", "language"], "empower",
              ["br-schaerbeek-women", "br-relais"], ["br-bapa"], ["br-newcomer-women"],
              (10, 10, 0, 0, 1, 9),
              ["The steering group chose the programme's three priorities and manages a small activity budget."],
              b4[:9] + b5_new)
    p.note("2022-03-28", "bnote-via", "stakeholder", "br-bapa-via",
           "BAPA-VIA's orientation pathway was co-created with its own clients: the example to show SJDLR when "
           "it moves its women's sessions from consultation to collaboration.")
    p.contact("2022-04-12", "br-bapa", "br-mission-locale", "meeting",
              "A women-only employment guidance slot, as discussed with the Saint-Jean-de-la-Ruelle team.",
              "committed")
    return p


# --------------------------------------------------------------------------------------------
# Assembling the file
# --------------------------------------------------------------------------------------------

def sort_key(occurred_at: str) -> str:
    """A date counts as midnight UTC; a time is compared in UTC."""
    if DATE_RE.match(occurred_at):
        return occurred_at + "T00:00:00"
    parsed = dt.datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def build() -> list[dict]:
    programmes = [sjdlr(), brussels()]
    merged: list[tuple[str, int, int, str, str, str, dict]] = []
    for order, prog in enumerate(programmes):
        previous = ""
        for n, (type_, when, data) in enumerate(prog.events):
            key = sort_key(when)
            if key < previous:
                raise SystemExit(f"authoring error: {prog.programme} event {n + 1} ({type_} on {when}) "
                                 "is earlier than the event before it")
            previous = key
            merged.append((key, order, n, prog.programme, type_, when, data))
    merged.sort(key=lambda m: (m[0], m[1], m[2]))  # chronological; ties keep each programme's order
    counters: Counter = Counter()
    events = []
    for _, _, _, programme, type_, when, data in merged:
        counters[programme] += 1
        events.append({
            "id": str(uuid.uuid5(NAMESPACE, f"{programme}:{counters[programme]}")),
            "type": type_, "programme": programme, "occurred_at": when, "data": data})
    return events


def serialise(events: list[dict]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in events)


# --------------------------------------------------------------------------------------------
# Validation (the validator's rules)
# --------------------------------------------------------------------------------------------

class Invalid(Exception):
    pass


def _str(value, field: str, limit: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field} must be a non-empty string")
    limit = limit if limit is not None else LIMITS.get(field)
    if limit is not None and len(value) > limit:
        raise Invalid(f"{field} is {len(value)} characters, more than {limit}")
    return value


def _slug(value, field: str) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise Invalid(f"{field} {value!r} is not a slug ^[a-z0-9][a-z0-9_-]{{0,63}}$")
    return value


def _themes(value, field: str = "themes") -> list[str]:
    if not isinstance(value, list):
        raise Invalid(f"{field} must be a list")
    if len(value) > MAX_THEMES:
        raise Invalid(f"{field} has {len(value)} entries, more than {MAX_THEMES}")
    for t in value:
        if not isinstance(t, str) or not THEME.match(t):
            raise Invalid(f"theme {t!r} is not ^[a-z0-9_]{{1,40}}$")
    if len(set(value)) != len(value):
        raise Invalid(f"{field} repeats a theme")
    return value


def _date(value, field: str) -> None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        raise Invalid(f"{field} {value!r} is not a date YYYY-MM-DD")
    try:
        dt.date.fromisoformat(value)
    except ValueError as e:
        raise Invalid(f"{field} {value!r}: {e}") from None


def _enum(value, field: str, allowed) -> str:
    if value not in allowed:
        raise Invalid(f"{field} {value!r} is not one of {sorted(allowed)}")
    return value


def _contact(value) -> None:
    if not isinstance(value, dict) or not value:
        raise Invalid("contact must be a non-empty object")
    for k, v in value.items():
        if k not in CONTACT_FIELDS:
            raise Invalid(f"contact.{k} is not a known field")
        _str(v, k)
    if "email" in value and not EMAIL_RE.match(value["email"]):
        raise Invalid("contact.email must use a reserved example domain in demo data")


def _grammar(value) -> None:
    if not isinstance(value, dict) or list(value) != list(GRAMMAR_FIELDS):
        raise Invalid(f"grammar must have exactly {list(GRAMMAR_FIELDS)} in that order "
                      "(the store's canonical form)")
    _enum(value["gender"], "grammar.gender", GENDERS)
    _enum(value["number"], "grammar.number", GRAMMATICAL_NUMBERS)
    if type(value["article"]) is not bool:
        raise Invalid("grammar.article must be true or false")


class State:
    """What the log says so far, per programme."""

    def __init__(self) -> None:
        self.defined = False
        self.stakeholders: dict[str, dict] = {}  # id -> {"kind", "themes", "archived"}
        self.partnerships: dict[str, dict] = {}  # id -> {"between", "ended"}
        self.sessions: dict[str, dict] = {}  # id -> {"total", "attended": set}
        self.needs: dict[str, str] = {}  # id -> "open" | "addressed" | "withdrawn"
        self.milestones: set[str] = set()
        self.notes: set[str] = set()
        self.last_key = ""

    def active(self, sid, field: str) -> str:
        _slug(sid, field)
        s = self.stakeholders.get(sid)
        if s is None:
            raise Invalid(f"{field} {sid!r} is not a registered stakeholder of this programme")
        if s["archived"]:
            raise Invalid(f"{field} {sid!r} is archived")
        return sid

    def all_active(self, ids, field: str) -> list[str]:
        """A list of distinct active stakeholders."""
        if not isinstance(ids, list):
            raise Invalid(f"{field} must be a list")
        if len(set(ids)) != len(ids):
            raise Invalid(f"{field} lists a stakeholder twice")
        return [self.active(x, field) for x in ids]

    def groups(self, ids, field: str) -> list[str]:
        """A list of distinct active beneficiary groups."""
        for x in self.all_active(ids, field):
            if self.stakeholders[x]["kind"] != "beneficiary_group":
                raise Invalid(f"{field} entry {x!r} is not a beneficiary_group")
        return ids


def check_event(state: State, event: dict) -> None:
    type_ = event["type"]
    data = event["data"]
    if not isinstance(data, dict):
        raise Invalid("data must be an object")
    required, optional = FIELDS[type_]
    for k in data:
        if k not in required and k not in optional:
            raise Invalid(f"data.{k} is not a field of {type_}")
    for k in required:
        if k not in data:
            raise Invalid(f"data.{k} is required for {type_}")
    order = [k for k in WIRE_ORDER[type_] if k in data]
    if list(data) != order:
        raise Invalid(f"data fields are not in wire order {order}")

    if type_ == "ProgrammeDefined":
        if state.defined:
            raise Invalid("programme is defined twice")
        if data["programme"] != event["programme"]:
            raise Invalid("data.programme differs from the envelope programme")
        _str(data["name"], "name")
        if "role" in data:
            _enum(data["role"], "role", ROLES)
        if "country" in data and not re.match(r"^[A-Z]{2}$", str(data["country"])):
            raise Invalid("country must be an ISO 3166-1 alpha-2 code")
        state.defined = True
        return
    if not state.defined:
        raise Invalid("the first event of a programme must be ProgrammeDefined")

    if type_ == "StakeholderRegistered":
        sid = _slug(data["stakeholder"], "stakeholder")
        if sid in state.stakeholders:
            raise Invalid(f"stakeholder {sid!r} is already registered")
        _str(data["name"], "name")
        _enum(data["kind"], "kind", KINDS)
        if "themes" in data:
            _themes(data["themes"])
        if "territory" in data:
            _str(data["territory"], "territory")
        if "contact" in data:
            _contact(data["contact"])
        if "grammar" in data:
            _grammar(data["grammar"])
        state.stakeholders[sid] = {"kind": data["kind"], "themes": list(data.get("themes", [])),
                                   "archived": False}
    elif type_ == "StakeholderProfileChanged":
        sid = state.active(data["stakeholder"], "stakeholder")
        if len(data) < 2:
            raise Invalid("a profile change must change at least one field")
        if "name" in data:
            _str(data["name"], "name")
        if "kind" in data:
            _enum(data["kind"], "kind", KINDS)
            state.stakeholders[sid]["kind"] = data["kind"]
        if "themes" in data:
            state.stakeholders[sid]["themes"] = list(_themes(data["themes"]))
        if "territory" in data:
            _str(data["territory"], "territory")
        if "contact" in data:
            _contact(data["contact"])
        if "grammar" in data:
            _grammar(data["grammar"])
    elif type_ == "StakeholderArchived":
        sid = state.active(data["stakeholder"], "stakeholder")
        if "reason" in data:
            _str(data["reason"], "reason")
        state.stakeholders[sid]["archived"] = True
    elif type_ == "OutreachContactLogged":
        a = state.active(data["from"], "from")
        b = state.active(data["to"], "to")
        if a == b:
            raise Invalid("from and to are the same stakeholder")
        _enum(data["channel"], "channel", CHANNELS)
        _enum(data["outcome"], "outcome", OUTCOMES)
        if "purpose" in data:
            _str(data["purpose"], "purpose")
        if "follow_up_due" in data:
            _date(data["follow_up_due"], "follow_up_due")
    elif type_ == "PartnershipFormed":
        pid = _slug(data["partnership"], "partnership")
        if pid in state.partnerships:
            raise Invalid(f"partnership {pid!r} already exists")
        between = data["between"]
        if not isinstance(between, list) or len(between) != 2:
            raise Invalid("between must list exactly two stakeholders")
        a, b = (state.active(x, "between") for x in between)
        if a == b:
            raise Invalid("a partnership joins two different stakeholders")
        _enum(data["kind"], "kind", PARTNERSHIP_KINDS)
        if "themes" in data:
            _themes(data["themes"])
        if "groups" in data:
            state.groups(data["groups"], "groups")
        state.partnerships[pid] = {"between": (a, b), "ended": False}
    elif type_ in ("PartnershipRevised", "PartnershipEnded"):
        pid = _slug(data["partnership"], "partnership")
        if pid not in state.partnerships:
            raise Invalid(f"partnership {pid!r} does not exist")
        if state.partnerships[pid]["ended"]:
            raise Invalid(f"partnership {pid!r} has ended")
        if type_ == "PartnershipRevised":
            if len(data) < 2:
                raise Invalid("a revision must change kind, themes or groups")
            if "kind" in data:
                _enum(data["kind"], "kind", PARTNERSHIP_KINDS)
            if "themes" in data:
                _themes(data["themes"])
            if "groups" in data:
                state.groups(data["groups"], "groups")
        else:
            if "reason" in data:
                _str(data["reason"], "reason")
            state.partnerships[pid]["ended"] = True
    elif type_ == "CoCreationSessionHeld":
        sid = _slug(data["session"], "session")
        if sid in state.sessions:
            raise Invalid(f"session {sid!r} already exists")
        _str(data["title"], "title")
        _enum(data["level"], "level", LEVELS)
        if "themes" in data:
            _themes(data["themes"])
        state.all_active(data.get("stakeholders", []), "stakeholders")
        state.all_active(data.get("facilitators", []), "facilitators")
        state.groups(data.get("groups", []), "groups")
        state.all_active(data.get("distrusted", []), "distrusted")
        ben = data["beneficiaries"]
        if not isinstance(ben, dict) or list(ben) != list(BENEFICIARY_FIELDS):
            raise Invalid(f"beneficiaries must have exactly {list(BENEFICIARY_FIELDS)}")
        for k, v in ben.items():
            if type(v) is not int or v < 0:
                raise Invalid(f"beneficiaries.{k} must be a non-negative integer")
        if ben["women"] + ben["men"] + ben["undisclosed"] > ben["total"]:
            raise Invalid("women + men + undisclosed exceeds total")
        if ben["first_time"] + ben["returning"] > ben["total"]:
            raise Invalid("first_time + returning exceeds total")
        for o in data.get("outputs", []):
            _str(o, "output", OUTPUT_LIMIT)
        state.sessions[sid] = {"total": ben["total"], "attended": set()}
    elif type_ == "ParticipantAttended":
        sid = _slug(data["session"], "session")
        if sid not in state.sessions:
            raise Invalid(f"session {sid!r} does not exist")
        code = data["participant"]
        if not isinstance(code, str) or not PARTICIPANT.match(code):
            raise Invalid(f"participant {code!r} is not a pseudonymous code like sj-p017")
        s = state.sessions[sid]
        if code in s["attended"]:
            raise Invalid(f"participant {code!r} already recorded for {sid!r}")
        s["attended"].add(code)
        if len(s["attended"]) > s["total"]:
            raise Invalid(f"more participants recorded for {sid!r} than its beneficiaries.total")
    elif type_ == "NeedDeclared":
        nid = _slug(data["need"], "need")
        if nid in state.needs:
            raise Invalid(f"need {nid!r} already declared")
        _str(data["action"], "action")
        _themes([data["theme"]], "theme")
        if "description" in data:
            _str(data["description"], "description")
        if "priority" in data:
            _enum(data["priority"], "priority", PRIORITIES)
        if "groups" in data:
            state.groups(data["groups"], "groups")
        state.needs[nid] = "open"
    elif type_ in ("NeedAddressed", "NeedWithdrawn"):
        nid = _slug(data["need"], "need")
        if nid not in state.needs:
            raise Invalid(f"need {nid!r} is not declared")
        if state.needs[nid] != "open":
            raise Invalid(f"need {nid!r} is not open ({state.needs[nid]})")
        if type_ == "NeedAddressed":
            by = data["by"]
            if not isinstance(by, list) or not by or len(set(by)) != len(by):
                raise Invalid("by must be a non-empty list of distinct stakeholders")
            for x in by:
                state.active(x, "by")
            state.needs[nid] = "addressed"
        else:
            if "reason" in data:
                _str(data["reason"], "reason")
            state.needs[nid] = "withdrawn"
    elif type_ == "MilestoneMarked":
        mid = _slug(data["milestone"], "milestone")
        if mid in state.milestones:
            raise Invalid(f"milestone {mid!r} already marked")
        _str(data["label"], "label")
        _enum(data["kind"], "kind", MILESTONE_KINDS)
        if "stakeholders" in data:
            state.all_active(data["stakeholders"], "stakeholders")
        state.milestones.add(mid)
    elif type_ == "ReviewNoteAdded":
        nid = _slug(data["note"], "note")
        if nid in state.notes:
            raise Invalid(f"note {nid!r} already exists")
        about = data["about"]
        if not isinstance(about, dict) or len(about) != 1 or next(iter(about)) not in ABOUT_KINDS:
            raise Invalid(f"about must be exactly one of {list(ABOUT_KINDS)}")
        (kind, target), = about.items()
        if kind == "stakeholder":
            state.active(target, "about.stakeholder")
        elif kind == "need" and _slug(target, "about.need") not in state.needs:
            raise Invalid(f"about.need {target!r} is not declared")
        elif kind == "partnership" and _slug(target, "about.partnership") not in state.partnerships:
            raise Invalid(f"about.partnership {target!r} does not exist")
        elif kind == "gap":
            _slug(target, "about.gap")
        _str(data["text"], "text")
        if "distrusted_by" in data:
            if kind != "stakeholder":
                raise Invalid("distrusted_by is allowed only when about is a stakeholder")
            state.groups(data["distrusted_by"], "distrusted_by")
        state.notes.add(nid)


def validate(text: str) -> tuple[list[dict], list[str]]:
    """Checks every line; returns the parsed events and the errors, each naming its line."""
    errors: list[str] = []
    events: list[dict] = []
    states: dict[str, State] = defaultdict(State)
    seen_ids: set[str] = set()
    last_overall = ""
    if text and not text.endswith("\n"):
        errors.append("the file does not end with a newline")
    for lineno, line in enumerate(text.splitlines(), start=1):
        where = f"line {lineno}"
        try:
            try:
                event = json.loads(line)
            except json.JSONDecodeError as e:
                raise Invalid(f"not JSON: {e}") from None
            if not isinstance(event, dict) or list(event) != KEY_ORDER:
                raise Invalid(f"keys must be exactly {KEY_ORDER} in that order")
            if json.dumps(event, ensure_ascii=False, separators=(",", ":")) != line:
                raise Invalid("line is not compact JSON")
            where = f"line {lineno} ({event.get('type')} in {event.get('programme')})"
            if not isinstance(event["id"], str) or not UUID_RE.match(event["id"]):
                raise Invalid(f"id {event['id']!r} is not a lowercase uuid")
            if event["id"] in seen_ids:
                raise Invalid(f"id {event['id']} is used twice")
            seen_ids.add(event["id"])
            if event["type"] not in FIELDS:
                raise Invalid(f"type {event['type']!r} is not an event type the demo may use")
            programme = _slug(event["programme"], "programme")
            when = event["occurred_at"]
            if not isinstance(when, str) or not (DATE_RE.match(when) or RFC3339_RE.match(when)):
                raise Invalid(f"occurred_at {when!r} is neither YYYY-MM-DD nor RFC 3339")
            try:
                key = sort_key(when)
            except ValueError as e:
                raise Invalid(f"occurred_at {when!r}: {e}") from None
            state = states[programme]
            if key < state.last_key:
                raise Invalid(f"occurred_at {when} is earlier than the previous event of {programme}")
            if key < last_overall:
                raise Invalid(f"occurred_at {when} is earlier than the previous line")
            state.last_key = last_overall = key
            check_event(state, event)
            events.append(event)
        except Invalid as e:
            errors.append(f"{where}: {e}")
        except (KeyError, TypeError, AttributeError) as e:
            errors.append(f"{where}: malformed event ({type(e).__name__}: {e})")
    return events, errors


# --------------------------------------------------------------------------------------------
# Story checks (the special structures the tests rely on)
# --------------------------------------------------------------------------------------------

def _lines_of(events: list[dict], programme: str):
    return [(n, e) for n, e in enumerate(events, start=1) if e["programme"] == programme]


def story_errors(events: list[dict]) -> list[str]:
    errors: list[str] = []
    sj = _lines_of(events, "sjdlr")
    bx = _lines_of(events, "brussels")

    def count(lines, type_):
        return sum(1 for _, e in lines if e["type"] == type_)

    # ---- sizes ----
    for lines, name, stakeholders, sessions in ((sj, "sjdlr", 32, 5), (bx, "brussels", 15, 4)):
        if count(lines, "StakeholderRegistered") < stakeholders:
            errors.append(f"{name}: fewer than {stakeholders} stakeholders")
        if count(lines, "CoCreationSessionHeld") < sessions:
            errors.append(f"{name}: fewer than {sessions} co-creation sessions")
    if not 250 <= len(events) <= 400:
        errors.append(f"{len(events)} events, outside the intended 250–400")

    # ---- the sjdlr tie graph: partnerships, contacts, co-attendance ----
    edges: dict[frozenset, list[tuple[int, str, str]]] = defaultdict(list)  # pair -> (line, date, how)
    kinds: dict[str, str] = {}
    themes: dict[str, set[str]] = defaultdict(set)
    partnerships: dict[str, tuple[int, str, frozenset]] = {}
    sessions: list[tuple[int, dict]] = []
    for n, e in sj:
        d, t, day = e["data"], e["type"], e["occurred_at"][:10]
        if t == "StakeholderRegistered":
            kinds[d["stakeholder"]] = d["kind"]
            themes[d["stakeholder"]] |= set(d.get("themes", []))
        elif t == "StakeholderProfileChanged" and "themes" in d:
            themes[d["stakeholder"]] |= set(d["themes"])
        elif t == "PartnershipFormed":
            pair = frozenset(d["between"])
            partnerships[d["partnership"]] = (n, day, pair)
            edges[pair].append((n, day, "partnership"))
        elif t in ("PartnershipRevised", "PartnershipEnded"):
            pair = partnerships[d["partnership"]][2]
            edges[pair].append((n, day, t))
        elif t == "OutreachContactLogged":
            edges[frozenset((d["from"], d["to"]))].append((n, day, "contact:" + d["outcome"]))
        elif t == "CoCreationSessionHeld":
            sessions.append((n, d))
            members = sorted(set(d.get("stakeholders", [])) | set(d.get("facilitators", []))
                             | set(d.get("groups", [])))
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    edges[frozenset((a, b))].append((n, day, "co_attendance"))

    def neighbours(node, without=()):
        for pair in edges:
            if node in pair:
                (other,) = pair - {node}
                if other not in without:
                    yield other

    def reachable(start, without=()):
        seen, todo = {start}, [start]
        while todo:
            for m in neighbours(todo.pop(), without):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen

    # single point of failure
    spof = SPECIAL["single_point_of_failure"]
    services = [s for s, k in kinds.items() if k == "city_service"]
    for g in spof["groups"]:
        if spof["stakeholder"] not in set(neighbours(g)):
            errors.append(f"SPOF: {g} is not tied to {spof['stakeholder']}")
        if not reachable(g) & set(services):
            errors.append(f"SPOF: {g} cannot reach any city service at all")
        cut = reachable(g, without={spof["stakeholder"]})
        if cut & set(services):
            errors.append(f"SPOF: {g} reaches city services without {spof['stakeholder']}: "
                          f"{sorted(cut & set(services))}")

    # stalled outreach
    st = SPECIAL["stalled_outreach"]
    contacts = [(n, e["data"]) for n, e in sj if e["type"] == "OutreachContactLogged"
                and e["data"]["to"] == st["to"]]
    if len(contacts) < 3:
        errors.append(f"stalled outreach: {st['to']} contacted fewer than 3 times")
    for n, d in contacts:
        if d["outcome"] not in ("no_response", "acknowledged"):
            errors.append(f"stalled outreach: line {n} has outcome {d['outcome']}")
    if not contacts or contacts[-1][1].get("follow_up_due") != st["overdue_follow_up_due"]:
        errors.append("stalled outreach: the last contact does not carry the overdue follow-up")
    if any(st["to"] in e[2] for e in partnerships.values()):
        errors.append("stalled outreach: the target has a partnership")

    # dormant tie
    dm = SPECIAL["dormant_tie"]
    line, formed, pair = partnerships[dm["partnership"]]
    if formed != dm["formed"] or formed > "2021-03-31" or pair != frozenset(dm["between"]):
        errors.append("dormant tie: not the early partnership described")
    later = [x for x in edges[pair] if x[0] > line]
    if later:
        errors.append(f"dormant tie: later interaction between the pair at line {later[0][0]}")

    # suggested introduction
    si = SPECIAL["suggested_introduction"]
    a, b = si["pair"]
    hub = si["common_partner"]
    if edges.get(frozenset((a, b))):
        errors.append(f"suggested introduction: {a} and {b} are tied (line {edges[frozenset((a, b))][0][0]})")
    if si["shared_theme"] not in themes[a] & themes[b]:
        errors.append("suggested introduction: the pair does not share the theme")
    for x in (a, b):
        ties = edges.get(frozenset((x, hub)), [])
        if not any(h == "partnership" for _, _, h in ties) or \
                sum(h == "contact:committed" for _, _, h in ties) < 2:
            errors.append(f"suggested introduction: {x} is not strongly tied to {hub}")

    # uncovered needs: nobody with the theme is tied by a partnership, a session or a positive contact
    for need, theme in SPECIAL["uncovered_needs"].items():
        for s, ts in themes.items():
            if theme not in ts:
                continue
            for pair_, ties in edges.items():
                if s not in pair_:
                    continue
                for n, _, how in ties:
                    if how in ("partnership", "co_attendance") or how.split(":")[-1] in POSITIVE_OUTCOMES:
                        errors.append(f"uncovered need {need}: {s} is tied ({how}) at line {n}")
        for n, e in sj:
            if e["type"] == "NeedAddressed" and e["data"]["need"] == need:
                errors.append(f"uncovered need {need} is addressed at line {n}")

    # one staff-only session; levels climb; beneficiaries are consistent with the participant codes
    zero = [d["session"] for _, d in sessions if d["beneficiaries"]["total"] == 0]
    if zero != [SPECIAL["staff_only_session"]]:
        errors.append(f"expected exactly one staff-only session, found {zero}")
    levels = [LEVELS.index(d["level"]) for _, d in sessions]
    if max(levels[:2]) > LEVELS.index("consult") or max(levels[-3:]) < LEVELS.index("involve"):
        errors.append("sjdlr levels should start at inform/consult and reach involve/collaborate")
    # Only sjdlr records attendance from its first beneficiary session; Brussels' "returning"
    # counts go back to clients BAPA knew before the log started, so its codes cannot be compared.
    for lines in (sj,):
        seen_codes: set[str] = set()
        attended: dict[str, list[str]] = defaultdict(list)
        heads: dict[str, tuple[int, dict]] = {}
        for n, e in lines:
            if e["type"] == "CoCreationSessionHeld":
                heads[e["data"]["session"]] = (n, e["data"]["beneficiaries"])
            elif e["type"] == "ParticipantAttended":
                attended[e["data"]["session"]].append(e["data"]["participant"])
        for sid, codes in attended.items():
            n, ben = heads[sid]
            first = [c for c in codes if c not in seen_codes]
            if len(codes) == ben["total"] and (len(first), len(codes) - len(first)) != \
                    (ben["first_time"], ben["returning"]):
                errors.append(f"line {n}: first_time/returning disagree with the recorded participants")
            seen_codes |= set(codes)

    # the remaining promised structures
    types = Counter(e["type"] for _, e in sj)
    for type_ in ("PartnershipEnded", "PartnershipRevised", "NeedWithdrawn", "StakeholderArchived",
                  "ReviewNoteAdded", "NeedAddressed"):
        if not types[type_]:
            errors.append(f"sjdlr has no {type_}")
    if not any(e["type"] == "OutreachContactLogged" and e["data"]["outcome"] == "declined" for _, e in sj):
        errors.append("sjdlr has no declined contact")
    for _, e in sj + bx:
        if e["type"] == "PersonalDataErased":
            errors.append("the demo must not contain PersonalDataErased")
    errors += names_errors(sj) + names_errors(bx) + seed_errors(sj)
    return errors


def names_errors(lines) -> list[str]:
    """French names without English glosses, each with the grammar its first word calls for."""
    errors: list[str] = []
    names: dict[str, tuple[int, str]] = {}
    grammars: dict[str, dict] = {}
    for n, e in lines:
        d = e["data"]
        if e["type"] in ("StakeholderRegistered", "StakeholderProfileChanged"):
            if "name" in d:
                names[d["stakeholder"]] = (n, d["name"])
            if "grammar" in d or e["type"] == "StakeholderRegistered":
                grammars[d["stakeholder"]] = d.get("grammar", {})
    for sid, (n, name) in names.items():
        words = set(re.findall(r"[\w']+", name.lower()))
        if words & ENGLISH_WORDS:
            errors.append(f"line {n}: {sid}'s name {name!r} has English words {sorted(words & ENGLISH_WORDS)}")
        if "—" in name:
            errors.append(f"line {n}: {sid}'s name {name!r} carries a gloss after a dash")
        head = name.split()[0].lower()
        g = grammars.get(sid, {})
        gender, number = g.get("gender", "masculine"), g.get("number", "singular")
        article = g.get("article", True)
        if head not in FEMININE_HEADS | MASCULINE_HEADS:
            errors.append(f"line {n}: {sid}'s name starts with {head!r}, which the grammar tables do not know")
            continue
        expected = ("feminine" if head in FEMININE_HEADS else "masculine",
                    "plural" if head in PLURAL_HEADS else "singular", head not in NO_ARTICLE_HEADS)
        if (gender, number, article) != expected:
            errors.append(f"line {n}: {sid} ({name!r}) has grammar {(gender, number, article)}, "
                          f"its first word calls for {expected}")
    return errors


def seed_errors(sj) -> list[str]:
    """The facts of the seed report and of issue 13 that the sjdlr story must keep."""
    errors: list[str] = []
    kinds: dict[str, str] = {}
    names: dict[str, str] = {}
    contacts_of: dict[str, dict] = {}
    partnerships: dict[str, dict] = {}
    sessions: list[dict] = []
    milestones: dict[str, tuple[str, dict]] = {}
    notes: dict[str, dict] = {}
    needs: dict[str, tuple[dict, str]] = {}
    addressed_by: dict[str, list[str]] = {}
    contacts: list[tuple[str, dict]] = []
    for _, e in sj:
        d, t, day = e["data"], e["type"], e["occurred_at"][:10]
        if t == "StakeholderRegistered":
            kinds[d["stakeholder"]] = d["kind"]
            names[d["stakeholder"]] = d["name"]
            contacts_of[d["stakeholder"]] = d.get("contact", {})
        elif t == "PartnershipFormed":
            partnerships[d["partnership"]] = {**d, "formed": day, "ended": False}
        elif t == "PartnershipRevised":
            partnerships[d["partnership"]].update({k: v for k, v in d.items() if k != "partnership"})
        elif t == "PartnershipEnded":
            partnerships[d["partnership"]]["ended"] = True
        elif t == "CoCreationSessionHeld":
            sessions.append(d)
        elif t == "MilestoneMarked":
            milestones[d["milestone"]] = (day, d)
        elif t == "ReviewNoteAdded":
            notes[d["note"]] = d
        elif t == "NeedDeclared":
            needs[d["need"]] = (d, "open")
        elif t == "NeedAddressed":
            needs[d["need"]] = (needs[d["need"]][0], "addressed")
            addressed_by[d["need"]] = d["by"]
        elif t == "NeedWithdrawn":
            needs[d["need"]] = (needs[d["need"]][0], "withdrawn")
        elif t == "OutreachContactLogged":
            contacts.append((day, d))

    def pair_partnership(a, b, on):
        return [pid for pid, x in partnerships.items()
                if set(x["between"]) == {a, b} and x["formed"] <= on and not x["ended"]]

    # institutional links: the council and its officials, the CCAS and its city
    wanted = set(SPECIAL["institutional"])
    actual = {pid for pid, x in partnerships.items() if x["kind"] == "institutional"}
    if actual != wanted:
        errors.append(f"institutional partnerships are {sorted(actual)}, expected {sorted(wanted)}")
    for pid in actual:
        if not any(kinds[x] in ("political", "city_service") for x in partnerships[pid]["between"]):
            errors.append(f"institutional {pid} joins no council body or city service")

    # the two deputy mayors of the seed, as roles, without contact details
    dm = SPECIAL["deputy_mayors"]
    for sid, role in dm.items():
        if sid == "council":
            continue
        if kinds.get(sid) != "political" or not names.get(sid, "").startswith(role + " "):
            errors.append(f"{sid} is not a political stakeholder named {role!r} …")
        if contacts_of.get(sid):
            errors.append(f"{sid} carries contact details")
        if not pair_partnership(sid, dm["council"], "9999-12-31"):
            errors.append(f"{sid} is not linked to {dm['council']}")

    # milestones name the partners who made them happen
    for mid, who in SPECIAL["milestones_naming"].items():
        if mid not in milestones:
            errors.append(f"milestone {mid} is missing")
            continue
        day, d = milestones[mid]
        if not set(who) <= set(d.get("stakeholders", [])):
            errors.append(f"milestone {mid} does not name {who}")
        if not pair_partnership(who[0], who[1], day):
            errors.append(f"milestone {mid}: {who} hold no partnership by {day}")

    # the youth-only employment partnership, the girls' share of the youth sessions
    yp = SPECIAL["youth_partnership"]
    if partnerships.get(yp["partnership"], {}).get("groups") != yp["groups"]:
        errors.append(f"{yp['partnership']} is not limited to {yp['groups']}")
    ys = SPECIAL["youth_sessions"]
    girls = [[x["beneficiaries"]["women"], x["beneficiaries"]["total"]] for x in sessions
             if ys["group"] in x.get("groups", [])]
    if girls != ys["girls_of_total"]:
        errors.append(f"youth sessions show girls of total {girls}, expected {ys['girls_of_total']}")

    # the women's distrust of the CCAS, said in a session and kept in a note
    dt_ = SPECIAL["distrust"]
    note = notes.get(dt_["note"], {})
    if note.get("about") != {"stakeholder": dt_["service"]} or note.get("distrusted_by") != dt_["groups"]:
        errors.append(f"note {dt_['note']} does not record {dt_['groups']} distrusting {dt_['service']}")
    said = [x for x in sessions if x["session"] == dt_["session"]]
    if not said or dt_["service"] not in said[0].get("distrusted", []) or \
            not set(dt_["groups"]) <= set(said[0].get("groups", [])):
        errors.append(f"session {dt_['session']} does not record its groups distrusting {dt_['service']}")

    # the femmes-relais' workload
    cw = SPECIAL["champion_workload"]
    led = sum(cw["facilitator"] in x.get("facilitators", []) for x in sessions)
    if (led, len(sessions)) != (cw["sessions"], cw["of"]):
        errors.append(f"{cw['facilitator']} facilitates {led} of {len(sessions)} sessions, "
                      f"expected {cw['sessions']} of {cw['of']}")

    # the Schaerbeek offer made at the transfer workshop, and its follow-up
    of = SPECIAL["offer_followed_up"]
    offers = [(day, d) for day, d in contacts if d["from"] == of["from"] and d["to"] == of["to"]
              and d["outcome"] == of["outcome"] and "follow_up_due" in d]
    if not offers:
        errors.append(f"no offer from {of['from']} to {of['to']} with a follow-up")
    elif not any(day >= offers[0][0] and {d["from"], d["to"]} == {of["from"], of["to"]}
                 and d["outcome"] == "committed" for day, d in contacts):
        errors.append(f"the offer from {of['from']} was not followed up")

    # needs: the staff-training need was taken on; the others still open are the story's
    st = SPECIAL["staff_training_need"]
    if st["need"] not in needs or needs[st["need"]][0]["theme"] not in st["themes"] or \
            st["by"] not in addressed_by.get(st["need"], []):
        errors.append(f"{st['need']} is not declared on {st['themes']} and addressed by {st['by']}")
    still_open = sorted(n for n, (_, status) in needs.items() if status == "open")
    if still_open != SPECIAL["open_needs"]:
        errors.append(f"open needs are {still_open}, expected {SPECIAL['open_needs']}")
    return errors


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

def summary(events: list[dict]) -> str:
    per_programme = Counter(e["programme"] for e in events)
    per_type: dict[str, Counter] = defaultdict(Counter)
    for e in events:
        per_type[e["programme"]][e["type"]] += 1
    programmes = list(dict.fromkeys(e["programme"] for e in events))
    types = list(FIELDS)
    width = max(len(t) for t in types)
    out = [f"{len(events)} events"]
    out.append(f"{'type':<{width}}  " + "  ".join(f"{p:>8}" for p in programmes) + f"  {'total':>8}")
    for t in types:
        row = [per_type[p][t] for p in programmes]
        if sum(row):
            out.append(f"{t:<{width}}  " + "  ".join(f"{v:>8}" for v in row) + f"  {sum(row):>8}")
    out.append(f"{'all':<{width}}  " + "  ".join(f"{per_programme[p]:>8}" for p in programmes)
               + f"  {len(events):>8}")
    out.append("special structures (sjdlr):")
    for k, v in SPECIAL.items():
        out.append(f"  {k}: {json.dumps(v, ensure_ascii=False)}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", metavar="FILE", type=Path,
                        help="only validate FILE against the rules (no story checks, nothing written)")
    parser.add_argument("--output", metavar="FILE", type=Path, default=OUTPUT,
                        help=f"where to write the demo (default: {OUTPUT})")
    args = parser.parse_args(argv)

    if args.check:
        _, errors = validate(args.check.read_text(encoding="utf-8"))
        for e in errors:
            print(f"{args.check}: {e}", file=sys.stderr)
        return 1 if errors else 0

    text = serialise(build())
    events, errors = validate(text)
    errors += [] if errors else story_errors(events)
    if errors:
        for e in errors:
            print(f"demo data: {e}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(text.encode("utf-8"))
    print(f"wrote {args.output}")
    print(summary(events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
