from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "schools"
    verbose_name = "School records"
    schema_side = "school"

    def ready(self) -> None:
        from hocba.kernel.errors import register_db_error_translator
        from hocba.kernel.menu import register as register_menu

        from .menu import ENTRIES
        from .services import carry_jobs  # noqa: F401  (registers the carry-over's job task, for the worker too)
        from .signedrecords import signed_from_db_error

        register_db_error_translator(signed_from_db_error)
        register_menu(*ENTRIES)
