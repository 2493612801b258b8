"""The sandbox data generator: deterministic, valid for Salesforce, exercising every SPEC rule, and
shaped like a real org's data (traits at a few percent each, reproducible per seed)."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from typing import Any

import phonenumbers
import pytest
from email_validator import validate_email

from toolkit.sandbox.datagen import (
    BREVO_DATE_ATTRIBUTE,
    COUNTRY_REGIONS,
    NO_COUNTRY_REGION,
    REFERENCE_DATE,
    RULES,
    TRAITS,
    GeneratedData,
    GeneratedRecord,
    count_traits,
    generate,
    iter_contacts,
    iter_leads,
)
from toolkit.sandbox.datagen.names import NON_LATIN_RE
from toolkit.sandbox.datagen.people import fold

CONTACT_LENGTHS = {
    "FirstName": 40,
    "LastName": 80,
    "Title": 128,
    "Email": 80,
    "Phone": 40,
    "MobilePhone": 40,
    "MailingStreet": 255,
    "MailingCity": 40,
    "MailingPostalCode": 20,
    "MailingCountry": 80,
}
LEAD_LENGTHS = {
    "FirstName": 40,
    "LastName": 80,
    "Company": 255,
    "Title": 128,
    "Email": 80,
    "Phone": 40,
    "MobilePhone": 40,
    "City": 40,
    "Country": 80,
}
CONTACT_PICKLISTS: dict[str, set[str | None]] = {
    "Salutation": {None, "Mr.", "Ms.", "Mrs.", "Dr.", "Prof."},
    "LeadSource": {None, "Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"},
    "Loyalty_Tier__c": {None, "Bronze", "Silver", "Gold", "Platinum"},
}
LEAD_PICKLISTS: dict[str, set[str | None]] = {
    "Salutation": CONTACT_PICKLISTS["Salutation"],
    "LeadSource": CONTACT_PICKLISTS["LeadSource"] - {None},
    "Status": {"Open - Not Contacted", "Working - Contacted"},
    "Industry": {None, "Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education"},
    "Rating": {None, "Hot", "Warm", "Cold"},
    "Preferred_Language__c": {"German", "French", "English", "Italian", "Spanish"},
}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LINKING = {"duplicate_email", "lead_and_contact", "converted_lead"}
# Traits the generator gives records of their own (the others it only links or finds).
MADE = {"national_phone_no_country", "country_iso_code", "empty_optional_fields", "long_name", "non_latin"}


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    return generate(contacts=1000, leads=1000, seed=42)


def _records(data: GeneratedData) -> list[GeneratedRecord]:
    return [*data.contacts, *data.leads]


def _digits(phone: str) -> int:
    return sum(ch.isdigit() for ch in phone)


def _phones(record: GeneratedRecord) -> list[str]:
    return [p for p in (record.fields["Phone"], record.fields["MobilePhone"]) if p is not None]


def _age(birth: str) -> float:
    return (REFERENCE_DATE - date.fromisoformat(birth)).days / 365.25


def test_same_seed_gives_identical_output() -> None:
    assert generate(contacts=150, leads=80, seed=7) == generate(contacts=150, leads=80, seed=7)


def test_output_does_not_depend_on_the_process_hash_seed() -> None:
    script = (
        "import hashlib; from toolkit.sandbox.datagen import generate; "
        "print(hashlib.sha256(repr(generate(contacts=300, leads=100, seed=4)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_other_seed_gives_other_records() -> None:
    first = generate(contacts=50, leads=0, seed=1).contacts
    second = generate(contacts=50, leads=0, seed=2).contacts
    assert [r.fields["Email"] for r in first] != [r.fields["Email"] for r in second]


def test_iterators_stream_the_records_generate_makes() -> None:
    data = generate(contacts=400, leads=300, seed=3)
    streamed = list(iter_contacts(400, seed=3))
    assert [tuple(b for b in r.breaks if b != "Y10") for r in data.contacts] == [r.breaks for r in streamed]
    leads = list(iter_leads(300, seed=3))
    for kind, made, stream in (("contacts", data.contacts, streamed), ("leads", data.leads, leads)):
        pairs = list(zip(made, stream, strict=True))
        differ = [m for m, s in pairs if m.fields != s.fields]
        # generate only rewrites the records it links (a duplicate, a Lead of a Contact's person)
        assert differ and all(set(m.traits) & {"duplicate_email", "lead_and_contact"} for m in differ), kind
        assert all(set(m.traits) - LINKING == set(s.traits) for m, s in pairs if m.fields == s.fields)
    # a shorter stream is a prefix of a longer one
    assert [r.fields for r in itertools.islice(iter_leads(60, seed=3), 10)] == [
        r.fields for r in iter_leads(10, seed=3)
    ]


def test_counts(data: GeneratedData) -> None:
    assert (len(data.contacts), len(data.leads)) == (1000, 1000)
    assert len(data.brevo_only) == 40  # default: 2% of all records
    explicit = generate(contacts=10, leads=5, seed=1, brevo_only=7)
    assert (len(explicit.contacts), len(explicit.leads), len(explicit.brevo_only)) == (10, 5, 7)
    empty = generate(contacts=0, leads=0)
    assert (empty.contacts, empty.leads, empty.cases, empty.brevo_only) == ([], [], [], [])


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        generate(contacts=-1, leads=0)
    with pytest.raises(ValueError):
        list(iter_leads(5, rule_share=1.5))


def test_emails_unique_but_for_linked_people(data: GeneratedData) -> None:
    emails = [r.fields["Email"] for r in _records(data) if r.fields["Email"]]
    emails += [c["email"] for c in data.brevo_only]
    assert len(set(emails)) > 1800
    shared = {e for e, n in Counter(emails).items() if n > 1}
    for record in _records(data):
        if record.fields["Email"] in shared:  # only two Contacts, or a Lead and a Contact, share one
            assert set(record.traits) & {"duplicate_email", "lead_and_contact"}, record
    assert all(n == 2 for n in Counter(emails).values() if n > 1)
    # also when contacts and leads are streamed separately
    apart = [r.fields["Email"] for r in (*iter_contacts(500, seed=9), *iter_leads(500, seed=9))]
    apart = [e for e in apart if e]
    assert len(apart) == len(set(apart))


def test_emails_are_valid_and_derived_from_folded_names(data: GeneratedData) -> None:
    domains, apostrophes = set(), 0
    for record in _records(data):
        email = record.fields["Email"]
        if email is None:
            continue
        assert len(email) <= 80 and email.isascii() and email == email.lower()
        assert validate_email(email, check_deliverability=False).normalized == email
        local, domain = email.split("@")
        domains.add(domain)
        if set(record.traits) & {"non_latin", "duplicate_email", "empty_optional_fields"}:
            continue  # a Latin spelling / maybe the other person's address / FirstName left out later
        first, last = fold(record.fields["FirstName"] or ""), fold(record.fields["LastName"])
        assert (last and last[:8] in local) or (first and first[:8] in local) or local.startswith("contact")
        if "'" in record.fields["LastName"] and last[:8] in local:
            apostrophes += 1
    assert len(domains) > 50 and apostrophes > 0


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Zoë", "zoe"),
        ("O'Brien", "obrien"),
        ("O’Connor", "oconnor"),
        ("Łukasz", "lukasz"),
        ("Müller-Lüdenscheidt", "muller-ludenscheidt"),
        ("van der Berg", "vanderberg"),
        ("Straßburger", "strassburger"),
        ("Ødegård", "odegard"),
        ("<b>Bob</b>", "bob"),
        ("Robert'); DROP TABLE Contacts;--", "robertdroptablecontacts"),
        ("Çağla", "cagla"),
    ],
)
def test_fold_makes_ascii_email_parts(name: str, folded: str) -> None:
    assert fold(name) == folded


@pytest.mark.parametrize(("attr", "limits"), [("contacts", CONTACT_LENGTHS), ("leads", LEAD_LENGTHS)])
def test_string_lengths_within_salesforce_limits(
    data: GeneratedData, attr: str, limits: dict[str, int]
) -> None:
    for record in getattr(data, attr):
        assert record.fields["LastName"]
        for name, limit in limits.items():
            value = record.fields[name]
            assert value is None or (isinstance(value, str) and 0 < len(value) <= limit), (name, value)


def test_contact_values_valid_for_salesforce(data: GeneratedData) -> None:
    for record in data.contacts:
        f = record.fields
        for name, allowed in CONTACT_PICKLISTS.items():
            assert f[name] in allowed, (name, f[name])
        if f["Interests__c"] is not None:
            parts = f["Interests__c"].split(";")
            assert set(parts) <= {"Running", "Cycling", "Yoga", "Travel", "Food"}
            assert len(parts) == len(set(parts))
        score = f["Customer_Score__c"]
        assert isinstance(score, float) and round(score, 2) == score
        assert isinstance(f["HasOptedOutOfEmail"], bool) and isinstance(f["Newsletter_Opt_In__c"], bool)
        if f["Birthdate"] is not None:
            assert ISO_DATE.fullmatch(f["Birthdate"]) and 18 <= _age(f["Birthdate"]) <= 90


def test_lead_values_valid_for_salesforce(data: GeneratedData) -> None:
    for record in data.leads:
        f = record.fields
        assert f["Company"]
        for name, allowed in LEAD_PICKLISTS.items():
            assert f[name] in allowed, (name, f[name])
        if f["Birthdate__c"] is not None:
            assert ISO_DATE.fullmatch(f["Birthdate__c"]) and 18 <= _age(f["Birthdate__c"]) <= 90
        if f["Budget__c"] is not None:
            assert 0 < f["Budget__c"] < 10**14 and round(f["Budget__c"], 2) == f["Budget__c"]
        if f["Products_Of_Interest__c"] is not None:
            parts = f["Products_Of_Interest__c"].split(";")
            assert set(parts) <= {"Software", "Hardware", "Consulting", "Training", "Support"}


def test_every_rule_present_at_default_share(data: GeneratedData) -> None:
    tagged = {rule for record in _records(data) for rule in record.breaks}
    edited = {rule for edit in data.brevo_edits for rule in edit["breaks"]}
    assert tagged == set(RULES)
    assert edited == {"Y3", "Y5", "Y8"}


def test_rule_share_is_respected(data: GeneratedData) -> None:
    breaking = [r for r in _records(data) if set(r.breaks) - {"Y10"}]
    assert 0.03 <= len(breaking) / 2000 <= 0.07
    assert all(len(set(r.breaks) - {"Y10"}) == 1 for r in breaking)
    clean = generate(contacts=300, leads=300, seed=42, rule_share=0.0)
    assert all(set(r.breaks) <= {"Y10"} for r in _records(clean)) and not clean.brevo_edits


def test_y6_records_have_no_email_and_all_others_do(data: GeneratedData) -> None:
    for record in _records(data):
        assert (record.fields["Email"] is None) == ("Y6" in record.breaks)


def test_y7_records_have_a_phone(data: GeneratedData) -> None:
    y7 = [r for r in _records(data) if "Y7" in r.breaks]
    assert y7 and all(_phones(r) for r in y7)


def test_y9_lead_phones_violate_6_to_16_digits(data: GeneratedData) -> None:
    y9 = [r for r in data.leads if "Y9" in r.breaks]
    assert y9 and not any("Y9" in r.breaks for r in data.contacts)
    for record in y9:
        bad = [p for p in _phones(record) if not 6 <= _digits(p) <= 16]
        assert bad and all(len(p) <= 40 for p in bad)


def test_clean_phones_are_valid_numbers_of_their_country(data: GeneratedData) -> None:
    checked = 0
    for record in _records(data):
        if "Y9" in record.breaks:
            continue
        country = record.fields.get("MailingCountry", record.fields.get("Country"))
        for phone in _phones(record):
            assert 6 <= _digits(phone) <= 16, phone
            # no country: the org's default region (Germany), as an integration reads them
            number = phonenumbers.parse(phone, COUNTRY_REGIONS[country] if country else NO_COUNTRY_REGION)
            assert phonenumbers.is_valid_number(number), (phone, country)
            checked += 1
    assert checked > 1500


def test_phones_come_in_many_national_and_international_styles(data: GeneratedData) -> None:
    phones = [p for r in _records(data) if "Y9" not in r.breaks for p in _phones(r)]
    assert any(re.fullmatch(r"\+\d{8,15}", p) for p in phones)  # E.164
    assert any(re.fullmatch(r"\+\d{1,3} [\d -]+", p) for p in phones)  # international
    assert any(re.fullmatch(r"00\d{2,3} [\d ]+", p) for p in phones)  # 0044 20 7946 0958
    assert any(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in phones)  # (415) 555-0134
    assert any(re.fullmatch(r"0\d+ [\d ]+", p) for p in phones)  # 030 1234567
    assert any(re.fullmatch(r"0\d+(-\d+)+", p) for p in phones)  # 06-12345678
    assert len({p.split(" ")[0] for p in phones if p.startswith("+")}) >= 10  # many countries
    assert any(r.fields["Phone"] is None and r.fields["MobilePhone"] is None for r in _records(data))


def test_y10_marks_exactly_the_contacts_with_cases(data: GeneratedData) -> None:
    with_cases = {index for index, _ in data.cases}
    assert all(0 <= index < len(data.contacts) for index in with_cases)
    assert with_cases == {i for i, r in enumerate(data.contacts) if "Y10" in r.breaks}
    assert 0.05 <= len(with_cases) / len(data.contacts) <= 0.11
    for _, case in data.cases:
        assert "ContactId" not in case and 0 < len(case["Subject"]) <= 255 and case["Description"]
        assert case["Status"] in {"New", "Working", "Escalated", "Closed"}
        assert case["Priority"] in {"High", "Medium", "Low"} and case["Origin"] in {"Phone", "Email", "Web"}


def test_brevo_edits_break_y3_y5_y8(data: GeneratedData) -> None:
    for edit in data.brevo_edits:
        (rule,) = edit["breaks"]
        key = "contact_index" if "contact_index" in edit else "lead_index"
        record = (data.contacts if key == "contact_index" else data.leads)[edit[key]]
        assert rule in record.breaks and record.brevo_edit == edit["attributes"]
        attributes: dict[str, Any] = edit["attributes"]
        if rule == "Y3":
            value = attributes[BREVO_DATE_ATTRIBUTE]
            assert re.search(r"\d", value) and not ISO_DATE.fullmatch(value)
            assert record.fields.get("Birthdate", record.fields.get("Birthdate__c"))
        elif rule == "Y5":
            assert attributes == {"LASTNAME": ""}
        else:
            assert key == "lead_index" and len(attributes["FIRSTNAME"]) > 40
    tagged = sum(1 for r in _records(data) if set(r.breaks) & {"Y3", "Y5", "Y8"})
    assert tagged == len(data.brevo_edits)


def test_brevo_only_contacts_are_new_to_salesforce(data: GeneratedData) -> None:
    salesforce = {r.fields["Email"] for r in _records(data)}
    for contact in data.brevo_only:
        assert contact["email"] not in salesforce and contact["attributes"]["LASTNAME"]
        sms = contact["attributes"].get("SMS")
        if sms is not None:
            assert re.fullmatch(r"\+\d{8,15}", sms) and phonenumbers.is_valid_number(phonenumbers.parse(sms))
    assert any("SMS" in c["attributes"] for c in data.brevo_only)


def test_names_carry_accents_apostrophes_particles_and_markup(data: GeneratedData) -> None:
    names = [f"{r.fields['FirstName'] or ''} {r.fields['LastName']}" for r in _records(data)]
    joined = "\n".join(names)
    for char in "éüøñçł'-":
        assert char in joined, char
    assert re.search(r"\b(van|de|von|dos|da)\s", joined)
    assert re.search(r"[<>;=]", joined)
    assert max(len(r.fields["LastName"]) for r in _records(data)) > 40
    assert any(r.fields["FirstName"] is None for r in _records(data))


# -- a real org's data: traits ------------------------------------------------------------------

# (trait, records it is counted among, share range at the default settings). National numbers
# written at home are most of a real (German-speaking) org's phones, so that trait is common;
# every other one is a few percent.
TRAIT_SHARES = [
    ("national_phone_with_country", "all", (0.25, 0.65)),
    ("national_phone_no_country", "all", (0.015, 0.05)),
    ("country_iso_code", "all", (0.01, 0.05)),
    ("empty_optional_fields", "all", (0.01, 0.05)),
    ("long_name", "all", (0.01, 0.05)),
    ("non_latin", "all", (0.01, 0.05)),
    ("duplicate_email", "contacts", (0.008, 0.06)),
    ("lead_and_contact", "leads", (0.02, 0.07)),
    ("converted_lead", "leads", (0.02, 0.07)),
]


def _population(data: GeneratedData, which: str) -> list[GeneratedRecord]:
    return {"all": _records(data), "contacts": data.contacts, "leads": data.leads}[which]


def _country(record: GeneratedRecord) -> str | None:
    return record.fields.get("MailingCountry", record.fields.get("Country"))


def _known_country(record: GeneratedRecord) -> str:
    country = _country(record)
    assert country is not None, record.fields
    return country


def _with(data: GeneratedData, trait: str) -> list[GeneratedRecord]:
    return [r for r in _records(data) if trait in r.traits]


def test_trait_table_covers_every_trait() -> None:
    assert [t for t, _, _ in TRAIT_SHARES] == list(TRAITS)


@pytest.mark.parametrize(("trait", "which", "shares"), TRAIT_SHARES)
def test_each_trait_at_its_rate_reproducibly_per_seed(
    data: GeneratedData, trait: str, which: str, shares: tuple[float, float]
) -> None:
    for generated in (data, generate(contacts=1000, leads=1000, seed=43)):
        population = _population(generated, which)
        share = sum(trait in r.traits for r in population) / len(population)
        assert shares[0] <= share <= shares[1], (trait, share)
    again = generate(contacts=1000, leads=1000, seed=42)
    assert [r.traits for r in _records(again)] == [r.traits for r in _records(data)]
    other = generate(contacts=1000, leads=1000, seed=43)
    assert [trait in r.traits for r in _records(other)] != [trait in r.traits for r in _records(data)]


def test_traits_are_counted_for_a_demo(data: GeneratedData) -> None:
    counts = data.trait_counts()
    assert list(counts) == ["Contact", "Lead"] and all(list(c) == list(TRAITS) for c in counts.values())
    assert counts["Contact"] == count_traits(data.contacts)
    assert counts["Lead"]["converted_lead"] == len(data.conversions)
    assert counts["Contact"]["converted_lead"] == 0 and counts["Lead"]["duplicate_email"] == 0


def test_tidy_data_is_the_same_seed_without_the_made_traits(data: GeneratedData) -> None:
    tidy = generate(contacts=1000, leads=1000, seed=42, messy=False)
    found = {t for r in _records(tidy) for t in r.traits}  # what tidy data holds by chance
    assert not tidy.conversions and found <= {
        "national_phone_with_country",
        "long_name",
        "empty_optional_fields",
    }
    changed = [m for m, t in zip(_records(data), _records(tidy), strict=True) if m.fields != t.fields]
    assert 0.05 <= len(changed) / 2000 <= 0.25
    assert all(set(m.traits) & (MADE | LINKING) for m in changed)
    assert all(m.breaks == t.breaks for m, t in zip(_records(data), _records(tidy), strict=True))


def test_traits_only_touch_records_breaking_no_rule(data: GeneratedData) -> None:
    tidy = generate(contacts=1000, leads=1000, seed=42, messy=False)
    for made, plain in zip(_records(data), _records(tidy), strict=True):
        if set(made.breaks) - {"Y10"}:
            assert made.fields == plain.fields


def test_national_phones_with_a_country_name_or_iso_code(data: GeneratedData) -> None:
    records = _with(data, "national_phone_with_country")
    by_form = Counter("code" if "country_iso_code" in r.traits else "name" for r in records)
    assert by_form["code"] > 5 and by_form["name"] > 100
    regions = set()
    for record in records:
        region = COUNTRY_REGIONS[_known_country(record)]
        national = [p for p in _phones(record) if not p.startswith(("+", "00"))]
        assert national
        for phone in national:
            number = phonenumbers.parse(phone, region)
            assert (
                phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == region
            )
        regions.add(region)
    assert {"DE", "FR"} <= regions
    assert any(
        re.fullmatch(r"0\d \d\d \d\d \d\d \d\d", p) for r in records for p in _phones(r)
    )  # 06 12 34 56 78


def test_national_phones_without_country_are_german(data: GeneratedData) -> None:
    records = _with(data, "national_phone_no_country")
    for record in records:
        assert _country(record) is None and set(record.breaks) <= {"Y10"}
        phones = _phones(record)
        assert phones and all(not p.startswith(("+", "00")) for p in phones)
        for phone in phones:
            number = phonenumbers.parse(phone, NO_COUNTRY_REGION)
            assert (
                phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "DE"
            )
            with pytest.raises(phonenumbers.NumberParseException):
                phonenumbers.parse(phone, None)  # nothing on the record says which country
    assert any(
        re.fullmatch(r"01[5-7]\d{1,2} \d{7,8}", r.fields["MobilePhone"] or "") for r in records
    )  # 0151 ...


def test_country_iso_codes(data: GeneratedData) -> None:
    codes = {_known_country(r) for r in _with(data, "country_iso_code")}
    assert codes <= set(COUNTRY_REGIONS) and all(len(c) == 2 and c.isupper() for c in codes)
    assert len(codes) >= 5


def test_empty_optional_fields(data: GeneratedData) -> None:
    records = _with(data, "empty_optional_fields")
    for record in records:
        assert all(record.fields[f] is None for f in ("FirstName", "Title", "Phone", "MobilePhone"))
        assert record.fields["LastName"]
    assert all(r.fields["Email"] for r in records if not r.breaks)


def test_long_names_near_the_field_limits(data: GeneratedData) -> None:
    records = _with(data, "long_name")
    firsts = [len(r.fields["FirstName"] or "") for r in records]
    lasts = [len(r.fields["LastName"]) for r in records]
    assert max(firsts) >= 38 and max(lasts) >= 72
    assert all(f <= 40 and n <= 80 for f, n in zip(firsts, lasts))
    assert all(f >= 30 or n >= 60 for f, n in zip(firsts, lasts))


def test_non_latin_names_in_four_scripts_with_ascii_addresses(data: GeneratedData) -> None:
    records = _with(data, "non_latin")
    names = " ".join(f"{r.fields['FirstName'] or ''} {r.fields['LastName']}" for r in records)
    for script, pattern in (
        ("Cyrillic", "[\u0400-\u04ff]"),
        ("Greek", "[\u0370-\u03ff]"),
        ("CJK", "[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"),
        ("Arabic", "[\u0600-\u06ff]"),
    ):
        assert re.search(pattern, names), script
    for record in records:
        assert NON_LATIN_RE.search(f"{record.fields['FirstName']} {record.fields['LastName']}")
        email = record.fields["Email"]
        assert email.isascii() and validate_email(email, check_deliverability=False).normalized == email
        assert not email.startswith("contact")  # made from the Latin spelling, not a placeholder
    joined = " ".join(f"{r.fields['FirstName'] or ''} {r.fields['LastName']}" for r in _records(data))
    assert all(ch in joined for ch in "éüñç")  # and the accents of the locales' own names


def test_duplicate_emails_are_pairs_of_contacts_one_older(data: GeneratedData) -> None:
    records = [r for r in data.contacts if "duplicate_email" in r.traits]
    pairs: dict[str, list[GeneratedRecord]] = {}
    for record in records:
        pairs.setdefault(record.fields["Email"], []).append(record)
    assert len(pairs) * 2 == len(records) and all(len(p) == 2 for p in pairs.values())
    same_person = 0
    for older, newer in pairs.values():
        assert older.created_days_ago is not None and newer.created_days_ago is not None
        assert older.created_days_ago >= 365 > 180 >= newer.created_days_ago
        same_person += older.fields["LastName"] == newer.fields["LastName"]
    assert 0 < same_person <= len(pairs)
    assert all(r.created_days_ago is None for r in _records(data) if "duplicate_email" not in r.traits)


def test_people_who_are_lead_and_contact(data: GeneratedData) -> None:
    contacts = {r.fields["Email"]: r for r in data.contacts if "lead_and_contact" in r.traits}
    leads = [r for r in data.leads if "lead_and_contact" in r.traits]
    assert len(leads) == len(contacts)
    for lead in leads:
        contact = contacts[lead.fields["Email"]]
        assert [lead.fields[f] for f in ("Salutation", "FirstName", "LastName")] == [
            contact.fields[f] for f in ("Salutation", "FirstName", "LastName")
        ]
    open_leads = [r for r in leads if "converted_lead" not in r.traits]
    assert open_leads and len(open_leads) < len(leads)  # most stay open Leads, some are converted


def test_converted_leads_into_new_or_existing_contacts(data: GeneratedData) -> None:
    assert {i for i, _ in data.conversions} == {
        i for i, r in enumerate(data.leads) if "converted_lead" in r.traits
    }
    into_existing = [(i, c) for i, c in data.conversions if c is not None]
    assert into_existing and len(into_existing) < len(data.conversions)
    for lead_index, contact_index in into_existing:
        lead, contact = data.leads[lead_index], data.contacts[contact_index]
        assert lead.fields["Email"] == contact.fields["Email"] and "lead_and_contact" in lead.traits
    for lead_index, into in data.conversions:
        assert not data.leads[lead_index].breaks
        if into is None:
            assert "lead_and_contact" not in data.leads[lead_index].traits


def test_speed_of_50000_contacts_is_reported(
    record_property: Any, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.perf_counter()
    data = generate(contacts=50_000, leads=0, seed=5)
    seconds = time.perf_counter() - start
    record_property("seconds_for_50000_contacts", round(seconds, 2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        with capsys.disabled():
            reporter.write_line(f" datagen: 50,000 contacts in {seconds:.2f} s")
    assert len(data.contacts) == 50_000
