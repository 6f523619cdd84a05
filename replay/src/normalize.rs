//! Turns a chat-completions request into the normalised messages stored in
//! conversation files, so recordings match across machines and runs: the
//! system prompt, timestamps, reminders, tool call ids, shell tool names and
//! the working directory are replaced by stable placeholders.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::conversations::{FunctionCall, Message, ToolCall};

pub const WORKDIR: &str = "${workdir}";

/// Shell tool names and their placeholders.
const SHELL_TOOLS: [(&str, &str); 3] = [
    ("bash", "${shell}"),
    ("read_bash", "${read_shell}"),
    ("write_bash", "${write_shell}"),
];

static USER_NOISE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"<current_datetime>.*?</current_datetime>", ""),
        (r"(?s)<reminder>.*?</reminder>", ""),
        (r"(?s)<system_reminder>.*?</system_reminder>", ""),
        (r"(?s)<agent_instructions>.*?</agent_instructions>", ""),
        (r"^\s*\[\[PLAN\]\]\s*", ""),
        // Notices CLI versions differ in sending (recordings hold some that
        // 1.0.102 no longer sends, and 1.0.102 sends some they lack).
        (r"(?s)<tools_changed_notice>.*?</tools_changed_notice>", ""),
        (r"(?s)<mode_changed_notice>.*?</mode_changed_notice>", ""),
        (
            r"(?s)Please create a detailed summary of the conversation so far\. The history is being compacted.*",
            "$${compaction_prompt}",
        ),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("static regex"), r))
    .collect()
});

static AVAILABLE_TOOLS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(Tool '[^']+' does not exist\.) Available tools that can be called are [^.]*\.")
        .unwrap()
});
static LARGE_OUTPUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+-copilot-tool-output-[a-z0-9.]+").unwrap());
static SHELL_EXIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<shellId:\s*[^>\r\n]+?\s+completed with exit code (-?\d+)>").unwrap()
});
static MANY_NEWLINES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\n{5,}").unwrap());

/// Tool results the CLI itself writes, whose wording changed between CLI
/// versions: each newer form is rewritten to the one the recordings hold.
static CLI_WORDING: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // A denied permission that nobody could answer (1.0.102 adds a sentence).
        (
            r"(Permission denied and could not request permission from user)\. Copilot needed the user's approval and no one could answer\.",
            "$1",
        ),
        // A tool call orphaned by an interrupted turn.
        (
            r"(?s)^Tool execution was interrupted before a result was recorded\..*",
            "The execution of this tool, or a previous tool was interrupted.",
        ),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("static regex"), r))
    .collect()
});

/// Strips what the CLI adds to user text (timestamps, reminders, plan markers).
pub fn user_text(content: &str) -> String {
    let mut s = content.to_string();
    for (re, rep) in USER_NOISE.iter() {
        s = re.replace_all(&s, *rep).into_owned();
    }
    s.trim().to_string()
}

/// Normalises a tool result: a success envelope is unwrapped to its text, other
/// JSON is key-sorted, plain text is trimmed.
pub fn tool_result(content: &str) -> String {
    match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(o))
            if o.get("resultType").and_then(Value::as_str) == Some("success")
                && o.contains_key("textResultForLlm") =>
        {
            match &o["textResultForLlm"] {
                Value::String(s) => s.clone(),
                other => sorted(other).to_string(),
            }
        }
        Ok(v) => sorted(&v).to_string(),
        Err(_) => content.trim().to_string(),
    }
}

