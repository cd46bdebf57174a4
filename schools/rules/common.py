"""Shared pieces of the assessment rules: input errors, Decimal helpers and ordered levels.

Everything under ``schools.rules`` is pure Python: no Django, no ORM, no clock. Values are
``Decimal`` (never ``float``); levels are enums that compare by rank *within one enum only*
(comparing a learning result with a conduct result is a programming error and raises TypeError).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from fractions import Fraction

ONE_PLACE = Decimal("0.1")


class RuleInputError(ValueError):
    """A value handed to a rule is invalid (not merely missing).

    ``code`` is stable and machine-readable (e.g. ``score_out_of_range``); the two messages name the
    problem for a person, Vietnamese first. ``field`` optionally names the offending input.
    """

    def __init__(self, code: str, message_vi: str, message_en: str, *, field: str | None = None) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en
        self.field = field


# --------------------------------------------------------------------------------------- numbers


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert ``Decimal``, ``int`` or a numeric string to a finite ``Decimal``.

    ``float`` is refused on purpose (``0.1`` is not one tenth in binary), so is ``bool``.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise RuleInputError(
            "not_a_decimal",
            f"Giá trị {value!r} ({field}) phải là số thập phân (Decimal), số nguyên hoặc chuỗi số.",
            f"Value {value!r} ({field}) must be a Decimal, an int or a numeric string.",
            field=field,
        )
    try:
        result = Decimal(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except InvalidOperation:
        result = Decimal("NaN")
    if not result.is_finite():
        raise RuleInputError(
            "not_a_number",
            f"Giá trị {value!r} ({field}) không phải là một số.",
            f"Value {value!r} ({field}) is not a number.",
            field=field,
        )
    return result


def round1(value: Decimal | Fraction | int) -> Decimal:
    """Round to one decimal place, half up (away from zero), exactly.

    Works on the exact rational value, so ``Fraction(a, b)`` from a weighted average is rounded
    without any intermediate precision loss. Always returns a Decimal with exponent -1 (``8.0``).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | Fraction | int):
        raise TypeError(f"round1 takes Decimal, Fraction or int, not {type(value).__name__}")
    if isinstance(value, int):
        return _tenths(value, 1)
    if isinstance(value, Fraction):
        return _tenths(value.numerator, value.denominator)
    return _tenths(*value.as_integer_ratio())


def round1_ratio(total: Decimal | int, weight: int) -> Decimal:
    """``round1(total / weight)`` for a weighted sum and its (positive, whole) total weight: the same exact
    rounding, in integers, without building a Fraction (averages are computed for every student of a sheet)."""
    if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
        raise TypeError(f"round1_ratio takes a positive int weight, not {weight!r}")
    if isinstance(total, bool) or not isinstance(total, Decimal | int):
        raise TypeError(f"round1_ratio takes a Decimal or int total, not {type(total).__name__}")
    numerator, denominator = (total, 1) if isinstance(total, int) else total.as_integer_ratio()
    return _tenths(numerator, denominator * weight)


