from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Units, schools and accounts"
    # Which side of the tenancy line this app's tables live on (a test checks every app).
    schema_side = "public"
