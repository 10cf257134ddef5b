"""The code pages a shop's files that are not UTF-8 may be written in: Excel on Windows saves
"CSV" in the machine's code page. A workspace names its own (docs/decisions/code-pages.md)."""

from __future__ import annotations

import re
import unicodedata

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


# A word of Latin letters almost all beyond ASCII ("Ïðîäàæà", "ÅëëÜäá") is how Cyrillic or
# Greek saved in their own code page reads in a Latin one; Western words keep most of their
# letters in ASCII ("Müller", "crème brûlée").
_WORD = re.compile(r"[^\W\d_]{4,}")
# Windows-1250's letters that Windows-1252 reads as signs: ł ą ż Ł Ą Ż ľ Ľ as ³ ¹ ¿ £ ¥ ¯ ¾ ¼.
# Between two letters ("Wroc³aw", "Mo¿liwe", "¿ó³ta") they are Central European text read
# in a Western code page; Western text has them beside digits or spaces ("m³", "£5", "¿Qué").
_SIGNS_OF_1250 = "³¹¿£¥¯¾¼"
_WORD_WITH_SIGNS = re.compile(rf"(?:[^\W\d_]|[{_SIGNS_OF_1250}])+")
_SIGN_BETWEEN_LETTERS = re.compile(rf"[^\W\d_][{_SIGNS_OF_1250}]+[^\W\d_]")
_LETTERS = re.compile(r"[^\W\d_]+")
# Czech and Hungarian letters that Windows-1252 reads as other letters (ě č ř ň ő ű as ì è ø ò
# õ û), in places no Western language puts them: ì inside a word (Italian's is final), è
# before a vowel, ø before í or á ("Dìèín", "poèet", "Pøíliš"); õ at a word's end or, not
# before e (Portuguese's "-ões"), beside a second accent ("Szõlõ", "fõzelék", "Gyûrû").
# Read in Windows-1252 only: Estonian's õ is its own in Windows-1257.
_CZECH_AS_WESTERN = re.compile(r"[ìÌ][^\W\d_]|[øØ][íáÍÁ]|[èÈ][aeiouyáéíóúýAEIOUY]")
_HUNGARIAN_AS_WESTERN = re.compile(
    r"[õÕ]$|[õÕ](?![eE]).*[õûÕÛáéíóúÁÉÍÓÚ]|[ûÛáéíóúÁÉÍÓÚ].*[õÕ](?![eE])|[ûÛ].*[ûÛ]"
)
_WESTERN = "cp1252"


# Icelandic's letters beyond ASCII: its own words may be all of them ("þjóð").
_ICELANDIC = frozenset("áéíóúýþðæöÁÉÍÓÚÝÞÐÆÖ")


def _garbled(word: str) -> bool:
    beyond = [c for c in word if ord(c) > 127]
    return (
        len(beyond) >= 0.75 * len(word)
        and all(unicodedata.name(c, "").startswith("LATIN") for c in beyond)
        and not _ICELANDIC.issuperset(beyond)
    )


def garbled_words(text: str, code_page: str = DEFAULT_CODE_PAGE, limit: int = 3) -> list[str]:
    """Up to `limit` distinct words of `text`, read in `code_page`, that read as another code
    page's letters: Cyrillic or Greek as Latin letters, Central European letters as signs, or
    (in Windows-1252) Czech and Hungarian letters as other Latin ones."""
    found: list[str] = []

    def add(word: str) -> bool:
        if word not in found:
            found.append(word)
        return len(found) == limit

    for word in _WORD.findall(text):
        if _garbled(word) and add(word):
            return found
    for word in _WORD_WITH_SIGNS.findall(text):
        if _SIGN_BETWEEN_LETTERS.search(word) and add(word):
            return found
    if code_page == _WESTERN:
        for word in _LETTERS.findall(text):
            central = _CZECH_AS_WESTERN.search(word) or _HUNGARIAN_AS_WESTERN.search(word)
            if central and add(word):
                return found
    return found


def garbled_notice(code_page: str, words: list[str]) -> str:
    """What to do when a file read in `code_page` holds words like `words`."""
    quoted = ", ".join(f"“{w}”" for w in words)
    return (
        f"Some of the file's text reads as no language in {code_page_label(code_page)} "
        f"({quoted}): it was probably saved in another code page (Central European text "
        "in Windows-1250, Cyrillic in Windows-1251, Greek in Windows-1253, ...). If so, "
        "undo this import, have the workspace's code page set to it (Shop settings) and "
        "import the file again."
    )
