//! The decoding of scripts/nerlib/decode.py (the transformers pipeline's "simple" aggregation):
//! argmax per token, special tokens skipped, consecutive tokens grouped while they share a tag
//! and the next is not B-, groups labelled O dropped. Offsets are in characters of the line.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub label: String,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// ("B", "PER") for "B-PER"; anything without a B-/I- prefix (such as "O") counts as inside.
pub fn split_tag(label: &str) -> (&str, &str) {
    if let Some(tag) = label.strip_prefix("B-") {
        ("B", tag)
    } else if let Some(tag) = label.strip_prefix("I-") {
        ("I", tag)
    } else {
        ("I", label)
    }
}

/// Index of the largest value; the first on ties, as numpy's argmax.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (index, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = index;
        }
    }
    best
}

/// Characters `start..end` of the line (offsets count Unicode scalar values, as Python's do).
fn char_slice(line: &str, start: usize, end: usize) -> String {
    line.chars().skip(start).take(end.saturating_sub(start)).collect()
}

/// Entities from (label, start, end) tokens in order, special tokens already removed.
pub fn group_entities(line: &str, tokens: &[(&str, usize, usize)]) -> Vec<Entity> {
    let mut entities = Vec::new();
    let mut group: Vec<(&str, usize, usize)> = Vec::new();
    let close = |group: &[(&str, usize, usize)], entities: &mut Vec<Entity>| {
        let first = group[0].0;
        let label = first.split_once('-').map_or(first, |(_, rest)| rest);
        if label != "O" {
            let (start, end) = (group[0].1, group[group.len() - 1].2);
            entities.push(Entity { label: label.to_string(), start, end, text: char_slice(line, start, end) });
        }
    };
    for &token in tokens {
        if let Some(&last) = group.last() {
            let (bi, tag) = split_tag(token.0);
            let (_, last_tag) = split_tag(last.0);
            if tag == last_tag && bi != "B" {
                group.push(token);
                continue;
            }
            close(&group, &mut entities);
        }
        group = vec![token];
    }
    if !group.is_empty() {
        close(&group, &mut entities);
    }
    entities
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_like_the_pipeline() {
        let line = "Barack Obama visited Paris";
        let tokens = [("B-PER", 0, 6), ("I-PER", 7, 12), ("O", 13, 20), ("B-LOC", 21, 26)];
        let found = group_entities(line, &tokens);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], Entity { label: "PER".into(), start: 0, end: 12, text: "Barack Obama".into() });
        assert_eq!(found[1].text, "Paris");
    }

    #[test]
    fn a_b_tag_starts_a_new_entity_and_an_i_tag_of_another_type_too() {
        let tokens = [("B-PER", 0, 1), ("B-PER", 2, 3), ("I-LOC", 4, 5), ("I-LOC", 6, 7)];
        let found = group_entities("a b c d", &tokens);
        let spans: Vec<_> = found.iter().map(|e| (e.label.as_str(), e.start, e.end)).collect();
        assert_eq!(spans, vec![("PER", 0, 1), ("PER", 2, 3), ("LOC", 4, 7)]);
    }

    #[test]
    fn labels_without_prefix_group_as_inside_and_o_is_dropped() {
        let tokens = [("PER", 0, 1), ("PER", 2, 3), ("O", 4, 5), ("O", 6, 7)];
        let found = group_entities("a b c d", &tokens);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].start, found[0].end), (0, 3));
    }

    #[test]
    fn offsets_are_characters_not_bytes() {
        let found = group_entities("Zürich ist schön", &[("B-LOC", 0, 6)]);
        assert_eq!(found[0].text, "Zürich");
    }

    #[test]
    fn argmax_takes_the_first_of_equal_values() {
        assert_eq!(argmax(&[0.5, 2.0, 2.0, -1.0]), 1);
    }
}
