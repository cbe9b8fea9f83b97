//! onnxruntime-ner: NER with ONNX Runtime from Rust, the fourth method of nerbench.
//!
//! Each module mirrors a part of the Python methods' shared core (scripts/nerlib), so that the
//! binary's predictions are byte-identical to theirs: the command line (`cli`), the corpus
//! reader (`corpus`), batching and padding (`batching`), the decoding of token labels into
//! entities (`decode`), the JSON Lines output and atomic writes (`output`) and phase timings
//! (`timings`). `model` is the backend, on the ONNX Runtime library `runtime` finds; `pipeline`
//! runs a loaded model over lines as scripts/nerlib/frame.py does, for a normal run and for each
//! request of `serve`, the pipe protocol of the binary's --serve.

pub mod batching;
pub mod cli;
pub mod corpus;
pub mod decode;
pub mod model;
pub mod model_inputs;
pub mod output;
pub mod pipeline;
pub mod runtime;
pub mod serve;
pub mod timings;
