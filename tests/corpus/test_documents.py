"""Documents: front matter validated, and every bad file refused with one line naming it."""

from __future__ import annotations

from datetime import date

import pytest

from loopwright.corpus.documents import MAX_BYTES, collect_paths, read_document, read_documents
from loopwright.errors import InvalidInput

from loopwright.samples.bank import DATA_DIR

BANK_DOCS = DATA_DIR / "docs"


def test_every_sample_document_parses():
    docs = read_documents([BANK_DOCS])
    assert len(docs) >= 40
    by_id = {d.id: d for d in docs}
    fp1 = by_id["flexpay-1-0"].meta
    assert fp1.retired_date == date(2026, 8, 31) and fp1.certified
    assert by_id["flexpay-2-0"].meta.certified is False
    assert by_id["override-procedures"].meta.audience == ("staff",)
    for d in docs:
        assert d.text[d.body_start :].lstrip().startswith("#")  # the body follows the closing fence


def _error(path) -> str:
    with pytest.raises(InvalidInput) as info:
        read_document(path)
    line = info.value.one_line()
    assert "\n" not in line and str(path) in line
    return line


@pytest.mark.parametrize(
    "content, expected",
    [
        ("# no front matter\n\ntext\n", "has no front matter"),
        ("---\nid: [unclosed\n---\ntext\n", "front matter is not valid YAML"),
        ("---\nid: x\n---\ntext\n", "missing required field 'title'"),
        (
            "---\nid: x\ntitle: X\neffective_date: 2026-01-01\nsensitivity: secret\naudience: [retail]\n"
            "source: s\nlicence: l\n---\ntext\n",
            "'sensitivity'",
        ),
        (
            "---\nid: x\ntitle: X\neffective_date: 2026-01-01\nsensitivity: public\naudience: [retail]\n"
            "source: s\nlicence: l\ncertifed: true\n---\ntext\n",
            "unknown field 'certifed'",
        ),
        (
            "---\nid: Bad Id\ntitle: X\neffective_date: 2026-01-01\nsensitivity: public\naudience: [retail]\n"
            "source: s\nlicence: l\n---\ntext\n",
            "'id'",
        ),
        (
            "---\nid: x\ntitle: X\neffective_date: 2026-01-01\nsensitivity: public\naudience: [retail]\n"
            "source: s\nlicence: l\n---\n\n",
            "no text after its front matter",
        ),
    ],
)
def test_malformed_front_matter(tmp_path, content, expected):
    path = tmp_path / "doc.md"
    path.write_text(content, encoding="utf-8")
    assert expected in _error(path)


def test_binary_file(tmp_path):
    path = tmp_path / "logo.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "is a binary file" in _error(path)


def test_too_large_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.md"
    with open(path, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    assert path.stat().st_size > MAX_BYTES
    assert "over the 5 MB limit" in _error(path)


def test_non_utf8(tmp_path, make_doc):
    good = make_doc(tmp_path, "latin", "Caf\u00e9 hours.")
    path = tmp_path / "latin1.md"
    path.write_bytes(good.read_text(encoding="utf-8").encode("latin-1"))
    assert "is not UTF-8 text" in _error(path)


def test_byte_order_mark_is_dropped(tmp_path, make_doc):
    path = make_doc(tmp_path, "bom", "Text.")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    doc = read_document(path)
    assert doc.text.startswith("---") and doc.meta.id == "bom"


def test_folder_and_duplicate_ids(tmp_path, make_doc):
    make_doc(tmp_path / "a", "one", "First.")
    make_doc(tmp_path / "a", "two", "Second.")
    (tmp_path / "a" / ".hidden.md").write_text("not a document", encoding="utf-8")
    assert [p.name for p in collect_paths([tmp_path / "a"])] == ["one.md", "two.md"]
    dup = make_doc(tmp_path / "b", "one", "Another first.")
    with pytest.raises(InvalidInput, match="document id 'one' is also used by"):
        read_documents([tmp_path / "a", dup])
    with pytest.raises(InvalidInput, match="no such file"):
        read_documents([tmp_path / "missing.md"])
