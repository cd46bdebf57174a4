"""English uses the same dd/mm/yyyy conventions as Vietnamese in this product."""

from hocba.formats.vi.formats import *  # noqa: F403
