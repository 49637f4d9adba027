//! A tolerant outline reader for block-style YAML, for linting.
//!
//! A YAML parser stops at the first error, and hand-written Patroni files usually have several
//! (the tutorial's has a missing space after `scope:`, then a block shifted by one space, then a
//! key indented between two levels). This reader works line by line on indentation, the way a
//! person reads the file: every key and list item becomes a node with its line and column, and
//! where the indentation is ambiguous it reports the problem and takes the shallower reading (a
//! key indented between two levels belongs to the outer one), so that the structure behind the
//! mistake can still be checked. Where the file is valid YAML in block style, the outline is the
//! same tree a YAML parser builds; flow collections (`[a, b]`, `{a: 1}`) and block scalars
//! (`|`, `>`) are kept as scalar text.

use super::text::column;
use super::{Rule, Sink};
use crate::diagnostic::Severity;

/// `key:value` without a space after the colon: YAML reads the whole line as one string.
pub const L102: Rule = Rule {
    code: "L102",
    severity: Severity::Error,
    summary: "`key:value` without a space after the colon is a plain string in YAML, not a key",
    hint: "put a space after the colon: `key: value`",
};

/// A tab in indentation (YAML forbids it).
pub const L103: Rule = Rule {
    code: "L103",
    severity: Severity::Error,
    summary: "a tab is used for indentation, which YAML forbids",
    hint: "indent with spaces only",
};

/// A line indented to a depth that matches no open level.
pub const L104: Rule = Rule {
    code: "L104",
    severity: Severity::Error,
    summary: "inconsistent indentation: the line is not aligned with its siblings",
    hint: "align the key with the other keys of the block it belongs to",
};

/// The same key twice in one mapping.
pub const L105: Rule = Rule {
    code: "L105",
    severity: Severity::Warning,
    summary: "a key appears twice in the same mapping; the YAML loader keeps only the last",
    hint: "remove or merge the duplicate",
};

/// A scalar value with its position (1-based line and column of its first character, inside
/// quotes if quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar {
    pub text: String,
    pub line: usize,
    pub col: usize,
    pub quoted: bool,
}

/// A mapping key or a sequence item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Key(String),
    Item,
}

/// One node of the outline.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub line: usize,
    pub col: usize,
    pub indent: usize,
    pub value: Option<Scalar>,
    pub children: Vec<usize>,
    pub parent: Option<usize>,
}

impl Node {
    pub fn key(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Key(k) => Some(k),
            NodeKind::Item => None,
        }
    }
}

/// The outline of a document: nodes in file order, and the top-level ones.
#[derive(Debug, Default)]
pub(crate) struct Outline {
    pub nodes: Vec<Node>,
    pub roots: Vec<usize>,
}

impl Outline {
    /// The key children of `parent` (None: the top level).
    pub fn children(&self, parent: Option<usize>) -> &[usize] {
        match parent {
            Some(p) => self
                .nodes
                .get(p)
                .map(|n| n.children.as_slice())
                .unwrap_or(&[]),
            None => &self.roots,
        }
    }

    /// The child of `parent` with key `key` (the last one, as YAML loaders keep it).
    pub fn child(&self, parent: Option<usize>, key: &str) -> Option<usize> {
        self.children(parent)
            .iter()
            .rev()
            .copied()
            .find(|&c| self.nodes.get(c).and_then(Node::key) == Some(key))
    }

    /// The node at a dotted path of keys from the top.
    pub fn get(&self, path: &[&str]) -> Option<usize> {
        let mut cur = None;
        for k in path {
            cur = Some(self.child(cur, k)?);
        }
        cur
    }

    /// The scalar values of the items of a sequence node.
    pub fn items(&self, node: usize) -> Vec<&Scalar> {
        self.children(Some(node))
            .iter()
            .filter_map(|&c| self.nodes.get(c))
            .filter(|n| n.kind == NodeKind::Item)
            .filter_map(|n| n.value.as_ref())
            .collect()
    }
}

