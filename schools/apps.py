from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "schools"
    verbose_name = "School records"
    schema_side = "school"

    def ready(self) -> None:
        from hocba.kernel.menu import register as register_menu

        from .menu import ENTRIES
        from .services import carry_jobs  # noqa: F401  (registers the carry-over's job task, for the worker too)

        register_menu(*ENTRIES)
