"""Funding route of a candidate for the query's fields, from the counterpart agency registry: the
one function (`funding_route`) that every card, researcher view, country view, API answer, export
and batch row takes its route from, so that they cannot disagree.

The route says exactly what is known (`basis`):

- `arrangement`:           joint: an agency of the candidate's country (or of a supranational body
                           it belongs to) has a standing arrangement or recurring call with a Japanese
                           agency that covers one of the fields (named, with the last call's year);
- `uncertain_arrangement`: joint, but every such arrangement's field scope is unconfirmed;
- `no_arrangement_found`:  direct: the country's agencies are in the registry and none has an
                           arrangement covering these fields (named: "not found", not proof);
- `no_government_channel`: direct: no practical government-to-government channel (Taiwan);
- `not_in_registry`:       unknown: the registry does not cover the country yet, so whether a joint
                           route exists is not known (never silently "direct"; the direct route is
                           open to any foreign entity all the same);
- `domestic`:              the candidate is in Japan; `country_unknown`: no country, no route.

A past one-off project (a single joint project or call that did not recur) is `evidence` of
collaboration, never a route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from kernel.reference import Arrangement, CountryEntry, Reference, country_name

IP_CONDITIONS = (
    "The foreign entity shares 50% or more of the IP rights arising from the funded R&D with the "
    "Japanese government or the responsible funding agency (a joint patent is co-owned).",
    "Any transfer of that IP, or an exclusive licence, to a foreign entity needs prior notification "
    "to and permission from the Japanese government or agency.",
)
DIRECT_OPEN = "The direct route is open to any foreign entity on the two IP conditions."


@dataclass(frozen=True)
class JointOption:
    country: str  # the registry entry it comes from (a country, or EU)
    partner_agencies: tuple[str, ...]
    japanese_agency: str
    program: str
    fields: tuple[str, ...]
    confidence: str  # documented or uncertain (the field scope)
    note: str | None
    kind: str = "standing"  # standing, call or one_off
    last_call_year: int | None = None
    source: str | None = None

    @staticmethod
    def of(entry: CountryEntry, a: Arrangement) -> JointOption:
        return JointOption(entry.country, a.partner_agencies, a.japanese_agency, a.program, a.fields, a.confidence, a.note,
                           a.kind, a.last_call_year, a.source or entry.source)


@dataclass(frozen=True)
class FundingRoute:
    route: str  # joint, direct, domestic or unknown
    fields: tuple[str, ...]
    joint_options: tuple[JointOption, ...] = ()
    no_counterpart_agency: bool = False  # no agency with a Japanese arrangement covers the fields (direct)
    no_government_channel: bool = False
    ip_conditions: tuple[str, ...] = ()
    note: str | None = None
    sources: tuple[str, ...] = ()
    as_of: str | None = None
    agencies: tuple[str, ...] = field(default=())  # the country's own funding agencies, covered fields or not
    basis: str = "country_unknown"
    evidence: tuple[JointOption, ...] = ()  # past one-off projects covering the fields: not a route
    via: tuple[str, ...] = ()  # the supranational entries the country is covered through (EU)

    @property
    def joint_agencies(self) -> list[str]:
        """The partner agencies of every joint option, sorted."""
        return sorted({a for option in self.joint_options for a in option.partner_agencies})


def registry_entries(country: str, reference: Reference) -> list[CountryEntry]:
    """The country's own entry (if any), then those of the supranational bodies it belongs to."""
    own = reference.registry.get(country)
    return ([own] if own else []) + reference.supranational_for(country)


def _named(options: Sequence[JointOption]) -> str:
    return "; ".join(f"{', '.join(o.partner_agencies)} with {o.japanese_agency} ({o.program}"
                     f"{f', last call {o.last_call_year}' if o.kind == 'call' and o.last_call_year else ''})" for o in options)


def funding_route(country: str | None, fields: Sequence[str], reference: Reference) -> FundingRoute:
    """Pure function of the country, the query's fields and the registry."""
    fields = tuple(fields)
    if not country:
        return FundingRoute("unknown", fields, note="The researcher's country is not known, so no route can be given.")
    entries = registry_entries(country, reference)
    own = reference.registry.get(country)
    known = FundingRoute(
        "unknown", fields, sources=tuple(dict.fromkeys(e.source for e in entries)), as_of=max((e.as_of for e in entries), default=None),
        agencies=tuple(f"{a.acronym} ({a.name})" for a in own.agencies) if own else (), via=tuple(e.country for e in entries if e is not own),
    )
    if own and own.domestic:
        return replace(known, route="domestic", note="Researcher in Japan: funded domestically.", basis="domestic")

    covering = [JointOption.of(e, a) for e in entries for a in e.arrangements if any(a.covers(f) for f in fields)]
    options = tuple(o for o in covering if o.kind != "one_off")
    evidence = tuple(o for o in covering if o.kind == "one_off")
    seen = f" Past one-off collaboration (evidence, not a route): {_named(evidence)}." if evidence else ""
    direct = replace(known, route="direct", no_counterpart_agency=True, ip_conditions=IP_CONDITIONS, evidence=evidence)
    if own and not own.government_channel:
        return replace(direct, no_government_channel=True, basis="no_government_channel",
                       note=(own.note or "No government-to-government channel with Japan.") + seen)
    if options:
        uncertain = all(o.confidence == "uncertain" for o in options)
        note = f"Joint funding: {_named(options)}." + (
            " The field scope of these arrangements is uncertain: check the call before relying on it." if uncertain else "") + seen
        return replace(known, route="joint", joint_options=options, note=note, evidence=evidence,
                       basis="uncertain_arrangement" if uncertain else "arrangement")
    if own is None:
        through = f" It is covered only through {', '.join(known.via)}, with no arrangement for these fields." if known.via else ""
        return replace(known, ip_conditions=IP_CONDITIONS, evidence=evidence, basis="not_in_registry",
                       note=f"{country_name(country)} is not in the counterpart agency registry yet: whether a joint route exists is not "
                            f"known.{through}{seen} {DIRECT_OPEN}")
    agencies = ", ".join(a.acronym for a in own.agencies)
    return replace(direct, basis="no_arrangement_found",
                   note=f"No arrangement with a Japanese agency was found for {agencies} in these fields (registry as of "
                        f"{known.as_of}; not found is not proof that none exists).{seen}")
