"""The corpus reader's rules (the Rust reader has the same, tested by cargo test)."""

import pytest

from nerlib.corpus import CorpusError, decode_corpus, read_corpus


def test_lines_blank_lines_kept_final_newline_does_not_add_one():
    assert decode_corpus(b"a b\n\nc\n", "f") == ["a b", "", "c"]
    assert decode_corpus(b"a\nb", "f") == ["a", "b"]
    assert decode_corpus(b"\n", "f") == [""]
    assert decode_corpus(b"", "f") == []


def test_windows_line_endings_and_byte_order_mark():
    assert decode_corpus(b"\xef\xbb\xbfone\r\ntwo\r\n", "f") == ["one", "two"]


def test_only_newline_splits_lines_not_other_unicode_breaks():
    assert decode_corpus("a\u2028b\x0bc\n".encode(), "f") == ["a\u2028b\x0bc"]


def test_invalid_utf8_names_file_and_line():
    with pytest.raises(CorpusError, match=r"^c\.txt:3: invalid UTF-8 \(byte 0xff\)$"):
        decode_corpus(b"ok\nfine\nbad \xff\n", "c.txt")


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(CorpusError, match="cannot read corpus"):
        read_corpus(tmp_path / "nope.txt")


def test_a_corpus_without_sentences_is_refused(tmp_path):
    from nerlib.corpus import read_sentences

    (tmp_path / "blank.txt").write_bytes(b"\n \n\t\n")
    with pytest.raises(CorpusError, match=r"blank\.txt: no sentences"):
        read_sentences(tmp_path / "blank.txt")
    (tmp_path / "one.txt").write_bytes(b"\nPeter Blackburn\n")
    assert read_sentences(tmp_path / "one.txt") == ["", "Peter Blackburn"]
