//! A small BTF writer: builds blobs record by record, in the layout
//! `Documentation/bpf/btf.rst` describes. The parser's unit tests use it on
//! bytes they can reason about, and the test suites' fixture kernel
//! (`compiler/tests/kernel_support`) writes its image's `.BTF` with it.
//!
//! Each method adds one record and returns its type id (records are
//! numbered from 1 in the order they are added; 0 is `void`).

/// Builds a little-endian BTF blob.
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    types: Vec<u8>,
    strings: Vec<u8>,
    next_id: u32,
    /// Where this blob's strings start: 0, or the base's string section
    /// length for a module's split blob.
    str_base: u32,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        BtfBuilder::new()
    }
}

impl BtfBuilder {
    /// An empty blob.
    pub fn new() -> Self {
        BtfBuilder {
            types: Vec::new(),
            strings: vec![0],
            next_id: 1,
            str_base: 0,
        }
    }

    /// An empty split blob on top of `base`'s finished types, as a
    /// loadable module's `.BTF` extends the kernel's: ids go on from the
    /// base's, string offsets from the end of its string section.
    pub fn split(base: &BtfBuilder) -> Self {
        BtfBuilder {
            types: Vec::new(),
            strings: Vec::new(),
            next_id: base.next_id,
            str_base: base.str_base + base.strings.len() as u32,
        }
    }

    /// Adds a string, returning its offset (0 for "").
    pub fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.str_base + self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn word(&mut self, w: u32) {
        self.types.extend_from_slice(&w.to_le_bytes());
    }

    fn header(
        &mut self,
        name: &str,
        kind: u32,
        vlen: u32,
        kind_flag: bool,
        size_or_type: u32,
    ) -> u32 {
        let name = self.str(name);
        self.word(name);
        self.word(vlen | kind << 24 | (kind_flag as u32) << 31);
        self.word(size_or_type);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The id the next record will get.
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// An integer of `size` bytes.
    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let id = self.header(name, 1, 0, false, size);
        self.word(((signed as u32) << 24) | (size * 8));
        id
    }

    /// A pointer to `to`.
    pub fn ptr(&mut self, to: u32) -> u32 {
        self.header("", 2, 0, false, to)
    }

    /// An array of `len` `elem`s, indexed by the integer type `index`.
    pub fn array(&mut self, elem: u32, index: u32, len: u32) -> u32 {
        let id = self.header("", 3, 0, false, 0);
        self.word(elem);
        self.word(index);
        self.word(len);
        id
    }

    /// A struct or union; members are (name, type, bit offset, bitfield bits).
    pub fn aggregate(
        &mut self,
        name: &str,
        union: bool,
        size: u32,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let bitfields = members.iter().any(|m| m.3 != 0);
        let id = self.header(
            name,
            if union { 5 } else { 4 },
            members.len() as u32,
            bitfields,
            size,
        );
        for &(n, ty, off, bits) in members {
            let n = self.str(n);
            self.word(n);
            self.word(ty);
            self.word(if bitfields { bits << 24 | off } else { off });
        }
        id
    }

    /// A forward declaration of a struct (or union).
    pub fn fwd(&mut self, name: &str, union: bool) -> u32 {
        self.header(name, 7, 0, union, 0)
    }

    /// A 32-bit enum.
    pub fn enum32(&mut self, name: &str, values: &[(&str, i32)]) -> u32 {
        let id = self.header(
            name,
            6,
            values.len() as u32,
            values.iter().any(|v| v.1 < 0),
            4,
        );
        for &(n, v) in values {
            let n = self.str(n);
            self.word(n);
            self.word(v as u32);
        }
        id
    }

    /// `typedef to name`.
    pub fn typedef(&mut self, name: &str, to: u32) -> u32 {
        self.header(name, 8, 0, false, to)
    }

    /// `const to`.
    pub fn const_(&mut self, to: u32) -> u32 {
        self.header("", 10, 0, false, to)
    }

    /// A prototype; a last parameter of type 0 is `...`.
    pub fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let id = self.header("", 13, params.len() as u32, false, ret);
        for &(n, ty) in params {
            let n = self.str(n);
            self.word(n);
            self.word(ty);
        }
        id
    }

    /// A global function with prototype `proto`.
    pub fn func(&mut self, name: &str, proto: u32) -> u32 {
        self.header(name, 12, 1, false, proto)
    }

    /// A global variable of type `ty` (vmlinux BTF has them for per-CPU
    /// variables).
    pub fn var(&mut self, name: &str, ty: u32) -> u32 {
        let id = self.header(name, 14, 0, false, ty);
        self.word(1); // linkage: global
        id
    }

    /// A record of a kind number the parser does not know.
    pub fn unknown_kind(&mut self, kind: u32) -> u32 {
        self.header("", kind, 0, false, 0)
    }

    /// The finished blob.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xEB9Fu16.to_le_bytes());
        out.push(1); // version
        out.push(0); // flags
        let hdr_len = 24u32;
        for w in [
            hdr_len,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}
