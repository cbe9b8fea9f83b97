//! The command line every method shares (scripts/nerlib/cli.py):
//! `-d {cpu,cuda} -b N [-m MODEL_DIR] [-o PREDICTIONS] [--timings PATH] [--threads N] [--sort] [--token-budget] [--] FILE`,
//! and this binary's own `--serve`, which reads its sentences from standard input (serve.rs).

use std::path::{Path, PathBuf};

pub const USAGE: &str = "usage: onnxruntime-ner [-d cpu|cuda] [-b N] [-m MODEL_DIR] [-o PREDICTIONS] [--timings PATH] \
                         [--sort] [--token-budget] [--threads N] [--workers N] [--u8u8] [--] FILE\n       \
                         onnxruntime-ner --serve [-d cpu|cuda] [-b N] [-m MODEL_DIR] [--timings PATH] \
                         [--sort] [--token-budget] [--threads N] [--workers N] [--u8u8]";

/// config.yaml in the working directory: without -m, the model it names is the one read.
const CONFIG: &str = "config.yaml";

#[derive(Debug, PartialEq)]
pub struct Args {
    pub device: String,
    pub batch_size: usize,
    pub model: PathBuf,
    pub output: Option<PathBuf>,
    pub timings: Option<PathBuf>,
    pub sort: bool,
    /// Batches cut at a padded-token budget rather than a sentence count (batching::token_budget).
    pub token_budget: bool,
    pub threads: usize,
    /// Data parallelism: sessions of threads / workers intra-op threads each (scripts/ort-lean.py).
    pub workers: usize,
    /// int8 products as U8U8 (session.x64quantprecision; scripts/nerlib/ort_session.py).
    pub u8u8: bool,
    /// Requests on standard input, answered on standard output, by a model loaded once (serve.rs).
    pub serve: bool,
    /// The corpus; empty with --serve.
    pub file: PathBuf,
}

fn positive(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(number) if number >= 1 => Ok(number),
        _ => Err(format!("{flag}: must be an integer of at least 1, got {value:?}")),
    }
}

/// The model `make bench` built: data/models/<model.name of ./config.yaml>/onnx, as the Python
/// methods find it, so the original benchmark's command lines run as written.
pub fn configured_model(config: &Path) -> Result<PathBuf, String> {
    let missing = || format!("no -m MODEL_DIR given, and {} here names no model (model.name)", config.display());
    let text = std::fs::read_to_string(config).map_err(|_| missing())?;
    let document: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|_| missing())?;
    let name = document["model"]["name"].as_str().ok_or_else(missing)?;
    Ok(Path::new("data").join("models").join(name).join("onnx"))
}

/// The one FILE of a normal run; none with --serve, whose sentences and answers go through pipes.
fn input_file(args: &Args, files: &[String]) -> Result<PathBuf, String> {
    match (args.serve, files) {
        (true, [_, ..]) => Err("--serve: takes no FILE (requests come on standard input)".into()),
        (true, []) if args.output.is_some() => Err("--serve: takes no -o (responses go to standard output)".into()),
        (true, []) => Ok(PathBuf::new()),
        (false, [file]) => Ok(file.into()),
        (false, _) => Err(format!("expected exactly one input FILE\n{USAGE}")),
    }
}

