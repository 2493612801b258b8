"""Field builders for generated Contacts and Leads, including the rule a record is made to break
and the traits of a real org's data it carries (:mod:`datagen.traits`)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any, Final

from toolkit.sandbox.datagen.people import EmailMaker, Person, company_domain, make_person
from toolkit.sandbox.datagen.phones import FIXED, MOBILE, PhoneMaker, bad_phone
from toolkit.sandbox.datagen.pools import LOCALES, LocalePools, locale_pools
from toolkit.sandbox.datagen.traits import NO_COUNTRY_REGION, TraitMaker, record_traits

#: Default "today" for ages. Ages are drawn as 19..89 years, so they stay 18..90 for a year either side.
REFERENCE_DATE: Final = date(2026, 1, 1)
BREVO_DATE_ATTRIBUTE: Final = "BIRTHDATE"

SALESFORCE_RULES: Final = {"Contact": ("Y6", "Y7", "Y3", "Y5"), "Lead": ("Y6", "Y7", "Y9", "Y3", "Y5", "Y8")}
LEAD_SOURCES: Final = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LOYALTY_TIERS: Final = ("Bronze", "Silver", "Gold", "Platinum")
INTERESTS: Final = ("Running", "Cycling", "Yoga", "Travel", "Food")
INDUSTRIES: Final = ("Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education")
LEAD_STATUSES: Final = ("Open - Not Contacted", "Working - Contacted")
RATINGS: Final = ("Hot", "Warm", "Cold")
# Same values as the sandbox org's Lead.Products_Of_Interest__c picklist (salesforce/schema/objects.py).
PRODUCTS: Final = ("Software", "Hardware", "Consulting", "Training", "Support")
LANGUAGES: Final = ("German", "French", "English", "Italian", "Spanish")
_BAD_DATE_FORMATS: Final = ("%d.%m.%Y", "%m/%d/%Y", "unpadded", "%d/%m/%Y", "%Y/%m/%d", "%d %b %Y", "%Y%m%d")


def _multi(rng: random.Random, values: tuple[str, ...], none_share: float) -> str | None:
    """A multipicklist value ("A;B") in picklist order, or None."""
    if rng.random() < none_share:
        return None
    chosen = [v for v in values if rng.random() < 0.35] or [rng.choice(values)]
    return ";".join(chosen)


def _birthdate(rng: random.Random, today: date) -> date:
    youngest = today - timedelta(days=round(19 * 365.25))
    return youngest - timedelta(days=rng.randrange(round(70 * 365.25)))


def bad_date(rng: random.Random, when: date) -> str:
    """``when`` written in a form other than YYYY-MM-DD (SPEC Y3)."""
    fmt = rng.choice(_BAD_DATE_FORMATS)
    if fmt == "unpadded" and (when.month < 10 or when.day < 10):
        return f"{when.year}-{when.month}-{when.day}"  # "1990-9-25"
    return when.strftime("%d.%m.%Y" if fmt == "unpadded" else fmt)


class RecordMaker:
    """Builds the fields of one kind of record (``Contact`` or ``Lead``) from one random stream.

    Args:
        kind: "Contact" or "Lead".
        rng: the random source (determines the whole output).
        rule_share: share of records made to break one of the rules that apply to ``kind``.
        today: reference date for ages.
        traits_rng: the random source of the traits records get of their own, or None for none
            (the tidy data). It never touches ``rng``, so the records without a trait of their
            own are the same either way.
    """

    def __init__(
        self,
        kind: str,
        rng: random.Random,
        rule_share: float,
        today: date,
        traits_rng: random.Random | None = None,
    ) -> None:
        self.kind = kind
        self._rng = rng
        self._rule_share = rule_share
        self._today = today
        self._pools = locale_pools()
        self._weights = tuple(spec.weight for spec in LOCALES)
        self._emails = EmailMaker(rng)
        self._phones = PhoneMaker(rng, owner=self._phones_owner)
        self._traits: TraitMaker | None = None
        if traits_rng is not None:
            german = next(p for p in self._pools if p.spec.region == NO_COUNTRY_REGION)
            self._traits = TraitMaker(
                kind,
                traits_rng,
                EmailMaker(traits_rng, self._emails.taken),
                PhoneMaker(traits_rng, owner=self._phones_owner, used=self._phones.used),
                german,
            )

    @property
    def _phones_owner(self) -> int:
        return 0 if self.kind == "Contact" else 1

    def make(self) -> tuple[dict[str, Any], tuple[str, ...], dict[str, Any] | None, tuple[str, ...]]:
        """One record: (Salesforce fields, rules it breaks, Brevo attribute edit or None, traits)."""
        rng = self._rng
        rule = rng.choice(SALESFORCE_RULES[self.kind]) if rng.random() < self._rule_share else None
        pools = rng.choices(self._pools, self._weights)[0]
        person = make_person(rng, pools)
        if self.kind == "Contact":
            fields = self._contact(pools, person, rule)
        else:
            fields = self._lead(pools, person, rule)
        country = fields.get("MailingCountry", fields.get("Country"))
        fields.update(self._phone_fields(pools, rule, international=country is None))
        edit = self._brevo_edit(rule, fields, pools)
        breaks = (rule,) if rule else ()
        if self._traits is not None and rule is None:
            self._traits.apply(fields, pools, person)
        return fields, breaks, edit, record_traits(self.kind, fields, breaks)

    def _name_fields(self, person: Person) -> dict[str, Any]:
        return {"Salutation": person.salutation, "FirstName": person.first_name, "LastName": person.last_name}

    def _contact(self, pools: LocalePools, person: Person, rule: str | None) -> dict[str, Any]:
        rng = self._rng
        opted_out = rng.random() < 0.08
        has_address = rng.random() < 0.95
        tier = rng.choices((None, *LOYALTY_TIERS), (25, 38, 22, 11, 4))[0]
        birth = _birthdate(rng, self._today) if rule == "Y3" or rng.random() < 0.9 else None
        return {
            **self._name_fields(person),
            "Title": rng.choice(pools.titles) if rng.random() < 0.6 else None,
            "Email": None if rule == "Y6" else self._emails.make(person.first_name, person.last_name),
            "Birthdate": birth.isoformat() if birth else None,
            "MailingStreet": rng.choice(pools.streets) if has_address else None,
            "MailingCity": rng.choice(pools.cities) if has_address else None,
            "MailingPostalCode": rng.choice(pools.postcodes) if has_address else None,
            "MailingCountry": pools.spec.country if has_address else None,
            "LeadSource": rng.choice(LEAD_SOURCES) if rng.random() < 0.85 else None,
            "HasOptedOutOfEmail": opted_out,
            "Loyalty_Tier__c": tier,
            "Interests__c": _multi(rng, INTERESTS, 0.3),
            "Customer_Score__c": round(rng.uniform(0, 100), 2),
            "Newsletter_Opt_In__c": not opted_out and rng.random() < 0.55,
        }

    def _lead(self, pools: LocalePools, person: Person, rule: str | None) -> dict[str, Any]:
        rng = self._rng
        company = rng.choice(pools.companies)
        birth = _birthdate(rng, self._today) if rule == "Y3" or rng.random() < 0.5 else None
        language = pools.spec.language if rng.random() < 0.8 else rng.choice(LANGUAGES)
        budget = round(min(rng.lognormvariate(9.5, 1.1), 9_999_999.0), 2) if rng.random() < 0.7 else None
        email = (
            None
            if rule == "Y6"
            else self._emails.make(person.first_name, person.last_name, company_domain(company))
        )
        return {
            **self._name_fields(person),
            "Company": company,
            "Title": rng.choice(pools.titles) if rng.random() < 0.75 else None,
            "Email": email,
            "Status": rng.choices(LEAD_STATUSES, (65, 35))[0],
            "LeadSource": rng.choice(LEAD_SOURCES),
            "Industry": rng.choice(INDUSTRIES) if rng.random() < 0.9 else None,
            "Rating": rng.choice(RATINGS) if rng.random() < 0.8 else None,
            "City": rng.choice(pools.cities),
            "Country": pools.spec.country,
            "HasOptedOutOfEmail": rng.random() < 0.06,
            "Birthdate__c": birth.isoformat() if birth else None,
            "Budget__c": budget,
            "Products_Of_Interest__c": _multi(rng, PRODUCTS, 0.35),
            "Preferred_Language__c": language,
        }

    def _phone_fields(
        self, pools: LocalePools, rule: str | None, international: bool
    ) -> dict[str, str | None]:
        rng = self._rng
        region = pools.spec.region
        phone = mobile = None
        if rng.random() < 0.7 or rule == "Y7":
            if rng.random() < 0.05:  # someone abroad: their number in international form
                other = rng.choice([s.region for s in LOCALES if s.region != region])
                phone = self._phones.number(other, rng.choice((FIXED, MOBILE)), international=True)
            else:
                kind = FIXED if rng.random() < 0.65 else MOBILE
                phone = self._phones.number(region, kind, international=international)
        if rng.random() < 0.55:
            mobile = self._phones.number(region, MOBILE, international=international)
        if rule == "Y9":
            if rng.random() < 0.7:
                phone = bad_phone(rng)
            else:
                mobile = bad_phone(rng)
        return {"Phone": phone, "MobilePhone": mobile}

    def _brevo_edit(
        self, rule: str | None, fields: dict[str, Any], pools: LocalePools
    ) -> dict[str, Any] | None:
        rng = self._rng
        if rule == "Y3":
            current = date.fromisoformat(fields["Birthdate" if self.kind == "Contact" else "Birthdate__c"])
            return {BREVO_DATE_ATTRIBUTE: bad_date(rng, current + timedelta(days=rng.randint(1, 300)))}
        if rule == "Y5":
            return {"LASTNAME": ""}
        if rule == "Y8":
            names = list(pools.female_first + pools.male_first)
            long_name = rng.choice(names)
            while len(long_name) <= 40:
                long_name += rng.choice((" ", "-")) + rng.choice(names)
            return {"FIRSTNAME": long_name}
        return None
