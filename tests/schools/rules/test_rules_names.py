"""Vietnamese class-list ordering (schools.rules.names) — table tests. No ICU, no locale."""

import random
import unicodedata

import pytest

from schools.rules.names import split_name, vietnamese_sort_key, vietnamese_sort_string


def ordered(names):
    return sorted(names, key=vietnamese_sort_key)


def assert_sorts_as(expected):
    shuffled = list(expected)
    random.Random(20252026).shuffle(shuffled)
    assert ordered(shuffled) == expected
    assert ordered(reversed(expected)) == expected
    assert sorted(shuffled, key=vietnamese_sort_string) == expected


def test_alphabet_order_of_given_names():
    letters = "A Ă Â B C D Đ E Ê G H I K L M N O Ô Ơ P Q R S T U Ư V X Y".split()
    assert_sorts_as([f"Nguyễn Văn {letter}" for letter in letters])


def test_alphabet_order_inside_words():
    assert_sorts_as(["Lê Anh", "Lê Ăn", "Lê Ân", "Lê Dung", "Lê Đông", "Lê Em", "Lê Ên"])
    assert_sorts_as(["Lê Tú", "Lê Tuấn", "Lê Tư", "Lê Vi", "Lê Vy"])  # prefix first, u < ư, i < y
    assert_sorts_as(["Lê Long", "Lê Lộc", "Lê Lợi"])  # o < ô < ơ


def test_tones_no_tone_huyen_sac_hoi_nga_nang():
    assert_sorts_as(["Lê Ma", "Lê Mà", "Lê Má", "Lê Mả", "Lê Mã", "Lê Mạ"])


def test_tones_are_second_level():
    # letters first ("ha" is a prefix of "hai"), the tone only breaks ties
    assert_sorts_as(["Lê Hà", "Lê Hai", "Lê Hải"])
    assert_sorts_as(["Lê Anh", "Lê Ánh", "Lê Ăn"])  # Ánh before Ăn: a < ă decides before the tone


def test_old_and_new_tone_placement_sort_together():
    # "Hoà" (old style) and "Hòa" (new style) tie on letters and tone: the middle name decides
    assert_sorts_as(["Trần An Hòa", "Lê Bình Hoà", "Phạm Chí Hòa"])
    assert vietnamese_sort_key("Hoà")[0] == vietnamese_sort_key("Hòa")[0]
    assert vietnamese_sort_key("Thuý")[0] == vietnamese_sort_key("Thúy")[0]


def test_given_then_middle_then_family():
    assert_sorts_as(
        [
            "Trần Thị An",  # given An first, whatever the family name
            "Nguyễn Văn An",  # same given: middle Thị < Văn
            "Lê Văn Bình",
            "Trần Văn Bình",  # same given and middle: family Lê < Trần
            "Đỗ Cường",  # no middle name sorts before any middle name
            "Bùi Minh Cường",
            "Nguyễn Thị Minh Khai",
            "Nguyễn Thị Ngọc Khai",  # middle names compared word by word
        ]
    )


def test_class_list_example():
    assert_sorts_as(
        [
            "Nguyễn Hoàng Anh",
            "Trần Ngọc Ánh",
            "Phạm Gia Bảo",
            "Lê Minh Châu",
            "Võ Thành Đạt",
            "Đặng Thu Hà",
            "Nguyễn Văn Hải",
            "Ksor H'Hen",  # apostrophe ignored: "hhen"
            "Lê Thị Hoà",
            "Bùi Đức Huy",
            "Hoàng Ngọc Khánh",
            "Ngô Bảo Ngọc",
            "Trịnh Hữu Phúc",
            "Đinh Thị Thuỷ",
            "Mai Anh Thư",
            "Lò Văn Ưng",
            "Y Vân",
        ]
    )


def test_case_does_not_change_the_order():
    assert vietnamese_sort_key("NGUYỄN VĂN ĐẠT")[:3] == vietnamese_sort_key("nguyễn văn đạt")[:3]
    assert_sorts_as(["lê văn an", "Nguyễn Văn Bình", "TRẦN THỊ CÚC"])


def test_nfc_and_nfd_give_the_same_key():
    name = "Nguyễn Thị Ngọc Ánh"
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert vietnamese_sort_key(unicodedata.normalize(form, name)) == vietnamese_sort_key(name)
        assert vietnamese_sort_string(unicodedata.normalize(form, name)) == vietnamese_sort_string(name)
    # mixed: precomposed ễ written as ê + combining tilde
    assert vietnamese_sort_key("Nguye\u0302\u0303n") == vietnamese_sort_key("Nguyễn")
    # dot below + circumflex in either order of marks
    assert vietnamese_sort_key("Nguye\u0323\u0302t") == vietnamese_sort_key("Nguyệt")
    assert vietnamese_sort_key("Nguye\u0302\u0323t") == vietnamese_sort_key("Nguyệt")


def test_whitespace_is_normalised():
    assert vietnamese_sort_key("  Nguyễn   Văn\tAn ") == vietnamese_sort_key("Nguyễn Văn An")
    assert split_name("  Nguyễn   Văn\tAn ") == ("Nguyễn", ("Văn",), "An")


def test_eth_is_read_as_d_stroke():
    assert vietnamese_sort_key("\u00d0ặng Văn An")[:3] == vietnamese_sort_key("Đặng Văn An")[:3]


def test_split_name():
    assert split_name("Nguyễn Thị Minh Khai") == ("Nguyễn", ("Thị", "Minh"), "Khai")
    assert split_name("Lan") == ("", (), "Lan")
    assert split_name("") == ("", (), "")


def test_distinct_names_never_tie():
    assert vietnamese_sort_key("Lê Hoà") != vietnamese_sort_key("Lê Hòa")
    assert vietnamese_sort_key("lê an") != vietnamese_sort_key("Lê An")
    assert vietnamese_sort_key("Lê An") == vietnamese_sort_key("Lê An")


def test_empty_name_sorts_first():
    assert ordered(["Lê An", "", "A"]) == ["", "A", "Lê An"]


@pytest.mark.parametrize("name", ["Nguyễn Văn An", "Ksor H'Hen", "José Nguyễn", "Lê 2 An", "李 Văn Minh"])
def test_sort_string_has_no_nul_and_is_text(name):
    encoded = vietnamese_sort_string(name)
    assert isinstance(encoded, str) and "\x00" not in encoded
