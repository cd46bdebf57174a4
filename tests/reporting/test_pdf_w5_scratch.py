from tests.reporting.test_pdf import *  # noqa


def test_dump(w, klass, secondary):
    record, _ = secondary
    open("/tmp/w5/book.pdf", "wb").write(render_record_book(record, verify_url=VERIFY).pdf)
    open("/tmp/w5/class.pdf", "wb").write(render_class_book(record.school_class, 1, verify_url=VERIFY).pdf)


def test_dump_primary(w, klass, primary):
    record, _ = primary
    open("/tmp/w5/pbook.pdf", "wb").write(render_record_book(record, verify_url=VERIFY).pdf)
    open("/tmp/w5/pclass.pdf", "wb").write(render_class_book(record.school_class, 2, verify_url=VERIFY).pdf)
