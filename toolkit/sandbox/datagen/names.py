"""Names a real org holds beyond its locales' own: non-Latin scripts and names near the field limits.

Non-Latin names come with the Latin spelling their owner would use in an e-mail address (people
named Иван Петров write ``ivan.petrov@...``), so addresses stay ASCII like every other one the
generator makes. The lists are hand-written, so they do not depend on Faker's data.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Final

from toolkit.sandbox.datagen.pools import LocalePools

FIRST_NAME_MAX: Final = (
    40  # Contact/Lead FirstName string(40), LastName string(80): Salesforce field reference
)
LAST_NAME_MAX: Final = 80
LONG_FIRST_NAME: Final = 30  # a first name this long or longer counts as "long" (trait long_name)
LONG_LAST_NAME: Final = 60

Name = tuple[str, str]  # (as written in Salesforce, Latin spelling for the e-mail address)


@dataclass(frozen=True)
class Culture:
    """Names of one culture written in a non-Latin script."""

    script: str
    female_first: tuple[Name, ...]
    male_first: tuple[Name, ...]
    female_last: tuple[Name, ...]
    male_last: tuple[Name, ...]


def _pairs(text: str) -> tuple[Name, ...]:
    """``"Анна/Anna Мария/Maria"`` -> ``(("Анна", "Anna"), ("Мария", "Maria"))``."""
    return tuple((native, latin) for native, latin in (item.split("/") for item in text.split()))


_GR_LAST_SHARED = (
    "Γεωργίου/Georgiou Οικονόμου/Oikonomou Βασιλείου/Vasileiou Νικολάου/Nikolaou Αντωνίου/Antoniou"
)
_CJK_FEMALE = (
    "秀英/Xiuying 丽娜/Lina 静/Jing 婷婷/Tingting さくら/Sakura 陽子/Yoko 美咲/Misaki 由美/Yumi "
    "지은/Jieun 서연/Seoyeon 민지/Minji"
)
_CJK_MALE = (
    "伟/Wei 强/Qiang 磊/Lei 浩然/Haoran 翔太/Shota 健一/Kenichi 大輔/Daisuke 拓也/Takuya "
    "민준/Minjun 서준/Seojun 지훈/Jihoon"
)
_CJK_LAST = (
    "王/Wang 李/Li 张/Zhang 刘/Liu 陈/Chen 佐藤/Sato 鈴木/Suzuki 高橋/Takahashi 田中/Tanaka "
    "김/Kim 이/Lee 박/Park 최/Choi"
)
_AR_LAST = (
    "العلي/Al-Ali حسن/Hassan حسين/Hussein الخطيب/Al-Khatib منصور/Mansour عبدالله/Abdullah "
    "السيد/El-Sayed الحداد/Al-Haddad"
)

CULTURES: Final[tuple[Culture, ...]] = (
    Culture(
        "Cyrillic",
        _pairs(
            "Анна/Anna Мария/Maria Екатерина/Ekaterina Ольга/Olga Наталья/Natalya Татьяна/Tatyana "
            "Ирина/Irina Оксана/Oksana Светлана/Svetlana Юлия/Yuliya"
        ),
        _pairs(
            "Иван/Ivan Дмитрий/Dmitry Алексей/Aleksey Сергей/Sergey Андрей/Andrey Михаил/Mikhail "
            "Николай/Nikolay Олег/Oleg Владимир/Vladimir Богдан/Bohdan"
        ),
        _pairs(
            "Иванова/Ivanova Петрова/Petrova Смирнова/Smirnova Кузнецова/Kuznetsova Попова/Popova "
            "Соколова/Sokolova Шевченко/Shevchenko Коваленко/Kovalenko Бондаренко/Bondarenko "
            "Георгиева/Georgieva"
        ),
        _pairs(
            "Иванов/Ivanov Петров/Petrov Смирнов/Smirnov Кузнецов/Kuznetsov Попов/Popov Соколов/Sokolov "
            "Шевченко/Shevchenko Коваленко/Kovalenko Бондаренко/Bondarenko Георгиев/Georgiev"
        ),
    ),
    Culture(
        "Greek",
        _pairs(
            "Μαρία/Maria Ελένη/Eleni Αικατερίνη/Aikaterini Βασιλική/Vasiliki Σοφία/Sofia Δήμητρα/Dimitra "
            "Γεωργία/Georgia Αναστασία/Anastasia"
        ),
        _pairs(
            "Γεώργιος/Georgios Ιωάννης/Ioannis Κωνσταντίνος/Konstantinos Δημήτριος/Dimitrios "
            "Νικόλαος/Nikolaos Παναγιώτης/Panagiotis Χρήστος/Christos Αθανάσιος/Athanasios"
        ),
        _pairs("Παπαδοπούλου/Papadopoulou Παπαδάκη/Papadaki Καραγιάννη/Karagianni " + _GR_LAST_SHARED),
        _pairs("Παπαδόπουλος/Papadopoulos Παπαδάκης/Papadakis Καραγιάννης/Karagiannis " + _GR_LAST_SHARED),
    ),
    Culture("CJK", _pairs(_CJK_FEMALE), _pairs(_CJK_MALE), _pairs(_CJK_LAST), _pairs(_CJK_LAST)),
    Culture(
        "Arabic",
        _pairs("فاطمة/Fatima عائشة/Aisha مريم/Maryam زينب/Zainab ليلى/Layla نور/Nour"),
        _pairs("محمد/Mohammed أحمد/Ahmed علي/Ali عمر/Omar يوسف/Youssef خالد/Khaled"),
        _pairs(_AR_LAST),
        _pairs(_AR_LAST),
    ),
)

# Letters of the scripts above (Cyrillic, Greek, Arabic, Hiragana/Katakana, CJK ideographs, Hangul).
NON_LATIN_RE: Final = re.compile(
    "[\u0370-\u03ff\u1f00-\u1fff\u0400-\u052f\u0600-\u06ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\u1100-\u11ff\uac00-\ud7af]"
)
_PARTICLES: Final = (" von ", " van der ", " de la ", " dos ", " di ", "-")


def has_non_latin(text: str | None) -> bool:
    """True when ``text`` holds a letter of a non-Latin script."""
    if not text:
        return False
    return not text.isascii() and NON_LATIN_RE.search(text) is not None


def non_latin_name(rng: random.Random, female: bool) -> tuple[Name, Name]:
    """A (first, last) name of one culture, each as (native, Latin spelling)."""
    culture = rng.choice(CULTURES)
    first = rng.choice(culture.female_first if female else culture.male_first)
    last = rng.choice(culture.female_last if female else culture.male_last)
    return first, last


def _grow(
    rng: random.Random, start: str, parts: tuple[str, ...], separators: tuple[str, ...], low: int, high: int
) -> str:
    """Join ``parts`` to ``start`` until the text is ``low``..``high`` characters long."""
    text = start
    for _ in range(60):
        if len(text) >= low:
            break
        candidate = text + rng.choice(separators) + rng.choice(parts)
        if len(candidate) <= high:
            text = candidate
    while len(text) < low:  # short pools: pad with the shortest part that still fits
        text += "-" + min(parts, key=len)
        text = text[:high]
    return text


def long_first_name(rng: random.Random, pools: LocalePools, female: bool) -> str:
    """A compound first name of ``LONG_FIRST_NAME + 2`` to 40 characters ("Anna-Lena Marie-Luise ...")."""
    names = pools.female_first if female else pools.male_first
    return _grow(rng, rng.choice(names), names, (" ", "-"), LONG_FIRST_NAME + 2, FIRST_NAME_MAX)


def long_last_name(rng: random.Random, pools: LocalePools, female: bool) -> str:
    """A multi-part last name of ``LONG_LAST_NAME + 4`` to 80 characters."""
    names = pools.female_last if female else pools.male_last
    return _grow(rng, rng.choice(names), names, _PARTICLES, LONG_LAST_NAME + 4, LAST_NAME_MAX)
