"""Funding routes from the registry, as a PI would read them."""

import pytest

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


def test_eu_member_inherits_the_eu_arrangement() -> None:
    route = funding_route("NL", ["semiconductors"], REF)
    assert route.route == "joint" and route.joint_options[0].partner_agencies == ("EC",)
    assert funding_route("NL", ["quantum_technology"], REF).route == "direct"


@pytest.mark.parametrize("country", ["BR", "IN", "AU"])
def test_countries_without_arrangements_are_direct(country: str) -> None:
    assert funding_route(country, ["materials"], REF).route == "direct"


def test_uncertain_arrangements_say_so() -> None:
    route = funding_route("GB", ["robotics"], REF)  # only the AdCORP entry, whose scope is not recorded
    assert route.route == "joint"
    assert "uncertain" in (route.note or "")
