"""Which transaction last wrote a school's row or rollup row, as far as the board reads them: ``board_xact``, the
writer's top-level transaction id (``pg_current_xact_id()``: also inside a savepoint, whose own id a snapshot does
not list). A web process keeps the board's rows and asks only for those a kept snapshot did not see
(``tenants.selectors.boards.query``). A rollup row is stamped at every write; a school row only when a column the
board shows changes (the hourly schema check rewrites every school's ``schema_checked_at``), or its rollup row of a
year is deleted. Indexed, so that the rows written since a snapshot are found without reading the others: a range
from the snapshot's oldest running transaction (a rollup write is then no longer a heap-only update: measured below
the noise of a sheet save)."""

from django.db import migrations

FORWARD = """
ALTER TABLE public.tenants_school ADD COLUMN board_xact xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE public.tenants_schoolrollup ADD COLUMN board_xact xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX school_board_xact ON public.tenants_school (board_xact);
CREATE INDEX schoolrollup_board_xact ON public.tenants_schoolrollup (year_start, board_xact);
CREATE FUNCTION public.hocba_board_xact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.board_xact := pg_current_xact_id();
  RETURN NEW;
END $$;
CREATE FUNCTION public.hocba_board_xact_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE public.tenants_school SET board_xact = pg_current_xact_id() WHERE id = OLD.school_id;
  RETURN NULL;
END $$;
CREATE TRIGGER schoolrollup_board_xact_gone AFTER DELETE ON public.tenants_schoolrollup
  FOR EACH ROW EXECUTE FUNCTION public.hocba_board_xact_gone();
CREATE TRIGGER schoolrollup_board_xact BEFORE INSERT OR UPDATE ON public.tenants_schoolrollup
  FOR EACH ROW EXECUTE FUNCTION public.hocba_board_xact();
CREATE TRIGGER school_board_xact_insert BEFORE INSERT ON public.tenants_school
  FOR EACH ROW EXECUTE FUNCTION public.hocba_board_xact();
CREATE TRIGGER school_board_xact BEFORE UPDATE ON public.tenants_school
  FOR EACH ROW WHEN ((OLD.name, OLD.search_name, OLD.moet_code, OLD.levels, OLD.status, OLD.schema_head,
                      OLD.schema_error)
                     IS DISTINCT FROM (NEW.name, NEW.search_name, NEW.moet_code, NEW.levels, NEW.status,
                                       NEW.schema_head, NEW.schema_error))
  EXECUTE FUNCTION public.hocba_board_xact();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS school_board_xact ON public.tenants_school;
DROP TRIGGER IF EXISTS school_board_xact_insert ON public.tenants_school;
DROP TRIGGER IF EXISTS schoolrollup_board_xact ON public.tenants_schoolrollup;
DROP TRIGGER IF EXISTS schoolrollup_board_xact_gone ON public.tenants_schoolrollup;
DROP FUNCTION IF EXISTS public.hocba_board_xact_gone();
DROP FUNCTION IF EXISTS public.hocba_board_xact();
ALTER TABLE public.tenants_schoolrollup DROP COLUMN IF EXISTS board_xact;
ALTER TABLE public.tenants_school DROP COLUMN IF EXISTS board_xact;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0023_rollup_last_lock")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
