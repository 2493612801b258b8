"""Records people can recognise (issue 15): names beside Ids, links into Salesforce and Brevo.

Table-driven tests of the pure helpers in :mod:`toolkit.audit.links` and of
:func:`toolkit.rules.rejection.person_name` (no service, no store).
"""

from __future__ import annotations

import math
from html.parser import HTMLParser

import pytest

from toolkit.audit.links import (
    BREVO_APP_URL,
    MarkupCells,
    brevo_url,
    name_from_values,
    record_html,
    record_label,
    salesforce_url,
    with_links,
)
from toolkit.config import Settings
from toolkit.rules.rejection import NAME_MAX, person_name

ID18 = "003Dn00000AbCdEIAV"
ID15 = "003Dn00000AbCdE"
ORG = "https://acme.my.salesforce.com"


@pytest.mark.parametrize(
    ("instance_url", "sf_id", "expected"),
    [
        (ORG, ID18, f"{ORG}/{ID18}"),
        (ORG + "/", ID15, f"{ORG}/{ID15}"),  # one slash, whatever the stored URL ends with
        ("http://127.0.0.1:8443", ID18, f"http://127.0.0.1:8443/{ID18}"),  # the sandbox
        (None, ID18, None),  # a connection that never learnt its instance URL
        ("", ID18, None),
        ("acme.my.salesforce.com", ID18, None),  # not a URL
        ("javascript:alert(1)", ID18, None),
        (ORG, None, None),
        (ORG, "", None),
        (ORG, "003Dn00000AbCd", None),  # 14 characters: not an Id
        (ORG, "003Dn00000AbCdEIA", None),  # 17 characters
        (ORG, "003Dn00000AbC/../x", None),  # nothing that changes the path
        (ORG, "ann@example.org", None),  # a Brevo-only contact's reference
    ],
)
def test_salesforce_url(instance_url: str | None, sf_id: str | None, expected: str | None) -> None:
    assert salesforce_url(instance_url, sf_id) == expected


@pytest.mark.parametrize(
    ("app_url", "brevo_id", "expected"),
    [
        (BREVO_APP_URL, 42, "https://app.brevo.com/contact/index/42"),
        ("https://app.brevo.com/", 42, "https://app.brevo.com/contact/index/42"),
        (BREVO_APP_URL, 42.0, "https://app.brevo.com/contact/index/42"),  # a DataFrame's float column
        (BREVO_APP_URL, "42", "https://app.brevo.com/contact/index/42"),
        ("https://127.0.0.1:9443", 7, "https://127.0.0.1:9443/contact/index/7"),  # the sandbox
        (BREVO_APP_URL, None, None),  # not linked yet, or the id not learnt yet
        (BREVO_APP_URL, math.nan, None),  # a gap in a DataFrame
        (BREVO_APP_URL, 0, None),
        (BREVO_APP_URL, -3, None),
        (BREVO_APP_URL, 1.5, None),
        (BREVO_APP_URL, True, None),
        (BREVO_APP_URL, "42/../../x", None),
        (None, 42, None),
        ("", 42, None),
        ("app.brevo.com", 42, None),
    ],
)
def test_brevo_url(app_url: str | None, brevo_id: object, expected: str | None) -> None:
    assert brevo_url(app_url, brevo_id) == expected


