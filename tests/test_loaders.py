"""Loaders: metadata from front matter or inferred, and clear errors for bad files."""

import pytest

from knowledge import DocumentError, load_document


@pytest.mark.light
def test_front_matter_metadata(demo_copy):
    doc = load_document(demo_copy / "sops" / "SOP-STE-001_rev5.md")
    assert (doc.doc_id, doc.doc_type, doc.revision, doc.status) == ("SOP-STE-001", "sop", "5", "effective")
    assert doc.equipment == ("AC-02",)
    assert doc.effective_date == "2026-02-15"
    assert not doc.text.startswith("---")  # front matter is not part of the indexed text
    assert len(doc.content_hash) == 64


@pytest.mark.light
def test_restricted_access_is_read(demo_copy):
    restricted = [p for p in (demo_copy / "deviations").glob("*.md")
                  if load_document(p).access == ("qa", "admin")]
    assert len(restricted) == 2


@pytest.mark.light
def test_file_without_metadata_is_inferred(tmp_path):
    folder = tmp_path / "sops"
    folder.mkdir()
    path = folder / "SOP-XY-042_draft.md"
    path.write_text("# Cleaning of Blender BL-01\n\n## 1 Purpose\nClean the blender.\n")
    doc = load_document(path)
    assert doc.doc_id == "SOP-XY-042"
    assert doc.title == "Cleaning of Blender BL-01"
    assert doc.doc_type == "sop"  # from the folder name
    assert doc.status == "effective"


@pytest.mark.parametrize("name, content, reason", [
    ("empty.md", b"", "file is empty"),
    ("binary.txt", b"\x00\x01\x02binary\x00", "binary content"),
    ("latin1.txt", "Température 121 °C".encode("latin-1"), "not valid UTF-8"),
    ("notes.xyz", b"hello", "unsupported file type"),
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF could not be parsed"),
    ("broken.docx", b"PK\x03\x04 not a zip", "DOCX could not be opened"),
    ("bad_front.md", b"---\ntitle: [unclosed\n---\n# T\n", "front matter is not valid YAML"),
    ("aliases.md", b"---\nx: &x [a, b]\ny: *x\n---\n# T\n", "YAML anchor (&x)"),
    ("zip.docx", b"PK\x05\x06" + b"\x00" * 18, "DOCX could not be opened"),
])
@pytest.mark.light
def test_bad_files_get_a_reason_naming_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as info:
        load_document(path)
    assert reason in info.value.reason
    assert name in str(info.value)


@pytest.mark.light
def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(DocumentError, match="over the"):
        load_document(path)


@pytest.mark.light
def test_html_headings_and_tables(tmp_path):
    path = tmp_path / "guide.html"
    path.write_text("<html><head><title>x</title><script>var a=1;</script></head><body>"
                    "<h1>Still guide</h1><h2>Alarms</h2><table><tr><th>Code</th><th>Action</th>"
                    "</tr><tr><td>W-14</td><td>Call engineering</td></tr></table></body></html>")
    doc = load_document(path)
    assert "# Still guide" in doc.text and "## Alarms" in doc.text
    assert "| W-14 | Call engineering |" in doc.text
    assert "var a" not in doc.text


@pytest.mark.light
def test_docx_headings_kept(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Balance check", level=1)
    document.add_heading("6 Procedure", level=2)
    document.add_paragraph("1. Level the balance.")
    table = document.add_table(rows=2, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Weight", "Tolerance"
    table.rows[1].cells[0].text, table.rows[1].cells[1].text = "20 g", "±0.0020 g"
    path = tmp_path / "SOP-QC-099.docx"
    document.save(path)
    doc = load_document(path)
    assert "# Balance check" in doc.text and "## 6 Procedure" in doc.text
    assert "| 20 g | ±0.0020 g |" in doc.text


@pytest.mark.light
def test_pdf_text_and_page_numbers(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    path = tmp_path / "MAN-XY-001.pdf"
    with PdfPages(path) as pdf:
        for text in ("Alarm W-14 means low steam pressure.", "Alarm W-32 means high conductivity."):
            fig = plt.figure()
            fig.text(0.1, 0.5, text)
            pdf.savefig(fig)
            plt.close(fig)
    doc = load_document(path)
    assert doc.doc_id == "MAN-XY-001"
    second = doc.text.index("W-32")
    assert doc.page_at(doc.text.index("W-14")) == 1 and doc.page_at(second) == 2


@pytest.mark.light
def test_encrypted_pdf_is_refused(tmp_path):
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(DocumentError, match="encrypted"):
        load_document(path)
