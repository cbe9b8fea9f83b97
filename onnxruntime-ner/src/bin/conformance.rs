//! Test vectors in, the crate's answers out: for the differential tests (tests/test_fuzz.py) that
//! check the Rust reimplementation against scripts/nerlib on generated input. Not part of the
//! benchmark. One JSON request per stdin line, one JSON answer per stdout line:
//!
//!   {"corpus": [bytes...]}                                -> {"lines": [...]} or {"error": "..."}
//!   {"decode": {"line": "...", "tokens": [[label, start, end], ...]}} -> {"entities": [...]}
//!   {"format": [[{"label", "start", "end", "text"}, ...], ...]}  -> {"text": "<JSON Lines>"}
//!   {"batches": {"lengths": [...], "batch_size": N, "sort": bool, "token_budget": bool}}
//!                                                         -> {"batches": [[index, ...], ...]}

use std::io::{BufRead, Write};

use onnxruntime_ner::batching::batch_indices;
use onnxruntime_ner::corpus::decode_corpus;
use onnxruntime_ner::decode::{group_entities, Entity};
use onnxruntime_ner::output::format_predictions;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Decode {
    line: String,
    tokens: Vec<(String, usize, usize)>,
}

#[derive(Deserialize)]
struct Batches {
    lengths: Vec<usize>,
    batch_size: usize,
    sort: bool,
    token_budget: bool,
}

#[derive(Deserialize)]
struct EntityIn {
    label: String,
    start: usize,
    end: usize,
    text: String,
}

fn answer(request: &Value) -> Result<Value, String> {
    if let Some(bytes) = request.get("corpus") {
        let bytes: Vec<u8> = serde_json::from_value(bytes.clone()).map_err(|e| e.to_string())?;
        return Ok(match decode_corpus(&bytes, "corpus") {
            Ok(lines) => json!({ "lines": lines }),
            Err(error) => json!({ "error": error }),
        });
    }
    if let Some(decode) = request.get("decode") {
        let decode: Decode = serde_json::from_value(decode.clone()).map_err(|e| e.to_string())?;
        let tokens: Vec<(&str, usize, usize)> = decode.tokens.iter().map(|(l, s, e)| (l.as_str(), *s, *e)).collect();
        return Ok(json!({ "entities": group_entities(&decode.line, &tokens) }));
    }
    if let Some(lines) = request.get("format") {
        let lines: Vec<Vec<EntityIn>> = serde_json::from_value(lines.clone()).map_err(|e| e.to_string())?;
        let predictions: Vec<Vec<Entity>> = lines
            .into_iter()
            .map(|line| {
                line.into_iter().map(|e| Entity { label: e.label, start: e.start, end: e.end, text: e.text }).collect()
            })
            .collect();
        return Ok(json!({ "text": format_predictions(&predictions)? }));
    }
    if let Some(batches) = request.get("batches") {
        let b: Batches = serde_json::from_value(batches.clone()).map_err(|e| e.to_string())?;
        return Ok(json!({ "batches": batch_indices(&b.lengths, b.batch_size, b.sort, b.token_budget) }));
    }
    Err("unknown request".into())
}

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin is UTF-8 JSON Lines");
        let reply = serde_json::from_str::<Value>(&line)
            .map_err(|e| e.to_string())
            .and_then(|request| answer(&request))
            .unwrap_or_else(|error| json!({ "failed": error }));
        writeln!(out, "{reply}").expect("stdout");
    }
}
