//! onnxruntime-ner: NER with ONNX Runtime from Rust, the fourth method of nerbench.
//!
//! Same command line, corpus rules, batching, decoding and JSON Lines output as the Python
//! methods (scripts/nerlib), so its predictions are byte-identical to theirs. ONNX Runtime is
//! loaded at run time from ORT_DYLIB_PATH (the library the onnxruntime wheel ships), so Python
//! and Rust run the very same build.

mod batching;
mod corpus;
mod decode;
mod model;
mod timings;

use std::path::PathBuf;
use std::process::ExitCode;

use decode::Entity;
use timings::PhaseTimer;

const USAGE: &str = "usage: onnxruntime-ner [-d cpu|cuda] [-b N] [-m MODEL_DIR] [-o PREDICTIONS] [--timings PATH] [--sort] [--threads N] FILE";

#[derive(Debug, PartialEq)]
pub struct Args {
    device: String,
    batch_size: usize,
    model: PathBuf,
    output: Option<PathBuf>,
    timings: Option<PathBuf>,
    sort: bool,
    threads: usize,
    file: PathBuf,
}

fn positive(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(number) if number >= 1 => Ok(number),
        _ => Err(format!("{flag}: must be an integer of at least 1, got {value:?}")),
    }
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut args = Args {
        device: "cpu".into(),
        batch_size: 1,
        model: PathBuf::from("data/model"),
        output: None,
        timings: None,
        sort: false,
        threads: timings::physical_cores(),
        file: PathBuf::new(),
    };
    let mut files = Vec::new();
    let mut iter = argv.iter();
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().cloned().ok_or_else(|| format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "-d" | "--device" => {
                args.device = value()?;
                if args.device != "cpu" && args.device != "cuda" {
                    return Err(format!("-d: must be cpu or cuda, got {:?}", args.device));
                }
            }
            "-b" | "--batch-size" => args.batch_size = positive(arg, &value()?)?,
            "-m" | "--model" => args.model = value()?.into(),
            "-o" | "--output" => args.output = Some(value()?.into()),
            "--timings" => args.timings = Some(value()?.into()),
            "--threads" => args.threads = positive(arg, &value()?)?,
            "--sort" => args.sort = true,
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with('-') && flag.len() > 1 => return Err(format!("unknown option {flag}\n{USAGE}")),
            _ => files.push(arg.clone()),
        }
    }
    match files.as_slice() {
        [file] => args.file = file.into(),
        _ => return Err(format!("expected exactly one input FILE\n{USAGE}")),
    }
    Ok(args)
}

fn predict(args: &Args, lines: &[String], timer: &mut PhaseTimer) -> Result<Vec<Vec<Entity>>, String> {
    let mut model = timer.phase("load", || model::Model::load(&args.model, &args.device, args.threads))?;
    let encoded = timer.phase("tokenize", || model.encode(lines))?;
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
    let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
    let mut predictions = vec![Vec::new(); lines.len()];
    for indices in batching::batch_indices(&lengths, args.batch_size, args.sort) {
        let ids: Vec<&[u32]> = indices.iter().map(|&i| encoded[i].ids.as_slice()).collect();
        let padded = timer.phase("tokenize", || batching::pad_batch(&ids, model.pad_id));
        let logits = timer.phase("inference", || model.logits(&padded, indices.len()))?;
        timer.phase("decode", || {
            let classes = model.id2label.len();
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
        });
    }
    Ok(predictions)
}

fn write_predictions(path: &PathBuf, predictions: &[Vec<Entity>]) -> Result<(), String> {
    let mut text = String::new();
    for entities in predictions {
        text.push_str(&serde_json::to_string(entities).map_err(|e| e.to_string())?);
        text.push('\n');
    }
    timings::write_atomically(path, text.as_bytes())
}

fn run(argv: &[String]) -> Result<(), String> {
    let mut timer = PhaseTimer::new();
    let args = parse_args(argv)?;
    let lines = corpus::read_corpus(&args.file)?;
    let predictions = predict(&args, &lines, &mut timer)?;
    timer.phase("output", || args.output.as_ref().map(|path| write_predictions(path, &predictions)).transpose())?;
    if let Some(path) = &args.timings {
        timer.note("sentences", lines.len());
        timer.note("batch_size", args.batch_size);
        timer.note("threads", args.threads);
        timer.note("sort", args.sort);
        timer.write(path)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(&argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("onnxruntime-ner: error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_shared_command_line() {
        let args = parse_args(&strings(&["-d", "cuda", "-b", "32", "-m", "m", "-o", "p.jsonl", "--sort", "--threads", "3", "in.txt"])).unwrap();
        assert_eq!((args.device.as_str(), args.batch_size, args.sort, args.threads), ("cuda", 32, true, 3));
        assert_eq!(args.file, PathBuf::from("in.txt"));
        assert_eq!(args.output, Some(PathBuf::from("p.jsonl")));
    }

    #[test]
    fn rejects_bad_arguments_with_one_line() {
        assert!(parse_args(&strings(&["-b", "0", "f"])).unwrap_err().starts_with("-b: must be an integer of at least 1"));
        assert!(parse_args(&strings(&["-d", "tpu", "f"])).unwrap_err().starts_with("-d: must be cpu or cuda"));
        assert!(parse_args(&strings(&["a", "b"])).unwrap_err().starts_with("expected exactly one input FILE"));
    }
}