/// Reads the outline of `content`, reporting tabs, missing spaces after colons, inconsistent
/// indentation and duplicate keys.
pub(crate) fn outline(content: &str, sink: &mut Sink) -> Outline {
    let mut r = Reader {
        o: Outline::default(),
        stack: Vec::new(),
        sink,
    };
    let mut block: Option<(usize, usize)> = None; // (node, indent of its key)
    let mut open: Option<(usize, Open)> = None; // multi-line quoted or flow value
    for (idx, raw) in content.lines().enumerate() {
        let line = idx + 1;
        let raw = raw.trim_end_matches('\r');
        if let Some((node, key_indent)) = block {
            let ind = raw.chars().take_while(|c| *c == ' ').count();
            if raw.trim().is_empty() || ind > key_indent {
                r.append(node, raw.trim());
                continue;
            }
            block = None;
        }
        if let Some((node, state)) = open.as_mut() {
            r.append(*node, raw.trim());
            if state.feed(raw) {
                open = None;
            }
            continue;
        }
        let lead: String = raw
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(pos) = lead.find('\t') {
            r.sink.emit(
                &L103,
                line,
                column(raw, pos),
                "tab character in indentation",
            );
        }
        let mut indent = lead.chars().count();
        let mut body = &raw[lead.len()..];
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if body.starts_with("---") || body.starts_with("...") || body.starts_with('%') {
            continue;
        }
        // Sequence items, possibly several on one line (`- - a`), then what follows them.
        let mut is_first = true;
        let mut parent_item: Option<usize> = None;
        while body == "-" || body.starts_with("- ") || body.starts_with("-\t") {
            let col = column(raw, raw.len() - body.len());
            let item = match parent_item {
                Some(p) => r.attach_under(p, NodeKind::Item, line, col, indent),
                None => r.place(NodeKind::Item, line, col, indent, true),
            };
            let Some(item) = item else { break };
            parent_item = Some(item);
            is_first = false;
            let rest = &body[1..];
            let spaces = rest.len() - rest.trim_start().len();
            indent += 1 + spaces;
            body = rest.trim_start();
            if body.is_empty() || body.starts_with('#') {
                body = "";
                break;
            }
        }
        if body.is_empty() {
            continue;
        }
        let body_col = column(raw, raw.len() - body.len());
        match split_key(body) {
            Some((key, rest_off)) => {
                let node = match parent_item {
                    Some(p) => {
                        r.attach_under(p, NodeKind::Key(key.clone()), line, body_col, indent)
                    }
                    None => r.place(NodeKind::Key(key.clone()), line, body_col, indent, false),
                };
                let Some(node) = node else { continue };
                let rest = &body[rest_off..];
                let trimmed = rest.trim_start();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let vcol = column(raw, raw.len() - trimmed.len());
                let (sc, state) = scalar(trimmed, line, vcol);
                let is_block = !sc.quoted && (sc.text.starts_with('|') || sc.text.starts_with('>'));
                if let Some(n) = r.o.nodes.get_mut(node) {
                    n.value = Some(sc);
                    if is_block {
                        if let Some(v) = n.value.as_mut() {
                            v.text.clear();
                        }
                        block = Some((node, n.indent));
                    }
                }
                if let Some(st) = state {
                    open = Some((node, st));
                }
            }
            None => {
                let (sc, state) = scalar(body, line, body_col);
                if let Some(item) = parent_item {
                    if let Some(n) = r.o.nodes.get_mut(item) {
                        n.value = Some(sc);
                    }
                    if let Some(st) = state {
                        open = Some((item, st));
                    }
                    continue;
                }
                let _ = is_first;
                // A plain line where a key is expected: either the continuation of a multi-line
                // value, or `key:value` without the space.
                if let Some(cont) = r.continuation_target(indent) {
                    r.append(cont, body.trim());
                    continue;
                }
                if let Some((key, value_off)) = missing_space_key(body) {
                    let value = &body[value_off..];
                    r.sink.emit_hint(
                        &L102,
                        line,
                        body_col + key.chars().count() + 1,
                        format!(
                            "`{}` has no space after the colon: YAML reads the line as the string \
                             \"{}\", not as the key `{key}`",
                            body.trim_end(),
                            body.trim_end()
                        ),
                        format!("write `{key}: {value}`"),
                    );
                    let node = r.place(NodeKind::Key(key.clone()), line, body_col, indent, false);
                    if let Some(n) = node.and_then(|n| r.o.nodes.get_mut(n)) {
                        n.value = Some(Scalar {
                            text: value.trim().to_string(),
                            line,
                            col: body_col + value_off,
                            quoted: false,
                        });
                    }
                }
            }
        }
    }
    r.o
}