/// `view` output: CLI versions differ in prefixing each line with "N. ",
/// counting from the first line shown (a line range starts past 1); an empty
/// line is then a bare "N.".
fn strip_line_numbers(content: &str) -> String {
    let lines: Vec<&str> = content.lines().collect();
    let first = lines
        .first()
        .and_then(|l| l.split_once('.'))
        .and_then(|(n, _)| n.parse::<usize>().ok());
    let Some(first) = first else {
        return content.trim_end().to_string();
    };
    fn strip(n: usize, l: &str) -> Option<&str> {
        l.strip_prefix(&format!("{n}. "))
            .or_else(|| (l.trim_end() == format!("{n}.")).then_some(""))
    }
    if !lines
        .iter()
        .enumerate()
        .all(|(i, l)| strip(first + i, l).is_some() || l.trim().is_empty())
    {
        return content.trim_end().to_string();
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| strip(first + i, l).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// Tool-result rewrites for text that varies by machine or runtime version.
fn tool_result_variants(tool: &str, content: &str) -> String {
    let numbered;
    let content = if tool == "view" {
        numbered = strip_line_numbers(content);
        numbered.as_str()
    } else {
        content
    };
    let mut s = AVAILABLE_TOOLS.replace_all(content, "$1").into_owned();
    for (re, rep) in CLI_WORDING.iter() {
        s = re.replace_all(&s, *rep).into_owned();
    }
    let s = LARGE_OUTPUT.replace_all(&s, "PLACEHOLDER-copilot-tool-output-PLACEHOLDER");
    SHELL_EXIT
        .replace_all(&s, "<exited with exit code $1>")
        .into_owned()
}

/// The value with object keys sorted at every level.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn tool_arguments(args: &str) -> String {
    if args.trim().is_empty() {
        return "{}".into();
    }
    match serde_json::from_str::<Value>(args) {
        Ok(v) => v.to_string(),
        Err(_) => args.to_string(),
    }
}

/// Applies the rules that also hold for stored files: CLI additions stripped
/// from user text, consecutive tool results sorted by id, tool-result variants folded.
pub fn stored_messages(messages: &mut Vec<Message>) {
    for m in messages.iter_mut().filter(|m| m.role == "user") {
        if let Some(c) = &m.content {
            m.content = Some(user_text(c));
        }
    }
    merge_adjacent_user_messages(messages);
    fold_tool_result_variants(messages);
    sort_tool_runs(messages);
}

/// Requests have adjacent user messages merged (the CLI may split one prompt
/// in two); recordings made through another provider may not, so merge them too.
fn merge_adjacent_user_messages(messages: &mut Vec<Message>) {
    let mut merged: Vec<Message> = Vec::with_capacity(messages.len());
    for m in messages.drain(..) {
        if let Some(prev) = merged.last_mut() {
            if prev.role == "user" && m.role == "user" {
                let joined = match (prev.content.take(), m.content) {
                    (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {
                        Some(format!("{a}\n\n\n{b}"))
                    }
                    (a, b) => a.filter(|s| !s.is_empty()).or(b),
                };
                prev.content = joined;
                continue;
            }
        }
        merged.push(m);
    }
    *messages = merged;
}

/// Applies `tool_result_variants` to every tool result, knowing which tool made it.
fn fold_tool_result_variants(messages: &mut [Message]) {
    let mut names: HashMap<String, String> = HashMap::new();
    for m in messages.iter_mut() {
        for tc in m.tool_calls.iter().flatten() {
            if let Some(f) = &tc.function {
                names.insert(tc.id.clone(), f.name.clone());
            }
        }
        if m.role == "tool" {
            let tool = m
                .tool_call_id
                .as_ref()
                .and_then(|id| names.get(id))
                .map(String::as_str);
            if let Some(c) = &m.content {
                m.content = Some(tool_result_variants(tool.unwrap_or(""), c));
            }
        }
    }
}

fn sort_tool_runs(messages: &mut [Message]) {
    let mut start = 0;
    while start < messages.len() {
        if messages[start].role != "tool" {
            start += 1;
            continue;
        }
        let mut end = start + 1;
        while end < messages.len() && messages[end].role == "tool" {
            end += 1;
        }
        messages[start..end]
            .sort_by(|a, b| compare_ids(a.tool_call_id.as_deref(), b.tool_call_id.as_deref()));
        start = end;
    }
}

fn compare_ids(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    let num = |s: Option<&str>| {
        s.and_then(|s| s.strip_prefix("toolcall_"))
            .and_then(|n| n.parse::<u64>().ok())
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.unwrap_or("").cmp(b.unwrap_or("")),
    }
}

/// A request's messages, normalised.
pub struct Normalized {
    pub messages: Vec<Message>,
}

/// Normalises the `messages` of a chat-completions request body.
pub fn request(body: &Value, workdir: Option<&str>) -> Normalized {
    let raw = body
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut messages: Vec<Message> = Vec::new();
    for m in &raw {
        let role = m
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let content = message_content(&role, m.get("content"));
        // Adjacent user messages are merged, as the CLI may split one prompt.
        if role == "user" {
            if let Some(prev) = messages.last_mut() {
                if prev.role == "user" {
                    if let (Some(p), Some(c)) = (&prev.content, &content) {
                        prev.content = Some(format!("{}\n\n\n{}", p.trim_end(), c.trim_start()));
                        continue;
                    }
                }
            }
        }
        let tool_calls = m.get("tool_calls").and_then(Value::as_array).map(|calls| {
            calls
                .iter()
                .map(|tc| ToolCall {
                    id: tc
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    kind: tc
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("function")
                        .to_string(),
                    function: tc.get("function").map(|f| FunctionCall {
                        name: f
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        arguments: tool_arguments(
                            f.get("arguments").and_then(Value::as_str).unwrap_or(""),
                        ),
                    }),
                })
                .collect::<Vec<_>>()
        });
        messages.push(Message {
            role,
            content,
            refusal: None,
            tool_calls: tool_calls.filter(|c| !c.is_empty()),
            tool_call_id: m
                .get("tool_call_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    for m in messages.iter_mut() {
        if m.role == "user" {
            if let Some(c) = &m.content {
                m.content = Some(
                    MANY_NEWLINES
                        .replace_all(&user_text(c), "\n\n\n")
                        .into_owned(),
                );
            }
        }
    }
    rename_tool_calls(&mut messages);
    sort_tool_runs(&mut messages);
    if let Some(dir) = workdir {
        replace_workdir(&mut messages, dir);
    }
    fold_tool_result_variants(&mut messages);
    Normalized { messages }
}

fn message_content(role: &str, content: Option<&Value>) -> Option<String> {
    let text = match (role, content) {
        ("system", _) => Some("${system}".to_string()),
        ("user", Some(Value::String(s))) => Some(user_text(s)),
        ("user", Some(Value::Array(parts))) => {
            let texts: Vec<String> = parts
                .iter()
                .filter_map(|p| match p.get("type").and_then(Value::as_str) {
                    Some("text") => p.get("text").and_then(Value::as_str).map(user_text),
                    Some("image_url") => Some("[image]".to_string()),
                    _ => None,
                })
                .collect();
            Some(texts.join("\n"))
        }
        ("tool", Some(Value::String(s))) => Some(tool_result(s)),
        (_, Some(Value::String(s))) => Some(s.clone()),
        _ => None,
    };
    text.filter(|t| !t.is_empty())
}

/// Tool call ids become `toolcall_N` in order of first appearance; shell tools
/// become placeholders.
fn rename_tool_calls(messages: &mut [Message]) {
    let mut ids: HashMap<String, String> = HashMap::new();
    for m in messages.iter_mut() {
        for tc in m.tool_calls.iter_mut().flatten() {
            let next = format!("toolcall_{}", ids.len());
            tc.id = ids.entry(tc.id.clone()).or_insert(next).clone();
            if let Some(f) = &mut tc.function {
                if let Some((_, placeholder)) = SHELL_TOOLS.iter().find(|(n, _)| *n == f.name) {
                    f.name = placeholder.to_string();
                }
            }
        }
        if m.role == "tool" {
            if let Some(id) = &m.tool_call_id {
                if let Some(mapped) = ids.get(id) {
                    m.tool_call_id = Some(mapped.clone());
                }
            }
        }
    }
}

fn replace_workdir(messages: &mut [Message], dir: &str) {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        return;
    }
    for m in messages.iter_mut() {
        if let Some(c) = &mut m.content {
            *c = c.replace(dir, WORKDIR);
        }
        for tc in m.tool_calls.iter_mut().flatten() {
            if let Some(f) = &mut tc.function {
                f.arguments = f.arguments.replace(dir, WORKDIR);
            }
        }
    }
}

/// The real tool name for a placeholder (`${shell}` -> `bash`).
pub fn expand_tool_name(name: &str) -> String {
    SHELL_TOOLS
        .iter()
        .find(|(_, p)| *p == name)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_cli_additions_from_user_text() {
        let t = user_text("<current_datetime>2026-01-01T00:00</current_datetime>\n<reminder>\nx\n</reminder>  Hello ");
        assert_eq!(t, "Hello");
        assert_eq!(user_text("[[PLAN]] do it"), "do it");
        assert_eq!(
            user_text("<tools_changed_notice>\nTools gone: x\n</tools_changed_notice>\n\n\nUse y"),
            "Use y"
        );
    }

    #[test]
    fn unwraps_success_results_and_sorts_json() {
        assert_eq!(
            tool_result(r#"{"resultType":"success","textResultForLlm":"ok"}"#),
            "ok"
        );
        assert_eq!(tool_result(r#"{"b":1,"a":2}"#), r#"{"a":2,"b":1}"#);
        assert_eq!(tool_result("  plain  "), "plain");
    }

    #[test]
    fn view_results_match_with_or_without_line_numbers() {
        assert_eq!(
            tool_result_variants("view", "1. Hello\n2. World"),
            "Hello\nWorld"
        );
        assert_eq!(
            tool_result_variants("view", "Hello\nWorld\n"),
            "Hello\nWorld"
        );
        assert_eq!(tool_result_variants("other", "1. Hello"), "1. Hello");
        // A line range numbers from its first line; an empty line is a bare "N.".
        assert_eq!(tool_result_variants("view", "2. b\n3. c\n4."), "b\nc");
        assert_eq!(tool_result_variants("view", "b\nc"), "b\nc");
    }

    #[test]
    fn cli_authored_results_match_across_cli_versions() {
        let denied = "Permission denied and could not request permission from user";
        assert_eq!(
            tool_result_variants(
                "bash",
                &format!("{denied}. Copilot needed the user's approval and no one could answer.")
            ),
            denied
        );
        let interrupted = "The execution of this tool, or a previous tool was interrupted.";
        assert_eq!(
            tool_result_variants(
                "lookup",
                "Tool execution was interrupted before a result was recorded. Its effects may be absent."
            ),
            interrupted
        );
        assert_eq!(tool_result_variants("lookup", interrupted), interrupted);
    }

    #[test]
    fn normalises_a_request() {
        let body = json!({"messages": [
            {"role": "system", "content": "You are..."},
            {"role": "user", "content": "<current_datetime>now</current_datetime>First"},
            {"role": "user", "content": "Second"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_zz", "type": "function", "function": {"name": "bash", "arguments": "{ \"command\": \"ls /home/me/work\" }"}},
                {"id": "call_aa", "type": "function", "function": {"name": "view", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_aa", "content": "B"},
            {"role": "tool", "tool_call_id": "call_zz", "content": "A"}
        ]});
        let n = request(&body, Some("/home/me/work"));
        let m = &n.messages;
        assert_eq!(m[0].content.as_deref(), Some("${system}"));
        assert_eq!(m[1].content.as_deref(), Some("First\n\n\nSecond"));
        let calls = m[2].tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].id, "toolcall_0");
        assert_eq!(calls[0].function.as_ref().unwrap().name, "${shell}");
        assert_eq!(
            calls[0].function.as_ref().unwrap().arguments,
            r#"{"command":"ls ${workdir}"}"#
        );
        assert_eq!(calls[1].function.as_ref().unwrap().arguments, "{}");
        // Tool results sorted by normalised id.
        assert_eq!(m[3].tool_call_id.as_deref(), Some("toolcall_0"));
        assert_eq!(m[3].content.as_deref(), Some("A"));
        assert_eq!(m[4].tool_call_id.as_deref(), Some("toolcall_1"));
        assert_eq!(expand_tool_name("${shell}"), "bash");
    }
}
