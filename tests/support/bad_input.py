"""The bad records of the bad-input test: what each side holds, and what must come of it.

``expect`` is either ``"synced"`` (with ``want``: the values the other side must then hold) or
a rule id: the record is rejected with that rule and a reason, and nothing of it is written;
``PHONE_INVALID`` is field-level: the contact is synced without the number.
``"phone"`` accepts either outcome for numbers whose validity is a judgement of libphonenumber:
synced as a valid E.164 number, or left out with PHONE_INVALID; never anything in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCRIPTS = {  # a first name in many scripts, both directions
    "cyrillic": "Дмитрий",
    "greek": "Αλέξανδρος",
    "arabic_rtl": "محمد عبد الله",
    "hebrew_rtl": "שלום",
    "cjk": "山田太郎",
    "devanagari": "अर्जुन",
    "thai": "สมชาย",
    "hangul": "김민준",
    "georgian": "გიორგი",
    "armenian": "Արամ",
    "ethiopic": "አበበ",
    "tamil": "முருகன்",
    "emoji_zwj": "👩🏽‍💻 Ana",
    "combining_nfd": "Rene\u0301e",
    "zero_width": "Jo\u200bhn",
    "bidi_override": "\u202eevil\u202c",
}
FORMULAS = {
    "formula_eq": '=HYPERLINK("http://evil.example","click")',
    "formula_plus": "+1+1",
    "formula_minus": "-2+3",
    "formula_at": "@SUM(1+1)",
    "formula_tab": "\t=1+1",
    "formula_cr": "\r=1+1",
    "formula_dde": "=cmd|' /C calc'!A0",
}
INJECTIONS = {
    "soql_or": "' OR Name != '",
    "soql_backslash": "\\' OR Id != null --",
    "soql_close": "x') OR (Id != '",
    "html_script": "<script>alert(1)</script>",
    "html_img": '<img src=x onerror="alert(1)">',
}
# Brevo attributes the test maps, besides EMAIL, FIRSTNAME, LASTNAME and SMS.
EXTRA_ATTRIBUTES = {
    "BIRTHDATE": "Birthdate",
    "JOBTITLE": "Title",
    "NOTES": "Description",
    "SCORE": "Customer_Score__c",
}


@dataclass(frozen=True)
class Kind:
    """One kind of bad record."""

    name: str
    values: dict[str, Any]
    expect: str
    want: dict[str, Any] = field(default_factory=dict)


def materialise(kind: Kind, tag: str, digit: int) -> Kind:
    """The kind for one batch: e-mails (``{tag}``) and phone numbers (``{n}``) unique per batch.

    Brevo keys contacts by e-mail and SMS too: two records sharing one are the duplicate kinds.
    """

    def fill(values: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v.replace("{tag}", tag).replace("{n}", str(digit)) if isinstance(v, str) else v
            for k, v in values.items()
        }

    return Kind(kind.name, fill(kind.values), kind.expect, fill(kind.want))


def salesforce_kinds() -> list[Kind]:
    """Records as they are in Salesforce (what Salesforce itself accepts), to be synced to Brevo."""
    kinds = [
        Kind("y6_no_email", {"Email": None}, "Y6"),
        Kind("y7_no_mobile", {"MobilePhone": None}, "synced", {"SMS": None}),
        Kind(
            "phone_national_de",
            {"MobilePhone": "0151 2345678{n}", "MailingCountry": "Germany"},
            "synced",
            {"SMS": "491512345678{n}"},
        ),
        Kind("phone_trunk_in_brackets", {"MobilePhone": "+49 (0) 160 9876-543{n}"}, "phone"),
        Kind("phone_idd_00", {"MobilePhone": "0049 171 1234567{n}", "MailingCountry": "Germany"}, "phone"),
        Kind("phone_too_short", {"MobilePhone": "12345"}, "PHONE_INVALID"),
        Kind("phone_vanity_letters", {"MobilePhone": "+1-800-FLOWER{n}"}, "phone"),
        Kind("phone_extension", {"MobilePhone": "+44 20 7946 095{n} ext. 12"}, "phone"),
        Kind("duplicate_mobile", {"MobilePhone": "+49 151 2345678{n}"}, "BREVO:duplicate_ext_id"),
        Kind("duplicate_email", {"Email": "{tag}.1@bad.example"}, "D1"),  # another record holds it (D1)
        Kind(
            "phone_no_country", {"MobilePhone": "030 123456{n}"}, "synced", {"SMS": "4930123456{n}"}
        ),  # the org's region
        Kind("phone_formula", {"MobilePhone": '=HYPERLINK("http://x.example")'}, "PHONE_INVALID"),
        Kind("whitespace_first_name", {"FirstName": "   "}, "synced", {"FIRSTNAME": None}),
        Kind("padded_last_name", {"LastName": "  Padded  "}, "synced", {"LASTNAME": "Padded"}),
        Kind("newline_last_name", {"LastName": "Line\nBreak"}, "synced", {"LASTNAME": "Line\nBreak"}),
        Kind("notes_10000_chars", {"Description": "x" * 9_999 + "é"}, "synced", {"NOTES": "x" * 9_999 + "é"}),
        Kind("first_name_40_chars", {"FirstName": "F" * 40}, "synced", {"FIRSTNAME": "F" * 40}),
        Kind(
            "email_apostrophe",
            {"Email": "o'brien.{tag}@example.com"},
            "synced",
            {"EMAIL": "o'brien.{tag}@example.com"},
        ),
        Kind(
            "email_plus_tag", {"Email": "ana+{tag}@example.com"}, "synced", {"EMAIL": "ana+{tag}@example.com"}
        ),
        Kind(
            "email_upper_case",
            {"Email": "UPPER.{tag}@EXAMPLE.COM"},
            "synced",
            {"EMAIL": "upper.{tag}@example.com"},
        ),
        Kind("birthdate_1900", {"Birthdate": "1900-01-01"}, "synced", {"BIRTHDATE": "1900-01-01"}),
        Kind("score_large", {"Customer_Score__c": 1e15}, "synced", {"SCORE": 1e15}),
        Kind("control_character", {"FirstName": "Bell\x07Name"}, "synced", {"FIRSTNAME": "Bell\x07Name"}),
    ]
    kinds += [
        Kind(f"first_name_{k}", {"FirstName": v}, "synced", {"FIRSTNAME": v}) for k, v in SCRIPTS.items()
    ]
    kinds += [
        Kind(f"last_name_{k}", {"LastName": v}, "synced", {"LASTNAME": v.strip()})
        for k, v in {**INJECTIONS, **FORMULAS}.items()
    ]
    return kinds


def brevo_kinds() -> list[Kind]:
    """Edits made in Brevo to synced contacts, to be synced to Salesforce (SF field names in ``want``)."""
    kinds = [
        Kind("y5_empty_last_name", {"LASTNAME": ""}, "Y5"),
        Kind("y5_whitespace_last_name", {"LASTNAME": "   "}, "Y5"),
        Kind("half_valid_y5", {"FIRSTNAME": "Valid", "LASTNAME": ""}, "Y5"),
        Kind("y3_day_first", {"BIRTHDATE": "31/12/1990"}, "Y3"),
        Kind("y3_february_30", {"BIRTHDATE": "1990-02-30"}, "Y3"),
        Kind("y3_unpadded", {"BIRTHDATE": "1990-2-3"}, "Y3"),
        Kind("y3_with_time", {"BIRTHDATE": "1990-09-25T10:00:00"}, "Y3"),
        Kind("y3_html", {"BIRTHDATE": INJECTIONS["html_script"]}, "Y3"),
        Kind("date_iso", {"BIRTHDATE": "1990-09-25"}, "synced", {"Birthdate": "1990-09-25"}),
        Kind("first_name_41_chars", {"FIRSTNAME": "F" * 41}, "SF:STRING_TOO_LONG"),
        Kind("first_name_10000_chars", {"FIRSTNAME": "=" + "x" * 9_999}, "SF:STRING_TOO_LONG"),
        Kind("last_name_81_chars", {"LASTNAME": "L" * 81}, "SF:STRING_TOO_LONG"),
        Kind("title_129_chars", {"JOBTITLE": "T" * 129}, "SF:STRING_TOO_LONG"),
        Kind("notes_10000_chars", {"NOTES": "n" * 10_000}, "synced", {"Description": "n" * 10_000}),
        Kind("notes_40000_chars", {"NOTES": "n" * 40_000}, "SF:STRING_TOO_LONG"),
        Kind("score_out_of_range", {"SCORE": 1e17}, "SF:NUMBER_OUTSIDE_VALID_RANGE"),
        Kind("email_internationalised", {"EMAIL": "josé@exämple.com"}, "SF:INVALID_EMAIL_ADDRESS"),
        Kind("padded_first_name", {"FIRSTNAME": "  Anna  "}, "synced", {"FirstName": "Anna"}),
    ]
    kinds += [
        Kind(f"y3_{k}", {"BIRTHDATE": v}, "Y3") for k, v in FORMULAS.items()
    ]  # they reach the CSV report
    kinds += [
        Kind(f"b_first_name_{k}", {"FIRSTNAME": v}, "synced", {"FirstName": v}) for k, v in SCRIPTS.items()
    ]
    kinds += [
        Kind(f"b_last_name_{k}", {"LASTNAME": v}, "synced", {"LastName": v.strip()})
        for k, v in {**INJECTIONS, **FORMULAS}.items()
    ]
    return kinds