struct Reader<'a> {
    o: Outline,
    /// Open nodes, outermost first: (indent, node).
    stack: Vec<(usize, usize)>,
    sink: &'a mut Sink,
}

impl Reader<'_> {
    fn append(&mut self, node: usize, text: &str) {
        if let Some(v) = self.o.nodes.get_mut(node).and_then(|n| n.value.as_mut()) {
            if !v.text.is_empty() {
                v.text.push('\n');
            }
            v.text.push_str(text);
        }
    }

    fn describe(&self, node: usize) -> String {
        match self.o.nodes.get(node) {
            Some(n) => match &n.kind {
                NodeKind::Key(k) => format!("`{k}` (line {})", n.line),
                NodeKind::Item => format!("the list item on line {}", n.line),
            },
            None => "the document".to_string(),
        }
    }

    /// The node whose scalar value a deeper plain line continues, if any.
    fn continuation_target(&self, indent: usize) -> Option<usize> {
        let &(ind, node) = self.stack.iter().rev().find(|(i, _)| *i < indent)?;
        let n = self.o.nodes.get(node)?;
        (ind < indent && n.value.is_some() && n.children.is_empty()).then_some(node)
    }

    fn push_node(
        &mut self,
        kind: NodeKind,
        line: usize,
        col: usize,
        indent: usize,
        parent: Option<usize>,
    ) -> usize {
        if let NodeKind::Key(k) = &kind {
            if let Some(prev) = self.o.child(parent, k) {
                let prev_line = self.o.nodes.get(prev).map(|n| n.line).unwrap_or(0);
                self.sink.emit(
                    &L105,
                    line,
                    col,
                    format!("`{k}` is already set on line {prev_line} in the same mapping"),
                );
            }
        }
        let id = self.o.nodes.len();
        self.o.nodes.push(Node {
            kind,
            line,
            col,
            indent,
            value: None,
            children: Vec::new(),
            parent,
        });
        match parent.and_then(|p| self.o.nodes.get_mut(p)) {
            Some(p) => p.children.push(id),
            None => self.o.roots.push(id),
        }
        self.stack.push((indent, id));
        id
    }

    /// Attaches a node directly under `parent` (the content after `- ` on the same line).
    fn attach_under(
        &mut self,
        parent: usize,
        kind: NodeKind,
        line: usize,
        col: usize,
        indent: usize,
    ) -> Option<usize> {
        Some(self.push_node(kind, line, col, indent, Some(parent)))
    }

    /// Places a new key or item found at `indent`, reporting indentation that fits no level.
    fn place(
        &mut self,
        kind: NodeKind,
        line: usize,
        col: usize,
        indent: usize,
        is_item: bool,
    ) -> Option<usize> {
        loop {
            while self.stack.last().is_some_and(|(i, _)| *i > indent) {
                self.stack.pop();
            }
            let Some(&(top_indent, top)) = self.stack.last() else {
                if let Some(first) = self.o.roots.first().and_then(|&r| self.o.nodes.get(r)) {
                    if first.indent != indent {
                        let first_indent = first.indent;
                        self.sink.emit(
                            &L104,
                            line,
                            col,
                            format!(
                                "this top-level entry is indented {indent} space(s), the first \
                                 one {first_indent}"
                            ),
                        );
                    }
                }
                return Some(self.push_node(kind, line, col, indent, None));
            };
            let top_node = self.o.nodes.get(top)?;
            let top_is_item = top_node.kind == NodeKind::Item;
            let top_parent = top_node.parent;
            if top_indent == indent {
                if is_item
                    && !top_is_item
                    && top_node.value.is_none()
                    && top_node.children.iter().all(|&c| {
                        self.o.nodes.get(c).map(|n| n.kind == NodeKind::Item) == Some(true)
                    })
                {
                    // A sequence at the same indentation as its key (`key:\n- a`).
                    return Some(self.push_node(kind, line, col, indent, Some(top)));
                }
                if !is_item && top_is_item {
                    // The compact sequence ended; the key is a sibling of the sequence's key.
                    self.stack.pop();
                    if self.stack.last().is_some_and(|(i, _)| *i == indent) {
                        continue;
                    }
                    return Some(self.push_node(kind, line, col, indent, top_parent));
                }
                self.stack.pop();
                return Some(self.push_node(kind, line, col, indent, top_parent));
            }
            // top_indent < indent
            let what = match &kind {
                NodeKind::Key(k) => format!("`{k}`"),
                NodeKind::Item => "this list item".to_string(),
            };
            if top_node.value.is_some() {
                self.sink.emit(
                    &L104,
                    line,
                    col,
                    format!(
                        "{what} is indented under {}, which already has a value",
                        self.describe(top)
                    ),
                );
                // The node stays open: later lines at its indentation are its siblings.
                return Some(self.push_node(kind, line, col, indent, top_parent));
            }
            if top_node.children.is_empty() {
                return Some(self.push_node(kind, line, col, indent, Some(top)));
            }
            let child_indent = top_node
                .children
                .first()
                .and_then(|&c| self.o.nodes.get(c))
                .map(|n| n.indent)
                .unwrap_or(0);
            let desc = self.describe(top);
            self.sink.emit_hint(
                &L104,
                line,
                col,
                format!(
                    "{what} is indented {indent} space(s): deeper than {desc}, indented \
                     {top_indent}, but shallower than its entries, indented {child_indent}; YAML \
                     rejects this"
                ),
                format!(
                    "read here as a sibling of {desc}; indent it by {top_indent} space(s) to keep \
                     it there, or by {child_indent} to put it inside"
                ),
            );
            // Keep `top` open too: a later line at its indentation is its sibling again.
            return Some(self.push_node(kind, line, col, indent, top_parent));
        }
    }
}

