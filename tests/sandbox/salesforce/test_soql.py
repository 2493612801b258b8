"""The sandbox's SOQL engine: Salesforce's syntax, errors and comparison semantics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from toolkit.sandbox.salesforce.soql import SoqlError, compile_query, parse, unknown_sobject_error

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
TYPES = {
    "Id": "id",
    "FirstName": "string",
    "LastName": "string",
    "Email": "email",
    "Phone": "phone",
    "SystemModstamp": "datetime",
    "Birthdate": "date",
    "IsDeleted": "boolean",
    "AccountId": "reference",
    "LeadSource": "picklist",
    "Interests__c": "multipicklist",
    "Score__c": "double",
}
INCREMENTAL = (
    "SELECT Id, FirstName, LastName, Email, Phone, SystemModstamp, IsDeleted FROM Contact "
    "WHERE (SystemModstamp > 2026-11-27T09:37:04.000+0000) OR (SystemModstamp = "
    "2026-11-27T09:37:04.000+0000 AND Id > '003Dn0000000001AAA') "
    "ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000"
)


def cid(n: int) -> str:
    return f"003Dn{n:010d}AAA"


def contact(n: int, **fields: object) -> dict:
    record = dict.fromkeys(TYPES)
    record.update(
        Id=cid(n), LastName=f"Last{n}", IsDeleted=False, SystemModstamp="2026-11-27T09:37:04.000+0000"
    )
    record.update(fields)
    return record


PEOPLE = [
    contact(
        1,
        FirstName="Ada",
        LastName="Lovelace",
        Email="ada@example.com",
        Score__c=9.5,
        Interests__c="Math;Poetry",
        Birthdate="1815-12-10",
        LeadSource="Web",
    ),
    contact(
        2,
        FirstName="alan",
        LastName="Turing",
        Email="ALAN@example.com",
        Score__c=-2,
        Interests__c="Math",
        Phone="+44 20 7946 0000",
    ),
    contact(
        3,
        FirstName="Grace",
        LastName="hopper",
        Email=None,
        Score__c=7,
        Interests__c="Navy;Compilers",
        IsDeleted=True,
    ),
    contact(4, FirstName=None, LastName="O'Brien", Email="", Score__c=None, Phone=""),
]


def run(soql: str, records: list[dict] = PEOPLE, now: datetime = NOW) -> list[dict]:
    return compile_query(parse(soql), TYPES, now=now, sobject="Contact").run(records)


def ids(soql: str, records: list[dict] = PEOPLE, now: datetime = NOW) -> list[int]:
    return [int(row["Id"][5:15]) for row in run(soql, records, now)]


def where(clause: str, records: list[dict] = PEOPLE, now: datetime = NOW) -> list[int]:
    return ids(f"SELECT Id FROM Contact WHERE {clause}", records, now)


def error(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        compile_query(parse(soql), TYPES, now=NOW, sobject="Contact")
    return caught.value


def test_incremental_query_resumes_inside_a_shared_timestamp() -> None:
    same = "2026-11-27T09:37:04.000+0000"
    records = [contact(n, SystemModstamp=same) for n in (3, 1, 4, 2)] + [
        contact(9, SystemModstamp="2026-11-27T09:37:05.001+0000"),
        contact(8, SystemModstamp="2026-11-27T09:37:05.000+0000"),
        contact(7, SystemModstamp="2026-11-27T09:37:03.999+0000"),
    ]
    rows = run(INCREMENTAL, records)
    assert [int(r["Id"][5:15]) for r in rows] == [2, 3, 4, 8, 9]
    assert list(rows[0]) == ["Id", "FirstName", "LastName", "Email", "Phone", "SystemModstamp", "IsDeleted"]


def test_incremental_query_with_small_pages_visits_every_record_once() -> None:
    stamps = ["2026-11-27T09:37:04.000+0000", "2026-11-27T09:37:04.000+0000", "2026-11-27T09:37:04.500+0000"]
    records = [contact(n, SystemModstamp=stamps[n % 3]) for n in range(30, 0, -1)]
    seen: list[str] = []
    cursor = ("2000-01-01T00:00:00.000+0000", "000000000000000AAA")
    while True:
        page = run(
            f"SELECT Id, SystemModstamp FROM Contact WHERE (SystemModstamp > {cursor[0]}) "
            f"OR (SystemModstamp = {cursor[0]} AND Id > '{cursor[1]}') "
            "ORDER BY SystemModstamp ASC, Id ASC LIMIT 4",
            records,
        )
        if not page:
            break
        seen += [r["Id"] for r in page]
        cursor = (page[-1]["SystemModstamp"], page[-1]["Id"])
    assert seen == [r["Id"] for r in sorted(records, key=lambda r: (r["SystemModstamp"], r["Id"]))]


def test_string_equality_is_case_insensitive_and_not_equal_includes_nulls() -> None:
    assert where("FirstName = 'ALAN'") == [2]
    assert where("Email = 'alan@EXAMPLE.com'") == [2]
    assert where("FirstName != 'alan'") == [1, 3, 4]
    assert where("FirstName <> 'Alan'") == [1, 3, 4]


def test_ordering_operators_on_strings_numbers_and_ids() -> None:
    assert where("LastName < 'M'") == [1, 3]
    assert where("LastName >= 'turing'") == [2]
    assert where("Score__c > 7") == [1]
    assert where("Score__c >= 7") == [1, 3]
    assert where("Score__c < -1.5") == [2]
    assert where("Score__c <= 9.5") == [1, 2, 3]
    assert where(f"Id > '{cid(2)}'") == [3, 4]
    assert where(f"Id = '{cid(3)[:15]}'") == [3]


def test_null_semantics() -> None:
    assert where("Email = null") == [3, 4]
    assert where("Email != NULL") == [1, 2]
    assert where("Email = ''") == [3, 4]
    assert where("Phone > 'A'") == []
    assert where("Score__c < 100") == [1, 2, 3]
    assert where("Score__c != 7") == [1, 2, 4]
    assert where("Score__c = null") == [4]


def test_like_wildcards_are_case_insensitive_and_escapable() -> None:
    assert where("LastName LIKE 't%'") == [2]
    assert where("LastName LIKE '_opper'") == [3]
    assert where("Email LIKE '%EXAMPLE.COM'") == [1, 2]
    records = [
        contact(1, FirstName="100%"),
        contact(2, FirstName="1000"),
        contact(3, FirstName="a_b"),
        contact(4, FirstName="axb"),
    ]
    assert where(r"FirstName LIKE '100\%'", records) == [1]
    assert where("FirstName LIKE '100%'", records) == [1, 2]
    assert where(r"FirstName LIKE 'a\_b'", records) == [3]
    assert where("NOT FirstName LIKE 'a%'", records) == [1, 2]


def test_in_and_not_in() -> None:
    assert where("FirstName IN ('ada', 'GRACE')") == [1, 3]
    assert where("FirstName NOT IN ('ada', 'GRACE')") == [2, 4]
    assert where("FirstName IN ('ada', null)") == [1, 4]
    assert where("Score__c IN (7, -2)") == [2, 3]
    assert where(f"Id IN ('{cid(1)}', '{cid(4)}')") == [1, 4]


def test_includes_and_excludes_on_multipicklists() -> None:
    assert where("Interests__c INCLUDES ('math')") == [1, 2]
    assert where("Interests__c INCLUDES ('Math;Poetry', 'Navy')") == [1, 3]
    assert where("Interests__c EXCLUDES ('Math')") == [3, 4]
    assert where("Interests__c = 'Poetry;Math'") == [1]


def test_boolean_fields_compare_with_true_and_false_only() -> None:
    assert where("IsDeleted = TRUE") == [3]
    assert where("IsDeleted = false") == [1, 2, 4]
    assert where("IsDeleted != true") == [1, 2, 4]
    assert error("SELECT Id FROM Contact WHERE IsDeleted = 'true'").error_code == "INVALID_FIELD"
    assert error("SELECT Id FROM Contact WHERE IsDeleted = 1").error_code == "INVALID_FIELD"


def test_not_and_parentheses_set_precedence() -> None:
    assert where("(FirstName = 'Ada' AND Score__c > 9) OR LastName = 'hopper'") == [1, 3]
    assert where("FirstName = 'Ada' AND (Score__c > 100 OR LastName = 'Lovelace')") == [1]
    assert where("NOT (FirstName = 'Ada' OR FirstName = 'Grace')") == [2, 4]
    assert where("NOT FirstName = 'Ada' AND Score__c > 0") == [3]
    assert where("Score__c > 0 AND Score__c < 9 AND IsDeleted = true") == [3]
    assert where("FirstName = 'x' OR FirstName = 'alan' OR FirstName = 'ada'") == [1, 2]


@pytest.mark.parametrize(
    "clause, token",
    [
        ("FirstName = 'a' AND LastName = 'b' OR Email = 'c'", "OR"),
        ("FirstName = 'a' OR LastName = 'b' AND Email = 'c'", "AND"),
        ("(FirstName = 'a' OR LastName = 'b') AND Email = 'c' OR Phone = 'd'", "OR"),
    ],
)
def test_mixing_and_or_without_parentheses_is_malformed(clause: str, token: str) -> None:
    err = error(f"SELECT Id FROM Contact WHERE {clause}")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith(f"unexpected token: '{token}'")


def test_string_escapes() -> None:
    assert where(r"LastName = 'O\'Brien'") == [4]
    records = [
        contact(1, FirstName='say "hi"'),
        contact(2, FirstName="back\\slash"),
        contact(3, FirstName="two\nlines\tand tab"),
    ]
    assert where(r"FirstName = 'say \"hi\"'", records) == [1]
    assert where(r"FirstName = 'back\\slash'", records) == [2]
    assert where(r"FirstName = 'two\nlines\tand tab'", records) == [3]
    assert error(r"SELECT Id FROM Contact WHERE FirstName = 'bad\q'").error_code == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    "literal",
    [
        "2026-11-27T09:37:04Z",
        "2026-11-27T09:37:04.000Z",
        "2026-11-27T10:37:04+01:00",
        "2026-11-27T09:37:04.000+0000",
        "2026-11-27T04:37:04-05:00",
        "2026-11-28T00:37:04+15:00",
    ],
)
def test_datetime_literals_are_normalised_to_utc(literal: str) -> None:
    assert where(
        f"SystemModstamp = {literal}",
        [contact(1), contact(2, SystemModstamp=("2026-11-27T09:37:04.001+0000"))],
    ) == [1]


def test_datetime_literal_milliseconds_are_compared() -> None:
    records = [contact(1, SystemModstamp="2026-11-27T09:37:04.123+0000"), contact(2)]
    assert where("SystemModstamp = 2026-11-27T09:37:04.123Z", records) == [1]
    assert where("SystemModstamp > 2026-11-27T10:37:04.000+01:00", records) == [1]


def test_relative_date_literals_on_datetime_fields_cover_whole_days() -> None:
    records = [
        contact(1, SystemModstamp="2026-11-26T23:59:59.999+0000"),
        contact(2, SystemModstamp="2026-11-27T00:00:00.000+0000"),
        contact(3, SystemModstamp="2026-11-27T23:59:59.999+0000"),
        contact(4, SystemModstamp="2026-11-28T00:00:00.000+0000"),
        contact(5, SystemModstamp="2026-11-25T00:00:00.000+0000"),
    ]
    assert where("SystemModstamp = TODAY", records) == [2, 3]
    assert where("SystemModstamp > TODAY", records) == [4]
    assert where("SystemModstamp < TODAY", records) == [1, 5]
    assert where("SystemModstamp >= TODAY", records) == [2, 3, 4]
    assert where("SystemModstamp <= today", records) == [1, 2, 3, 5]
    assert where("SystemModstamp = YESTERDAY", records) == [1]
    assert where("SystemModstamp = LAST_N_DAYS:1", records) == [1, 2, 3]
    assert where("SystemModstamp = N_DAYS_AGO:2", records) == [5]


def test_date_fields_take_dates_and_date_literals() -> None:
    records = [
        contact(1, Birthdate="2026-11-26"),
        contact(2, Birthdate="2026-11-27"),
        contact(3, Birthdate="1990-09-25"),
    ]
    assert where("Birthdate = 1990-09-25", records) == [3]
    assert where("Birthdate < 2026-01-01", records) == [3]
    assert where("Birthdate = YESTERDAY", records) == [1]
    assert where("Birthdate = LAST_N_DAYS:3", records) == [1, 2]


@pytest.mark.parametrize(
    "clause, type_text",
    [
        ("SystemModstamp > 'abc'", "must be of type dateTime and should not be enclosed in quotes"),
        ("SystemModstamp > 2026-11-27", "must be of type dateTime and should not be enclosed"),
        ("Birthdate = 2026-11-27T00:00:00Z", "must be of type date and should not be enclosed"),
        ("LastName = 5", "must be of type string and should be enclosed in quotes"),
        ("Score__c = '5'", "must be of type double and should not be enclosed in quotes"),
    ],
)
def test_literal_of_the_wrong_type_is_invalid_field(clause: str, type_text: str) -> None:
    err = error(f"SELECT Id FROM Contact WHERE {clause}")
    assert err.error_code == "INVALID_FIELD"
    assert type_text in err.message


def test_order_by_nulls_defaults_and_explicit() -> None:
    assert ids("SELECT Id FROM Contact ORDER BY FirstName") == [4, 1, 2, 3]
    assert ids("SELECT Id FROM Contact ORDER BY FirstName DESC") == [3, 2, 1, 4]
    assert ids("SELECT Id FROM Contact ORDER BY FirstName ASC NULLS LAST") == [1, 2, 3, 4]
    assert ids("SELECT Id FROM Contact ORDER BY FirstName DESC NULLS FIRST") == [4, 3, 2, 1]
    assert ids("SELECT Id FROM Contact ORDER BY Score__c DESC") == [1, 3, 2, 4]


def test_order_by_several_fields_breaks_ties_in_order() -> None:
    records = [
        contact(1, LastName="b", FirstName="x"),
        contact(2, LastName="A", FirstName="y"),
        contact(3, LastName="B", FirstName="a"),
        contact(4, LastName="a", FirstName="z"),
    ]
    assert ids("SELECT Id FROM Contact ORDER BY LastName, FirstName DESC", records) == [4, 2, 1, 3]
    assert ids("SELECT Id FROM Contact ORDER BY IsDeleted, Id DESC", records) == [4, 3, 2, 1]
    # Full ties keep a fixed order whatever the direction: the order stays total and stable.
    assert ids("SELECT Id FROM Contact ORDER BY IsDeleted DESC", records) == [1, 2, 3, 4]


def test_limit_and_offset() -> None:
    assert ids("SELECT Id FROM Contact ORDER BY Id LIMIT 2") == [1, 2]
    assert ids("SELECT Id FROM Contact ORDER BY Id LIMIT 2 OFFSET 1") == [2, 3]
    assert ids("SELECT Id FROM Contact ORDER BY Id OFFSET 3") == [4]
    assert ids("SELECT Id FROM Contact LIMIT 0") == []
    assert ids("SELECT Id FROM Contact OFFSET 2000") == []
    err = error("SELECT Id FROM Contact OFFSET 2001")
    assert err.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert "Maximum SOQL offset allowed for apiName Contact is 2000" in err.message


def test_count_returns_the_matching_records() -> None:
    compiled = compile_query(parse("select count() from Contact where IsDeleted = false"), TYPES, now=NOW)
    assert compiled.is_count and compiled.fields == []
    assert len(compiled.run(PEOPLE)) == 3
    assert len(run("SELECT COUNT() FROM Contact LIMIT 2")) == 2


def test_names_and_keywords_are_case_insensitive_and_results_use_canonical_names() -> None:
    compiled = compile_query(
        parse("select EMAIL, id from contact where lastname = 'turing' order by ID desc"),
        TYPES,
        now=NOW,
        sobject="Contact",
    )
    assert compiled.fields == ["Email", "Id"]
    assert compiled.run(PEOPLE) == [{"Email": "ALAN@example.com", "Id": cid(2)}]


def test_run_returns_new_projected_dicts_and_matches_checks_where_only() -> None:
    compiled = compile_query(parse("SELECT LastName FROM Contact WHERE Score__c > 0 LIMIT 1"), TYPES, now=NOW)
    rows = compiled.run(PEOPLE)
    rows[0]["LastName"] = "changed"
    assert PEOPLE[0]["LastName"] == "Lovelace"
    assert [compiled.matches(p) for p in PEOPLE] == [True, False, True, False]


def test_unknown_field_is_invalid_field_in_salesforce_words() -> None:
    err = error("SELECT Id, Foo FROM Contact")
    assert err.error_code == "INVALID_FIELD"
    assert err.message == (
        "\nSELECT Id, Foo FROM Contact\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Contact'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
        "the describe call for the appropriate names."
    )
    assert "No such column 'Bar'" in error("SELECT Id FROM Contact WHERE Bar = 1").message
    assert "No such column 'Baz'" in error("SELECT Id FROM Contact ORDER BY Baz").message


def test_id_literals_must_be_ids_and_ids_take_no_like() -> None:
    err = error("SELECT Id FROM Contact WHERE Id = 'abc'")
    assert (err.error_code, err.message.splitlines()[-1]) == (
        "INVALID_QUERY_FILTER_OPERATOR",
        "invalid ID field: abc",
    )
    assert error("SELECT Id FROM Contact WHERE Id LIKE '003%'").error_code == "INVALID_QUERY_FILTER_OPERATOR"


def test_unknown_object_error_text() -> None:
    err = unknown_sobject_error(parse("SELECT Id FROM Foo"))
    assert err.error_code == "INVALID_TYPE"
    assert err.message.endswith(
        "sObject type 'Foo' is not supported. If you are attempting to "
        "use a custom object, be sure to append the '__c' after the "
        "entity name. Please reference your WSDL or the describe call "
        "for the appropriate names."
    )


@pytest.mark.parametrize(
    "soql",
    [
        "",
        "SELECT",
        "SELECT Id",
        "SELECT Id FROM",
        "DELETE FROM Contact",
        "SELECT FROM Contact",
        "SELECT Id,, Email FROM Contact",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact WHERE Email",
        "SELECT Id FROM Contact WHERE Email LIKE",
        "SELECT Id FROM Contact WHERE (Email = 'a'",
        "SELECT Id FROM Contact WHERE Email = 'a' junk",
        "SELECT Id FROM Contact WHERE Email = 'unterminated",
        "SELECT Id FROM Contact LIMIT -1",
        "SELECT Id FROM Contact LIMIT 1.5",
        'SELECT Id FROM Contact WHERE Email = "a"',
        "SELECT Id FROM Contact WHERE SystemModstamp > 2026-11-27T09:37:04",
        "SELECT Id FROM Contact WHERE Email = :email",
        "SELECT Id FROM Contact WHERE Email = abc",
        "SELECT Account.Name FROM Contact",
        "SELECT Id, (SELECT Id FROM Cases) FROM Contact",
        "SELECT COUNT(Id) FROM Contact",
        "SELECT Id, COUNT() FROM Contact",
        "SELECT FIELDS(ALL) FROM Contact LIMIT 200",
        "SELECT Id FROM Contact GROUP BY Id",
        "SELECT Id FROM Contact WITH SECURITY_ENFORCED",
        "SELECT Id FROM Contact ORDER BY Id LIMIT",
        "SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM Case)",
        "SELECT Id FROM Contact WHERE Birthdate = 2026-13-01",
        "SELECT Id FROM Contact, Account",
    ],
)
def test_garbage_is_malformed_query(soql: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(soql)
    assert caught.value.error_code == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:" in caught.value.message