pub fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut args = Args {
        device: "cpu".into(),
        batch_size: 1,
        model: PathBuf::new(),
        output: None,
        timings: None,
        sort: false,
        token_budget: false,
        threads: 0,
        workers: 1,
        u8u8: false,
        serve: false,
        file: PathBuf::new(),
    };
    let mut model = None;
    let mut threads = None;
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
            "-m" | "--model" => model = Some(PathBuf::from(value()?)),
            "-o" | "--output" => args.output = Some(value()?.into()),
            "--timings" => args.timings = Some(value()?.into()),
            "--threads" => threads = Some(positive(arg, &value()?)?),
            "--sort" => args.sort = true,
            "--token-budget" => args.token_budget = true,
            "--workers" => args.workers = positive(arg, &value()?)?,
            "--u8u8" => args.u8u8 = true,
            "--serve" => args.serve = true,
            "-h" | "--help" => return Err(USAGE.into()),
            // Everything after "--" is a file, even a name that starts with "-".
            "--" => files.extend(iter.by_ref().cloned()),
            flag if flag.starts_with('-') && flag.len() > 1 => return Err(format!("unknown option {flag}\n{USAGE}")),
            _ => files.push(arg.clone()),
        }
    }
    args.file = input_file(&args, &files)?;
    args.model = match model {
        Some(model) => model,
        None => configured_model(Path::new(CONFIG))?,
    };
    args.threads = threads.unwrap_or_else(crate::timings::physical_cores);
    if args.workers > args.threads || (args.workers > 1 && args.device == "cuda") {
        return Err(format!("--workers {}: at most --threads ({}), on the CPU", args.workers, args.threads));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_shared_command_line() {
        let argv =
            strings(&["-d", "cuda", "-b", "32", "-m", "m", "-o", "p.jsonl", "--sort", "--threads", "3", "in.txt"]);
        let args = parse_args(&argv).unwrap();
        assert_eq!((args.device.as_str(), args.batch_size, args.sort, args.threads), ("cuda", 32, true, 3));
        assert!(!args.u8u8);
        assert!(parse_args(&strings(&["-m", "m", "--u8u8", "in.txt"])).unwrap().u8u8);
        assert_eq!(args.file, PathBuf::from("in.txt"));
        assert_eq!(args.output, Some(PathBuf::from("p.jsonl")));
    }

    #[test]
    fn rejects_bad_arguments_with_one_line() {
        assert!(parse_args(&strings(&["-m", "m", "-b", "0", "f"]))
            .unwrap_err()
            .starts_with("-b: must be an integer of at least 1"));
        assert!(parse_args(&strings(&["-d", "tpu", "f"])).unwrap_err().starts_with("-d: must be cpu or cuda"));
        assert!(parse_args(&strings(&["-m", "m", "a", "b"]))
            .unwrap_err()
            .starts_with("expected exactly one input FILE"));
    }

    #[test]
    fn a_file_named_like_an_option_follows_a_double_dash() {
        assert!(parse_args(&strings(&["-m", "m", "-x.txt"])).unwrap_err().starts_with("unknown option -x.txt"));
        assert_eq!(parse_args(&strings(&["-m", "m", "--", "-x.txt"])).unwrap().file, PathBuf::from("-x.txt"));
    }

    #[test]
    fn serve_takes_no_file_and_no_output() {
        let args =
            parse_args(&strings(&["--serve", "-m", "m", "-b", "4", "--workers", "2", "--threads", "2"])).unwrap();
        assert!(args.serve && !parse_args(&strings(&["-m", "m", "f"])).unwrap().serve);
        assert_eq!((args.batch_size, args.workers, args.file), (4, 2, PathBuf::new()));
        for argv in [&["--serve", "-m", "m", "f"][..], &["-m", "m", "--serve", "--", "f"]] {
            assert_eq!(
                parse_args(&strings(argv)).unwrap_err(),
                "--serve: takes no FILE (requests come on standard input)"
            );
        }
        assert_eq!(
            parse_args(&strings(&["-o", "x", "--serve", "-m", "m"])).unwrap_err(),
            "--serve: takes no -o (responses go to standard output)"
        );
        assert!(parse_args(&strings(&["-m", "m"])).unwrap_err().starts_with("expected exactly one input FILE"));
    }

    #[test]
    fn without_m_the_model_config_yaml_names_is_read() {
        let dir = std::env::temp_dir().join(format!("onnxruntime-ner-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.yaml");
        std::fs::write(&config, "results: r\nmodel:\n  name: my-model # a comment\n  source: finetune\n").unwrap();
        assert_eq!(configured_model(&config).unwrap(), PathBuf::from("data/models/my-model/onnx"));
        std::fs::write(&config, "model: {}\n").unwrap();
        assert!(configured_model(&config).unwrap_err().starts_with("no -m MODEL_DIR given"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
