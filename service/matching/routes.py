"""Funding route of a candidate for the query's fields, from the counterpart agency registry.

- joint:    an agency in the candidate's country (or a supranational body it belongs to) has a
            joint-funding arrangement with a Japanese agency that covers one of the fields;
- direct:   no such arrangement: `no_counterpart_agency` is set and the direct route's two IP
            conditions apply; where there is no government-to-government channel (Taiwan),
            `no_government_channel` is set as well;
- domestic: the candidate is in Japan;
- unknown:  the candidate's country is not known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kernel.reference import CountryEntry, Reference

IP_CONDITIONS = (
    "The foreign entity shares 50% or more of the IP rights arising from the funded R&D with the "
    "Japanese government or the responsible funding agency (a joint patent is co-owned).",
    "Any transfer of that IP, or an exclusive licence, to a foreign entity needs prior notification "
    "to and permission from the Japanese government or agency.",
)


@dataclass(frozen=True)
class JointOption:
    country: str
    partner_agencies: tuple[str, ...]
    japanese_agency: str
    program: str
    fields: tuple[str, ...]
    confidence: str
    note: str | None


@dataclass(frozen=True)
class FundingRoute:
    route: str
    fields: tuple[str, ...]
    joint_options: tuple[JointOption, ...] = ()
    no_counterpart_agency: bool = False
    no_government_channel: bool = False
    ip_conditions: tuple[str, ...] = ()
    note: str | None = None
    sources: tuple[str, ...] = ()
    as_of: str | None = None
    agencies: tuple[str, ...] = field(default=())  # the country's funding agencies, covered fields or not

    @property
    def joint_agencies(self) -> list[str]:
        """The partner agencies of every joint option, sorted."""
        return sorted({a for option in self.joint_options for a in option.partner_agencies})


def _entries(country: str, reference: Reference) -> list[CountryEntry]:
    own = reference.registry.get(country)
    return ([own] if own else []) + reference.supranational_for(country)


def funding_route(country: str | None, fields: Sequence[str], reference: Reference) -> FundingRoute:
    """Pure function of the country, the query's fields and the registry."""
    fields = tuple(fields)
    if not country:
        return FundingRoute("unknown", fields, note="The researcher's country is not known, so no route can be given.")
    entries = _entries(country, reference)
    sources = tuple(dict.fromkeys(e.source for e in entries))
    as_of = max((e.as_of for e in entries), default=None)
    agencies = tuple(f"{a.acronym} ({a.name})" for e in entries if e.country == country for a in e.agencies)
    own = reference.registry.get(country)
    if own and own.domestic:
        return FundingRoute("domestic", fields, note="Researcher in Japan: funded domestically.", sources=sources, as_of=as_of, agencies=agencies)

    options = tuple(
        JointOption(e.country, a.partner_agencies, a.japanese_agency, a.program, a.fields, a.confidence, a.note)
        for e in entries
        for a in e.arrangements
        if any(a.covers(f) for f in fields)
    )
    no_channel = bool(own and not own.government_channel)
    if options and not no_channel:
        uncertain = all(o.confidence == "uncertain" for o in options)
        note = "Joint funding through the counterpart agencies named." + (
            " The field scope of these arrangements is uncertain: check the call before relying on it." if uncertain else ""
        )
        return FundingRoute("joint", fields, options, note=note, sources=sources, as_of=as_of, agencies=agencies)

    if no_channel:
        note = own.note if own and own.note else "No government-to-government channel with Japan."
    elif not entries:
        note = "Country not in the counterpart agency registry: no joint-funding arrangement known."
    else:
        note = "No counterpart agency with a Japanese joint-funding arrangement covers these fields."
    return FundingRoute(
        "direct", fields, (), no_counterpart_agency=True, no_government_channel=no_channel,
        ip_conditions=IP_CONDITIONS, note=note, sources=sources, as_of=as_of, agencies=agencies,
    )
