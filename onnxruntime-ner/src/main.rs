//! onnxruntime-ner: NER with ONNX Runtime from Rust, the fourth method of nerbench.
//!
//! Same command line, corpus rules, batching, decoding and JSON Lines output as the Python
//! methods (scripts/nerlib), so its predictions are byte-identical to theirs. ONNX Runtime is
//! loaded at run time from the library the onnxruntime wheel ships (see runtime.rs), so Python
//! and Rust run the very same build. With --serve it loads the model once and answers requests
//! on a pipe (serve.rs), each through the same pipeline as a normal run (pipeline.rs).

use std::io::BufWriter;
use std::process::ExitCode;

use onnxruntime_ner::cli::{parse_args, Args};
use onnxruntime_ner::corpus;
use onnxruntime_ner::output::{format_predictions, write_atomically};
use onnxruntime_ner::pipeline::{self, Truncation};
use onnxruntime_ner::serve::{self, Served};
use onnxruntime_ner::timings::PhaseTimer;

/// The notes of the settings, as the Python methods write them with --timings.
fn note_settings(timer: &mut PhaseTimer, args: &Args) {
    timer.note("batch_size", args.batch_size);
    timer.note("threads", args.threads);
    timer.note("sort", args.sort);
    timer.note("token_budget", args.token_budget);
}

fn predict_file(args: &Args, mut timer: PhaseTimer) -> Result<(), String> {
    let lines = corpus::read_corpus(&args.file)?;
    let mut model = pipeline::load(args, &mut timer)?;
    let mut truncation = Truncation::default();
    let predictions = pipeline::predict(&mut model, args, &lines, &mut timer, &mut truncation)?;
    truncation.report(&mut timer);
    timer.phase("output", || {
        args.output
            .as_ref()
            .map(|path| write_atomically(path, format_predictions(&predictions)?.as_bytes()))
            .transpose()
    })?;
    if let Some(path) = &args.timings {
        timer.note("sentences", lines.len());
        note_settings(&mut timer, args);
        timer.write(path)?;
    }
    Ok(())
}

/// --serve: the model loaded once, then requests answered until standard input ends (serve.rs).
fn serve(args: &Args, mut timer: PhaseTimer) -> Result<(), String> {
    let mut model = pipeline::load(args, &mut timer)?;
    let mut input = std::io::stdin().lock();
    // Buffered: a response goes out in one write at its flush, not one per line.
    let mut output = BufWriter::new(std::io::stdout().lock());
    serve::write_ready(&mut output)?;
    let mut truncation = Truncation::default();
    let served = serve::serve_requests(&mut input, &mut output, &mut timer, |lines, timer| {
        pipeline::predict(&mut model, args, lines, timer, &mut truncation)
    })?;
    truncation.report(&mut timer);
    if let Some(path) = &args.timings {
        let Served { requests, sentences } = served;
        timer.note("requests", requests);
        timer.note("sentences", sentences);
        timer.note("workers", args.workers);
        timer.note("serve", true);
        note_settings(&mut timer, args);
        timer.write(path)?;
    }
    Ok(())
}

fn run(argv: &[String]) -> Result<(), String> {
    let timer = PhaseTimer::new();
    let args = parse_args(argv)?;
    if args.serve {
        serve(&args, timer)
    } else {
        predict_file(&args, timer)
    }
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
