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

/// The padded tokens a batch may hold under --token-budget: the batch size times the corpus's
/// mean sentence length in tokens, rounded up (scripts/nerlib/batching.py).
pub fn token_budget(lengths: &[usize], batch_size: usize) -> usize {
    // Saturating: past usize's range every sentence fits, as with Python's unbounded integers.
    batch_size.saturating_mul(lengths.iter().sum::<usize>().div_ceil(lengths.len().max(1)))
}

/// `batch_size` sentences per batch, or `by_token_budget`, as many as keep the padded batch
/// (rows times its longest sentence) within the token budget; a sentence longer than it alone.
pub fn batch_indices(
    lengths: &[usize],
    batch_size: usize,
    sort_by_length: bool,
    by_token_budget: bool,
) -> Vec<Vec<usize>> {
    let order = processing_order(lengths, sort_by_length);
    if !by_token_budget {
        return order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    }
    let max_tokens = token_budget(lengths, batch_size);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut width = 0;
    for index in order {
        let wider = width.max(lengths[index]);
        match batches.last_mut() {
            Some(batch) if (batch.len() + 1) * wider <= max_tokens => {
                batch.push(index);
                width = wider;
            }
            _ => {
                batches.push(vec![index]);
                width = lengths[index];
            }
        }
    }
    batches
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
        assert_eq!(batch_indices(&[3, 5, 1, 5], 2, false, false), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(batch_indices(&[3, 5, 1, 5], 2, true, false), vec![vec![1, 3], vec![0, 2]]);
        assert_eq!(batch_indices(&[3, 5, 1], 8, false, false), vec![vec![0, 1, 2]]);
        assert!(batch_indices(&[], 4, true, false).is_empty());
    }

    #[test]
    fn batches_within_a_token_budget_and_a_long_sentence_alone() {
        // Mean length 13 / 4 rounded up is 4: a budget of 8 tokens at batch size 2.
        assert_eq!(token_budget(&[3, 5, 1, 4], 2), 8);
        assert_eq!(batch_indices(&[3, 5, 1, 4], 2, true, true), vec![vec![1], vec![3, 0], vec![2]]);
        // Mean 17 / 5 rounded up is 4: 8 tokens at batch size 2, four short sentences, the long one alone.
        assert_eq!(batch_indices(&[2, 2, 2, 2, 9], 2, false, true), vec![vec![0, 1, 2, 3], vec![4]]);
        assert_eq!(token_budget(&[], 4), 0);
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
