"""Reading a corpus: UTF-8 text, one sentence per line.

The Rust binary (onnxruntime-ner/src/corpus.rs) implements the same rules, so both agree on
what a line is: split on "\\n" only, one trailing "\\r" dropped (Windows line endings), a
leading byte-order mark dropped, a final newline does not start an extra line, and blank lines
are kept so that predictions stay aligned with the input.
"""

from pathlib import Path

BYTE_ORDER_MARK = b"\xef\xbb\xbf"


class CorpusError(ValueError):
    """The corpus cannot be read; the message names the file and, where known, the line."""


def decode_corpus(data: bytes, name: str) -> list[str]:
    if data.startswith(BYTE_ORDER_MARK):
        data = data[len(BYTE_ORDER_MARK) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CorpusError(f"{name}:{line}: invalid UTF-8 (byte 0x{data[error.start]:02x})") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_corpus(path: str | Path) -> list[str]:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CorpusError(f"{path}: cannot read corpus: {error.strerror}") from None
    return decode_corpus(data, str(path))


def read_sentences(path: str | Path) -> list[str]:
    """The corpus, refused when it holds no sentence at all: nothing to time."""
    lines = read_corpus(path)
    if not any(line.strip() for line in lines):
        raise CorpusError(f"{path}: no sentences (the file is empty or only blank lines)")
    return lines
