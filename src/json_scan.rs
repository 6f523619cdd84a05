//! One-pass validation of JSON text (RFC 8259) without building values.
//!
//! Every session event is checked before its text reaches a host callback,
//! and a flood of them makes this the hottest loop of the library: it runs
//! over the bytes once, skips plain string runs eight bytes at a time, and
//! picks out one top-level string field (an event's `type`) on the way, so
//! the event needs no second scan. Differentially tested against serde_json.

use std::ops::Range;

/// Deepest nesting accepted (serde_json stops at 128; the CLI's events are
/// a few levels deep).
pub const MAX_DEPTH: usize = 1024;

/// `None` unless `text` is exactly one JSON value, with optional whitespace
/// around it, in valid UTF-8. Otherwise `Some(field)`, where `field` is the
/// range of the contents of the top-level object's string member named
/// `key`, when there is one and it has no escapes (its bytes are the string).
pub fn validate(text: &[u8], key: &[u8]) -> Option<Option<Range<usize>>> {
    // Bytes >= 0x80 are only valid inside strings, whose contents
    // `string_end` checks as UTF-8; everywhere else the grammar wants ASCII.
    let mut scan = Scan {
        b: text,
        stack: [0; MAX_DEPTH / 64],
        depth: 0,
        found: None,
    };
    scan.run(key)?;
    Some(scan.found)
}

struct Scan<'a> {
    b: &'a [u8],
    /// One bit per open container: 1 for an object, 0 for an array.
    stack: [u64; MAX_DEPTH / 64],
    depth: usize,
    found: Option<Range<usize>>,
}

