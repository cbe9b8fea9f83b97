//! The pipe protocol of --serve, for the serving scenarios MLPerf's LoadGen drives from Python:
//! the model is loaded once, then each request is answered by the same pipeline as a normal run.
//!
//! Lines end in "\n" only. Once loaded the binary writes `ready`. A request is a line holding a
//! count K (decimal digits only), then K lines of one sentence each, taken verbatim: the Python
//! side sends lines its corpus reader already split, which may hold "\r", U+2028 or U+0085. The
//! response is a line `K`, then the K lines `-o` would write for those sentences
//! (output::format_predictions), in request order. End of input between requests ends the run.

use std::io::{BufRead, ErrorKind, Write};

use crate::decode::Entity;
use crate::output::format_predictions;
use crate::timings::PhaseTimer;

/// The line that tells the client the model is loaded.
pub const READY: &str = "ready\n";

/// How much the client asked for, for the notes --timings writes.
#[derive(Debug, Default, PartialEq)]
pub struct Served {
    pub requests: usize,
    pub sentences: usize,
}

fn written(error: std::io::Error) -> String {
    format!("standard output: {error}")
}

fn read(error: std::io::Error) -> String {
    format!("standard input: {error}")
}

/// Flushed at once: the client waits for it before it starts the clock.
pub fn write_ready<W: Write>(output: &mut W) -> Result<(), String> {
    output.write_all(READY.as_bytes()).and_then(|()| output.flush()).map_err(written)
}

/// A request's answer, flushed so that the client reads it at once.
pub fn write_response<W: Write>(output: &mut W, predictions: &[Vec<Entity>]) -> Result<(), String> {
    let lines = format_predictions(predictions)?;
    write!(output, "{}\n{lines}", predictions.len()).and_then(|()| output.flush()).map_err(written)
}

/// Whether the input has ended (at a request boundary, where it is asked).
fn at_end<R: BufRead>(input: &mut R) -> Result<bool, String> {
    loop {
        match input.fill_buf() {
            Ok(buffer) => return Ok(buffer.is_empty()),
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(read(error)),
        }
    }
}

/// The next line without its "\n"; None when the input ends before one (a last line without
/// "\n" is a line cut short, never a whole one).
fn read_line<R: BufRead>(input: &mut R) -> Result<Option<Vec<u8>>, String> {
    let mut line = Vec::new();
    input.read_until(b'\n', &mut line).map_err(read)?;
    Ok(line.pop().filter(|&last| last == b'\n').map(|_| line))
}

/// A count as the protocol writes it: decimal digits only, no sign, no spaces.
fn parse_count(line: &[u8]) -> Result<usize, String> {
    let shown: String = String::from_utf8_lossy(line).chars().take(40).collect();
    if line.is_empty() || !line.iter().all(u8::is_ascii_digit) {
        return Err(format!("expected a count of sentences (decimal digits), got {shown:?}"));
    }
    // Only digits: UTF-8, and a parse can only fail by overflow.
    let digits = std::str::from_utf8(line).unwrap_or_default();
    digits.parse().map_err(|_| format!("a count of {shown} sentences is more than this machine can hold"))
}

/// One sentence line as text, its position (from 1) named when it is not UTF-8.
fn sentence(line: Vec<u8>, number: usize, position: usize) -> Result<String, String> {
    String::from_utf8(line).map_err(|error| {
        let byte = error.as_bytes()[error.utf8_error().valid_up_to()];
        format!("request {number}, sentence {position}: invalid UTF-8 (byte 0x{byte:02x})")
    })
}

/// The sentences of the next request, `number` counted from 1 for the errors; None when the
/// input ends before it starts. Its count only bounds the reading: nothing is set aside for it.
pub fn read_request<R: BufRead>(input: &mut R, number: usize) -> Result<Option<Vec<String>>, String> {
    if at_end(input)? {
        return Ok(None);
    }
    let count = read_line(input)?.ok_or_else(|| format!("request {number}: the input ends inside its count line"))?;
    let count = parse_count(&count).map_err(|error| format!("request {number}: {error}"))?;
    let mut sentences = Vec::new();
    while sentences.len() < count {
        let line = read_line(input)?.ok_or_else(|| {
            format!("request {number}: the input ends after {} of its {count} sentences", sentences.len())
        })?;
        sentences.push(sentence(line, number, sentences.len() + 1)?);
    }
    Ok(Some(sentences))
}

