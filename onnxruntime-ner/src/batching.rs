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

/// Row-major input_ids and attention_mask for the batch, and its width.
pub struct Padded {
    pub input_ids: Vec<i64>,
    pub attention_mask: Vec<i64>,
    pub width: usize,
}

pub fn pad_batch(batch: &[&[u32]], pad_id: u32) -> Padded {
    let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
    let mut input_ids = vec![pad_id as i64; batch.len() * width];
    let mut attention_mask = vec![0i64; batch.len() * width];
    for (row, ids) in batch.iter().enumerate() {
        for (column, &id) in ids.iter().enumerate() {
            input_ids[row * width + column] = id as i64;
            attention_mask[row * width + column] = 1;
        }
    }
    Padded { input_ids, attention_mask, width }
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
        let padded = pad_batch(&[&[101, 7, 102], &[101, 102]], 0);
        assert_eq!(padded.width, 3);
        assert_eq!(padded.input_ids, vec![101, 7, 102, 101, 102, 0]);
        assert_eq!(padded.attention_mask, vec![1, 1, 1, 1, 1, 0]);
    }
}