impl Scan<'_> {
    fn run(&mut self, key: &[u8]) -> Option<()> {
        let b = self.b;
        let mut i = ws(b, 0);
        loop {
            // A value starts at `i`.
            match *b.get(i)? {
                b'{' => {
                    self.push(true)?;
                    i = ws(b, i + 1);
                    if b.get(i) == Some(&b'}') {
                        self.depth -= 1;
                        i += 1;
                    } else {
                        i = self.member_name(i, key)?;
                        continue;
                    }
                }
                b'[' => {
                    self.push(false)?;
                    i = ws(b, i + 1);
                    if b.get(i) == Some(&b']') {
                        self.depth -= 1;
                        i += 1;
                    } else {
                        continue;
                    }
                }
                b'"' => i = string_end(b, i)?,
                b't' => i = literal(b, i, b"true")?,
                b'f' => i = literal(b, i, b"false")?,
                b'n' => i = literal(b, i, b"null")?,
                b'-' | b'0'..=b'9' => i = number_end(b, i)?,
                _ => return None,
            }
            // After a value: close containers, or move to the next value.
            loop {
                i = ws(b, i);
                if self.depth == 0 {
                    return (i == b.len()).then_some(());
                }
                let in_object = self.top_is_object();
                match (*b.get(i)?, in_object) {
                    (b',', true) => {
                        i = self.member_name(ws(b, i + 1), key)?;
                        break;
                    }
                    (b',', false) => {
                        i = ws(b, i + 1);
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.depth -= 1;
                        i += 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// A member name and its colon at `i`; returns where the value starts,
    /// noting the value's range if this is `key` at the top level.
    fn member_name(&mut self, i: usize, key: &[u8]) -> Option<usize> {
        let b = self.b;
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let end = string_end(b, i)?;
        let colon = ws(b, end);
        if b.get(colon) != Some(&b':') {
            return None;
        }
        let value = ws(b, colon + 1);
        if self.depth == 1
            && self.found.is_none()
            && &b[i + 1..end - 1] == key
            && b.get(value) == Some(&b'"')
        {
            let value_end = string_end(b, value)?;
            let contents = value + 1..value_end - 1;
            if !b[contents.clone()].contains(&b'\\') {
                self.found = Some(contents);
            }
        }
        Some(value)
    }

    fn push(&mut self, object: bool) -> Option<()> {
        if self.depth == MAX_DEPTH {
            return None;
        }
        let (word, bit) = (self.depth / 64, self.depth % 64);
        if object {
            self.stack[word] |= 1 << bit;
        } else {
            self.stack[word] &= !(1 << bit);
        }
        self.depth += 1;
        Some(())
    }

    fn top_is_object(&self) -> bool {
        let top = self.depth - 1;
        self.stack[top / 64] & (1 << (top % 64)) != 0
    }
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b[i..].starts_with(word).then_some(i + word.len())
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` at `i`; the index after it.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if b[i] == b'-' {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i + 1),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

/// The string starting at `b[i] == '"'`: checks its escapes, that it has
/// no raw control characters and that it is UTF-8; the index after its
/// closing quote.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut j = i + 1;
    let mut non_ascii = 0u64;
    loop {
        // Eight bytes per step while none needs a look: the high bit is set
        // in each byte of `stop` that is a quote, a backslash or below 0x20
        // (exact for the lowest one, which is all that is used).
        while let Some(chunk) = b.get(j..j + 8) {
            let x = u64::from_le_bytes(chunk.try_into().unwrap());
            let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
            let stop = has_zero(x ^ (ONES * b'"' as u64))
                | has_zero(x ^ (ONES * b'\\' as u64))
                | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS);
            // Bytes past the stop may count too: that only costs an exact
            // check of the contents below.
            non_ascii |= x & HIGHS;
            if stop != 0 {
                j += stop.trailing_zeros() as usize / 8;
                break;
            }
            j += 8;
        }
        while let Some(&c) = b.get(j) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                break;
            }
            non_ascii |= (c & 0x80) as u64;
            j += 1;
        }
        match *b.get(j)? {
            b'"' => {
                // The rest of the text is checked as ASCII by the grammar.
                if non_ascii != 0 {
                    std::str::from_utf8(&b[i + 1..j]).ok()?;
                }
                return Some(j + 1);
            }
            b'\\' => match *b.get(j + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    let hex = b.get(j + 2..j + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    j += 6;
                }
                _ => return None,
            },
            // A raw control character.
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_accepts(text: &[u8]) -> bool {
        std::str::from_utf8(text)
            .is_ok_and(|s| serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok())
    }

    const SAMPLES: &[&str] = &[
        r#"{"id":"0f8c3a2e-1b7d-4c55-9e0a-3d2b1c4e5f60","timestamp":"2026-12-02T01:02:03.456Z","parentId":null,"ephemeral":true,"type":"assistant.message_delta","data":{"messageId":"a1","deltaContent":"0123456789012345678901234567890123456789"}}"#,
        r#"{"type":"tool.execution_complete","data":{"result":{"content":"line\n\ttab \"q\" \\ \/ \u00e9 \ud83d\ude00","n":[0,-1,2.5,-0.0e+10,1E-3,true,false,null,[],{}]}}}"#,
        r#" [ 1 , "two" , { "three" : [ 3 ] } ] "#,
        "{\"type\":\"caf\u{e9} \u{1F600}\",\"k\":\"\u{4e2d}\u{6587}\"}",
        r#""just a string""#,
        "-12.5e7",
        r#"{"a":{"type":"nested"},"type":"outer"}"#,
    ];

    #[test]
    fn accepts_what_serde_json_accepts_on_samples() {
        for s in SAMPLES {
            assert!(serde_accepts(s.as_bytes()), "sample must be valid: {s}");
            assert!(
                validate(s.as_bytes(), b"type").is_some(),
                "rejected valid JSON: {s}"
            );
        }
        for bad in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "01",
            "1.",
            ".5",
            "1e",
            "-",
            "+1",
            "tru",
            "nul",
            "[1 2]",
            "\"abc",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\u{1}b\"",
            "{} {}",
            "[\"\\\"]",
            "{\"a\":}",
            "[,1]",
            "\u{feff}{}",
        ] {
            assert!(
                !serde_accepts(bad.as_bytes()),
                "sample must be invalid: {bad:?}"
            );
            assert!(
                validate(bad.as_bytes(), b"type").is_none(),
                "accepted invalid JSON: {bad:?}"
            );
        }
        assert!(validate(b"\"\xff\"", b"type").is_none(), "invalid UTF-8");
    }

    #[test]
    fn finds_the_top_level_field_only() {
        let field = |s: &str| {
            validate(s.as_bytes(), b"type")
                .unwrap()
                .map(|r| s[r].to_string())
        };
        assert_eq!(
            field(SAMPLES[0]).as_deref(),
            Some("assistant.message_delta")
        );
        assert_eq!(field(SAMPLES[6]).as_deref(), Some("outer"));
        assert_eq!(field(r#"{ "type" : "" }"#).as_deref(), Some(""));
        assert_eq!(
            field(r#"{"type":"a\u002eb"}"#),
            None,
            "escaped: caller decodes"
        );
        assert_eq!(field(r#"{"type":5}"#), None);
        assert_eq!(field(r#"["type","x"]"#), None);
        assert_eq!(field(r#"{"types":"x"}"#), None);
    }

    #[test]
    fn depth_is_bounded_not_recursive() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(validate(deep(MAX_DEPTH).as_bytes(), b"type").is_some());
        assert!(validate(deep(MAX_DEPTH + 1).as_bytes(), b"type").is_none());
        assert!(validate("[".repeat(1 << 20).as_bytes(), b"type").is_none());
    }

    /// Random edits of valid documents: the verdict must match serde_json's
    /// on every one (nesting stays far below serde's limit of 128).
    #[test]
    fn agrees_with_serde_json_on_mutations() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        const BYTES: &[u8] = b"{}[]\":,\\ \t\n0123456789-+.eEtrufalsn\"\\u00ff\x01\x7f\xc3\xa9\xff";
        let mut checked = 0;
        for _ in 0..200_000 {
            let base = SAMPLES[(next() % SAMPLES.len() as u64) as usize].as_bytes();
            let mut doc = base.to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() % (doc.len() as u64 + 1)) as usize;
                let byte = BYTES[(next() % BYTES.len() as u64) as usize];
                match next() % 3 {
                    0 if at < doc.len() => doc[at] = byte,
                    1 if at < doc.len() => {
                        doc.remove(at);
                    }
                    _ => doc.insert(at, byte),
                }
            }
            let ours = validate(&doc, b"type").is_some();
            assert_eq!(
                ours,
                serde_accepts(&doc),
                "disagree on {:?}",
                String::from_utf8_lossy(&doc)
            );
            checked += ours as usize;
        }
        assert!(
            checked > 1000,
            "mutations should leave some documents valid ({checked})"
        );
    }
}