/// State of a value that continues on the next lines (an unclosed quote or flow collection).
#[derive(Debug)]
struct Open {
    quote: Option<char>,
    depth: i32,
}

impl Open {
    /// Consumes one more line; true when the value is complete.
    fn feed(&mut self, line: &str) -> bool {
        for c in line.chars() {
            match (self.quote, c) {
                (Some(q), c) if c == q => self.quote = None,
                (Some(_), _) => {}
                (None, '"') | (None, '\'') => self.quote = Some(c),
                (None, '[') | (None, '{') => self.depth += 1,
                (None, ']') | (None, '}') => self.depth -= 1,
                _ => {}
            }
        }
        self.quote.is_none() && self.depth <= 0
    }
}

/// Splits `key: rest` (or `key:` at the end), honouring quoted keys. Returns the key and the byte
/// offset of what follows the colon.
fn split_key(body: &str) -> Option<(String, usize)> {
    let first = body.chars().next()?;
    if first == '[' || first == '{' || first == '|' || first == '>' || first == '&' || first == '*'
    {
        return None;
    }
    if first == '"' || first == '\'' {
        let close = body[1..].find(first)? + 1;
        let after = &body[close + 1..];
        let t = after.trim_start();
        if let Some(rest) = t.strip_prefix(':') {
            if rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t') {
                let off = body.len() - rest.len();
                return Some((body[1..close].to_string(), off));
            }
        }
        return None;
    }
    let bytes = body.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            return None;
        }
        if b == b':' {
            let next = bytes.get(i + 1);
            if next.is_none() || matches!(next, Some(b' ') | Some(b'\t')) {
                return Some((body[..i].trim_end().to_string(), i + 1));
            }
        }
    }
    None
}

