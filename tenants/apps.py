from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Units, schools and accounts"
    # Which side of the tenancy line this app's tables live on (a test checks every app).
    schema_side = "public"

    def ready(self) -> None:
        from hocba.kernel.access import register_access_loader
        from hocba.kernel.errors import register_db_error_translator
        from hocba.kernel.menu import register as register_menu

        from .menu import ENTRIES
        from .selectors import access_for
        from .windows import locked_from_db_error

        register_db_error_translator(locked_from_db_error)
        register_access_loader(access_for)
        register_menu(*ENTRIES)
