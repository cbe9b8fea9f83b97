//! The backend: the exported tokenizer.json through the `tokenizers` crate and model.onnx
//! through ONNX Runtime (`ort`, loaded from ORT_DYLIB_PATH).

use std::path::{Path, PathBuf};

use ort::ep;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::{Tokenizer, TruncationParams};

use crate::batching::Padded;

pub struct Encoded {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
    pub special: Vec<u32>,
    pub cut_tokens: usize,
}

pub struct Model {
    session: Session,
    tokenizer: Tokenizer,
    pub id2label: Vec<String>,
    pub pad_id: u32,
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))
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

fn onnxruntime_library() -> Result<PathBuf, String> {
    std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from).ok_or_else(|| {
        "ORT_DYLIB_PATH is not set: point it at the libonnxruntime.so.* of the onnxruntime wheel \
         (python scripts/ort_dylib.py prints it)"
            .to_string()
    })
}

impl Model {
    pub fn load(dir: &Path, device: &str, threads: usize) -> Result<Model, String> {
        let config_path = dir.join("config.json");
        let config = read_json(&config_path)?;
        let id2label = labels(&config, &config_path)?;
        let max_length = config["max_position_embeddings"].as_u64().unwrap_or(512) as usize;

        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| format!("{}: {e}", tokenizer_path.display()))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length, ..Default::default() }))
            .map_err(|e| e.to_string())?;
        tokenizer.with_padding(None);
        let pad_token = read_json(&dir.join("tokenizer_config.json"))?["pad_token"].as_str().unwrap_or("[PAD]").to_string();
        let pad_id = tokenizer.token_to_id(&pad_token).unwrap_or(0);

        let library = onnxruntime_library()?;
        let environment = ort::init_from(&library)
            .map_err(|e| format!("{}: cannot load ONNX Runtime: {e}", library.display()))?
            .build()
            .map_err(|e| e.to_string())?;
        let onnx = dir.join("model.onnx");
        let mut builder = Session::builder(&environment)
            .map_err(|e| e.to_string())?
            .with_intra_threads(threads)
            .map_err(|e| e.to_string())?
            .with_inter_threads(1)
            .map_err(|e| e.to_string())?;
        if device == "cuda" {
            // error_on_failure: without it ort silently falls back to the CPU. No TF32: the
            // provider's default would compute fp32 products in TF32 (see nerlib/ort_session.py).
            builder = builder
                .with_execution_providers([ep::CUDA::default().with_tf32(false).build().error_on_failure()])
                .map_err(|e| format!("-d cuda: the CUDA execution provider is not usable: {e}"))?;
        }
        let session = builder.commit_from_file(&onnx).map_err(|e| format!("{}: cannot load ONNX model: {e}", onnx.display()))?;
        Ok(Model { session, tokenizer, id2label, pad_id })
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
            })
            .collect())
    }

    /// Logits for the padded batch, row-major [rows, width, labels].
    pub fn logits(&mut self, batch: &Padded, rows: usize) -> Result<Vec<f32>, String> {
        let shape = [rows, batch.width];
        let input_ids = Tensor::from_array((shape, batch.input_ids.clone())).map_err(|e| e.to_string())?;
        let attention_mask = Tensor::from_array((shape, batch.attention_mask.clone())).map_err(|e| e.to_string())?;
        let outputs = self
            .session
            .run(ort::inputs!["input_ids" => input_ids, "attention_mask" => attention_mask])
            .map_err(|e| format!("inference failed: {e}"))?;
        let (_, logits) = outputs["logits"].try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
        Ok(logits.to_vec())
    }
}
