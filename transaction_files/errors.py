class ImportFileError(Exception):
    """A problem with the file itself, worded for the person who uploaded it."""


class MappingNeeded(ImportFileError):
    """The columns were not recognised; the user must say which column holds which field."""

    def __init__(self, message: str, *, columns: list[str], missing: list[str]):
        super().__init__(message)
        self.columns = columns
        self.missing = missing
