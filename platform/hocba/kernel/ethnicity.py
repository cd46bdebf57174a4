"""Vietnam's 54 ethnic groups (the statistics office's code list, Tổng cục Thống kê) and the mapping of the free text
a school typed (``Student.ethnicity``) onto them.

Schools write a group's name in many ways: with or without accents, hyphens or spaces ("Khơ-me", "Khơ Me",
"Khmer"), an older or foreign name ("Mèo" for Mông, "Rhade" for Ê-đê, "Việt" for Kinh). ``group_of`` compares the
text folded (``hocba.kernel.text.fold``: no accents, lower case) and without hyphens, apostrophes, dots or spaces,
so "H'Mông", "Hmông" and "h mong" meet. What matches no group falls in the "other/unknown" bucket (``OTHER``),
and the caller keeps the raw value to report it. Pure: no Django."""

from __future__ import annotations

from dataclasses import dataclass

from .text import fold

OTHER = "00"  # other / unknown: not one of the 54 groups (a foreign nationality, a typo, nothing written)
OTHER_NAME = "Khác / chưa xác định"


@dataclass(frozen=True)
class Group:
    code: str
    name: str  # the official spelling
    aliases: tuple[str, ...] = ()  # other ways it is written (accents, hyphens and spaces need no alias)


GROUPS: tuple[Group, ...] = (
    Group("01", "Kinh", ("Việt", "Người Kinh", "Người Việt", "Kinh (Việt)")),
    Group("02", "Tày", ("Thổ Tày",)),
    Group("03", "Thái", ("Tai", "Tày Thanh", "Thái Đen", "Thái Trắng")),
    Group("04", "Hoa", ("Hán", "Người Hoa", "Tàu")),
    Group("05", "Khơ-me", ("Khmer", "Khơ-me Krôm", "Khmer Krom", "Khơme", "Miên")),
    Group("06", "Mường", ("Mọi Bi", "Ao Tá")),
    Group("07", "Nùng", ("Xuồng", "Giang", "Nùng An", "Nùng Lòi", "Phàn Sinh", "Nùng Cháo", "Nùng Inh")),
    Group("08", "Mông", ("H'Mông", "Hmông", "HMông", "Mèo", "Mẹo", "Miếu Hạ", "Mán Trắng", "Hmong", "Na Miẻo")),
    Group("09", "Dao", ("Mán", "Động", "Trại", "Xá", "Dìu Miền", "Kim Miền", "Kìm Mùn", "Lù Gang")),
    Group("10", "Gia-rai", ("Jrai", "Jarai", "Giơ-rai", "Chơ-rai")),
    Group("11", "Ngái", ("Xín", "Lê", "Đản", "Khách Gia", "Hẹ")),
    Group("12", "Ê-đê", ("Rhade", "Rhadé", "Ra-đê", "Đê", "Anăk Ê-đê", "Kpạ", "Ađham", "Ê Đê")),
    Group("13", "Ba-na", ("Bahnar", "Bana", "Gơ-lar", "Tơ-lô", "Giơ-lâng", "Rơ-ngao", "Krem", "Roh", "Kon Kđe")),
    Group("14", "Xơ-đăng", ("Sedang", "Xê-đăng", "Xơ-teng", "Hđang", "Tơ-đrá", "Mơ-nâm", "Ca-dong", "Kmrâng")),
    Group("15", "Sán Chay", ("Cao Lan", "Sán Chỉ", "Cao Lan - Sán Chỉ", "Hờn Bạn", "Mán Cao Lan")),
    Group("16", "Cơ-ho", ("K'Ho", "Koho", "Kơ-ho", "Cơ Ho", "Xrê", "Nốp", "Cơ-don", "Chil", "Lat", "Trinh")),
    Group("17", "Chăm", ("Chàm", "Cham", "Chiêm Thành", "Chăm Hroi", "Hroi")),
    Group("18", "Sán Dìu", ("Sán Déo", "Trại Đất", "Mán Quần Cộc")),
    Group("19", "Hrê", ("H're", "Chăm Rê", "Chom", "Mọi Lũy", "Hre")),
    Group("20", "Mnông", ("M'Nông", "Mơ-nông", "Pnông", "Nông", "Pré", "Bu-đâng", "Preh", "Mnong")),
    Group("21", "Ra-glai", ("Raglai", "Ra-clây", "Rai", "Noang", "La-oang", "Roglai")),
    Group("22", "Xtiêng", ("Stiêng", "Xa-điêng", "X'tiêng", "Stieng")),
    Group("23", "Bru-Vân Kiều", ("Bru", "Vân Kiều", "Măng Coong", "Tri", "Khùa", "Bru - Vân Kiều")),
    Group("24", "Thổ", ("Kẹo", "Mọn", "Cuối", "Họ", "Đan Lai", "Ly Hà", "Tày Pọng")),
    Group("25", "Giáy", ("Nhắng", "Dẩng", "Pầu Thìn Nu Nà", "Pu Nà", "Cùi Chu", "Xa")),
    Group("26", "Cơ-tu", ("Katu", "Ca-tu", "Ca Tu", "Cao", "Hạ", "Phương", "Ca-tang")),
    Group("27", "Gié-Triêng", ("Giẻ-Triêng", "Giẻ Triêng", "Gié", "Triêng", "Đgiéh", "Ta-riêng", "Ve", "Bnoong")),
    Group("28", "Mạ", ("Châu Mạ", "Mạ Ngăn", "Mạ Xóp", "Mạ Tô", "Mạ Krung")),
    Group("29", "Khơ-mú", ("Khmu", "Kmhmu", "Khơ Mú", "Xá Cẩu", "Mứn Xen", "Pu Thênh", "Tềnh", "Tày Hay")),
    Group("30", "Co", ("Cor", "Col", "Cùa", "Trầu")),
    Group("31", "Tà-ôi", ("Tà Ôi", "Ta-oi", "Tôi-ôi", "Pa-co", "Pa-hi", "Ba-hi", "Pacoh")),
    Group("32", "Chơ-ro", ("Chơ Ro", "Dơ-ro", "Châu-ro", "Chauro")),
    Group("33", "Kháng", ("Xá Khao", "Xá Súa", "Xá Dón", "Xá Dẩng", "Xá Hốc", "Xá Ái", "Xá Bung", "Quảng Lâm")),
    Group("34", "Xinh-mun", ("Xinh Mun", "Puộc", "Pụa", "Xinh Mul")),
    Group("35", "Hà Nhì", ("U Ni", "Xá U Ni", "Hà Nhì Già", "Hani")),
    Group("36", "Chu-ru", ("Chu Ru", "Chơ-ru", "Chu")),
    Group("37", "Lào", ("Lào Bốc", "Lào Nọi", "Lao")),
    Group("38", "La Chí", ("Cù Tê", "La Quả")),
    Group("39", "La Ha", ("Xá Khao", "Khlá Phlạo")),
    Group("40", "Phù Lá", ("Bồ Khô Pạ", "Mu Di", "Pạ Xá", "Phó", "Phổ", "Va Xơ")),
    Group("41", "La Hủ", ("Lao", "Pu Đang", "Khù Xung", "Cò Xung", "Khả Quy", "Lahu")),
    Group("42", "Lự", ("Lừ", "Nhuồn", "Duôn", "Lue")),
    Group("43", "Lô Lô", ("Lolo", "Mun Di", "Di")),
    Group("44", "Chứt", ("Sách", "Máy", "Rục", "Mã Liêng", "A-rem", "Tu Vang", "Pa-leng", "Xơ-lang", "Tơ-hung")),
    Group("45", "Mảng", ("Mảng Ư", "Xá Lá Vàng")),
    Group("46", "Pà Thẻn", ("Pà Hưng", "Tống", "Pa Then")),
    Group("47", "Cơ Lao", ("Cờ Lao", "Co Lao", "Gelao")),
    Group("48", "Cống", ("Xắm Khống", "Mấng Nhé", "Xá Xeng")),
    Group("49", "Bố Y", ("Chủng Chá", "Trọng Gia", "Tu Dí", "Tu Din", "Bouyei")),
    Group("50", "Si La", ("Cú Dề Xừ", "Khả Pẻ")),
    Group("51", "Pu Péo", ("Ka Pèo", "Pen Ti Lô Lô")),
    Group("52", "Brâu", ("Brao", "Brau")),
    Group("53", "Ơ-đu", ("Ơ Đu", "Tày Hạt", "Odu")),
    Group("54", "Rơ-măm", ("Rơ Măm", "Romam")),
)

