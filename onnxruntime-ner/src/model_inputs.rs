//! What a model directory says about the inputs the binary builds, by the rules of
//! scripts/nerlib/model_inputs.py: the truncation limit (the tokenizer's own, capped by the model's
//! position table, which families in positions.json number after the padding index) and the pad
//! token (the tokenizer's, else config.json's pad_token_id).

use std::path::Path;

use serde_json::Value;

/// The same list the Python methods read, compiled in.
const POSITIONS: &str = include_str!("../../scripts/nerlib/positions.json");
/// transformers writes int(1e30) when a tokenizer names no limit of its own.
const NO_LIMIT: u64 = 1_000_000;

pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))
}

fn position_offset_families() -> Vec<String> {
    let positions: Value = serde_json::from_str(POSITIONS).expect("positions.json is valid JSON");
    positions["position_offset_families"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

pub fn position_capacity(config: &Value) -> Option<u64> {
    let positions = config["max_position_embeddings"].as_u64()?;
    let family = config["model_type"].as_str().unwrap_or_default();
    if position_offset_families().iter().any(|f| f == family) {
        Some(positions.saturating_sub(config["pad_token_id"].as_u64().unwrap_or(1) + 1))
    } else {
        Some(positions)
    }
}

pub fn truncation_limit(config: &Value, tokenizer_config: &Value) -> Option<usize> {
    let capacity = position_capacity(config)?;
    let limit = match tokenizer_config["model_max_length"].as_u64() {
        Some(own) if own > 0 && own < NO_LIMIT => own.min(capacity),
        _ => capacity,
    };
    Some(limit as usize)
}

/// The pad token as tokenizer_config.json spells it: a string, or {"content": ...}.
pub fn pad_token(tokenizer_config: &Value) -> Option<String> {
    let token = &tokenizer_config["pad_token"];
    token.as_str().or_else(|| token["content"].as_str()).map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roberta_families_lose_the_padding_offset_and_the_tokenizer_caps_the_rest() {
        let roberta = json!({"model_type": "xlm-roberta", "max_position_embeddings": 514, "pad_token_id": 1});
        assert_eq!(
            truncation_limit(&roberta, &json!({"model_max_length": 1_000_000_000_000_000_000_000_000_000_000.0})),
            Some(512)
        );
        assert_eq!(truncation_limit(&roberta, &json!({"model_max_length": 128})), Some(128));
        let bert = json!({"model_type": "bert", "max_position_embeddings": 512});
        assert_eq!(truncation_limit(&bert, &json!({})), Some(512));
        assert_eq!(truncation_limit(&json!({}), &json!({})), None);
    }

    #[test]
    fn the_pad_token_is_read_in_both_spellings() {
        assert_eq!(pad_token(&json!({"pad_token": "<pad>"})), Some("<pad>".into()));
        assert_eq!(pad_token(&json!({"pad_token": {"content": "[PAD]"}})), Some("[PAD]".into()));
        assert_eq!(pad_token(&json!({})), None);
    }
}