def _tenths(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator (denominator > 0) to tenths, half away from zero: floor(|x|·10 + ½), signed."""
    tenths = (20 * abs(numerator) + denominator) // (2 * denominator)
    return Decimal(-tenths if numerator < 0 else tenths).scaleb(-1)


def decimal_places_ok(value: Decimal, places: int) -> bool:
    """True when ``value`` has no non-zero digit beyond ``places`` decimals (``8.50`` is fine for 1).

    Exact, from the digits themselves (no arithmetic that a context precision could round)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return False
    if exponent >= -places:
        return True
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return trailing_zeros == len(digits) or exponent + trailing_zeros >= -places


def _vi(number: Decimal) -> str:
    """A number as Vietnamese writes it: decimal comma."""
    return str(number).replace(".", ",")


_ZERO, _TEN = Decimal(0), Decimal(10)
# Every valid score on the default scale, keyed by itself: 8.5 and 8.50 both find Decimal("8.5").
_SCORES = {d: d for d in (Decimal(n).scaleb(-1) for n in range(101))}


def validate_score(
    value: object,
    *,
    field: str = "score",
    low: Decimal = _ZERO,
    high: Decimal = _TEN,
    places: int = 1,
) -> Decimal:
    """Validate a score (default: 0–10, at most one decimal place) and return it as ``Decimal``
    quantised to ``places`` (``8`` → ``8.0``, ``Decimal("8.50")`` → ``8.5``).

    Raises ``RuleInputError`` with code ``not_a_decimal``, ``not_a_number``,
    ``score_out_of_range`` or ``score_too_many_decimals``.
    """
    if type(value) is Decimal and low is _ZERO and high is _TEN and places == 1:
        known = _SCORES.get(value)  # a score as the database holds them: the answer is known
        if known is not None:
            return known
    number = to_decimal(value, field=field)
    if not low <= number <= high:
        raise RuleInputError(
            "score_out_of_range",
            f"Điểm {_vi(number)} ({field}) nằm ngoài thang điểm {_vi(low)}–{_vi(high)}.",
            f"Score {number} ({field}) is outside the {low}–{high} range.",
            field=field,
        )
    if not decimal_places_ok(number, places):
        raise RuleInputError(
            "score_too_many_decimals",
            f"Điểm {_vi(number)} ({field}) có quá {places} chữ số thập phân.",
            f"Score {number} ({field}) has more than {places} decimal place(s).",
            field=field,
        )
    return number.quantize(Decimal(1).scaleb(-places))


# ---------------------------------------------------------------------------------------- levels


class LabelledEnum(Enum):
    """An enum whose ``value`` is a stable code, with Vietnamese and English labels."""

    label_vi: str
    label_en: str

    def __new__(cls, code: str, label_vi: str, label_en: str) -> LabelledEnum:
        member = object.__new__(cls)
        member._value_ = code
        member.label_vi = label_vi
        member.label_en = label_en
        return member

    @property
    def code(self) -> str:
        return str(self.value)

    def __str__(self) -> str:
        return self.label_vi


class OrderedLevel(Enum):
    """Base for ordered levels: ``value`` is a stable code, ``rank`` orders (higher is better),
    ``label_vi`` / ``label_en`` are what a person reads. Comparisons only within one enum."""

    rank: int
    label_vi: str
    label_en: str

    def __new__(cls, code: str, rank: int, label_vi: str, label_en: str) -> OrderedLevel:
        member = object.__new__(cls)
        member._value_ = code
        member.rank = rank
        member.label_vi = label_vi
        member.label_en = label_en
        return member

    @property
    def code(self) -> str:
        return str(self.value)

    def _check(self, other: object) -> bool:
        return type(other) is type(self)

    def __lt__(self, other: object) -> bool:
        if not self._check(other):
            return NotImplemented
        return self.rank < other.rank  # type: ignore[attr-defined]

    def __le__(self, other: object) -> bool:
        if not self._check(other):
            return NotImplemented
        return self.rank <= other.rank  # type: ignore[attr-defined]

    def __gt__(self, other: object) -> bool:
        if not self._check(other):
            return NotImplemented
        return self.rank > other.rank  # type: ignore[attr-defined]

    def __ge__(self, other: object) -> bool:
        if not self._check(other):
            return NotImplemented
        return self.rank >= other.rank  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return self.label_vi

    @classmethod
    def ordered(cls) -> tuple:
        """Members from the lowest to the highest."""
        return tuple(sorted(cls, key=lambda member: member.rank))

    def raised(self, steps: int = 1):
        """The level ``steps`` above this one, capped at the top."""
        members = self.ordered()
        return members[min(members.index(self) + steps, len(members) - 1)]

    def levels_below(self, other: OrderedLevel) -> int:
        """How many levels ``self`` lies below ``other`` (negative if above)."""
        members = self.ordered()
        return members.index(other) - members.index(self)


class Grading(StrEnum):
    """How a subject is assessed. The value is the code stored in ``Subject.grading`` and in the results frozen
    in an approved record book; the pages label it (``schools.models.Grading``)."""

    SCORE = "score"  # TT22: a comment and scores 0–10
    COMMENT = "comment"  # TT22: by comment only (Đạt / Chưa đạt)
    LEVEL = "level"  # TT27 (primary): the level reached (T / H / C)


class PassFail(OrderedLevel):
    """TT22 comment-graded subjects (môn đánh giá bằng nhận xét)."""

    CHUA_DAT = ("chua_dat", 0, "Chưa đạt", "Not achieved")
    DAT = ("dat", 1, "Đạt", "Achieved")


class LearningResult(OrderedLevel):
    """TT22 learning result of a semester or the year (kết quả học tập, Điều 9)."""

    CHUA_DAT = ("chua_dat", 0, "Chưa đạt", "Not achieved")
    DAT = ("dat", 1, "Đạt", "Pass")
    KHA = ("kha", 2, "Khá", "Fairly good")
    TOT = ("tot", 3, "Tốt", "Good")


class Conduct(OrderedLevel):
    """TT22 conduct of a semester or the year (kết quả rèn luyện, Điều 8)."""

    CHUA_DAT = ("chua_dat", 0, "Chưa đạt", "Not achieved")
    DAT = ("dat", 1, "Đạt", "Pass")
    KHA = ("kha", 2, "Khá", "Fairly good")
    TOT = ("tot", 3, "Tốt", "Good")


class SubjectLevel(OrderedLevel):
    """TT27 level of a primary subject or educational activity."""

    CHUA_HOAN_THANH = ("C", 0, "Chưa hoàn thành", "Not completed")
    HOAN_THANH = ("H", 1, "Hoàn thành", "Completed")
    HOAN_THANH_TOT = ("T", 2, "Hoàn thành tốt", "Completed well")


class QualityLevel(OrderedLevel):
    """TT27 level of a quality (phẩm chất) or a competency (năng lực)."""

    CAN_CO_GANG = ("can_co_gang", 0, "Cần cố gắng", "Needs effort")
    DAT = ("dat", 1, "Đạt", "Achieved")
    TOT = ("tot", 2, "Tốt", "Good")


class YearEvaluation(OrderedLevel):
    """TT27 end-of-year evaluation of a primary pupil (đánh giá cuối năm học)."""

    CHUA_HOAN_THANH = ("chua_hoan_thanh", 0, "Chưa hoàn thành", "Not completed")
    HOAN_THANH = ("hoan_thanh", 1, "Hoàn thành", "Completed")
    HOAN_THANH_TOT = ("hoan_thanh_tot", 2, "Hoàn thành tốt", "Completed well")
    HOAN_THANH_XUAT_SAC = ("hoan_thanh_xuat_sac", 3, "Hoàn thành xuất sắc", "Completed with excellence")


# ------------------------------------------------------------------------------------ exemptions


class ExemptionPart(StrEnum):
    """What a principal's exemption decision covers. The value is the code stored in ``Exemption.part``."""

    SUBJECT = "subject"  # miễn học: the student is not assessed in the subject
    PRACTICAL = "practical"  # miễn học phần thực hành: assessed on theory in place of the practical part


YEAR = 0  # the "term" of a year result, beside terms 1 and 2


@dataclass(frozen=True)
class Exemption:
    """One exemption decision of a student for a school year: ``subject`` (a subject code), ``part`` (the whole
    subject, or its practical part only) and ``term`` (1, 2, or ``None`` for the whole year)."""

    subject: str
    part: ExemptionPart = ExemptionPart.SUBJECT
    term: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "part", ExemptionPart(self.part))
        except ValueError:
            raise RuleInputError(
                "exemption_part_invalid",
                f"Phạm vi miễn {self.part!r} không hợp lệ (miễn cả môn hoặc miễn phần thực hành).",
                f"Exemption part {self.part!r} is invalid (the whole subject or its practical part).",
                field="part",
            ) from None
        if self.term is not None and (isinstance(self.term, bool) or self.term not in (1, 2)):
            raise RuleInputError(
                "exemption_term_invalid",
                f"Thời gian miễn {self.term!r} phải là học kì I, học kì II hoặc cả năm học.",
                f"Exemption term {self.term!r} must be term I, term II or the whole year.",
                field="term",
            )

    def covers(self, term: int) -> bool:
        """Whether the decision applies in term 1 or 2."""
        return self.term is None or self.term == term


