//! The backend: the exported tokenizer.json through the `tokenizers` crate and model.onnx
//! through ONNX Runtime (`ort`, on the library runtime.rs finds).

use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ort::ep;
use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use tokenizers::{Tokenizer, TruncationParams};

use crate::batching::Padded;
use crate::model_inputs::{pad_token, read_json, truncation_limit};

/// Where a worker leaves one batch's logits (or its error).
type Slot = Mutex<Option<Result<Vec<f32>, String>>>;

/// The inputs the frame can give a token-classification graph (scripts/nerlib/ort_session.py).
const KNOWN_INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];

pub struct Encoded {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
    pub special: Vec<u32>,
    pub type_ids: Vec<u32>,
    pub cut_tokens: usize,
}

pub struct Model {
    /// One session per worker: data parallelism runs batches on them side by side.
    sessions: Vec<Session>,
    tokenizer: Tokenizer,
    input_names: Vec<String>,
    pub id2label: Vec<String>,
    pub pad_id: u32,
}

fn labels(config: &serde_json::Value, path: &Path) -> Result<Vec<String>, String> {
    let map = config["id2label"].as_object().ok_or_else(|| format!("{}: no id2label", path.display()))?;
    let mut labels = vec![String::new(); map.len()];
    for (index, label) in map {
        let slot = index.parse::<usize>().ok().filter(|&i| i < labels.len());
        let slot = slot.ok_or_else(|| format!("{}: id2label index {index:?} out of range", path.display()))?;
        labels[slot] = label.as_str().unwrap_or_default().to_string();
    }
    Ok(labels)
}

/// The tokenizer set up as every method tokenizes, and the id it pads with.
fn load_tokenizer(dir: &Path, config: &serde_json::Value) -> Result<(Tokenizer, u32), String> {
    let tokenizer_config_path = dir.join("tokenizer_config.json");
    let tokenizer_config = read_json(&tokenizer_config_path)?;
    let max_length = truncation_limit(config, &tokenizer_config).ok_or_else(|| {
        format!("{}: no max_position_embeddings: cannot tell its limit", dir.join("config.json").display())
    })?;
    let tokenizer_path = dir.join("tokenizer.json");
    let mut tokenizer =
        Tokenizer::from_file(&tokenizer_path).map_err(|e| format!("{}: {e}", tokenizer_path.display()))?;
    tokenizer
        .with_truncation(Some(TruncationParams { max_length, ..Default::default() }))
        .map_err(|e| e.to_string())?;
    tokenizer.with_padding(None);
    let pad_id = pad_token(&tokenizer_config)
        .and_then(|token| tokenizer.token_to_id(&token))
        .or_else(|| config["pad_token_id"].as_u64().map(|id| id as u32))
        .ok_or_else(|| {
            format!("{}: names no pad token (tokenizer_config.json pad_token, config.json pad_token_id)", dir.display())
        })?;
    Ok((tokenizer, pad_id))
}

/// The graph's declared inputs, refused by name when the frame cannot give one.
fn graph_inputs(session: &Session, onnx: &Path) -> Result<Vec<String>, String> {
    let names: Vec<String> = session.inputs().iter().map(|input| input.name().to_string()).collect();
    if names.iter().any(|name| !KNOWN_INPUTS.contains(&name.as_str())) || !names.iter().any(|n| n == "input_ids") {
        return Err(format!(
            "{}: the graph's inputs {names:?} are not a token classifier's ({})",
            onnx.display(),
            KNOWN_INPUTS.join(", ")
        ));
    }
    if !session.outputs().iter().any(|output| output.name() == "logits") {
        let outputs: Vec<&str> = session.outputs().iter().map(|output| output.name()).collect();
        return Err(format!(
            "{}: the graph has no output named logits (outputs: {})",
            onnx.display(),
            outputs.join(", ")
        ));
    }
    Ok(names)
}

/// What every session of one run is built with.
struct SessionSettings<'a> {
    device: &'a str,
    threads: usize,
    u8u8: bool,
}

fn load_session(
    environment: &ort::environment::Environment,
    onnx: &Path,
    settings: &SessionSettings,
) -> Result<Session, String> {
    let mut builder = Session::builder(environment)
        .map_err(|e| e.to_string())?
        .with_intra_threads(settings.threads)
        .map_err(|e| e.to_string())?
        .with_inter_threads(1)
        .map_err(|e| e.to_string())?;
    if settings.u8u8 {
        builder = builder.with_config_entry("session.x64quantprecision", "1").map_err(|e| e.to_string())?;
    }
    if settings.device == "cuda" {
        // error_on_failure: without it ort silently falls back to the CPU. No TF32: the
        // provider's default would compute fp32 products in TF32 (see nerlib/ort_session.py).
        builder = builder
            .with_execution_providers([ep::CUDA::default().with_tf32(false).build().error_on_failure()])
            .map_err(|e| format!("-d cuda: the CUDA execution provider is not usable: {e}"))?;
    }
    builder.commit_from_file(onnx).map_err(|e| format!("{}: cannot load ONNX model: {e}", onnx.display()))
}

