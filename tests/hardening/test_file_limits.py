"""Files parsed safely and boundedly (issue 23, items 5, 6 and 10): each bomb is refused
with its message before memory grows, and a refused upload leaves no temporary file."""

import gzip
import io
import resource
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportRecord, TransactionLine
from tests.customers.conftest import import_or_error

pytestmark = pytest.mark.django_db

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROW = "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def newline_bomb(mib: int) -> bytes:
    """A header, one row, then `mib` MiB of blank lines, gzip'd (about 1000:1)."""
    return gzip.compress((HEADER + ROW).encode() + b"\n" * (mib * 1024 * 1024), 9)


def workbook_with(part: str, replace) -> bytes:
    """A good workbook whose `part` is rewritten by replace(xml) -> xml."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in (HEADER + ROW).splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == part:
                data = replace(data.decode()).encode()
            target.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    + "]>"
).replace("&lol0;", "&lol;")


def billion_laughs(xml: str) -> str:
    body = xml.split("?>", 1)[-1]
    return LAUGHS + body.replace("<t>InvoiceNo</t>", "<t>&lol9;</t>", 1)


def external_entity(xml: str) -> str:
    body = xml.split("?>", 1)[-1]
    head = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    return head + body.replace("<t>InvoiceNo</t>", "<t>&ext;</t>", 1)


def refused(tmp_path, name, data) -> str:
    before = TransactionLine.unscoped.count()
    record, message = import_or_error(write(tmp_path, name, data))
    assert record is None or record.status == ImportRecord.Status.FAILED
    assert TransactionLine.unscoped.count() == before
    return message


def test_gzip_of_newlines_is_refused_at_once_for_its_ratio(tmp_path):
    message = refused(tmp_path, "newlines.csv.gz", newline_bomb(64))
    assert "inflates more than 100 times its size" in message


def test_gzip_past_the_inflated_limit_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_INFLATE_RATIO = 10_000
    settings.IMPORT_MAX_INFLATED_BYTES = 4 * 1024 * 1024
    message = refused(tmp_path, "newlines.csv.gz", newline_bomb(16))
    assert "inflates to more than 4 MiB, the most accepted" in message


def test_too_many_lines_are_refused(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 3
    message = refused(tmp_path, "long.csv", (HEADER + ROW * 5).encode())
    assert "more than 3 lines, the most accepted" in message


def test_too_many_columns_are_refused(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 10
    header = HEADER.strip() + "".join(f",extra{i}" for i in range(5)) + "\n"
    message = refused(tmp_path, "wide.csv", (header + ROW.strip() + ",,,,,\n").encode())
    assert message.startswith("The header has 13 columns; the most accepted is 10.")


@pytest.mark.parametrize("where", ["first row", "later row"])
def test_a_line_too_long_is_refused(tmp_path, settings, where):
    settings.IMPORT_MAX_LINE_BYTES = 1024
    long_row = ROW.replace("WHITE HANGING HEART", "X" * 2000)
    rows = [long_row] if where == "first row" else [ROW] * 3 + [long_row]
    message = refused(tmp_path, "long-line.csv", (HEADER + "".join(rows)).encode())
    number = 2 if where == "first row" else 5
    assert message.startswith(f"Line {number} is longer than 1 KiB, the longest line accepted")


@pytest.mark.parametrize("attack", [billion_laughs, external_entity])
def test_workbook_with_xml_entities_is_refused(tmp_path, attack):
    message = refused(tmp_path, "bomb.xlsx", workbook_with("xl/worksheets/sheet1.xml", attack))
    assert message.startswith("The workbook declares XML entities")


def test_workbook_padded_past_the_ratio_is_refused_before_parsing(tmp_path):
    padded = workbook_with("xl/worksheets/sheet1.xml", lambda xml: xml + " " * 20_000_000)
    message = refused(tmp_path, "padded.xlsx", padded)
    assert "The workbook inflates more than 100 times its size" in message


def test_workbook_past_the_inflated_limit_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_INFLATED_BYTES = 1024
    message = refused(tmp_path, "big.xlsx", workbook_with("xl/workbook.xml", lambda x: x))
    assert "the most accepted is 1 KiB" in message


def test_zip_without_a_workbook_is_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("data.csv", HEADER + ROW)
    message = refused(tmp_path, "data.zip", out.getvalue())
    assert "This zip file is not an Excel workbook (.xlsx): it holds no workbook." in message


def test_api_answers_a_bomb_with_a_400_or_a_202_never_a_500(client_for, tmp_path):
    client = client_for("manager")
    for name, data in [
        ("bomb.xlsx", workbook_with("xl/worksheets/sheet1.xml", billion_laughs)),
        ("newlines.csv", gzip.decompress(newline_bomb(1))[:400_000]),
    ]:
        response = client.post(reverse("api-imports"), {"file": SimpleUploadedFile(name, data)})
        if response.status_code == 202:  # the worker's refusal, recorded on the import
            record = ImportRecord.unscoped.get(pk=response.json()["id"])
            # A workbook is opened on the worker only (test_xlsx_on_the_worker.py).
            assert record.status in (ImportRecord.Status.READING, ImportRecord.Status.QUEUED)
        else:
            assert response.status_code == 400, response.content
            assert "XML entities" in str(response.json())


def test_memory_stays_flat_after_a_gzip_bomb(tmp_path, settings):
    """The peak RSS of the process does not grow by the bomb's inflated size (256 MiB)."""
    settings.IMPORT_MAX_INFLATE_RATIO = 1_000_000  # let it inflate: the other limits hold
    settings.IMPORT_MAX_ROWS = 2_000_000
    bomb = write(tmp_path, "newlines.csv.gz", newline_bomb(256))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    record, message = import_or_error(bomb)
    assert "more than 2,000,000 lines, the most accepted" in message
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert (peak_after - peak_before) * 1024 < 100 * 1024 * 1024


def test_an_oversize_upload_leaves_no_temporary_file(client_for, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.IMPORT_MAX_UPLOAD_BYTES = 200 * 1024
    data = (HEADER + ROW * 4000).encode()
    response = client_for("manager").post(
        reverse("api-imports"), {"file": SimpleUploadedFile("big.csv", data)}
    )
    assert response.status_code == 400
    assert list(tmp_path.iterdir()) == []
    assert ImportRecord.unscoped.count() == 0
