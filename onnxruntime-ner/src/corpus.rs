//! Reading a corpus with the same rules as scripts/nerlib/corpus.py: split on '\n' only, one
//! trailing '\r' dropped, a leading byte-order mark dropped, no extra line after a final
//! newline, blank lines kept so predictions stay aligned with the input.

use std::path::Path;

pub fn decode_corpus(data: &[u8], name: &str) -> Result<Vec<String>, String> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let text = std::str::from_utf8(data).map_err(|error| {
        let at = error.valid_up_to();
        let line = data[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        format!("{name}:{line}: invalid UTF-8 (byte 0x{:02x})", data[at])
    })?;
    let mut lines: Vec<String> =
        text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line).to_string()).collect();
    if text.is_empty() || text.ends_with('\n') {
        lines.pop();
    }
    Ok(lines)
}

pub fn read_corpus(path: &Path) -> Result<Vec<String>, String> {
    let data = std::fs::read(path).map_err(|error| format!("{}: cannot read corpus: {error}", path.display()))?;
    decode_corpus(&data, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::decode_corpus;

    #[test]
    fn splits_lines_like_the_python_reader() {
        assert_eq!(decode_corpus(b"a b\n\nc\n", "f").unwrap(), vec!["a b", "", "c"]);
        assert_eq!(decode_corpus(b"a\r\nb", "f").unwrap(), vec!["a", "b"]);
        assert_eq!(decode_corpus(b"\xef\xbb\xbfa\n", "f").unwrap(), vec!["a"]);
        assert!(decode_corpus(b"", "f").unwrap().is_empty());
        assert_eq!(decode_corpus(b"\n", "f").unwrap(), vec![""]);
    }

    #[test]
    fn names_the_line_of_invalid_utf8() {
        let error = decode_corpus(b"ok\nfine\nbad \xff here\n", "c.txt").unwrap_err();
        assert_eq!(error, "c.txt:3: invalid UTF-8 (byte 0xff)");
    }
}
