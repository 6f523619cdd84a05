//! Finding the stored reply for a normalised request: the first conversation
//! of which the request is a strict prefix and whose next message is the
//! assistant's.

use crate::conversations::{ErrorEntry, Library, Message, Stored};

/// What to answer a request with.
pub enum Outcome<'a> {
    /// The assistant messages that follow the matched prefix.
    Reply(Vec<&'a Message>),
    /// A canned HTTP error.
    Error(&'a ErrorEntry),
    /// The request equals a whole stored conversation with no reply recorded:
    /// hold the response open (the upstream harness's way to test timeouts).
    Hold,
    /// Nothing matched; the text explains the closest candidates.
    NoMatch(String),
}

pub fn find<'a>(lib: &'a Library, model: Option<&str>, request: &[Message]) -> Outcome<'a> {
    for e in &lib.errors {
        if e.model.as_deref().is_some_and(|m| Some(m) != model) {
            continue;
        }
        if e.messages == request {
            return Outcome::Error(e);
        }
    }
    for c in &lib.conversations {
        if let Some(reply) = reply_after_prefix(request, &c.messages) {
            return Outcome::Reply(reply);
        }
    }
    if lib.conversations.iter().any(|c| c.messages == request) {
        return Outcome::Hold;
    }
    Outcome::NoMatch(diagnose(lib, request))
}

fn reply_after_prefix<'a>(request: &[Message], stored: &'a [Message]) -> Option<Vec<&'a Message>> {
    if request.len() >= stored.len() || stored[..request.len()] != *request {
        return None;
    }
    let reply: Vec<&Message> = stored[request.len()..]
        .iter()
        .take_while(|m| m.role == "assistant")
        .collect();
    (!reply.is_empty()).then_some(reply)
}

/// Names the conversation that shares the longest prefix with the request and
/// shows the first message that differs.
fn diagnose(lib: &Library, request: &[Message]) -> String {
    let shared = |c: &Stored| {
        c.messages
            .iter()
            .zip(request)
            .take_while(|(a, b)| a == b)
            .count()
    };
    let Some(best) = lib.conversations.iter().max_by_key(|c| shared(c)) else {
        return format!(
            "no stored conversations; the request has {} messages",
            request.len()
        );
    };
    let n = shared(best);
    let show = |m: Option<&Message>| {
        m.map(|m| {
            let mut s = serde_json::to_string(m).unwrap_or_default();
            if s.len() > 400 {
                let cut = (0..=400)
                    .rev()
                    .find(|i| s.is_char_boundary(*i))
                    .unwrap_or(0);
                s.truncate(cut);
                s.push_str("...");
            }
            s
        })
        .unwrap_or_else(|| "(none)".into())
    };
    let mut out = format!(
        "no stored conversation matches this request ({} normalised messages). Closest: {} conversation {} ({} messages), first {} messages equal.",
        request.len(),
        best.source,
        best.index,
        best.messages.len(),
        n
    );
    if n < request.len() {
        out.push_str(&format!(
            "\n  request message {n}: {}\n  stored message {n}:  {}",
            show(request.get(n)),
            show(best.messages.get(n))
        ));
    } else {
        out.push_str(&format!(
            "\n  the request covers that conversation; the next stored message is {}",
            show(best.messages.get(n))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str) -> Message {
        Message {
            role: role.into(),
            content: Some(content.into()),
            refusal: None,
            tool_calls: None,
            tool_call_id: None,
        }
    }

    fn lib(convs: Vec<Vec<Message>>) -> Library {
        Library {
            models: vec![],
            errors: vec![],
            conversations: convs
                .into_iter()
                .enumerate()
                .map(|(index, messages)| Stored {
                    source: "test.yaml".into(),
                    index,
                    messages,
                })
                .collect(),
        }
    }

    #[test]
    fn replies_with_the_assistant_messages_after_the_prefix() {
        let l = lib(vec![vec![
            msg("system", "${system}"),
            msg("user", "hi"),
            msg("assistant", "a1"),
            msg("assistant", "a2"),
            msg("user", "more"),
            msg("assistant", "a3"),
        ]]);
        match find(&l, None, &[msg("system", "${system}"), msg("user", "hi")]) {
            Outcome::Reply(r) => assert_eq!(
                r.iter()
                    .map(|m| m.content.clone().unwrap())
                    .collect::<Vec<_>>(),
                ["a1", "a2"]
            ),
            _ => panic!("expected a reply"),
        }
        let second = [
            msg("system", "${system}"),
            msg("user", "hi"),
            msg("assistant", "a1"),
            msg("assistant", "a2"),
            msg("user", "more"),
        ];
        assert!(
            matches!(find(&l, None, &second), Outcome::Reply(r) if r[0].content.as_deref() == Some("a3"))
        );
    }

    #[test]
    fn the_next_message_must_be_the_assistants() {
        let l = lib(vec![vec![
            msg("user", "hi"),
            msg("user", "again"),
            msg("assistant", "x"),
        ]]);
        assert!(matches!(
            find(&l, None, &[msg("user", "hi")]),
            Outcome::NoMatch(_)
        ));
    }

    #[test]
    fn a_complete_conversation_without_reply_is_held() {
        let l = lib(vec![vec![msg("system", "${system}"), msg("user", "wait")]]);
        assert!(matches!(
            find(&l, None, &[msg("system", "${system}"), msg("user", "wait")]),
            Outcome::Hold
        ));
    }

    #[test]
    fn no_match_names_the_closest_conversation_and_the_difference() {
        let l = lib(vec![
            vec![msg("user", "other"), msg("assistant", "x")],
            vec![
                msg("system", "${system}"),
                msg("user", "hello"),
                msg("assistant", "y"),
            ],
        ]);
        match find(
            &l,
            None,
            &[msg("system", "${system}"), msg("user", "hullo")],
        ) {
            Outcome::NoMatch(why) => {
                assert!(why.contains("test.yaml conversation 1"), "{why}");
                assert!(why.contains("hullo") && why.contains("hello"), "{why}");
            }
            _ => panic!("expected no match"),
        }
    }
}