BY_CODE: dict[str, Group] = {g.code: g for g in GROUPS}


def key(text: str | None) -> str:
    """The text as names are compared: folded (no accents, lower case, "đ" as "d") with only letters and digits."""
    return "".join(ch for ch in fold(text or "") if ch.isalnum())


def _index() -> dict[str, str]:
    """Every spelling's key → its group's code. A key two groups share (an exonym used for both, e.g. "Xá Khao",
    "Lao") is ambiguous: the official name wins, and an alias shared by two groups maps to neither."""
    official = {key(g.name): g.code for g in GROUPS}
    aliases: dict[str, set[str]] = {}
    for g in GROUPS:
        for alias in g.aliases:
            aliases.setdefault(key(alias), set()).add(g.code)
    index = {k: codes.pop() for k, codes in aliases.items() if len(codes) == 1}
    index.update(official)
    return index


INDEX: dict[str, str] = _index()


def group_of(text: str | None) -> str:
    """The code of the group ``text`` names ("01"…"54"), or ``OTHER`` ("00") when it names none or is empty.
    A leading "dân tộc" or "người" ("Dân tộc Tày", "người Mông") is ignored."""
    k = key(text)
    if k in INDEX:
        return INDEX[k]
    for prefix in ("dantoc", "nguoi"):
        if k.startswith(prefix) and k[len(prefix) :] in INDEX:
            return INDEX[k[len(prefix) :]]
    return OTHER


def name_of(code: str) -> str:
    """The official name of a group's code; the "other/unknown" bucket's name for ``OTHER`` or an unknown code."""
    group = BY_CODE.get(code)
    return group.name if group else OTHER_NAME
