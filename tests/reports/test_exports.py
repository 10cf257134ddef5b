import pytest

from common.csv_export import csv_rows, neutralise_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Champions", "Champions"),
        ("", ""),
        (None, ""),
        (-12.5, "-12.5"),
        (42, "42"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert neutralise_cell(value) == expected


def test_csv_rows_start_with_a_bom_and_neutralise_every_cell():
    lines = list(csv_rows(["id", "name"], [["=1+1", "Loyal"], [3, "@x"]]))
    assert lines[0] == "\ufeffid,name\r\n"
    assert lines[1] == "'=1+1,Loyal\r\n"
    assert lines[2] == "3,'@x\r\n"
