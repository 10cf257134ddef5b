"""The code pages a shop's files that are not UTF-8 may be written in: Excel on Windows saves
"CSV" in the machine's code page. A workspace names its own (docs/decisions/code-pages.md)."""

from __future__ import annotations

#: Python's codec name -> what a person calls it.
CODE_PAGES: dict[str, str] = {
    "cp1252": "Windows-1252 (Western European)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "cp1253": "Windows-1253 (Greek)",
    "cp1254": "Windows-1254 (Turkish)",
    "cp1257": "Windows-1257 (Baltic)",
    "cp932": "Shift-JIS (Japanese)",
    "gb18030": "GB18030 (Chinese, simplified)",
    "big5": "Big5 (Chinese, traditional)",
    "cp949": "Windows-949 (Korean)",
}
DEFAULT_CODE_PAGE = "cp1252"
CODE_PAGE_CHOICES = list(CODE_PAGES.items())


def code_page_label(code_page: str) -> str:
    return CODE_PAGES.get(code_page, code_page)


def not_decodable_message(code_page: str) -> str:
    """Why a file that is neither UTF-8 nor in the workspace's code page is refused."""
    return (
        f"The file's text cannot be decoded: it is neither UTF-8 nor "
        f"{code_page_label(code_page)}, this workspace's code page for files that are not "
        "UTF-8. Save it as UTF-8 CSV and upload it again, or ask the workspace's admin to "
        "set its code page (Shop settings) to the one the file was saved in (Windows-1250 for "
        "Central Europe, Shift-JIS for Japan, ...)."
    )
