"""A student's identity across years: the personal identification number and the MoET student code — pure Python.

**Personal identification number** (số định danh cá nhân, Decree 137/2015/NĐ-CP art. 7, as amended; the codes of
Circular 59/2021/TT-BCA): 12 digits

    PPP  S  YY  NNNNNN
    │    │  │   └── six random digits
    │    │  └────── the last two digits of the year of birth
    │    └───────── century of birth and sex: 0/1 = 20th century (1900–1999) male/female, 2/3 = 21st century
    │               (2000–2099), 4/5 = 22nd, 6/7 = 23rd, 8/9 = 24th
    └────────────── the code of the province (centrally-run city) where the birth was registered

The province codes are the 63 provinces' codes (the numbers of the provinces' administrative-unit codes, padded to
three digits). The provinces merged on 1 July 2025 kept one of these codes each, and numbers already issued keep
theirs, so the 63-code list is the one an identity number is checked against.

``personal_id_problem`` says what is wrong with a number for a student born on a day with a given sex (``None`` when
nothing is); the services turn the problem into a message. The checks run in the order a person would read the
number: length and digits, province, century and sex, year.

**MoET student code** (mã định danh / mã học sinh of the Ministry's education database, CSDL ngành; Circular
42/2021/TT-BGDĐT art. 10: "a string of characters", unique and never changed once issued): kept as given when known.
Its layout is not fixed by the circular, so the check is its form: Latin letters without diacritics, digits and
hyphens, 3 to 20 characters, starting with a letter or digit, compared in upper case (``moet_code_normal``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the rules read no clock: a date is only passed in
    import datetime as dt

# Circular 59/2021/TT-BCA, appendix: the province codes of the personal identification number.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa – Vũng Tàu",
    "079": "Thành phố Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

MALE, FEMALE = "M", "F"
FIRST_CENTURY = 1900  # the digit 0 (male) / 1 (female)
PERSONAL_ID = re.compile(r"[0-9]{12}")
MOET_CODE = re.compile(r"[0-9A-Z][0-9A-Z-]{2,19}")


class IdProblem(StrEnum):
    FORM = "form"  # not 12 digits
    PROVINCE = "province"  # the first three digits are no province's code
    SEX = "sex"  # the fourth digit says the other sex
    CENTURY = "century"  # the fourth digit says another century of birth
    YEAR = "year"  # the fifth and sixth digits are not the year of birth


def century_sex_digit(born: dt.date, sex: str) -> int:
    """The fourth digit for a person born on ``born`` of sex ``M``/``F``."""
    return 2 * ((born.year - FIRST_CENTURY) // 100) + (1 if sex == FEMALE else 0)


def personal_id_problem(value: str, *, born: dt.date, sex: str) -> IdProblem | None:
    """What is wrong with ``value`` as the identification number of a person born on ``born``, of sex ``sex``."""
    if not PERSONAL_ID.fullmatch(value):
        return IdProblem.FORM
    if value[:3] not in PROVINCE_CODES:
        return IdProblem.PROVINCE
    digit = int(value[3])
    expected = century_sex_digit(born, sex)
    if digit // 2 != expected // 2:
        return IdProblem.CENTURY
    if digit % 2 != expected % 2:
        return IdProblem.SEX
    if value[4:6] != f"{born.year % 100:02d}":
        return IdProblem.YEAR
    return None


def born_in_century(digit: int) -> str:
    """The years a century digit stands for, as people write them: ``2000–2099``."""
    start = FIRST_CENTURY + 100 * (digit // 2)
    return f"{start}–{start + 99}"


def moet_code_normal(value: str) -> str:
    """The MoET code as kept: no spaces around, upper case."""
    return value.strip().upper()


def moet_code_valid(value: str) -> bool:
    return bool(MOET_CODE.fullmatch(moet_code_normal(value)))
