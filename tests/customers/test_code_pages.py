"""A file that is not UTF-8 is read in its workspace's code page: Windows-1252 unless the
site's administrator set another (a Polish shop's Excel saves Windows-1250, a Japanese
shop's Shift-JIS). Bytes the code page does not define refuse the file, saying what to do,
whether they are in its first block or further on."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportRecord, TransactionLine
from transaction_files.errors import ImportFileError
from transaction_files.reader import read_lines

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROW = "536365,85123A,{},6,2010-12-01 08:26:00,2.55,17850,{}\n"
POLISH = HEADER + ROW.format("Źródło – świeca żółta", "Polska")
# ASCII rows past the first block read to decide the encoding (256 KiB)
LONG = HEADER + ROW.format("KUBEK", "Polska") * 6000


def read(tmp_path, data: bytes, code_page: str):
    path = tmp_path / "sales.csv"
    path.write_bytes(data)
    return read_lines(path, code_page=code_page)


def test_a_file_is_read_in_the_code_page_it_was_saved_in(tmp_path):
    lines = read(tmp_path, POLISH.encode("cp1250"), "cp1250")
    assert lines.lines["description"].tolist() == ["Źródło – świeca żółta"]
    assert "read as Windows-1250 (Central European)" in lines.notices[0]
    japanese = HEADER + ROW.format("アロマキャンドル 黄色", "日本")
    lines = read(tmp_path, japanese.encode("cp932"), "cp932")
    assert lines.lines["country"].tolist() == ["日本"]


def test_text_of_another_code_page_is_read_but_said_to_look_garbled(tmp_path):
    """Windows-1251 bytes are all defined in Windows-1252: a Russian shop's file in a
    Western workspace reads, but as no language; the import says so and what to do. A
    Western file with its accents says nothing more than how it was read."""
    russian = HEADER + ROW.format("Свеча ароматическая", "Россия")
    lines = read(tmp_path, russian.encode("cp1251"), "cp1252")
    assert lines.lines["country"].tolist() == ["Ðîññèÿ"]  # as read, nothing lost
    garbled = [n for n in lines.notices if "reads as no language" in n]
    assert len(garbled) == 1
    assert "“Ðîññèÿ”" in garbled[0]  # Россия as Windows-1252 reads it
    assert "Windows-1251" in garbled[0] and "Shop settings" in garbled[0]
    western = HEADER + ROW.format("Crème brûlée, Müller Straße", "Österreich")
    lines = read(tmp_path, western.encode("cp1252"), "cp1252")
    assert len(lines.notices) == 1 and "read as Windows-1252" in lines.notices[0]


def test_central_european_text_read_as_western_is_said_to_look_garbled(tmp_path):
    """Windows-1250 letters without a byte Windows-1252 leaves undefined (no Ź, ť) read as
    signs between letters ("Wroc³aw"); Western text has those signs beside digits or at a
    sentence's start, and says nothing more than how it was read."""
    polish = HEADER + ROW.format("Świeca żółta mała", "Wrocław")
    lines = read(tmp_path, polish.encode("cp1250"), "cp1252")
    assert lines.lines["country"].tolist() == ["Wroc³aw"]  # as read, nothing lost
    garbled = [n for n in lines.notices if "reads as no language" in n]
    assert len(garbled) == 1
    assert "“¿ó³ta”" in garbled[0] and "“Wroc³aw”" in garbled[0]
    assert "Central European text in Windows-1250" in garbled[0]
    western = HEADER + ROW.format("¿Qué? Caja 2 m³ a £5 o ¥500 A¹", "España")
    lines = read(tmp_path, western.encode("cp1252"), "cp1252")
    assert len(lines.notices) == 1 and "read as Windows-1252" in lines.notices[0]


