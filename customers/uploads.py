"""An upload handler that stops keeping an uploaded file once it passes the import limit.

Django's own handlers keep every byte of an upload (in memory, then in a temporary file)
before any view can look at its size, so a 5 GB upload would fill the disk before the form
refused it. This handler runs first: past IMPORT_MAX_UPLOAD_BYTES it stops handing the
file's bytes on (the rest of the request is still read, so the form's other fields and its
CSRF token arrive) and replaces the file with an empty placeholder whose size is the size
received. The upload form and the import service then refuse it with their usual message
("The file is N bytes; the largest file accepted is ..."). Refusing before the body is sent
at all is the front proxy's job (e.g. nginx client_max_body_size; see README).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizeUpload(SimpleUploadedFile):
    """What is left of a file refused for its size: no content, the size received."""

    def __init__(self, name: str, size: int, content_type: str | None):
        super().__init__(name, b"", content_type=content_type)
        self.size = size


class ImportSizeLimitUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        over_before = self.received > settings.IMPORT_MAX_UPLOAD_BYTES
        self.received += len(raw_data)
        if self.received > settings.IMPORT_MAX_UPLOAD_BYTES:
            if not over_before:
                self._drop_kept_bytes()
            return None  # the handlers after this one never see these bytes
        return raw_data

    def file_complete(self, file_size: int):
        if self.received > settings.IMPORT_MAX_UPLOAD_BYTES:
            return OversizeUpload(self.file_name, self.received, self.content_type)
        return None  # within the limit: the next handler's file is the upload

    def _drop_kept_bytes(self) -> None:
        """Close (and so delete) what the next handlers kept of this file: the upload is
        refused, and their file_complete, which would hand the file to the request to be
        closed with it, is never called."""
        for handler in self.request.upload_handlers if self.request else ():
            kept = getattr(handler, "file", None)
            if handler is not self and kept is not None and not kept.closed:
                kept.close()
