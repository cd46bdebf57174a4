"""The GDPT 2018 curriculum a new school starts from (editable per school afterwards).

(level, code, name, grades, periods per year, grading, department, periodic test [TT27]).
Periods are the programme's yearly totals; where grades differ the usual figure is taken.
Codes match the rule sets' codes (schools.rules).
"""

from __future__ import annotations

from hocba.kernel import levels

PRIMARY = [
    ("tieng_viet", "Tiếng Việt", (1, 2, 3, 4, 5), 245, "level", "to-1-5", True),
    ("toan", "Toán", (1, 2, 3, 4, 5), 175, "level", "to-1-5", True),
    ("dao_duc", "Đạo đức", (1, 2, 3, 4, 5), 35, "level", "to-1-5", False),
    ("tu_nhien_va_xa_hoi", "Tự nhiên và Xã hội", (1, 2, 3), 70, "level", "to-1-5", False),
    ("khoa_hoc", "Khoa học", (4, 5), 70, "level", "to-1-5", True),
    ("lich_su_va_dia_li", "Lịch sử và Địa lí", (4, 5), 70, "level", "to-1-5", True),
    ("ngoai_ngu_1", "Ngoại ngữ 1", (3, 4, 5), 140, "level", "to-ngoai-ngu", True),
    ("tin_hoc_va_cong_nghe", "Tin học và Công nghệ", (3, 4, 5), 70, "level", "to-1-5", True),
    ("giao_duc_the_chat", "Giáo dục thể chất", (1, 2, 3, 4, 5), 70, "level", "to-nang-khieu", False),
    ("am_nhac", "Âm nhạc", (1, 2, 3, 4, 5), 35, "level", "to-nang-khieu", False),
    ("mi_thuat", "Mĩ thuật", (1, 2, 3, 4, 5), 35, "level", "to-nang-khieu", False),
    ("hoat_dong_trai_nghiem", "Hoạt động trải nghiệm", (1, 2, 3, 4, 5), 105, "level", "to-1-5", False),
]
LOWER_SECONDARY = [
    ("ngu_van", "Ngữ văn", (6, 7, 8, 9), 140, "score", "to-van-su", False),
    ("toan", "Toán", (6, 7, 8, 9), 140, "score", "to-toan-tin", False),
    ("ngoai_ngu_1", "Ngoại ngữ 1", (6, 7, 8, 9), 105, "score", "to-ngoai-ngu", False),
    ("giao_duc_cong_dan", "Giáo dục công dân", (6, 7, 8, 9), 35, "score", "to-van-su", False),
    ("lich_su_va_dia_li", "Lịch sử và Địa lí", (6, 7, 8, 9), 105, "score", "to-van-su", False),
    ("khoa_hoc_tu_nhien", "Khoa học tự nhiên", (6, 7, 8, 9), 140, "score", "to-khtn", False),
    ("cong_nghe", "Công nghệ", (6, 7, 8, 9), 35, "score", "to-khtn", False),
    ("tin_hoc", "Tin học", (6, 7, 8, 9), 35, "score", "to-toan-tin", False),
    ("giao_duc_the_chat", "Giáo dục thể chất", (6, 7, 8, 9), 70, "comment", "to-nang-khieu", False),
    ("am_nhac", "Âm nhạc", (6, 7, 8, 9), 35, "comment", "to-nang-khieu", False),
    ("mi_thuat", "Mĩ thuật", (6, 7, 8, 9), 35, "comment", "to-nang-khieu", False),
    (
        "hoat_dong_trai_nghiem_huong_nghiep",
        "Hoạt động trải nghiệm, hướng nghiệp",
        (6, 7, 8, 9),
        105,
        "comment",
        "to-van-su",
        False,
    ),
    ("noi_dung_giao_duc_dia_phuong", "Nội dung giáo dục địa phương", (6, 7, 8, 9), 35, "comment", "to-van-su", False),
]
UPPER_SECONDARY = [
    ("ngu_van", "Ngữ văn", (10, 11, 12), 105, "score", "to-van-su", False),
    ("toan", "Toán", (10, 11, 12), 105, "score", "to-toan-tin", False),
    ("ngoai_ngu_1", "Ngoại ngữ 1", (10, 11, 12), 105, "score", "to-ngoai-ngu", False),
    ("lich_su", "Lịch sử", (10, 11, 12), 52, "score", "to-van-su", False),
    (
        "giao_duc_quoc_phong_an_ninh",
        "Giáo dục quốc phòng và an ninh",
        (10, 11, 12),
        35,
        "score",
        "to-nang-khieu",
        False,
    ),
    ("vat_li", "Vật lí", (10, 11, 12), 70, "score", "to-khtn", False),
    ("hoa_hoc", "Hóa học", (10, 11, 12), 70, "score", "to-khtn", False),
    ("sinh_hoc", "Sinh học", (10, 11, 12), 70, "score", "to-khtn", False),
    ("dia_li", "Địa lí", (10, 11, 12), 70, "score", "to-van-su", False),
    ("giao_duc_kinh_te_va_phap_luat", "Giáo dục kinh tế và pháp luật", (10, 11, 12), 70, "score", "to-van-su", False),
    ("tin_hoc", "Tin học", (10, 11, 12), 70, "score", "to-toan-tin", False),
    ("cong_nghe", "Công nghệ", (10, 11, 12), 70, "score", "to-khtn", False),
    ("giao_duc_the_chat", "Giáo dục thể chất", (10, 11, 12), 70, "comment", "to-nang-khieu", False),
    (
        "hoat_dong_trai_nghiem_huong_nghiep",
        "Hoạt động trải nghiệm, hướng nghiệp",
        (10, 11, 12),
        105,
        "comment",
        "to-van-su",
        False,
    ),
    ("noi_dung_giao_duc_dia_phuong", "Nội dung giáo dục địa phương", (10, 11, 12), 35, "comment", "to-van-su", False),
]
CURRICULUM = {levels.PRIMARY: PRIMARY, levels.LOWER_SECONDARY: LOWER_SECONDARY, levels.UPPER_SECONDARY: UPPER_SECONDARY}
DEPARTMENTS = {
    "to-1-5": "Tổ khối 1–5",
    "to-van-su": "Tổ Ngữ văn – Lịch sử – Địa lí – GDCD",
    "to-toan-tin": "Tổ Toán – Tin học",
    "to-khtn": "Tổ Khoa học tự nhiên – Công nghệ",
    "to-ngoai-ngu": "Tổ Ngoại ngữ",
    "to-nang-khieu": "Tổ Thể dục – Nghệ thuật",
}
