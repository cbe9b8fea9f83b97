//! Predictions as JSON Lines (scripts/nerlib/output.py), and writing a result file so that it is
//! either complete or absent (scripts/nerlib/atomic.py).

use std::path::Path;

use crate::decode::Entity;

/// One line per input line: the entities as compact JSON with raw UTF-8, serde_json's default
/// and what Python's json.dumps(ensure_ascii=False, separators=(",", ":")) writes.
pub fn format_predictions(predictions: &[Vec<Entity>]) -> Result<String, String> {
    let mut text = String::new();
    for entities in predictions {
        text.push_str(&serde_json::to_string(entities).map_err(|e| e.to_string())?);
        text.push('\n');
    }
    Ok(text)
}

/// Written beside the target and renamed, so a killed run never leaves a partial file; a write
/// that fails (disk full) removes what it wrote.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        format!("{}: {e}", path.display())
    })
}
