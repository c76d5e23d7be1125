//! How much one YAML file may cost to load, and the meter that holds a document to it.
//!
//! YAML lets a node be named (`&name`) and repeated further down (`*name`). The parser hands
//! over each repetition, an *alias*, as one small event, but the tree we build holds a full copy
//! of the named node. Names can nest: nine copies of a list of nine copies of a list of nine
//! ... is the "billion laughs" or *alias bomb*, a few hundred bytes of text that stand for
//! hundreds of millions of nodes. Copying them blindly takes every byte of memory the machine has.
//!
//! So the walker (`builder`) keeps a [`Meter`] per document. It knows the size of every named
//! node (counted once, when the node was built), and refuses an alias *before* copying it when
//! the copy would pass a limit. The cost of a bomb is then the limit, not its expansion.
//!
//! The limits ([`LIMITS`]) are far above what a real Istio file needs and far below what hurts:
//! - the file is at most 8 MiB: a VirtualService with 10,000 routes is 1.6 to 1.7 MB;
//! - collections nest at most 64 deep: Istio's deepest fields are about 10 levels down;
//! - a document has at most 1,000,000 nodes once aliases are copied: the 10,000-route file has
//!   about 110,000;
//! - aliases copy at most 50,000 nodes and 512 KiB of text (keys and scalars) per document:
//!   enough to repeat a small block in every route of a large file, while a bomb stops at a
//!   few MB.

/// The most one file, or one document in it, may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of YAML text in one file.
    pub file_bytes: usize,
    /// Collections (sequences and mappings) nested inside each other.
    pub depth: usize,
    /// Nodes (scalars and collections) in one document, counting the copies aliases make.
    pub nodes: usize,
    /// Nodes copied by aliases in one document.
    pub alias_nodes: usize,
    /// Bytes of text (keys and scalars) copied by aliases in one document.
    pub alias_bytes: usize,
}

/// The limits every file is loaded with.
pub const LIMITS: Limits = Limits {
    file_bytes: 8 * 1024 * 1024,
    depth: 64,
    nodes: 1_000_000,
    alias_nodes: 50_000,
    alias_bytes: 512 * 1024,
};

impl Default for Limits {
    fn default() -> Self {
        LIMITS
    }
}

/// The size of a node and everything under it: what an alias to it would copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    pub nodes: usize,
    /// Bytes of scalar and key text.
    pub bytes: usize,
}

/// What one document has cost so far. Every node is counted as it is built, and every alias
/// with the size of what it copies, so that a collection's size is the difference between the
/// meter's reading at its end and at its start.
#[derive(Debug)]
pub struct Meter {
    limits: Limits,
    built: Size,
    copied: Size,
}

impl Default for Meter {
    fn default() -> Self {
        Meter::new(LIMITS)
    }
}

impl Meter {
    pub fn new(limits: Limits) -> Self {
        Meter {
            limits,
            built: Size::default(),
            copied: Size::default(),
        }
    }

    fn limits(&self) -> Limits {
        self.limits
    }

    /// Everything built so far in this document, copies included.
    pub fn reading(&self) -> Size {
        self.built
    }

    /// A collection opens `depth` levels down (1 for the document's top collection).
    pub fn check_depth(&self, depth: usize) -> Result<(), String> {
        let limit = self.limits().depth;
        if depth > limit {
            return Err(too_deep(limit));
        }
        Ok(())
    }

    /// One node written in the text: a collection, or a scalar of `bytes` bytes. A key counts
    /// its bytes only: it is part of its mapping entry, not a node of its own.
    pub fn node(&mut self, nodes: usize, bytes: usize) -> Result<(), String> {
        self.built.nodes += nodes;
        self.built.bytes += bytes;
        let limit = self.limits().nodes;
        if self.built.nodes > limit {
            return Err(format!(
                "the document grows past the limit of {limit} nodes (aliases' copies included)"
            ));
        }
        Ok(())
    }

    /// An alias `*name` about to copy a node of `size`: refused, before anything is copied,
    /// when the copy would take the document past a limit.
    pub fn alias(&mut self, name: &str, size: Size) -> Result<(), String> {
        let limits = self.limits();
        let nodes = self.copied.nodes.saturating_add(size.nodes);
        let bytes = self.copied.bytes.saturating_add(size.bytes);
        if nodes > limits.alias_nodes {
            return Err(format!(
                "alias *{name} copies {} nodes, which takes the document past the limit of {} \
                 nodes copied by aliases (nested aliases like these are an alias bomb)",
                size.nodes, limits.alias_nodes
            ));
        }
        if bytes > limits.alias_bytes {
            return Err(format!(
                "alias *{name} copies {} bytes of text, which takes the document past the limit \
                 of {} bytes copied by aliases",
                size.bytes, limits.alias_bytes
            ));
        }
        self.copied = Size { nodes, bytes };
        self.node(size.nodes, size.bytes)
    }
}

/// The reason a collection nested deeper than `limit` is refused.
pub fn too_deep(limit: usize) -> String {
    format!("this collection is nested deeper than the limit of {limit} levels")
}

/// The reason a file of `bytes` bytes is refused, if it is.
pub fn file_size(bytes: usize, limits: Limits) -> Result<(), String> {
    if bytes > limits.file_bytes {
        return Err(format!(
            "the file is {bytes} bytes, past the limit of {} bytes",
            limits.file_bytes
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_is_refused_before_it_passes_the_limit() {
        let mut meter = Meter::new(Limits {
            alias_nodes: 10,
            ..LIMITS
        });
        let size = Size { nodes: 4, bytes: 4 };
        meter.alias("a", size).expect("4 of 10");
        meter.alias("a", size).expect("8 of 10");
        let refused = meter.alias("a", size).expect_err("12 of 10");
        assert!(refused.contains("alias *a copies 4 nodes"), "{refused}");
        assert!(
            refused.contains("limit of 10 nodes copied by aliases"),
            "{refused}"
        );
        assert_eq!(meter.reading(), Size { nodes: 8, bytes: 8 });
    }

    #[test]
    fn copied_text_has_its_own_limit() {
        let mut meter = Meter::new(Limits {
            alias_bytes: 100,
            ..LIMITS
        });
        let long = Size {
            nodes: 1,
            bytes: 60,
        };
        meter.alias("long", long).expect("60 of 100");
        let refused = meter.alias("long", long).expect_err("120 of 100");
        assert!(refused.contains("limit of 100 bytes copied"), "{refused}");
    }

    #[test]
    fn depth_and_file_size() {
        let meter = Meter::new(LIMITS);
        assert!(meter.check_depth(LIMITS.depth).is_ok());
        assert!(meter.check_depth(LIMITS.depth + 1).is_err());
        assert!(file_size(LIMITS.file_bytes, LIMITS).is_ok());
        let refused = file_size(LIMITS.file_bytes + 1, LIMITS).expect_err("too big");
        assert!(refused.contains("limit of 8388608 bytes"), "{refused}");
    }
}