def test_brevo_app_url_setting_defaults_to_the_same_app() -> None:
    assert Settings().brevo_app_url == BREVO_APP_URL


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Ann", "Lee", "Ann Lee"),
        ("  Ann ", " Lee  ", "Ann Lee"),
        (None, "Lee", "Lee"),
        ("Ann", None, "Ann"),
        ("", "", None),
        (None, None, None),
        ("  ", "\t", None),
        ("Zoë", "Ørsted-SSmith", "Zoë Ørsted-SSmith"),  # unicode kept as it is
        ("<b>Ann</b>", "O'Brien & Co", "<b>Ann</b> O'Brien & Co"),  # kept as text; escaped when shown
        ("Mary\nJane", "Lee", "Mary Jane Lee"),  # one line
        ("ann@example.org", "Lee", "Lee"),  # never an e-mail address
        ("Ann", "lee@example.org", "Ann"),
        ("ann@example.org", "ann@example.org", None),
        ("Ann (ann@example.org)", "Lee", "Lee"),
        (True, "Lee", "Lee"),
        (12, "Lee", "12 Lee"),
        ("A" * 300, None, "A" * NAME_MAX),
    ],
)
def test_person_name(first: object, last: object, expected: str | None) -> None:
    assert person_name(first, last) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"FIRSTNAME": "Ann", "LASTNAME": "Lee", "EMAIL": "ann@example.org"}, "Ann Lee"),
        ({"LASTNAME": "Lee"}, "Lee"),
        ({"EMAIL": "ann@example.org"}, None),  # no name mapped: nothing, never the e-mail
        ({"FIRSTNAME": None, "LASTNAME": ""}, None),
        ({}, None),
        (None, None),
    ],
)
def test_name_from_values(values: dict[str, object] | None, expected: str | None) -> None:
    assert name_from_values(values) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Ann Lee", f"Ann Lee ({ID18})"), (None, ID18), ("", ID18)],
)
def test_record_label(name: str | None, expected: str) -> None:
    assert record_label(ID18, name) == expected


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self.anchors.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(markup: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(markup)
    return parser


SF = f"{ORG}/{ID18}"
BREVO = "https://app.brevo.com/contact/index/42"


@pytest.mark.parametrize(
    ("name", "sf_url", "brevo_link", "text", "hrefs"),
    [
        ("Ann Lee", SF, BREVO, f"Ann Lee ({ID18}) · Brevo", [SF, BREVO]),
        ("Ann Lee", SF, None, f"Ann Lee ({ID18})", [SF]),
        (None, SF, BREVO, f"{ID18} · Brevo", [SF, BREVO]),  # no name: the Id still shows, linked
        ("Ann Lee", None, None, f"Ann Lee ({ID18})", []),
        (None, None, None, ID18, []),
        (
            "<script>alert('x')</script> Zoë & Ørsted",
            SF,
            BREVO,
            f"<script>alert('x')</script> Zoë & Ørsted ({ID18}) · Brevo",
            [SF, BREVO],
        ),
        (
            'Ann" onmouseover="x',
            'https://h/"><script>',
            None,
            f'Ann" onmouseover="x ({ID18})',
            ['https://h/"><script>'],
        ),
    ],
)
def test_record_html_escapes_and_links(
    name: str | None, sf_url: str | None, brevo_link: str | None, text: str, hrefs: list[str]
) -> None:
    markup = record_html(ID18, name, sf_url, brevo_link)
    parsed = _parsed(markup)
    assert "".join(parsed.text) == text  # reads as plain text, whatever the name holds
    assert set(parsed.tags) <= {"span", "a"}  # no markup from the data
    assert [a["href"] for a in parsed.anchors] == hrefs
    assert all(a["target"] == "_blank" and a["rel"] == "noopener" for a in parsed.anchors)
    if sf_url:
        assert parsed.anchors[0]["title"] == "Open the record in Salesforce"


def test_with_links_adds_both_urls_from_a_report_row() -> None:
    row = with_links({"record_id": ID18, "instance_url": ORG, "brevo_id": 42}, "https://app.brevo.com")
    assert (row["salesforce_url"], row["brevo_url"]) == (SF, BREVO)
    bare = with_links({"record_id": ID18})
    assert (bare["salesforce_url"], bare["brevo_url"]) == (None, None)


def test_markup_cells_survive_an_escaping_table_and_data_cannot_forge_them() -> None:
    from toolkit.ui.common import html_table

    cells = MarkupCells()
    rows = [
        {"record": cells.add(record_html(ID18, "Ann <Lee>", SF, BREVO)), "note": "<b>bold</b>"},
        {"record": cells.add(record_html(ID15, None)), "note": "toolkitcell0000000000000000n0x"},
    ]
    page = cells.fill(html_table(rows, (("record", "Record"), ("note", "Note"))))
    parsed = _parsed(page)
    assert [a["href"] for a in parsed.anchors] == [SF, BREVO]
    assert "Ann &lt;Lee&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>" not in page
    assert "toolkitcell0000000000000000n0x" in page  # a look-alike in the data stays text
    assert ID15 in page and MarkupCells().fill("plain") == "plain"
