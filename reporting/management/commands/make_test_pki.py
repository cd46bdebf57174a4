"""``manage.py make_test_pki [directory]``: the test PKI of the demo and of the tests (reporting.signing.pki).

A root CA per province (the root of the unit tree above each school), a certificate for every account that signs
record books in a school (principal, vice principal, homeroom, subject teachers, department heads), each school's
organisation certificate (the seal) and a timestamping authority. Keys already on disk are kept. Only where the
settings name a test PKI directory (local, test) or with a directory on the command line: never in production.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from hocba.kernel.roles import Role

from reporting.signing.pki import KEY_TYPES, Person, Province, Seal, TestPki
from tenants.selectors.accounts import membership_list
from tenants.selectors.tree import school_list, unit_tree_on

SIGNING_ROLES = frozenset(
    {Role.PRINCIPAL, Role.VICE_PRINCIPAL, Role.HOMEROOM_TEACHER, Role.SUBJECT_TEACHER, Role.DEPARTMENT_HEAD}
)


class Command(BaseCommand):
    help = "Make (or complete) the test PKI: province roots, the signers' and the schools' certificates."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", nargs="?", help="default: settings.HOCBA_TEST_PKI_DIR (local and test only)")
        parser.add_argument("--key-type", choices=KEY_TYPES, default="rsa")

    def handle(self, *args, directory: str | None = None, key_type: str = "rsa", **options) -> None:
        target = Path(directory) if directory else settings.HOCBA_TEST_PKI_DIR
        if target is None:
            raise CommandError(
                "No test PKI directory: these settings have none (production signs with real keys). "
                "Give a directory to make one elsewhere."
            )
        pki = TestPki(target, key_type=key_type)
        tree = unit_tree_on()
        schools = school_list()
        provinces: dict[int, Province] = {}
        created = kept = 0
        school_province: dict[int, Province] = {}
        for school in schools:
            if school.unit_id is None or school.unit_id not in tree.nodes:
                self.stderr.write(f"{school.name}: no unit today, skipped")
                continue
            top = tree.path(school.unit_id)[0]
            province = provinces.setdefault(top.id, Province(top.official_code or str(top.id), top.name))
            school_province[school.id] = province
            issued = pki.seal(province, Seal(school.moet_code, school.name))
            created, kept = created + issued.created, kept + (not issued.created)
        for province in provinces.values():
            issued = pki.tsa(province)
            created, kept = created + issued.created, kept + (not issued.created)
        names = {school.id: school.name for school in schools}
        seen: set[tuple[str, str]] = set()
        for membership in membership_list(school_ids=list(school_province)):
            if membership.role not in SIGNING_ROLES or membership.school_id is None:
                continue
            province = school_province[membership.school_id]
            if (province.code, membership.username) in seen:
                continue
            seen.add((province.code, membership.username))
            person = Person(membership.username, membership.full_name, names[membership.school_id])
            issued = pki.person(province, person)
            created, kept = created + issued.created, kept + (not issued.created)
        self.stdout.write(
            f"test PKI in {target}: {len(provinces)} province root(s), {created} certificate(s) made, {kept} kept"
        )
