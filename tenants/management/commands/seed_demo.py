"""Seed the demo province (idempotent) and print every account with its address."""

from django.conf import settings
from django.core.management.base import BaseCommand
from hocba.kernel import context

from tenants.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create the demo province, units, schools and an account for every role; print them."

    def handle(self, *args, **options):
        port = settings.ENV.port
        base = settings.BASE_DOMAIN

        def url(slug):
            host = f"{slug}.{base}" if slug else base
            return f"http://{host}:{port}/"

        token = context.update(source="command")
        try:
            accounts = seed_demo(base_url_for=url)
        finally:
            context.reset(token)
        self.stdout.write(
            self.style.SUCCESS(f"Demo province ready at {url(None)} — password for every account: {DEMO_PASSWORD}")
        )
        self.stdout.write(f"{'username':<26} {'role':<20} {'address':<44} TOTP secret")
        for a in accounts:
            self.stdout.write(f"{a.username:<26} {a.role.value:<20} {a.url:<44} {a.totp_secret or '—'}")
        self.stdout.write("operator (platform operators' admin): " + url(None) + "admin/")
