//! Which sentences share a batch, and padding a batch to its own longest sentence (never to a
//! fixed length: padding every batch to 512 tokens is what made the original Rust binary slow).

/// Input order, or longest first (ties in input order) when sorting by token count.
pub fn processing_order(lengths: &[usize], sort_by_length: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    if sort_by_length {
        order.sort_by_key(|&index| std::cmp::Reverse(lengths[index]));
    }
    order
}

pub fn batch_indices(lengths: &[usize], batch_size: usize, sort_by_length: bool) -> Vec<Vec<usize>> {
    processing_order(lengths, sort_by_length).chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// Row-major input_ids, attention_mask and token_type_ids for the batch, and its width; the
/// model passes on the ones its graph declares (scripts/nerlib/batching.py).
pub struct Padded {
    pub input_ids: Vec<i64>,
    pub attention_mask: Vec<i64>,
    pub token_type_ids: Vec<i64>,
    pub rows: usize,
    pub width: usize,
}

/// One sentence's token ids and token types.
pub struct Row<'a> {
    pub ids: &'a [u32],
    pub type_ids: &'a [u32],
}

pub fn pad_batch(batch: &[Row], pad_id: u32) -> Padded {
    let width = batch.iter().map(|row| row.ids.len()).max().unwrap_or(0);
    let mut input_ids = vec![pad_id as i64; batch.len() * width];
    let mut attention_mask = vec![0i64; batch.len() * width];
    let mut token_type_ids = vec![0i64; batch.len() * width];
    for (row, sentence) in batch.iter().enumerate() {
        for (column, &id) in sentence.ids.iter().enumerate() {
            input_ids[row * width + column] = id as i64;
            attention_mask[row * width + column] = 1;
            token_type_ids[row * width + column] = sentence.type_ids.get(column).copied().unwrap_or(0) as i64;
        }
    }
    Padded { input_ids, attention_mask, token_type_ids, rows: batch.len(), width }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_in_input_order_or_longest_first() {
        assert_eq!(batch_indices(&[3, 5, 1, 5], 2, false), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(batch_indices(&[3, 5, 1, 5], 2, true), vec![vec![1, 3], vec![0, 2]]);
        assert_eq!(batch_indices(&[3, 5, 1], 8, false), vec![vec![0, 1, 2]]);
        assert!(batch_indices(&[], 4, true).is_empty());
    }

    #[test]
    fn pads_to_the_longest_sentence_of_the_batch() {
        let rows = [Row { ids: &[101, 7, 102], type_ids: &[0, 0, 0] }, Row { ids: &[101, 102], type_ids: &[0, 1] }];
        let padded = pad_batch(&rows, 1);
        assert_eq!(padded.width, 3);
        assert_eq!(padded.input_ids, vec![101, 7, 102, 101, 102, 1]);
        assert_eq!(padded.attention_mask, vec![1, 1, 1, 1, 1, 0]);
        assert_eq!(padded.token_type_ids, vec![0, 0, 0, 0, 1, 0]);
    }
}