/// Answers requests until the input ends between two. `predict` gives a request's entities; an
/// empty request is answered without it, as the harness's measure of the pipe's own round trip.
/// Writing responses is timed as the "output" phase.
pub fn serve_requests<R: BufRead, W: Write>(
    input: &mut R,
    output: &mut W,
    timer: &mut PhaseTimer,
    mut predict: impl FnMut(&[String], &mut PhaseTimer) -> Result<Vec<Vec<Entity>>, String>,
) -> Result<Served, String> {
    let mut served = Served::default();
    while let Some(sentences) = read_request(input, served.requests + 1)? {
        served.requests += 1;
        served.sentences += sentences.len();
        let predictions = if sentences.is_empty() {
            Vec::new()
        } else {
            predict(&sentences, timer).map_err(|error| format!("request {}: {error}", served.requests))?
        };
        timer.phase("output", || write_response(output, &predictions))?;
    }
    Ok(served)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn requests(input: &[u8]) -> Result<Vec<Vec<String>>, String> {
        let mut input = Cursor::new(input);
        let mut found = Vec::new();
        while let Some(sentences) = read_request(&mut input, found.len() + 1)? {
            found.push(sentences);
        }
        Ok(found)
    }

    fn entity(text: &str) -> Entity {
        Entity { label: "LOC".into(), start: 0, end: text.chars().count(), text: text.into() }
    }

    /// Each sentence as one entity spanning it: enough to see which answer went where.
    fn echo(sentences: &[String], _: &mut PhaseTimer) -> Result<Vec<Vec<Entity>>, String> {
        Ok(sentences.iter().map(|s| vec![entity(s)]).collect())
    }

    fn serve(input: &[u8]) -> (Result<Served, String>, String) {
        let mut output = Vec::new();
        let served = serve_requests(&mut Cursor::new(input), &mut output, &mut PhaseTimer::new(), echo);
        (served, String::from_utf8(output).unwrap())
    }

    #[test]
    fn parses_counts_of_decimal_digits_only() {
        assert_eq!(parse_count(b"0"), Ok(0));
        assert_eq!(parse_count(b"3"), Ok(3));
        assert_eq!(parse_count(b"18446744073709551615"), Ok(usize::MAX));
        for bad in [&b"-1"[..], b"", b"3 ", b" 3", b"+3", b"3\r", b"three", b"3.0", b"\xff"] {
            assert!(parse_count(bad).unwrap_err().starts_with("expected a count of sentences"), "{bad:?}");
        }
        assert!(parse_count(b"99999999999999999999999").unwrap_err().contains("more than this machine can hold"));
    }

    #[test]
    fn reads_requests_until_the_input_ends_between_two() {
        assert_eq!(requests(b"2\na b\nc\n1\nd\n").unwrap(), vec![vec!["a b", "c"], vec!["d"]]);
        assert_eq!(requests(b"").unwrap(), Vec::<Vec<String>>::new());
        assert_eq!(requests(b"0\n0\n").unwrap(), vec![Vec::<String>::new(), Vec::new()]);
    }

    #[test]
    fn a_bad_count_names_its_request() {
        assert_eq!(
            requests(b"1\na\n+3\n").unwrap_err(),
            "request 2: expected a count of sentences (decimal digits), got \"+3\""
        );
        assert!(requests(b"\n").unwrap_err().starts_with("request 1: expected a count"));
    }

    #[test]
    fn the_input_ending_inside_a_request_is_an_error() {
        assert_eq!(requests(b"3\na\nb\n").unwrap_err(), "request 1: the input ends after 2 of its 3 sentences");
        // A last line without its "\n" is cut short, not whole.
        assert_eq!(requests(b"2\na\nb").unwrap_err(), "request 1: the input ends after 1 of its 2 sentences");
        assert_eq!(requests(b"1\na\n2").unwrap_err(), "request 2: the input ends inside its count line");
        // A huge count sets nothing aside: it fails when the input ends.
        assert!(requests(b"18446744073709551615\na\n")
            .unwrap_err()
            .ends_with("after 1 of its 18446744073709551615 sentences"));
    }

    #[test]
    fn a_sentence_that_is_not_utf8_is_named() {
        assert_eq!(requests(b"2\nok\nbad \xff\n").unwrap_err(), "request 1, sentence 2: invalid UTF-8 (byte 0xff)");
    }

    #[test]
    fn sentences_are_taken_verbatim() {
        let line = "\u{feff} a\rb\u{2028}c\u{85}d\u{c}e\t \r";
        let input = format!("1\n{line}\n");
        assert_eq!(requests(input.as_bytes()).unwrap(), vec![vec![line]]);
        assert_eq!(requests(b"2\n\n \n").unwrap(), vec![vec!["", " "]]);
    }

    #[test]
    fn a_response_is_its_count_then_the_lines_of_o() {
        let predictions = vec![vec![entity("Zürich")], vec![]];
        let mut output = Vec::new();
        write_response(&mut output, &predictions).unwrap();
        let expected = format!("2\n{}", format_predictions(&predictions).unwrap());
        assert_eq!(String::from_utf8(output).unwrap(), expected);
        assert_eq!(expected, "2\n[{\"label\":\"LOC\",\"start\":0,\"end\":6,\"text\":\"Zürich\"}]\n[]\n");
        let mut output = Vec::new();
        write_ready(&mut output).unwrap();
        assert_eq!(output, b"ready\n");
    }

    #[test]
    fn serves_each_request_in_order_and_an_empty_one_without_the_model() {
        let (served, output) = serve(b"2\nx\ny\n0\n1\nz\n");
        assert_eq!(served, Ok(Served { requests: 3, sentences: 3 }));
        let line = |text: &str| format_predictions(&[vec![entity(text)]]).unwrap();
        assert_eq!(output, format!("2\n{}{}0\n1\n{}", line("x"), line("y"), line("z")));
        let mut output = Vec::new();
        let never = |_: &[String], _: &mut PhaseTimer| -> Result<Vec<Vec<Entity>>, String> { panic!("predicted") };
        serve_requests(&mut Cursor::new(b"0\n0\n"), &mut output, &mut PhaseTimer::new(), never).unwrap();
        assert_eq!(output, b"0\n0\n");
    }

    #[test]
    fn a_failure_names_its_request_after_the_answers_before_it() {
        let mut output = Vec::new();
        let fail_on_b = |sentences: &[String], timer: &mut PhaseTimer| match sentences[0].as_str() {
            "b" => Err("inference failed: out of memory".to_string()),
            _ => echo(sentences, timer),
        };
        let served =
            serve_requests(&mut Cursor::new(b"1\na\n1\nb\n1\nc\n"), &mut output, &mut PhaseTimer::new(), fail_on_b);
        assert_eq!(served, Err("request 2: inference failed: out of memory".to_string()));
        assert_eq!(output, format!("1\n{}", format_predictions(&[vec![entity("a")]]).unwrap()).as_bytes());
        assert_eq!(
            serve(b"1\na\nx\n").0,
            Err("request 2: expected a count of sentences (decimal digits), got \"x\"".into())
        );
    }
}
