//! onnxruntime-ner: NER with ONNX Runtime from Rust, the fourth method of nerbench.
//!
//! Each module mirrors a part of the Python methods' shared core (scripts/nerlib), so that the
//! binary's predictions are byte-identical to theirs: the command line (`cli`), the corpus
//! reader (`corpus`), batching and padding (`batching`), the decoding of token labels into
//! entities (`decode`), the JSON Lines output and atomic writes (`output`) and phase timings
//! (`timings`). `model` is the backend, on the ONNX Runtime library `runtime` finds.

pub mod batching;
pub mod cli;
pub mod corpus;
pub mod decode;
pub mod model;
pub mod model_inputs;
pub mod output;
pub mod runtime;
pub mod timings;
