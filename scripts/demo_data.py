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
                  {"person": "Accueil du CCAS", "email": "ccas@example.org"})
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
                  {"person": "Chargée de mission IncluCities", "email": "inclucities@example.org"}, grammar=FEM)
    p.stakeholder("2020-11-16", "sj-ccre", "CCRE (Conseil des communes et régions d'Europe)",
                  "network_body", ["political_support", "funding", "mentoring"], "Europe")
    p.stakeholder("2020-11-16", "sj-migrationwork", "MigrationWork",
                  "consultant", ["mentoring", "community_outreach", "employment"], "Europe", grammar=BARE)
    p.milestone("2020-11-16", "ms-kickoff",
                "Lancement du programme de mentorat IncluCities : Saint-Jean-de-la-Ruelle en binôme avec la "
                "Ville de Bruxelles",
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
              "Comprendre la situation de logement des ménages migrants dans les quartiers prioritaires ; "
              "convenir d'un partage de données sur la suroccupation et les impayés de loyer.",
              "committed")
    p.contact("2021-01-20", "sj-ccas", "sj-french-assoc", "meeting",
              "Présenter IncluCities et demander combien de femmes suivent les ASL, et ce qui freine les "
              "autres.",
              "interested", "2021-02-15")
    p.contact("2021-01-25", "sj-deputy-mayor", "sj-departement", "letter",
              "Informer le Département du programme de mentorat et lui demander ses données d'action sociale "
              "sur les deux quartiers prioritaires.",
              "acknowledged")
    p.contact("2021-01-27", "sj-ccas", "sj-vaw-assoc", "phone",
              "Premier appel : l'association reçoit-elle des femmes migrantes à sa permanence téléphonique, "
              "et participerait-elle au diagnostic partenarial ?",
              "interested", "2021-03-01")
    p.contact("2021-02-01", "sj-employment", "sj-employers", "email",
              "Inviter le club d'entreprises à partager les besoins de recrutement de ses membres et leur "
              "expérience de l'embauche de femmes migrantes.",
              "no_response", "2021-02-22")
    p.contact("2021-02-03", "sj-employment", "sj-mission-locale", "meeting",
              "Convenir de l'orientation des jeunes migrants vers la Garantie jeunes de la Mission locale.",
              "committed")
    p.contact("2021-02-05", "sj-ccas", "sj-womens-rights", "email",
              "Demander au CIDFF s'il tient des permanences d'accès aux droits dans les quartiers "
              "prioritaires.",
              "acknowledged", "2021-03-15")
    p.partnership("2021-02-09", "pt-ccas-housing", "sj-ccas", "sj-housing", "information_sharing",
                  ["housing", "precariousness"])
    p.contact("2021-02-10", "sj-communications", "sj-media", "phone",
              "Proposer à la radio associative une émission mensuelle sur l'accès aux services municipaux.",
              "interested", "2021-03-01")
    p.contact("2021-02-12", "sj-ccas", "sj-health-centre", "meeting",
              "Demander à la maison de santé quels freins rencontrent les femmes migrantes (langue, prise de "
              "rendez-vous, garde d'enfants).",
              "acknowledged")
    p.contact("2021-02-15", "sj-ccas", "sj-french-assoc", "meeting",
              "Convenir d'un circuit d'orientation du CCAS vers les ateliers sociolinguistiques (ASL).", "committed")
    # The Mission locale works with young people only: the partnership is limited to them.
    p.partnership("2021-02-16", "pt-employment-mission-locale", "sj-employment", "sj-mission-locale",
                  "referral", ["employment", "education"], groups=["sj-young-migrants"])
    p.contact("2021-02-18", "sj-ccas", "sj-covid-aid", "phone",
              "Demander au collectif d'aide alimentaire quelles familles il touche et que le CCAS ne voit "
              "pas.",
              "interested")
    p.contact("2021-02-24", "sj-employment", "sj-employers", "phone",
              "Relance du courriel de février ; demander un interlocuteur pour le diagnostic partenarial.",
              "acknowledged", "2021-03-31")
    p.milestone("2021-02-26", "ms-desk-analysis",
                "Diagnostic documentaire des besoins des habitants migrants achevé (sans données ethniques ; "
                "écarts au détriment des femmes et des filles migrantes dans l'emploi)",
                "other", ["sj-migrationwork", "sj-ccas"])
    p.partnership("2021-03-01", "pt-ccas-french-assoc", "sj-ccas", "sj-french-assoc", "referral",
                  ["language", "social_support"])
    p.contact("2021-03-01", "sj-ccas", "sj-vaw-assoc", "meeting",
              "Convenir de l'orientation des femmes migrantes qui révèlent des violences et de temps "
              "d'analyse partagée des situations.", "committed")
    p.contact("2021-03-03", "sj-deputy-mayor", "sj-metropole", "letter",
              "Demander à Orléans Métropole de cofinancer un projet pour les femmes au titre du contrat de "
              "ville.",
              "declined")
    p.contact("2021-03-05", "sj-ccas", "sj-pole-emploi", "email",
              "Demander des chiffres anonymisés sur les demandeuses d'emploi des quartiers prioritaires.",
              "acknowledged")
    p.partnership("2021-03-08", "pt-comms-media", "sj-communications", "sj-media", "information_sharing",
                  ["community_outreach"])
    p.session("2021-03-10", "ses-staff-briefing",
              "Réunion d'information des agents : besoins des habitants migrants et accès aux services "
              "municipaux",
              ["social_support", "rights", "education"], "inform",
              ["sj-ccas", "sj-employment", "sj-education", "sj-early-childhood", "sj-communications",
               "sj-hr-training"],
              ["sj-migrationwork"], [], (0, 0, 0, 0, 0, 0),
              ["Les agents ne sont pas toujours informés des besoins spécifiques des personnes migrantes ; un "
               "besoin de formation est relevé.",
               "Résultats du diagnostic documentaire présentés à six services municipaux."])
    p.partnership("2021-03-15", "pt-ccas-vaw-assoc", "sj-ccas", "sj-vaw-assoc", "referral",
                  ["violence_against_women", "rights"])
    p.contact("2021-03-17", "sj-ccas", "sj-early-childhood", "meeting",
              "Demander si les crèches municipales pourraient réserver des places aux mères qui suivent un "
              "cours ou se rendent à un rendez-vous.",
              "declined")
    p.stakeholder("2021-03-22", "sj-nursery", "Crèche associative des Salmoneries",
                  "childcare", ["childcare"], SAL, grammar=FEM)
    p.contact("2021-03-22", "sj-ccas", "sj-nursery", "visit",
              "Visite de la crèche associative : pourrait-elle proposer des places en accueil occasionnel "
              "(halte-garderie) aux femmes qui suivent les cours de français ?",
              "declined")
    p.contact("2021-03-24", "sj-ccas", "sj-social-centre", "meeting",
              "Organiser des temps d'écoute avec les femmes migrantes dans les deux quartiers prioritaires.", "committed")
    p.stakeholder("2021-03-29", "sj-champions", "Femmes-relais",
                  "community_champion", ["community_outreach", "social_support"], SJ, grammar=FEM_PL)
    p.contact("2021-03-29", "sj-social-centre", "sj-champions", "meeting",
              "Présenter le projet IncluCities à des femmes reconnues dans leur communauté.",
              "interested")
    p.contact("2021-04-06", "sj-ccas", "sj-champions", "meeting",
              "Demander aux femmes-relais d'animer des temps d'écoute avec les femmes migrantes aux "
              "Salmoneries et aux Chaises.",
              "committed")
    p.partnership("2021-04-08", "pt-ccas-champions", "sj-ccas", "sj-champions", "referral",
                  ["community_outreach", "social_support"])
    p.partnership("2021-04-08", "pt-champions-salmoneries", "sj-champions", "sj-women-salmoneries",
                  "informal", ["community_outreach"])
    p.partnership("2021-04-08", "pt-champions-chaises", "sj-champions", "sj-women-chaises",
                  "informal", ["community_outreach"])
    p.contact("2021-04-12", "sj-employment", "sj-employers", "letter",
              "Courrier officiel de la Ville invitant le club d'entreprises à la visite de mentorat.",
              "no_response", "2021-05-10")
    p.milestone("2021-04-14", "ms-benchmark", "Étude comparative des pratiques réalisée par MigrationWork", "other",
                ["sj-migrationwork"])
    p.stakeholder("2021-04-15", "sj-interpreting", "Service d'interprétariat en milieu social",
                  "interpreting", ["interpreting"], "Centre-Val de Loire")
    p.contact("2021-04-15", "sj-ccas", "sj-interpreting", "email",
              "Demander les tarifs et les disponibilités d'interprètes dans les langues les plus parlées dans "
              "les quartiers prioritaires.",
              "no_response", "2021-04-26")
    p.contact("2021-04-20", "sj-ccas", "sj-legal-aid", "meeting",
              "Le Point-justice pourrait-il tenir une permanence mensuelle sur le droit au séjour ?", "interested")
    s2 = codes.new(11)
    p.session("2021-04-22", "ses-listening-salmoneries",
              "Temps d'écoute avec les femmes migrantes du quartier des Salmoneries",
              ["social_support", "language", "employment", "childcare"], "consult",
              [], ["sj-champions"], ["sj-women-salmoneries"], (11, 11, 0, 0, 11, 0),
              ["Les femmes demandent des cours de français près de chez elles, avec un lieu où confier les "
               "jeunes enfants.",
               "Plusieurs femmes ne savent pas à quel service municipal s'adresser ; le CCAS est vu comme « "
               "juste pour l'argent »."],
              s2, distrusted=["sj-ccas"])
    p.note("2021-04-23", "note-ccas-distrust", "stakeholder", "sj-ccas",
           "Les femmes des Salmoneries voient le CCAS comme « juste pour l'argent » (les aides) et n'y "
           "iraient pas pour un conseil ou des cours de français. La Maison des Femmes ne doit pas ressembler "
           "à un guichet du CCAS : aller vers les femmes là où les femmes-relais les rencontrent déjà.",
           distrusted_by=["sj-women-salmoneries"])
    p.contact("2021-04-26", "sj-ccas", "sj-interpreting", "phone",
              "Relance du courriel ; un devis est promis.", "acknowledged", "2021-05-31")
    p.contact("2021-04-28", "sj-deputy-mayor", "sj-prefecture", "letter",
              "Informer les services de l'État des travaux sur le plan d'action et se renseigner sur les "
              "appels à projets pour l'intégration.",
              "acknowledged")
    p.contact("2021-05-03", "sj-migrationwork", "sj-ccas", "email",
              "Arrêter l'ordre du jour de la visite de mentorat en ligne et la liste des acteurs à inviter.", "committed")
    p.partnership("2021-05-06", "pt-mission-locale-young", "sj-mission-locale", "sj-young-migrants",
                  "informal", ["employment", "education"])
    s3 = codes.new(9)
    p.session("2021-05-06", "ses-young-employment",
              "Consultation des jeunes migrants sur la formation et le premier emploi",
              ["employment", "education", "digital_inclusion"], "consult",
              ["sj-mission-locale"], ["sj-employment"], ["sj-young-migrants"], (9, 3, 5, 1, 9, 0),
              ["Les jeunes demandent de l'aide pour les candidatures en ligne et les CV.",
               "Les filles sont venues moins nombreuses (3 sur 9) ; le groupe propose un créneau réservé aux "
               "filles."],
              s3)
    p.stakeholder("2021-05-10", "sj-french-school", "GRETA (centre de formation pour adultes)", "education",
                  ["language", "education", "employment"], OM)
    p.contact("2021-05-10", "sj-education", "sj-french-school", "email",
              "Se renseigner sur les cours certifiants de français langue étrangère (FLE) pour adultes et sur "
              "les délais d'attente.",
              "acknowledged")
    p.milestone("2021-05-18", "ms-first-mentoring-visit",
                "Première visite de mentorat accueillie par Saint-Jean-de-la-Ruelle, en ligne en raison des "
                "règles sanitaires liées au COVID-19",
                "mentoring_visit",
                ["sj-ccas", "sj-migrationwork", "sj-afccre", "sj-deputy-mayor", "sj-deputy-mayor-2"])
    p.contact("2021-05-18", "sj-ccas", "sj-womens-rights", "event",
              "Rencontre lors de la visite de mentorat en ligne ; le CIDFF propose de former les agents aux "
              "droits des femmes migrantes.",
              "interested", "2021-06-30")
    p.contact("2021-05-18", "sj-ccas", "sj-health-centre", "event",
              "Rencontre lors de la visite de mentorat en ligne ; échange sur l'accès des femmes aux soins.", "interested")
    p.contact("2021-05-18", "sj-ccas", "sj-legal-aid", "event",
              "Rencontre lors de la visite de mentorat en ligne ; permanence mensuelle sur le droit au séjour "
              "acceptée sur le principe.",
              "committed")
    p.contact("2021-05-25", "sj-employment", "sj-employers", "email",
              "Transmettre les conclusions de la visite de mentorat sur l'emploi des femmes ; demander un "
              "rendez-vous.",
              "acknowledged", "2021-06-30")
    p.contact("2021-05-31", "sj-deputy-mayor-2", "sj-hr-training", "meeting",
              "Les agents de la Ville ne sont pas toujours bien informés des besoins spécifiques des "
              "personnes migrantes : prévoir une formation des agents d'accueil.",
              "committed")
    p.partnership("2021-06-03", "pt-ccas-legal-aid", "sj-ccas", "sj-legal-aid", "referral", ["rights"])
    s4_new = codes.new(13)
    p.session("2021-06-10", "ses-listening-chaises", "Temps d'écoute avec les femmes migrantes du quartier "
                                                     "des Chaises",
              ["social_support", "rights", "violence_against_women", "language"], "consult",
              [], ["sj-champions"], ["sj-women-chaises"], (14, 13, 0, 1, 13, 1),
              ["Les femmes décrivent leur isolement depuis les confinements et leur méconnaissance de leurs "
               "droits.",
               "Plusieurs participantes évoquent des violences faites aux femmes ; les femmes-relais "
               "assureront un suivi individuel."],
              s4_new + [s2[2]])
    p.partnership("2021-06-14", "pt-departement-ccas", "sj-departement", "sj-ccas", "funding",
                  ["social_support", "precariousness", "funding"])
    p.partnership("2021-06-21", "pt-social-centre-champions", "sj-social-centre", "sj-champions",
                  "informal", ["community_outreach"])
    p.archive("2021-09-15", "sj-covid-aid",
              "Le collectif s'est dissous après la fin des mesures de confinement ; les familles ont été "
              "orientées vers le CCAS.")
    p.profile("2021-09-15", "sj-ccas", contact={"person": "Chargée de mission intégration", "email": "integration@example.org"})
    p.partnership("2021-09-20", "pt-ccas-health-centre", "sj-ccas", "sj-health-centre", "referral",
                  ["health", "social_support"])
    p.profile("2021-10-04", "sj-french-assoc", territory="Quartiers des Chaises et des Salmoneries, Saint-Jean-de-la-Ruelle")

    # ---- October 2021: the study visit to Brussels ----------------------------------------
    p.milestone("2021-10-13", "ms-study-visit-brussels",
                "Visite d'étude à la Ville de Bruxelles et au BAPA (thèmes : précarité, emploi, femmes)",
                "study_visit", ["sj-ccas", "sj-afccre", "sj-migrationwork"])

    # ---- After the study visit: the action plan takes shape -------------------------------
    p.contact("2021-11-04", "sj-ccas", "sj-french-school", "meeting",
              "Au retour de Bruxelles : demander au GRETA d'ouvrir un cours de français réservé aux femmes "
              "dans les quartiers prioritaires.",
              "committed")
    p.contact("2021-11-08", "sj-ccas", "sj-womens-rights", "meeting",
              "Convenir d'une permanence hebdomadaire d'accès aux droits pour les femmes, sur le modèle de ce "
              "qui a été vu à Bruxelles.",
              "committed")
    p.contact("2021-11-10", "sj-ccas", "sj-interpreting", "email",
              "Troisième demande de devis pour l'interprétariat à la future Maison des Femmes.",
              "no_response", "2021-12-10")
    p.stakeholder("2021-11-15", "sj-young-volunteers", "Jeunes volontaires en service civique",
                  "volunteer_group", ["volunteering", "digital_inclusion", "community_outreach"], SJ,
                  grammar=MASC_PL)
    p.contact("2021-11-15", "sj-education", "sj-young-volunteers", "meeting",
              "Des jeunes volontaires pourraient-ils tenir une permanence numérique et accueillir les femmes "
              "à la Maison des Femmes ?",
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
              "Atelier : que doit proposer une maison des femmes ? (les deux quartiers)",
              ["social_support", "rights", "language", "childcare", "interpreting"], "involve",
              [], ["sj-champions"], WOMEN, (18, 17, 0, 1, 7, 11),
              ["Priorités classées par les femmes : cours de français, conseils sur les droits, garde "
               "d'enfants sur place, quelqu'un qui parle leur langue.",
               "Les femmes demandent à participer au choix des horaires d'ouverture et du nom du lieu."],
              s5_ret + s5_new)
    p.contact("2021-11-29", "sj-employment", "sj-employers", "email",
              "Inviter le club d'entreprises à contribuer au volet emploi du plan d'action.",
              "no_response", "2022-01-15")
    p.contact("2021-12-06", "sj-afccre", "sj-ccas", "email",
              "Informations sur le FAMI et les appels à projets nationaux qui pourraient financer la Maison "
              "des Femmes.", "committed")
    p.stakeholder("2021-12-09", "sj-fami", "FAMI (Fonds asile, migration et intégration)",
                  "funder", ["funding"], "Union européenne")
    p.contact("2021-12-09", "sj-ccas", "sj-fami", "email",
              "Question sur l'éligibilité d'une maison des femmes municipale aux appels à projets « "
              "intégration » du FAMI.",
              "acknowledged")
    p.stakeholder("2021-12-13", "sj-digital", "Espace public numérique",
                  "association", ["digital_inclusion", "education"], SJ)
    p.contact("2021-12-13", "sj-young-volunteers", "sj-digital", "meeting",
              "Préparer une permanence numérique tenue par les jeunes volontaires avec les médiateurs "
              "numériques de l'association.", "committed")
    p.partnership("2021-12-15", "pt-ccas-womens-rights", "sj-ccas", "sj-womens-rights", "co_delivery",
                  ["rights", "violence_against_women"])
    p.contact("2022-01-10", "sj-ccas", "sj-french-assoc", "meeting",
              "Préparer les ASL qui se tiendront à la Maison des Femmes.", "committed")
    p.contact("2022-01-11", "sj-ccas", "sj-nursery", "phone",
              "Redemander des places en accueil occasionnel pour l'ouverture de la Maison des Femmes.", "declined")
    p.contact("2022-01-12", "sj-ccas", "sj-french-school", "meeting",
              "Calendrier du cours de français réservé aux femmes ; inscriptions par le CCAS.", "committed")
    p.partnership("2022-01-17", "pt-volunteers-digital", "sj-young-volunteers", "sj-digital", "co_delivery",
                  ["digital_inclusion", "community_outreach"])
    p.partnership("2022-01-19", "pt-hr-womens-rights", "sj-hr-training", "sj-womens-rights", "co_delivery",
                  ["rights", "violence_against_women", "education"])
    p.addressed("2022-01-19", "need-staff-training", ["sj-hr-training", "sj-womens-rights"])
    p.stakeholder("2022-01-24", "sj-region", "Région Centre-Val de Loire",
                  "funder", ["funding"], "Centre-Val de Loire", grammar=FEM)
    p.contact("2022-01-24", "sj-ccas", "sj-region", "email",
              "Demander si les crédits régionaux du FSE+ pourraient cofinancer le poste de travailleur "
              "social.", "acknowledged")

    # ---- 7 February 2022: the transfer workshop -------------------------------------------
    p.milestone("2022-02-07T10:00:00Z", "ms-transfer-workshop",
                "Atelier de transfert IncluCities Saint-Jean-de-la-Ruelle – Bruxelles : présentation du plan "
                "d'action et de la Maison des Femmes",
                "workshop",
                ["sj-deputy-mayor", "sj-deputy-mayor-2", "sj-afccre", "sj-ccre", "sj-migrationwork", "sj-ccas"])
    # At the workshop the Maison des femmes de Schaerbeek offered to share its experience: in this
    # network it is a peer to learn from (its own services are in the Brussels programme).
    p.stakeholder("2022-02-07T10:00:00Z", "sj-schaerbeek-women", "Maison des femmes de Schaerbeek",
                  "association", ["mentoring"], "Schaerbeek, Bruxelles", grammar=FEM)
    p.contact("2022-02-07T11:30:00Z", "sj-schaerbeek-women", "sj-ccas", "event",
              "Lors de l'atelier de transfert, la Maison des femmes de Schaerbeek propose une rencontre pour "
              "partager son fonctionnement.",
              "interested", "2022-03-18")
    p.note("2022-02-10", "note-champions-spof", "stakeholder", "sj-champions",
           "Tous les liens avec les groupes de femmes migrantes passent par les femmes-relais. C'est une "
           "force (la confiance) et un risque : si deux ou trois femmes-relais se retirent, la Ville perd son "
           "seul chemin vers les femmes. Avant l'ouverture de la Maison des Femmes, construire un second "
           "chemin : les ASL ou le Centre social pourraient rencontrer les femmes directement.")
    p.note("2022-02-10", "note-nursery", "need", "need-nursery",
           "À Bruxelles, c'est la halte-garderie à côté des cours de langue qui a permis aux mères de venir. "
           "Aucun partenaire de garde d'enfants en vue ici (la Crèche associative des Salmoneries a refusé "
           "deux fois). Sans lui, les femmes qui ont les plus jeunes enfants resteront à l'écart.")
    p.note("2022-02-10", "note-interpreting", "need", "need-interpreting",
           "Le BAPA travaille avec le SeTIS Bruxelles, service d'interprétariat social, dans le cadre d'une "
           "convention payée à l'heure. Trois demandes au Service d'interprétariat en milieu social sont "
           "restées sans réponse : demander au Département s'il existe déjà une convention à laquelle le CCAS "
           "pourrait se joindre.")
    p.stakeholder("2022-02-14", "sj-vaw-shelter", "Accueil de jour pour femmes victimes de violences",
                  "association", ["violence_against_women", "housing", "social_support"], OM)
    p.contact("2022-02-14", "sj-ccas", "sj-vaw-shelter", "meeting",
              "Élargir l'aller-vers au-delà du premier cercle : comment l'accueil de jour pourrait-il "
              "travailler avec la Maison des Femmes ?",
              "interested", "2022-03-21")
    p.contact("2022-02-21", "sj-employment", "sj-employers", "phone",
              "Cinquième tentative : demander dix minutes au prochain petit-déjeuner du club.",
              "acknowledged", "2022-03-31")
    p.revise("2022-03-01", "pt-ccas-champions", kind="co_delivery",
             themes=["community_outreach", "social_support", "violence_against_women"])
    p.profile("2022-03-01", "sj-champions",
              themes=["community_outreach", "social_support", "violence_against_women"])
    p.end("2022-03-07", "pt-comms-media",
          "La radio associative a supprimé son émission mensuelle sur l'intégration pendant la campagne "
          "présidentielle ; le service communication a mis fin au partenariat.")
    s6_ret = [s2[0], s2[1], s2[2], s2[4], s2[6], s2[7], s4_new[0], s4_new[1], s4_new[3], s4_new[5],
              s4_new[6], s5_new[0], s5_new[1], s5_new[2], s5_new[3]]
    s6_new = codes.new(6)
    p.session("2022-03-09", "ses-codesign-maison",
              "Séance de co-construction : services, horaires d'ouverture et accueil de la Maison des Femmes",
              ["social_support", "rights", "language", "violence_against_women"], "collaborate",
              [], ["sj-champions"], WOMEN, (21, 20, 0, 1, 6, 15),
              ["Horaires d'ouverture convenus avec les femmes : le matin pendant le temps scolaire, un soir "
               "par semaine.",
               "Les femmes ont choisi le déroulé de l'accueil et le tiendront à tour de rôle avec les "
               "femmes-relais.",
               "Conseils sur les droits et cours de français le même matin, pour limiter les déplacements."],
              s6_ret + s6_new)
    p.addressed("2022-03-14", "need-social-support", ["sj-ccas", "sj-social-centre"])
    p.addressed("2022-03-14", "need-french-lessons", ["sj-french-assoc", "sj-french-school"])
    p.contact("2022-03-16", "sj-ccas", "sj-schaerbeek-women", "meeting",
              "Suite de la proposition faite à l'atelier de transfert (en ligne) : comment Schaerbeek "
              "organise l'accueil, la garde d'enfants et le bénévolat ; une visite de l'équipe de la Maison "
              "des Femmes est convenue pour son ouverture.",
              "committed")
    p.partnership("2022-03-21", "pt-vaw-assoc-shelter", "sj-vaw-assoc", "sj-vaw-shelter", "referral",
                  ["violence_against_women", "housing"])
    p.addressed("2022-03-21", "need-rights-advice", ["sj-womens-rights", "sj-legal-aid"])
    p.addressed("2022-03-21", "need-community-champions", ["sj-champions"])
    p.note("2022-03-28", "note-french-intro", "stakeholder", "sj-french-assoc",
           "Les Ateliers sociolinguistiques et le GRETA enseignent tous deux le français aux femmes orientées "
           "par le CCAS, mais ne se sont jamais rencontrés. Il vaudrait la peine de les mettre en relation : "
           "les ASL pourraient préparer les femmes au cours certifiant.")
    p.note("2022-03-28", "note-housing-dormant", "partnership", "pt-ccas-housing",
           "Aucun contact avec le bailleur social depuis février 2021. Le logement est revenu à chaque séance "
           "à Bruxelles : ce partenariat est-il encore vivant ?")
    p.withdrawn("2022-04-04", "need-premises",
                "La municipalité installera la Maison des Femmes dans le Centre social des Chaises existant ; "
                "de nouveaux locaux ne sont pas nécessaires.")
    s7_ret = s3[:7]
    s7_new = codes.new(5)
    p.session("2022-04-06", "ses-young-digital-desk",
              "Jeunes volontaires et jeunes migrants conçoivent une permanence numérique",
              ["digital_inclusion", "employment", "volunteering"], "involve",
              ["sj-digital", "sj-mission-locale"], ["sj-young-volunteers"], ["sj-young-migrants"],
              (12, 5, 6, 1, 5, 7),
              ["Une permanence hebdomadaire pour les démarches en ligne, tenue par les volontaires avec "
               "l'Espace public numérique.",
               "Les filles sont revenues plus nombreuses (5 sur 12) ; un créneau réservé aux filles, comme "
               "demandé en mai 2021."],
              s7_ret + s7_new)
    p.note("2022-04-11", "note-employers-stalled", "stakeholder", "sj-employers",
           "Cinq contacts en un an et aucune vraie réponse. Arrêter les courriers : demander à la Mission "
           "locale, que les employeurs connaissent déjà, d'amener la Ville à l'une de leurs réunions.")
    p.contact("2022-04-19", "sj-ccas", "sj-french-assoc", "phone",
              "Confirmer le calendrier des ASL pour la première période d'ouverture.", "committed")
    p.contact("2022-04-20", "sj-ccas", "sj-french-school", "email",
              "Confirmer les dates d'inscription au cours réservé aux femmes.", "committed")
    p.milestone("2022-04-24", "ms-presidential-election",
                "Élection présidentielle (second tour) : une campagne marquée par l'extrême droite et par des "
                "baisses de financement du travail social",
                "other")
    p.note("2022-04-25", "note-funding-context", "need", "need-funding",
           "Les adjoints au maire ont prévenu lors de l'atelier de transfert que le contexte électoral va de "
           "pair avec des baisses de financement du travail social. Garder des actions simples à mettre en "
           "œuvre, et garder le FAMI et le FSE+ de la Région en solution de repli si les crédits de l'État "
           "pour l'intégration sont réduits.")
    p.contact("2022-04-25", "sj-ccas", "sj-prefecture", "meeting",
              "Présenter la Maison des Femmes aux services de l'État avant la demande de subvention.",
              "interested", "2022-09-30")
    p.milestone("2022-05-16", "ms-funding-application",
                "Demande de subvention pour la Maison des Femmes déposée au titre des crédits de l'État pour "
                "l'intégration (le FAMI en solution de repli)",
                "funding", ["sj-ccas", "sj-prefecture"])
    p.addressed("2022-05-23", "need-young-volunteers", ["sj-young-volunteers"])
    p.contact("2022-06-20", "sj-ccas", "sj-french-school", "meeting",
              "Bilan de fin d'année du cours de français réservé aux femmes : 14 femmes l'ont terminé, 9 "
              "demandent le niveau suivant.",
              "committed")
    p.contact("2022-06-22", "sj-ccas", "sj-french-assoc", "meeting",
              "Préparer la session d'été des ASL, qui ouvrira à la Maison des Femmes.", "committed")
    p.milestone("2022-06-27", "ms-council-decision",
                "Le conseil municipal approuve le plan d'action et la création de la Maison des Femmes", "decision",
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
                "La Maison des Femmes s'installe au Centre social des Chaises", "other",
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
              "La nouvelle équipe de la Maison des Femmes visite la Maison des femmes de Schaerbeek, comme "
              "proposé à l'atelier de transfert : accueil, garde d'enfants et bénévolat.",
              "committed")
    p.milestone("2022-07-05", "ms-french-workshop-opens",
                "Premier atelier sociolinguistique à la Maison des Femmes (session d'été), ouvert par les "
                "Ateliers sociolinguistiques et la Maison des Femmes",
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
         {"person": "Accueil du BAPA", "email": "accueil@example.org"}, None),
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

    p.session("2020-12-08", "bses-welcome-panel", "Panel d'usagers du BAPA : revoir le premier entretien "
                                                  "d'accueil",
              ["social_support", "language", "rights"], "consult",
              ["br-cpas", "br-language-school"], ["br-bapa"], ["br-newcomer-women", "br-newcomer-families"],
              (16, 10, 5, 1, 6, 10),
              ["L'entretien d'accueil est raccourci et un interprète est proposé d'office."])
    p.contact("2021-01-20", "br-bapa", "br-digital", "meeting",
              "Depuis les confinements, beaucoup d'usagers ne parviennent pas à faire leurs démarches en "
              "ligne : étudier une permanence numérique commune.",
              "interested", "2021-02-08")
    p.contact("2021-02-08", "br-bapa", "br-digital", "meeting", "Convenir du format de la permanence et des "
                                                                "formateurs.",
              "committed")
    p.milestone("2021-02-15", "bms-digital-priority", "Le BAPA fait de la fracture numérique une priorité "
                                                      "actuelle",
                "decision", ["br-bapa"])
    p.profile("2021-02-15", "br-bapa",
              themes=["social_support", "language", "employment", "housing", "rights", "digital_inclusion"])
    p.partnership("2021-03-01", "pb-bapa-digital", "br-bapa", "br-digital", "co_delivery", ["digital_inclusion"])
    p.session("2021-03-16", "bses-via-orientation",
              "Atelier de co-construction de BAPA-VIA : le parcours d'orientation repensé avec d'anciens "
              "usagers",
              ["social_support", "employment", "language"], "collaborate",
              ["br-actiris", "br-language-school"], ["br-bapa-via"], ["br-newcomer-women"],
              (14, 9, 4, 1, 3, 11),
              ["Le parcours d'orientation est coécrit avec d'anciens usagers, qui le présentent désormais aux "
               "primo-arrivants.",
               "Horaires des cours adaptés aux horaires scolaires."])
    p.milestone("2021-03-30", "bms-via-pathway",
                "Le parcours d'orientation de BAPA-VIA, co-construit avec ses usagers, est ouvert à tous les "
                "primo-arrivants", "other",
                ["br-bapa-via"])
    p.contact("2021-04-27", "br-bapa", "br-city", "email",
              "Préparer la visite de mentorat en ligne à Saint-Jean-de-la-Ruelle.", "committed")
    p.milestone("2021-05-18", "bms-mentoring-visit",
                "Première visite de mentorat à Saint-Jean-de-la-Ruelle (en ligne en raison du COVID-19)", "mentoring_visit",
                ["br-bapa", "br-city"])
    p.contact("2021-06-01", "br-city", "br-brulocalis", "email",
              "Partager les thèmes de la première visite (précarité, emploi, femmes) pour structurer la "
              "visite d'étude.",
              "acknowledged")
    p.session("2021-06-22", "bses-digital-desk", "Permanence numérique : test du service avec des "
                                                 "primo-arrivants",
              ["digital_inclusion", "social_support"], "involve",
              ["br-digital", "br-cpas"], ["br-bapa"], ["br-newcomer-families", "br-newcomer-women"],
              (19, 11, 7, 1, 8, 11),
              ["Les primo-arrivants ont testé la permanence et réécrit les consignes en langage clair."])
    p.contact("2021-08-30", "br-bapa", "br-housing", "meeting",
              "Structurer la visite d'étude autour de la précarité : un nouveau partenaire sur le logement.", "committed")
    p.contact("2021-09-06", "br-bapa", "br-schaerbeek-women", "meeting",
              "Inviter la Maison des femmes de Schaerbeek à présenter son travail pendant la visite d'étude.", "interested",
              "2021-09-27")
    p.partnership("2021-09-13", "pb-bapa-housing", "br-bapa", "br-housing", "referral",
                  ["housing", "precariousness"])
    p.contact("2021-09-20", "br-bapa", "br-actiris", "email",
              "Demander à Actiris de présenter ses services pour les femmes primo-arrivantes pendant la "
              "visite d'étude.", "acknowledged")
    p.contact("2021-09-27", "br-bapa", "br-schaerbeek-women", "meeting",
              "Arrêter le programme de l'après-midi de la visite d'étude à la Maison des femmes.", "committed")
    p.partnership("2021-10-04", "pb-bapa-schaerbeek", "br-bapa", "br-schaerbeek-women", "information_sharing",
                  ["violence_against_women", "rights", "social_support"])
    p.milestone("2021-10-13", "bms-study-visit", "Visite d'étude de Saint-Jean-de-la-Ruelle accueillie à "
                                                 "Bruxelles",
                "study_visit", ["br-bapa", "br-city", "br-schaerbeek-women", "br-bapa-via"])
    b4 = codes.new(12)
    p.session("2021-10-13", "bses-study-visit-women",
              "Visite d'étude : des femmes primo-arrivantes présentent les services qu'elles ont contribué à "
              "concevoir",
              ["social_support", "employment", "violence_against_women"], "collaborate",
              ["br-city", "br-brulocalis", "br-schaerbeek-women", "br-bapa-via"], ["br-bapa"],
              ["br-newcomer-women"], (12, 12, 0, 0, 2, 10),
              ["Les femmes expliquent aux visiteurs comment le parcours d'orientation et les groupes de "
               "femmes ont été co-construits.",
               "Les visiteurs de Saint-Jean-de-la-Ruelle relèvent le rôle des relais et de la garde d'enfants "
               "sur place."],
              b4)
    p.contact("2021-11-16", "br-bapa", "br-community-assoc", "meeting",
              "Toucher, par les associations de quartier, les femmes primo-arrivantes que le BAPA ne voit pas "
              "encore.",
              "committed")
    p.contact("2022-01-18", "br-bapa-via", "br-interpreting", "phone",
              "Demander des heures d'interprétariat supplémentaires pour les séances collectives.", "declined")
    p.milestone("2022-02-07T10:00:00Z", "bms-transfer-workshop",
                "Atelier de transfert avec Saint-Jean-de-la-Ruelle : partage des enseignements sur la "
                "co-construction avec les usagers",
                "workshop", ["br-bapa", "br-bapa-via", "br-schaerbeek-women", "br-city", "br-brulocalis"])
    p.revise("2022-03-01", "pb-bapa-digital", kind="formal_agreement",
             themes=["digital_inclusion", "employment"])
    b5_new = codes.new(1)
    p.session("2022-03-22", "bses-women-steering",
              "Le comité de pilotage des femmes primo-arrivantes fixe les priorités du programme femmes",
              ["social_support", "violence_against_women", "employment", "language"], "empower",
              ["br-schaerbeek-women", "br-relais"], ["br-bapa"], ["br-newcomer-women"],
              (10, 10, 0, 0, 1, 9),
              ["Le comité de pilotage a choisi les trois priorités du programme et gère un petit budget "
               "d'activités."],
              b4[:9] + b5_new)
    p.note("2022-03-28", "bnote-via", "stakeholder", "br-bapa-via",
           "Le parcours d'orientation de BAPA-VIA a été co-construit avec ses propres usagers : l'exemple à "
           "montrer à Saint-Jean-de-la-Ruelle quand elle fera passer ses séances avec les femmes de la "
           "consultation à la collaboration.")
    p.contact("2022-04-12", "br-bapa", "br-mission-locale", "meeting",
              "Un créneau d'accompagnement vers l'emploi réservé aux femmes, comme évoqué avec l'équipe de "
              "Saint-Jean-de-la-Ruelle.",
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