/// `key:value` with a plausible key name and no space, and not a URL.
fn missing_space_key(body: &str) -> Option<(String, usize)> {
    let colon = body.find(':')?;
    let key = &body[..colon];
    let value = &body[colon + 1..];
    let key_ok = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !key_ok || value.is_empty() || value.starts_with("//") || value.starts_with(' ') {
        return None;
    }
    Some((key.to_string(), colon + 1))
}

/// Reads a scalar starting at `text` (column `col`), unquoting and dropping a trailing comment.
/// Returns the open state when a quote or flow collection continues on the next line.
fn scalar(text: &str, line: usize, col: usize) -> (Scalar, Option<Open>) {
    let first = text.chars().next().unwrap_or(' ');
    if first == '"' || first == '\'' {
        let mut out = String::new();
        let mut chars = text[1..].chars().peekable();
        let mut closed = false;
        while let Some(c) = chars.next() {
            if c == first {
                if first == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                closed = true;
                break;
            }
            if first == '"' && c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(o) => out.push(o),
                    None => {}
                }
                continue;
            }
            out.push(c);
        }
        let sc = Scalar {
            text: out,
            line,
            col: col + 1,
            quoted: true,
        };
        let open = (!closed).then_some(Open {
            quote: Some(first),
            depth: 0,
        });
        return (sc, open);
    }
    let mut end = text.len();
    let bytes = text.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] == b'#' && matches!(bytes[i - 1], b' ' | b'\t') {
            end = i;
            break;
        }
    }
    let t = text[..end].trim_end();
    let mut open = None;
    if first == '[' || first == '{' {
        let mut st = Open {
            quote: None,
            depth: 0,
        };
        if !st.feed(t) {
            open = Some(st);
        }
    }
    (
        Scalar {
            text: t.to_string(),
            line,
            col,
            quoted: false,
        },
        open,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Outline, Vec<String>) {
        let mut s = Sink::new("f.yml");
        let o = outline(text, &mut s);
        let d = s.out.iter().map(|d| d.to_string()).collect();
        (o, d)
    }

    #[test]
    fn valid_block_yaml_reads_as_a_tree() {
        let (o, d) = read(
            "a: 1\nb:\n  c: 'x'  # note\n  d:\n  - p\n  - q: 2\n    r: 3\ne: |\n  text\n  more\nf: [1,\n  2]\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let c = o.get(&["b", "c"]).unwrap();
        assert_eq!(o.nodes[c].value.as_ref().unwrap().text, "x");
        let dnode = o.get(&["b", "d"]).unwrap();
        assert_eq!(o.items(dnode).len(), 1);
        assert_eq!(o.nodes[dnode].children.len(), 2);
        let item = o.nodes[dnode].children[1];
        assert!(o.child(Some(item), "r").is_some());
        assert_eq!(
            o.nodes[o.get(&["e"]).unwrap()].value.as_ref().unwrap().text,
            "text\nmore"
        );
        assert!(o.get(&["f"]).is_some());
        assert_eq!(o.roots.len(), 4);
    }

    #[test]
    fn problems_are_reported_and_recovered() {
        let (o, d) = read("scope:x\nr:\n  a: 1\n b: 2\n\tc: 3\nr:\n  a: 2\n");
        assert!(d[0].contains("L102") && d[0].contains(":1:7"), "{d:?}");
        assert!(o.get(&["scope"]).is_some());
        assert!(
            d.iter().any(|x| x.contains("L104") && x.contains(":4:2")),
            "{d:?}"
        );
        assert!(o.get(&["b"]).is_some(), "snapped to the top level");
        assert!(d.iter().any(|x| x.contains("L103")), "{d:?}");
        assert!(
            d.iter().any(|x| x.contains("L105") && x.contains(":6:1")),
            "{d:?}"
        );
    }
}
