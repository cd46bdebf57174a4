"""``{{ row|board_light }}``: a school's traffic light in words and colour, the same cell the board's tables write."""

from django import template
from django.utils.safestring import mark_safe

from ..views.board_tables import light_cell

register = template.Library()


@register.filter
def board_light(row) -> str:
    return mark_safe(light_cell(row))