@pytest.mark.parametrize(
    ("text", "country", "quoted"),
    [
        ("Čokoláda hořká koření a svíčka", "Děčín", ("“Èokoláda”", "“Dìèín”")),
        ("Szőlő fűszer erősítő", "Győr", ("“Szõlõ”", "“erõsítõ”")),
    ],
    ids=["Czech", "Hungarian"],
)
def test_czech_and_hungarian_read_as_western_are_said_to_look_garbled(
    tmp_path, text, country, quoted
):
    """Windows-1250's ě č ř ő ű read in Windows-1252 are other letters, not signs: said where
    they sit as no Western language puts them (nothing lost: the text is kept as read)."""
    data = (HEADER + ROW.format(text, country)).encode("cp1250")
    lines = read(tmp_path, data, "cp1252")
    assert lines.lines["description"].tolist() == [text.encode("cp1250").decode("cp1252")]
    garbled = [n for n in lines.notices if "reads as no language" in n]
    assert len(garbled) == 1 and all(word in garbled[0] for word in quoted)


WESTERN_WORDS = (
    "Crème brûlée, père, élève, modèle, déjà, très, où, poète, Noël, Ève, Zoë, naïve, façade, "
    "così più lunedì perché città però può, señor niño Peña, história pròxim mòbil Lleó, "
    "informações Camões põe limões não São, Søren København Grønland Brønd Søerne Høeg Ørsted "
    "Bjørn Jørgen Århus smørrebrød Færøerne Føroyar Tórshavn, Reykjavík þjóð, Müller Straße, "
    "coöperatie één, Citroën ambiguïté Saint-Étienne Hôtel Côte crêpe"
)


def test_western_languages_accents_are_not_taken_for_another_code_pages(tmp_path):
    """Icelandic's "þjóð" was: three of its four letters beyond ASCII, as Cyrillic read in
    Windows-1252 is."""
    lines = read(
        tmp_path, (HEADER + ROW.format(f'"{WESTERN_WORDS}"', "France")).encode("cp1252"), "cp1252"
    )
    assert len(lines.lines) == 1
    assert not [n for n in lines.notices if "reads as no language" in n]
    # Estonian's õ is its own letter in its code page (Windows-1257), not Hungarian's ő
    estonian = HEADER + ROW.format("Võõrkeelne õpik, Põltsamaa õun", "Eesti")
    lines = read(tmp_path, estonian.encode("cp1257"), "cp1257")
    assert not [n for n in lines.notices if "reads as no language" in n]


def test_the_code_page_holds_past_the_first_block(tmp_path):
    data = (LONG + ROW.format("Źródło", "Polska")).encode("cp1250")
    lines = read(tmp_path, data, "cp1250")
    assert len(lines.lines) == 6001 and lines.lines["description"].iloc[-1] == "Źródło"


@pytest.mark.parametrize("late", [False, True], ids=["first block", "further on"])
def test_bytes_the_code_page_does_not_define_refuse_the_file(tmp_path, late):
    # 0x98 is undefined in Windows-1250; 0x85 0x40 in Shift-JIS
    for code_page, undefined in (("cp1250", b"\x98"), ("cp932", b"\x85\x40")):
        body = (LONG if late else HEADER).encode()
        data = body + ROW.format("x", "y").encode().replace(b"x", undefined)
        with pytest.raises(ImportFileError) as caught:
            read(tmp_path, data, code_page)
        message = str(caught.value)
        assert "neither UTF-8 nor" in message
        assert "this workspace's code page" in message and "Save it as UTF-8" in message


@pytest.mark.django_db
def test_a_polish_shops_file_imports_once_its_code_page_is_set(client_for, shop, run_tasks_inline):
    """In Windows-1252, "Ź" is a byte that code page leaves undefined: the file is refused,
    naming the setting; with the shop's code page set, it imports as written."""
    client = client_for("manager")

    def upload():
        file = SimpleUploadedFile("sprzedaz.csv", POLISH.encode("cp1250"))
        return client.post(reverse("customers:import-create"), {"file": file})

    refused = upload().content.decode()
    assert "neither UTF-8 nor Windows-1252 (Western European)" in refused
    assert "ask the workspace&#x27;s admin to set its code page (Shop settings)" in refused
    assert not ImportRecord.unscoped.exists()

    shop.code_page = "cp1250"
    shop.save(update_fields=["code_page"])
    assert upload().status_code == 302
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert TransactionLine.unscoped.get().description == "Źródło – świeca żółta"
    page = client.get(record.get_absolute_url()).content.decode()
    assert "read as Windows-1250 (Central European), this workspace&#x27;s code page" in page
