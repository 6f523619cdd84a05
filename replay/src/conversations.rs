//! The YAML format of recorded conversations (the upstream SDK snapshots'
//! format): `models`, optional `errors`, and `conversations` of normalised
//! chat messages.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::normalize;
use crate::ReplayError;

/// One chat message in normalised form; equality of these decides matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCall>,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    pub messages: Vec<Message>,
}

/// A canned HTTP error for a request whose messages equal `messages` exactly.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEntry {
    #[serde(default)]
    pub model: Option<String>,
    pub status: u16,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
    #[serde(default)]
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Deserialize)]
struct SnapshotFile {
    #[serde(default)]
    models: Vec<String>,
    #[serde(default)]
    errors: Vec<ErrorEntry>,
    #[serde(default)]
    conversations: Vec<Conversation>,
}

/// A loaded conversation with where it came from (for diagnostics).
#[derive(Debug, Clone)]
pub struct Stored {
    pub source: String,
    pub index: usize,
    pub messages: Vec<Message>,
}

/// Everything loaded from the given files and folders.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub models: Vec<String>,
    pub errors: Vec<ErrorEntry>,
    pub conversations: Vec<Stored>,
}

impl Library {
    /// Loads YAML files, and every `*.yaml`/`*.yml` below directories (sorted, so
    /// "first match wins" is deterministic).
    pub fn load(paths: &[PathBuf]) -> Result<Library, ReplayError> {
        let mut files = Vec::new();
        for p in paths {
            collect(p, &mut files)?;
        }
        let mut lib = Library::default();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| ReplayError::new(format!("cannot read {}: {e}", file.display())))?;
            let snap: SnapshotFile = serde_yaml_ng::from_str(&text).map_err(|e| {
                ReplayError::new(format!(
                    "{}: invalid conversation YAML: {e}",
                    file.display()
                ))
            })?;
            for m in snap.models {
                if !lib.models.contains(&m) {
                    lib.models.push(m);
                }
            }
            lib.errors.extend(snap.errors.into_iter().map(|mut e| {
                normalize::stored_messages(&mut e.messages);
                e
            }));
            let source = file.display().to_string();
            for (index, mut c) in snap.conversations.into_iter().enumerate() {
                normalize::stored_messages(&mut c.messages);
                lib.conversations.push(Stored {
                    source: source.clone(),
                    index,
                    messages: c.messages,
                });
            }
        }
        Ok(lib)
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), ReplayError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ReplayError::new(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| ReplayError::new(format!("cannot list {}: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect(&entry, out)?;
        } else if entry.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(entry);
        }
    }
    Ok(())
}
