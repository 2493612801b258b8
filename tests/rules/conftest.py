"""The rules tests' fixtures: a Brevo sandbox account with the attributes the mappings use, a
Salesforce sandbox org, and the mappings validated against their real metadata."""

from __future__ import annotations

import pytest

from tests.support.rules import B4_PAIRS, CONTACT_PAIRS, LEAD_PAIRS, add_attributes, attributes_of, describe
from toolkit.mapping import Mapping, validate_mapping
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.salesforce import SalesforceOrg


@pytest.fixture
def account() -> BrevoAccount:
    acc = BrevoAccount(Clock())
    add_attributes(acc)
    return acc


@pytest.fixture
def org() -> SalesforceOrg:
    return SalesforceOrg(Clock())


@pytest.fixture
def contact_mapping(account: BrevoAccount) -> Mapping:
    return validate_mapping(CONTACT_PAIRS, describe("Contact"), attributes_of(account))


@pytest.fixture
def b4_mapping(account: BrevoAccount) -> Mapping:
    return validate_mapping(
        CONTACT_PAIRS + B4_PAIRS, describe("Contact"), attributes_of(account), booleans_and_picklists=True
    )


@pytest.fixture
def lead_mapping(account: BrevoAccount) -> Mapping:
    return validate_mapping(LEAD_PAIRS, describe("Lead"), attributes_of(account))
