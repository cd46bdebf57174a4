from tests.tenants.test_platform_home import extra_schools
from tests.support import client_for, page_text

def test_measure(w, queries):
    extra_schools(w, w.unit_a, 2)
    for name in ("province_admin", "unit_a_admin", "unit_a_staff"):
        c = client_for(w.account(name)); c.get("/")
        with queries() as q:
            c.get("/")
        print("\nQUERIES", name, len(q))
        for s in q.statements: print("   ", s[:150])
