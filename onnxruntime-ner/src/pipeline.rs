//! The pipeline of scripts/nerlib/frame.py (predict_with_backend) on a model loaded once:
//! tokenize, batch, infer, decode. A normal run calls `predict` once on the whole corpus and
//! --serve once per request, so that what a serving scenario measures is the very code a normal
//! run times, not a second implementation.

use crate::batching::{self, Padded, Row};
use crate::cli::Args;
use crate::decode::{self, Entity};
use crate::model::{Encoded, Model};
use crate::timings::PhaseTimer;

/// The model and tokenizer the arguments name, timed as the "load" phase.
pub fn load(args: &Args, timer: &mut PhaseTimer) -> Result<Model, String> {
    timer.phase("load", || Model::load(&args.model, &args.device, args.threads, args.workers, args.u8u8))
}

/// Sentences that truncation cut short, and the tokens it left unclassified, summed over every
/// `predict` of a run (--serve reports them once, at exit, rather than once per request).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Truncation {
    pub sentences: usize,
    pub tokens: usize,
}

impl Truncation {
    fn add(&mut self, encoded: &[Encoded]) {
        let cut = encoded.iter().map(|e| e.cut_tokens).filter(|&n| n > 0);
        for tokens in cut {
            self.sentences += 1;
            self.tokens += tokens;
        }
    }

    /// The notes --timings writes (frame.py's note_truncation), and one line on standard error
    /// when anything was cut.
    pub fn report(&self, timer: &mut PhaseTimer) {
        timer.note("truncated_sentences", self.sentences);
        timer.note("truncated_tokens", self.tokens);
        if self.sentences > 0 {
            eprintln!(
                "note: {} sentence(s) longer than the model's limit were truncated; {} token(s) were not classified",
                self.sentences, self.tokens
            );
        }
    }
}

/// The lines tokenized, and their batches as indices into them and as padded inputs.
struct Tokenized {
    encoded: Vec<Encoded>,
    batches: Vec<Vec<usize>>,
    padded: Vec<Padded>,
}

/// The entities of each line, in the lines' order whatever order the batches ran in.
pub fn predict(
    model: &mut Model,
    args: &Args,
    lines: &[String],
    timer: &mut PhaseTimer,
    truncation: &mut Truncation,
) -> Result<Vec<Vec<Entity>>, String> {
    let tokenized = timer.phase("tokenize", || tokenize(model, args, lines))?;
    truncation.add(&tokenized.encoded);
    let logits = timer.phase("inference", || model.logits(&tokenized.padded))?;
    Ok(timer.phase("decode", || decode_lines(&model.id2label, lines, &tokenized, &logits)))
}

/// Tokenize once and pad every batch first (frame.py does the same), so that inference can run
/// its batches on one session or on several side by side. The token budget is the lines' own.
fn tokenize(model: &Model, args: &Args, lines: &[String]) -> Result<Tokenized, String> {
    let encoded = model.encode(lines)?;
    let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
    let batches = batching::batch_indices(&lengths, args.batch_size, args.sort, args.token_budget);
    let padded = batches
        .iter()
        .map(|indices| {
            let rows: Vec<Row> =
                indices.iter().map(|&i| Row { ids: &encoded[i].ids, type_ids: &encoded[i].type_ids }).collect();
            batching::pad_batch(&rows, model.pad_id)
        })
        .collect();
    Ok(Tokenized { encoded, batches, padded })
}

/// Each batch's logits, [rows, width, labels] row-major, back to the lines they came from.
fn decode_lines(id2label: &[String], lines: &[String], tokenized: &Tokenized, logits: &[Vec<f32>]) -> Vec<Vec<Entity>> {
    let mut predictions = vec![Vec::new(); lines.len()];
    let row_size = |padded: &Padded| padded.width * id2label.len();
    for ((indices, padded), logits) in tokenized.batches.iter().zip(&tokenized.padded).zip(logits) {
        for (row, &index) in indices.iter().enumerate() {
            let scores = &logits[row * row_size(padded)..(row + 1) * row_size(padded)];
            predictions[index] = decode_line(id2label, &lines[index], &tokenized.encoded[index], scores);
        }
    }
    predictions
}

/// One line's entities from its row of logits, [width, labels]; special tokens are skipped.
fn decode_line(id2label: &[String], line: &str, item: &Encoded, scores: &[f32]) -> Vec<Entity> {
    let classes = id2label.len();
    let tokens: Vec<(&str, usize, usize)> = (0..item.ids.len())
        .filter(|&position| item.special[position] == 0)
        .map(|position| {
            let label = decode::argmax(&scores[position * classes..(position + 1) * classes]);
            (id2label[label].as_str(), item.offsets[position].0, item.offsets[position].1)
        })
        .collect();
    decode::group_entities(line, &tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(ids: usize, special: Vec<u32>, offsets: Vec<(usize, usize)>, cut_tokens: usize) -> Encoded {
        Encoded { ids: vec![1; ids], offsets, special, type_ids: vec![0; ids], cut_tokens }
    }

    #[test]
    fn truncation_sums_over_calls() {
        let mut truncation = Truncation::default();
        truncation.add(&[encoded(0, vec![], vec![], 3), encoded(0, vec![], vec![], 0)]);
        truncation.add(&[encoded(0, vec![], vec![], 2)]);
        assert_eq!(truncation, Truncation { sentences: 2, tokens: 5 });
    }

    #[test]
    fn decodes_each_row_back_to_its_line() {
        // Two lines batched longest first: line 1 ([CLS] Paris [SEP]) in row 0, line 0 in row 1.
        let labels: Vec<String> = ["O", "B-LOC"].map(String::from).to_vec();
        let lines = ["hi".to_string(), "Paris".to_string()];
        let tokenized = Tokenized {
            encoded: vec![
                encoded(2, vec![1, 1], vec![(0, 0), (0, 0)], 0),
                encoded(3, vec![1, 0, 1], vec![(0, 0), (0, 5), (0, 0)], 0),
            ],
            batches: vec![vec![1, 0]],
            padded: vec![Padded {
                input_ids: vec![],
                attention_mask: vec![],
                token_type_ids: vec![],
                rows: 2,
                width: 3,
            }],
        };
        let logits = vec![vec![1., 0., 0., 1., 1., 0., 1., 0., 0., 1., 1., 0.]];
        let found = decode_lines(&labels, &lines, &tokenized, &logits);
        assert!(found[0].is_empty());
        assert_eq!(found[1], vec![Entity { label: "LOC".into(), start: 0, end: 5, text: "Paris".into() }]);
    }
}
