"""The upload limit of the public verification, applied while the body is parsed (the first of
``settings.FILE_UPLOAD_HANDLERS``): the middleware that normalises form posts reads ``request.POST`` before any
view, so a view's own check would come after a huge body had been spooled to disk. On ``/xac-minh/`` a body announced
larger than ``VERIFY_MAX_UPLOAD_BYTES`` (plus the form's slack) is not parsed at all, and a file that grows past the
limit while it streams stops the parse; the view then answers 413 with its message. Other paths are untouched."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from .links import verification_path

MULTIPART_SLACK = 64 * 1024  # the form's boundaries, headers and CSRF field around the file


def _ours(request) -> bool:
    return request is not None and request.path.startswith(verification_path())


class VerifyUploadLimit(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if _ours(self.request) and content_length > int(settings.VERIFY_MAX_UPLOAD_BYTES) + MULTIPART_SLACK:
            return QueryDict(encoding=encoding), MultiValueDict()  # parse nothing: the view refuses (413)
        return None

    def receive_data_chunk(self, raw_data, start):
        if _ours(self.request) and start + len(raw_data) > int(settings.VERIFY_MAX_UPLOAD_BYTES):
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers keep the file
