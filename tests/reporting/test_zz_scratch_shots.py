import time
from tests.reporting.test_pdf import VERIFY, secondary, primary  # noqa
from reporting.pdf import render_record_book, render_class_book

def test_shots(w, klass, secondary, primary):
    for name, (record, _s) in (("tt22", secondary), ("tt27", primary)):
        r = render_record_book(record, verify_url=VERIFY)
        open(f"/tmp/pdf-shots/{name}.pdf", "wb").write(r.pdf)
        times = []
        for _ in range(7):
            t = time.process_time(); render_record_book(record, verify_url=VERIFY); times.append(time.process_time() - t)
        print(name, r.pages, "pages", [round(t, 3) for t in sorted(times)], len(r.pdf))
        c = render_class_book(record.school_class, 1, verify_url=VERIFY)
        open(f"/tmp/pdf-shots/{name}-class.pdf", "wb").write(c.pdf)
        print("class", c.pages)
