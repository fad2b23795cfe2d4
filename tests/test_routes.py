"""Funding routes from the registry, as a PI would read them."""


from kernel.paths import DATA_DIR
from kernel.reference import load_reference
from service.matching.routes import IP_CONDITIONS, funding_route

REF = load_reference(DATA_DIR)


def test_joint_where_an_arrangement_covers_the_field() -> None:
    route = funding_route("US", ["artificial_intelligence"], REF)
    assert route.route == "joint"
    assert [o.partner_agencies for o in route.joint_options] == [("NSF",)]
    assert route.joint_options[0].japanese_agency == "JST"
    assert not route.no_counterpart_agency and not route.ip_conditions
    assert route.sources and route.as_of


def test_direct_with_ip_conditions_where_no_arrangement_covers_the_field() -> None:
    route = funding_route("US", ["quantum_technology"], REF)
    assert route.route == "direct"
    assert route.no_counterpart_agency is True
    assert route.ip_conditions == IP_CONDITIONS
    assert "50%" in route.ip_conditions[0] and "prior" in route.ip_conditions[1]


def test_taiwan_is_direct_with_no_government_channel_even_for_semiconductors() -> None:
    route = funding_route("TW", ["semiconductors"], REF)
    assert (route.route, route.no_government_channel, route.no_counterpart_agency) == ("direct", True, True)
    assert "1972" in (route.note or "")


def test_japan_is_domestic_and_unknown_country_has_no_route() -> None:
    assert funding_route("JP", ["robotics"], REF).route == "domestic"
    assert funding_route(None, ["robotics"], REF).route == "unknown"


def test_a_past_one_off_project_is_evidence_never_a_route() -> None:
    """The EU's one JST-EC project made every EU member's semiconductor researchers "joint"."""
    for country in ("NL", "DE", "AT", "PL"):
        for field in ("semiconductors", "energy_fusion"):
            route = funding_route(country, [field], REF)
            assert all(o.kind != "one_off" for o in route.joint_options), (country, field)
            assert "EC" not in route.joint_agencies
    dutch = funding_route("NL", ["semiconductors"], REF)
    assert (dutch.route, dutch.basis) == ("direct", "no_arrangement_found")
    assert [o.partner_agencies for o in dutch.evidence] == [("EC",)] and "evidence, not a route" in (dutch.note or "")
    assert "NWO" in (dutch.note or "") and dutch.no_counterpart_agency  # the agency exists: no arrangement was found for it
    assert dutch.via == ("EU",)
    assert not funding_route("NL", ["quantum_technology"], REF).evidence  # the project was on power electronics


def test_a_country_the_registry_does_not_cover_is_never_silently_direct() -> None:
    for country in ("BR", "AT"):  # Austria: only through the EU
        route = funding_route(country, ["materials"], REF)
        assert (route.route, route.basis) == ("unknown", "not_in_registry")
        assert "not in the counterpart agency registry" in (route.note or "") and "direct route is open" in (route.note or "")
        assert route.ip_conditions == IP_CONDITIONS  # what the direct route would ask, said all the same
    assert funding_route("AT", ["materials"], REF).via == ("EU",)


def test_a_registered_country_without_an_arrangement_is_direct_naming_its_agencies() -> None:
    route = funding_route("AU", ["materials"], REF)
    assert (route.route, route.basis) == ("direct", "no_arrangement_found")
    assert all(a in (route.note or "") for a in ("ARC", "NHMRC", "CSIRO")) and "not proof" in (route.note or "")


def test_a_call_says_its_last_year_and_each_arrangement_its_source() -> None:
    route = funding_route("IN", ["materials"], REF)
    assert route.route == "joint" and route.basis == "arrangement"
    (option,) = route.joint_options
    assert (option.partner_agencies, option.kind, option.last_call_year) == (("DST",), "call", 2020)
    assert "last call 2020" in (route.note or "") and option.source and option.source.startswith("https://")
    assert all(o.source for c in REF.registry for o in funding_route(c, ["materials"], REF).joint_options)


def test_uncertain_arrangements_say_so() -> None:
    route = funding_route("GB", ["robotics"], REF)  # only the AdCORP entry, whose scope is not recorded
    assert route.route == "joint" and route.basis == "uncertain_arrangement"
    assert "uncertain" in (route.note or "")
