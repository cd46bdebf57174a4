"""The 54 ethnic groups (the statistics office's code list) and the spellings schools write them in."""

from __future__ import annotations

import pytest
from hocba.kernel import ethnicity

OFFICIAL = [
    ("01", "Kinh"), ("02", "Tày"), ("03", "Thái"), ("04", "Hoa"), ("05", "Khơ-me"), ("06", "Mường"),
    ("07", "Nùng"), ("08", "Mông"), ("09", "Dao"), ("10", "Gia-rai"), ("11", "Ngái"), ("12", "Ê-đê"),
    ("13", "Ba-na"), ("14", "Xơ-đăng"), ("15", "Sán Chay"), ("16", "Cơ-ho"), ("17", "Chăm"), ("18", "Sán Dìu"),
    ("19", "Hrê"), ("20", "Mnông"), ("21", "Ra-glai"), ("22", "Xtiêng"), ("23", "Bru-Vân Kiều"), ("24", "Thổ"),
    ("25", "Giáy"), ("26", "Cơ-tu"), ("27", "Gié-Triêng"), ("28", "Mạ"), ("29", "Khơ-mú"), ("30", "Co"),
    ("31", "Tà-ôi"), ("32", "Chơ-ro"), ("33", "Kháng"), ("34", "Xinh-mun"), ("35", "Hà Nhì"), ("36", "Chu-ru"),
    ("37", "Lào"), ("38", "La Chí"), ("39", "La Ha"), ("40", "Phù Lá"), ("41", "La Hủ"), ("42", "Lự"),
    ("43", "Lô Lô"), ("44", "Chứt"), ("45", "Mảng"), ("46", "Pà Thẻn"), ("47", "Cơ Lao"), ("48", "Cống"),
    ("49", "Bố Y"), ("50", "Si La"), ("51", "Pu Péo"), ("52", "Brâu"), ("53", "Ơ-đu"), ("54", "Rơ-măm"),
]  # fmt: skip


def test_the_list_is_the_official_one():
    assert [(g.code, g.name) for g in ethnicity.GROUPS] == OFFICIAL
    assert len({g.code for g in ethnicity.GROUPS}) == 54


@pytest.mark.parametrize(("code", "name"), OFFICIAL)
def test_every_group_is_found_by_its_name_however_it_is_typed(code, name):
    bare = ethnicity.key(name)  # no accents, hyphens or spaces, lower case
    spaced = name.replace("-", " ")
    for typed in (name, name.upper(), name.lower(), spaced, name.replace("-", ""), f"  {spaced}  ", bare):
        assert ethnicity.group_of(typed) == code, typed
    assert ethnicity.group_of(f"Dân tộc {name}") == code
    assert ethnicity.group_of(f"người {name}") == code
    assert ethnicity.name_of(code) == name


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("H'Mông", "08"), ("Hmông", "08"), ("HMông", "08"), ("H Mông", "08"), ("Mèo", "08"), ("Mẹo", "08"),
        ("Hmong", "08"), ("Khmer", "05"), ("Khơ Me", "05"), ("Khơme", "05"), ("Khmer Krom", "05"),
        ("Ê Đê", "12"), ("Ê-đê", "12"), ("Êđê", "12"), ("Rhade", "12"), ("Rhadé", "12"), ("E De", "12"),
        ("Việt", "01"), ("Người Việt", "01"), ("kinh", "01"), ("KINH", "01"), ("Jrai", "10"), ("Gia Rai", "10"),
        ("Bahnar", "13"), ("Ba Na", "13"), ("Xê Đăng", "14"), ("Sedang", "14"), ("Cao Lan", "15"),
        ("K'Ho", "16"), ("Kơ Ho", "16"), ("Chàm", "17"), ("H're", "19"), ("M'Nông", "20"), ("Raglai", "21"),
        ("Stiêng", "22"), ("X'tiêng", "22"), ("Vân Kiều", "23"), ("Bru - Vân Kiều", "23"), ("Katu", "26"),
        ("Cơ Tu", "26"), ("Giẻ Triêng", "27"), ("Giẻ-Triêng", "27"), ("Khơ Mú", "29"), ("Khmu", "29"),
        ("Tà Ôi", "31"), ("Pa-cô", "31"), ("Pa-co", "31"), ("Chơ Ro", "32"), ("Xinh Mun", "34"),
        ("Chu Ru", "36"), ("Cờ Lao", "47"), ("Co Lao", "47"), ("Ơ Đu", "53"), ("Rơ Măm", "54"), ("Hán", "04"),
        ("Mán", "09"), ("Tai", "03"), ("Lao", "37"), ("La Chi", "38"), ("Pa Then", "46"),
    ],
)  # fmt: skip
def test_the_usual_other_spellings(typed, code):
    assert ethnicity.group_of(typed) == code


@pytest.mark.parametrize(
    "typed", ["", None, "   ", "Người nước ngoài", "Pháp", "Kinhh", "?", "Xá", "Xá Khao", "Không rõ", "Việt Nam"]
)
def test_what_names_no_group_is_other_or_unknown(typed):
    """Nothing written, a foreign nationality, a typo, or a name two groups share ("Xá Khao", "Xá")."""
    assert ethnicity.group_of(typed) == ethnicity.OTHER == "00"
    assert ethnicity.name_of(ethnicity.OTHER) == ethnicity.OTHER_NAME


def test_no_alias_hides_another_groups_official_name():
    official = {ethnicity.key(g.name): g.code for g in ethnicity.GROUPS}
    assert all(ethnicity.INDEX[k] == code for k, code in official.items())