def exempt_terms(
    exemptions: Iterable[Exemption], subject: str, part: ExemptionPart = ExemptionPart.SUBJECT
) -> frozenset[int]:
    """The terms (1, 2) in which the student is exempt from ``subject`` (its ``part``)."""
    return frozenset(t for e in exemptions if e.subject == subject and e.part is part for t in (1, 2) if e.covers(t))


def exempt_subjects(
    exemptions: Iterable[Exemption], term: int, part: ExemptionPart = ExemptionPart.SUBJECT
) -> frozenset[str]:
    """Subject codes the student is exempt from (``part``) in ``term`` 1 or 2, or for the year (``YEAR``): a
    subject is exempt for the year when the decisions cover both terms (the whole year, or term I and term II)."""
    items = tuple(exemptions)
    if term == YEAR:
        return frozenset(e.subject for e in items if exempt_terms(items, e.subject, part) == {1, 2})
    return frozenset(e.subject for e in items if e.part is part and e.covers(term))


def check_exemption(exemption: Exemption, *, practical_subjects: Iterable[str]) -> Exemption:
    """A practical-part exemption is only for the subjects that have one (``practical_subjects``: TT22 art. 10,
    Giáo dục thể chất and Giáo dục quốc phòng và an ninh); a whole-subject exemption for any subject."""
    if exemption.part is ExemptionPart.PRACTICAL and exemption.subject not in tuple(practical_subjects):
        raise RuleInputError(
            "exemption_no_practical_part",
            f"Môn {exemption.subject} không có quy định miễn học phần thực hành; chỉ miễn được cả môn.",
            f"Subject {exemption.subject} has no practical-part exemption; only the whole subject can be exempted.",
            field="part",
        )
    return exemption
