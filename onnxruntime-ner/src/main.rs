//! onnxruntime-ner: NER with ONNX Runtime from Rust, the fourth method of nerbench.
//!
//! Same command line, corpus rules, batching, decoding and JSON Lines output as the Python
//! methods (scripts/nerlib), so its predictions are byte-identical to theirs. ONNX Runtime is
//! loaded at run time from the library the onnxruntime wheel ships (see runtime.rs), so Python
//! and Rust run the very same build.

use std::process::ExitCode;

use onnxruntime_ner::cli::{parse_args, Args};
use onnxruntime_ner::decode::{self, Entity};
use onnxruntime_ner::output::{format_predictions, write_atomically};
use onnxruntime_ner::timings::PhaseTimer;
use onnxruntime_ner::{batching, corpus, model};

fn predict(args: &Args, lines: &[String], timer: &mut PhaseTimer) -> Result<Vec<Vec<Entity>>, String> {
    let mut model =
        timer.phase("load", || model::Model::load(&args.model, &args.device, args.threads, args.workers, args.u8u8))?;
    // Tokenize once and pad every batch first (scripts/nerlib/frame.py does the same), so that
    // inference can run its batches on one session or on several side by side.
    let (encoded, batches, padded) = timer.phase("tokenize", || -> Result<_, String> {
        let encoded = model.encode(lines)?;
        let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
        let batches = batching::batch_indices(&lengths, args.batch_size, args.sort, args.token_budget);
        let padded: Vec<batching::Padded> = batches
            .iter()
            .map(|indices| {
                let rows: Vec<batching::Row> = indices
                    .iter()
                    .map(|&i| batching::Row { ids: &encoded[i].ids, type_ids: &encoded[i].type_ids })
                    .collect();
                batching::pad_batch(&rows, model.pad_id)
            })
            .collect();
        Ok((encoded, batches, padded))
    })?;
    note_truncation(timer, &encoded);
    let logits = timer.phase("inference", || model.logits(&padded))?;
    let mut predictions = vec![Vec::new(); lines.len()];
    timer.phase("decode", || {
        let classes = model.id2label.len();
        for ((indices, padded), logits) in batches.iter().zip(&padded).zip(&logits) {
            for (row, &index) in indices.iter().enumerate() {
                let item = &encoded[index];
                let tokens: Vec<(&str, usize, usize)> = (0..item.ids.len())
                    .filter(|&position| item.special[position] == 0)
                    .map(|position| {
                        let start = (row * padded.width + position) * classes;
                        let label = decode::argmax(&logits[start..start + classes]);
                        (model.id2label[label].as_str(), item.offsets[position].0, item.offsets[position].1)
                    })
                    .collect();
                predictions[index] = decode::group_entities(&lines[index], &tokens);
            }
        }
    });
    Ok(predictions)
}

fn note_truncation(timer: &mut PhaseTimer, encoded: &[model::Encoded]) {
    let cut: Vec<usize> = encoded.iter().map(|e| e.cut_tokens).filter(|&n| n > 0).collect();
    timer.note("truncated_sentences", cut.len());
    timer.note("truncated_tokens", cut.iter().sum::<usize>());
    if !cut.is_empty() {
        eprintln!(
            "note: {} sentence(s) longer than the model's limit were truncated; {} token(s) were not classified",
            cut.len(),
            cut.iter().sum::<usize>()
        );
    }
}

fn run(argv: &[String]) -> Result<(), String> {
    let mut timer = PhaseTimer::new();
    let args = parse_args(argv)?;
    let lines = corpus::read_corpus(&args.file)?;
    let predictions = predict(&args, &lines, &mut timer)?;
    timer.phase("output", || {
        args.output
            .as_ref()
            .map(|path| write_atomically(path, format_predictions(&predictions)?.as_bytes()))
            .transpose()
    })?;
    if let Some(path) = &args.timings {
        timer.note("sentences", lines.len());
        timer.note("batch_size", args.batch_size);
        timer.note("threads", args.threads);
        timer.note("sort", args.sort);
        timer.note("token_budget", args.token_budget);
        timer.write(path)?;
    }
    Ok(())
}

/// The arguments as text; one that is not UTF-8 (a file name in another encoding) is an error.
fn arguments() -> Result<Vec<String>, String> {
    std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| format!("argument {} is not UTF-8: name files in UTF-8", arg.to_string_lossy()))
        })
        .collect()
}

fn main() -> ExitCode {
    match arguments().and_then(|argv| run(&argv)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("onnxruntime-ner: error: {message}");
            ExitCode::FAILURE
        }
    }
}
