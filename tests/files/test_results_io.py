"""Result files as written: readable text whatever the frame's history (regression: pyarrow wrote NUL
bytes for a string column whose first chunk was empty, as pd.concat([empty, rows]) leaves it)."""

import pandas as pd

from models.columns import text
from models.results import read_result_csv, write_csv


def test_concatenated_frame_is_written_as_text(tmp_path):
    empty = pd.DataFrame({"rule": text([]), "student_id": text([]), "n": pd.Series([], dtype="int64")})
    rows = pd.DataFrame({"rule": text(["R6", "R7"]), "student_id": text(["a", "b,c"]), "n": [1, 2]})
    path = tmp_path / "v.csv"
    write_csv(pd.concat([empty, rows], ignore_index=True), path)
    raw = path.read_bytes()
    assert b"\x00" not in raw
    back = read_result_csv(path)
    assert back.to_dict("list") == {"rule": ["R6", "R7"], "student_id": ["a", "b,c"], "n": ["1", "2"]}


def test_empty_frame_writes_its_header(tmp_path):
    path = tmp_path / "e.csv"
    write_csv(pd.DataFrame({"rule": text([]), "batch": pd.array([], dtype="Int64")}), path)
    assert path.read_bytes() == b"\xef\xbb\xbfrule,batch\n"