/// `workers` sessions, built side by side on threads of their own: two load in the time of one
/// (docs/measurements/epyc-zen3-2026-12-02-test-suite-and-int8.md). ONNX Runtime's shared pre-packed weights
/// container saved nothing then (sessions that load at once each pack their own), so it is not used.
fn load_sessions(
    environment: &ort::environment::Environment,
    onnx: &Path,
    settings: &SessionSettings,
    workers: usize,
) -> Result<Vec<Session>, String> {
    if workers == 1 {
        return Ok(vec![load_session(environment, onnx, settings)?]);
    }
    std::thread::scope(|scope| {
        let loading: Vec<_> = (0..workers).map(|_| scope.spawn(|| load_session(environment, onnx, settings))).collect();
        // Every loader joined before the first error is returned.
        let loaded: Vec<_> = loading.into_iter().map(|thread| thread.join()).collect();
        loaded.into_iter().map(|result| result.map_err(|_| "a session's loader panicked".to_string())?).collect()
    })
}

impl Model {
    /// `workers` sessions of threads / workers intra-op threads each; `u8u8`: int8 products as
    /// U8U8 (session.x64quantprecision), as scripts/nerlib/ort_session.py sets it.
    pub fn load(dir: &Path, device: &str, threads: usize, workers: usize, u8u8: bool) -> Result<Model, String> {
        let config_path = dir.join("config.json");
        let config = read_json(&config_path)?;
        let id2label = labels(&config, &config_path)?;
        let (tokenizer, pad_id) = load_tokenizer(dir, &config)?;

        let library = crate::runtime::onnxruntime_library()?;
        let environment = ort::init_from(&library)
            .map_err(|e| format!("{}: cannot load ONNX Runtime: {e}", library.display()))?
            .build()
            .map_err(|e| e.to_string())?;
        let onnx = dir.join("model.onnx");
        if device == "cuda" {
            for failure in crate::runtime::preload_cuda_libraries(&library) {
                eprintln!("note: not loaded: {failure}");
            }
        }
        let settings = SessionSettings { device, threads: threads / workers, u8u8 };
        let sessions = load_sessions(&environment, &onnx, &settings, workers)?;
        let input_names = graph_inputs(&sessions[0], &onnx)?;
        Ok(Model { sessions, tokenizer, input_names, id2label, pad_id })
    }

    pub fn encode(&self, lines: &[String]) -> Result<Vec<Encoded>, String> {
        let encodings = self.tokenizer.encode_batch_char_offsets(lines.to_vec(), true).map_err(|e| e.to_string())?;
        Ok(encodings
            .into_iter()
            .map(|encoding| Encoded {
                cut_tokens: encoding
                    .get_overflowing()
                    .iter()
                    .map(|o| o.get_special_tokens_mask().iter().filter(|&&s| s == 0).count())
                    .sum(),
                ids: encoding.get_ids().to_vec(),
                offsets: encoding.get_offsets().to_vec(),
                special: encoding.get_special_tokens_mask().to_vec(),
                type_ids: encoding.get_type_ids().to_vec(),
            })
            .collect())
    }

    /// Logits of every padded batch, row-major [rows, width, labels] each, in batch order: on one
    /// session, or with each worker's session taking the next batch as soon as it is free.
    pub fn logits(&mut self, batches: &[Padded]) -> Result<Vec<Vec<f32>>, String> {
        let names = &self.input_names;
        if self.sessions.len() == 1 {
            return batches.iter().map(|batch| run_batch(&mut self.sessions[0], names, batch)).collect();
        }
        let next = AtomicUsize::new(0);
        let results: Vec<Slot> = batches.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for session in self.sessions.iter_mut() {
                let (next, results) = (&next, &results);
                scope.spawn(move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = batches.get(index) else { break };
                    *results[index].lock().expect("no worker panics holding it") =
                        Some(run_batch(session, names, batch));
                });
            }
        });
        results.into_iter().map(|slot| slot.into_inner().expect("unpoisoned").expect("every batch ran")).collect()
    }
}

fn run_batch(session: &mut Session, input_names: &[String], batch: &Padded) -> Result<Vec<f32>, String> {
    let shape = [batch.rows, batch.width];
    let mut inputs: Vec<(Cow<str>, SessionInputValue)> = Vec::new();
    for name in input_names {
        let values = match name.as_str() {
            "input_ids" => &batch.input_ids,
            "attention_mask" => &batch.attention_mask,
            _ => &batch.token_type_ids,
        };
        let tensor = Tensor::from_array((shape, values.clone())).map_err(|e| e.to_string())?;
        inputs.push((Cow::Owned(name.clone()), tensor.into()));
    }
    let outputs = session.run(inputs).map_err(|e| format!("inference failed: {e}"))?;
    let (_, logits) = outputs["logits"].try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
    Ok(logits.to_vec())
}
