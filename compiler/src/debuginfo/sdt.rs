//! SDT markers (`<sys/sdt.h>`'s `STAP_PROBE*`/`DTRACE_PROBE*`) of a user
//! program or library: the `.note.stapsdt` notes, one per marker, each
//! with the marker's address, the link-time address of `.stapsdt.base`
//! (a prelinked file moved since is adjusted by the difference), the
//! address of its semaphore (0: none) and the provider, the name and the
//! argument text (`-4@%edi 8@-16(%rbp) 8@$5` on amd64, `8@x1 -4@[sp, 12]`
//! on arm64), decoded here into [`SdtArg`]s.
//!
//! Addresses become file offsets through the loadable segments: a uprobe
//! takes the marker's offset in the file, and the kernel's reference
//! counter (the semaphore) is named by its offset in the file too.

use object::{Architecture, Object, ObjectSection};

pub use crate::arch::Arch;

/// One SDT marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdtMarker {
    /// The provider (`STAP_PROBE(provider, name)`).
    pub provider: String,
    /// The marker's name.
    pub name: String,
    /// The marker's address in the file (what a uprobe takes).
    pub offset: u64,
    /// The semaphore's offset in the file, if the marker has one: the
    /// kernel counts registered probes there while they are registered.
    pub semaphore: Option<u64>,
    /// The argument text as the note gives it.
    pub args_text: String,
    /// The arguments, decoded ([`Operand::Undecoded`] where the text
    /// could not be).
    pub args: Vec<SdtArg>,
    /// Why each undecoded argument could not be decoded, by its index in
    /// `args`: the marker is still probe-able, and only a script reading
    /// that argument fails (glibc's markers name static symbols,
    /// `8@32+mp_(%rip)`, that a stripped library's symbol tables lack).
    pub undecoded: Vec<(usize, String)>,
}

/// One argument of a marker: its size and signedness and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdtArg {
    /// 1, 2, 4 or 8 bytes.
    pub size: u8,
    /// Whether the value is signed (a negative size in the note).
    pub signed: bool,
    /// Where the value is when the marker is hit.
    pub operand: Operand,
}

/// Where a marker's argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// A constant.
    Constant(i64),
    /// A register.
    Register(MarkerRegister),
    /// An argument whose text could not be decoded (see
    /// [`SdtMarker::undecoded`]).
    Undecoded,
    /// Memory at `base + index * scale + displacement`.
    Memory {
        /// The base register, if any.
        base: Option<MarkerRegister>,
        /// The index register and its scale, if any.
        index: Option<(MarkerRegister, u8)>,
        /// The displacement.
        displacement: i64,
    },
}

/// A register an argument names, by its `struct pt_regs` member on the
/// target (`di`, `ip`; `regs[3]`, `sp` on arm64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerRegister {
    /// An x86-64 register, by its `pt_regs` member name.
    X86(&'static str),
    /// AArch64 `xN` (0 to 30).
    Arm64(u8),
    /// AArch64 `sp`.
    Arm64Sp,
}

/// Why a file's markers cannot be read.
pub type SdtResult<T> = Result<T, String>;

/// The SDT markers of the ELF file `data` (named `file` in errors), in
/// the notes' order. A file without `.note.stapsdt` has none.
pub fn markers(data: &[u8], file: &str) -> SdtResult<Vec<SdtMarker>> {
    let elf =
        object::File::parse(data).map_err(|e| format!("{file} is not an ELF program: {e}"))?;
    let arch = match elf.architecture() {
        Architecture::X86_64 => Arch::X86_64,
        Architecture::Aarch64 => Arch::Arm64,
        other => {
            return Err(format!(
                "{file}: SDT markers of {other:?} programs are not supported"
            ))
        }
    };
    let wide = elf.is_64();
    let little = elf.is_little_endian();
    let offsets = super::file_offsets::FileOffsets::new(&elf);
    let to_offset = |address: u64| offsets.offset(address);
    let base_section = elf.section_by_name(".stapsdt.base").map(|s| s.address());
    let mut out = Vec::new();
    for section in elf.sections().filter(|s| s.name() == Ok(".note.stapsdt")) {
        let bytes = section
            .data()
            .map_err(|e| format!("{file}: cannot read .note.stapsdt: {e}"))?;
        for note in notes(bytes, little) {
            let note = note.map_err(|e| format!("{file}: .note.stapsdt: {e}"))?;
            if note.owner != b"stapsdt" || note.kind != 3 {
                continue;
            }
            let marker = decode_note(note.desc, wide, little, arch)
                .map_err(|e| format!("{file}: .note.stapsdt: {e}"))?;
            // Prelink moved the file: the note's base is where
            // `.stapsdt.base` was at link time.
            // (A linker that dropped `.stapsdt.base` leaves 0: no
            // adjustment.)
            let delta = match base_section {
                Some(b) if marker.base != 0 => b.wrapping_sub(marker.base),
                _ => 0,
            };
            let pc = marker.pc.wrapping_add(delta);
            let offset = to_offset(pc).ok_or_else(|| {
                format!(
                    "{file}: marker {}:{} at {pc:#x} is outside the loadable segments",
                    marker.provider, marker.name
                )
            })?;
            let semaphore = match marker.semaphore {
                0 => None,
                s => Some(to_offset(s.wrapping_add(delta)).ok_or_else(|| {
                    format!(
                        "{file}: the semaphore of marker {}:{} at {s:#x} is outside the loadable segments",
                        marker.provider, marker.name
                    )
                })?),
            };
            let what = format!("{file}: marker {}:{}", marker.provider, marker.name);
            let (args, undecoded) = decode_args(&marker.args, arch, &what);
            out.push(SdtMarker {
                provider: marker.provider,
                name: marker.name,
                offset,
                semaphore,
                args_text: marker.args,
                args,
                undecoded,
            });
        }
    }
    Ok(out)
}

/// One ELF note.
struct Note<'a> {
    owner: &'a [u8],
    kind: u32,
    desc: &'a [u8],
}

/// The notes of a note section, each padded to 4 bytes.
fn notes(mut bytes: &[u8], little: bool) -> impl Iterator<Item = Result<Note<'_>, String>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let word = |b: &[u8], at: usize| -> Option<u32> {
            let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            Some(if little {
                u32::from_le_bytes(w)
            } else {
                u32::from_be_bytes(w)
            })
        };
        let parsed = (|| {
            let namesz = word(bytes, 0)? as usize;
            let descsz = word(bytes, 4)? as usize;
            let kind = word(bytes, 8)?;
            let name_end = 12usize.checked_add(namesz)?;
            let desc_start = name_end.checked_add(3)? & !3;
            let desc_end = desc_start.checked_add(descsz)?;
            let next = desc_end.checked_add(3)? & !3;
            let owner = bytes.get(12..name_end)?;
            let owner = owner.strip_suffix(&[0]).unwrap_or(owner);
            let desc = bytes.get(desc_start..desc_end)?;
            Some((Note { owner, kind, desc }, next.min(bytes.len())))
        })();
        match parsed {
            Some((note, next)) => {
                bytes = &bytes[next..];
                Some(Ok(note))
            }
            None => {
                bytes = &[];
                Some(Err("a note runs past the end of the section".to_string()))
            }
        }
    })
}

/// A stapsdt note's description, undecoded arguments.
#[derive(Debug)]
struct RawMarker {
    pc: u64,
    base: u64,
    semaphore: u64,
    provider: String,
    name: String,
    args: String,
}

fn decode_note(desc: &[u8], wide: bool, little: bool, _arch: Arch) -> Result<RawMarker, String> {
    let width = if wide { 8 } else { 4 };
    if desc.len() < 3 * width {
        return Err(format!("a note of {} bytes is too short", desc.len()));
    }
    let address = |i: usize| -> u64 {
        let b = &desc[i * width..(i + 1) * width];
        let mut v = [0u8; 8];
        if little {
            v[..width].copy_from_slice(b);
            u64::from_le_bytes(v)
        } else {
            v[8 - width..].copy_from_slice(b);
            u64::from_be_bytes(v)
        }
    };
    let mut strings = desc[3 * width..].split(|b| *b == 0);
    let mut next = |what: &str| -> Result<String, String> {
        strings
            .next()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .ok_or_else(|| format!("a note has no {what}"))
    };
    let provider = next("provider")?;
    let name = next("name")?;
    let args = next("arguments").unwrap_or_default();
    Ok(RawMarker {
        pc: address(0),
        base: address(1),
        semaphore: address(2),
        provider,
        name,
        args,
    })
}

/// A marker's arguments from their text, each that cannot be decoded an
/// [`Operand::Undecoded`] placeholder with its reason (prefixed by
/// `what`) in the second list.
fn decode_args(text: &str, arch: Arch, what: &str) -> (Vec<SdtArg>, Vec<(usize, String)>) {
    let mut args = Vec::new();
    let mut undecoded = Vec::new();
    for (i, word) in arg_words(text).iter().enumerate() {
        match parse_arg(word, arch) {
            Ok(a) => args.push(a),
            Err(e) => {
                undecoded.push((i, format!("{what}: argument '{word}': {e}")));
                args.push(SdtArg {
                    size: 8,
                    signed: true,
                    operand: Operand::Undecoded,
                });
            }
        }
    }
    (args, undecoded)
}

/// A marker's arguments from their text: `SIZE@OPERAND`
/// separated by spaces (a space inside `[...]` belongs to the operand).
pub fn parse_args(text: &str, arch: Arch) -> Result<Vec<SdtArg>, String> {
    arg_words(text)
        .iter()
        .map(|w| parse_arg(w, arch).map_err(|e| format!("'{w}': {e}")))
        .collect()
}

/// The `SIZE@OPERAND` words of an argument text.
fn arg_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth <= 0 {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// One `SIZE@OPERAND` (or a bare operand, 8 bytes signed).
fn parse_arg(word: &str, arch: Arch) -> Result<SdtArg, String> {
    let (size, signed, operand) = match word.split_once('@') {
        Some((size, operand)) if !size.is_empty() && !size.contains(['(', '[', '%']) => {
            let n: i64 = size
                .parse()
                .map_err(|_| format!("'{size}' is not an argument size"))?;
            let bytes = n.unsigned_abs();
            if !matches!(bytes, 1 | 2 | 4 | 8) {
                return Err(format!(
                    "{n} is not an argument size (1, 2, 4 or 8, negative when signed)"
                ));
            }
            (bytes as u8, n < 0, operand)
        }
        _ => (8, true, word),
    };
    let operand = match arch {
        Arch::X86_64 => x86_operand(operand)?,
        Arch::Arm64 => arm64_operand(operand)?,
    };
    Ok(SdtArg {
        size,
        signed,
        operand,
    })
}

/// A number as an assembler writes it: decimal or `0x` hex, with a sign.
fn number(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    };
    let v = magnitude as i64;
    Some(if negative { v.wrapping_neg() } else { v })
}

/// An x86-64 register name (`rdi`, `edi`, `di`, `dil`, `r8d`, `rip`) as
/// its `pt_regs` member.
fn x86_register(name: &str) -> Option<&'static str> {
    const LEGACY: [(&str, [&str; 4]); 8] = [
        ("ax", ["rax", "eax", "ax", "al"]),
        ("bx", ["rbx", "ebx", "bx", "bl"]),
        ("cx", ["rcx", "ecx", "cx", "cl"]),
        ("dx", ["rdx", "edx", "dx", "dl"]),
        ("si", ["rsi", "esi", "si", "sil"]),
        ("di", ["rdi", "edi", "di", "dil"]),
        ("bp", ["rbp", "ebp", "bp", "bpl"]),
        ("sp", ["rsp", "esp", "sp", "spl"]),
    ];
    const NUMBERED: [&str; 8] = ["r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
    if name == "rip" {
        return Some("ip");
    }
    if let Some((member, _)) = LEGACY.iter().find(|(_, names)| names.contains(&name)) {
        return Some(member);
    }
    NUMBERED.iter().copied().find(|r| {
        name.strip_prefix(r)
            .is_some_and(|rest| matches!(rest, "" | "d" | "w" | "b"))
    })
}

fn x86_reg(text: &str) -> Result<MarkerRegister, String> {
    let name = text
        .strip_prefix('%')
        .ok_or_else(|| format!("'{text}' is not a register"))?;
    x86_register(name)
        .map(MarkerRegister::X86)
        .ok_or_else(|| format!("'{text}' is not a general-purpose register"))
}

/// AT&T syntax: `$5`, `%edi`, `-16(%rbp)`, `(%rax,%rdx,8)`,
/// `8(%rip)`; symbolic displacements (`counter(%rip)`) are refused.
fn x86_operand(text: &str) -> Result<Operand, String> {
    if let Some(constant) = text.strip_prefix('$') {
        return number(constant)
            .map(Operand::Constant)
            .ok_or_else(|| format!("'{constant}' is not a number"));
    }
    if text.starts_with('%') && !text.contains(['(', ':']) {
        return x86_reg(text).map(Operand::Register);
    }
    if text.contains(':') {
        return Err("segment-relative operands are not supported".into());
    }
    let Some(open) = text.find('(') else {
        // An absolute address.
        return number(text)
            .map(|a| Operand::Memory {
                base: None,
                index: None,
                displacement: a,
            })
            .ok_or_else(|| format!("'{text}' is not an operand"));
    };
    let inside = text[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| "an unclosed '('".to_string())?;
    let disp_text = &text[..open];
    let displacement = if disp_text.is_empty() {
        0
    } else {
        number(disp_text).ok_or_else(|| {
            format!("the displacement '{disp_text}' is not a number (symbolic operands are not supported)")
        })?
    };
    let parts: Vec<&str> = inside.split(',').map(str::trim).collect();
    let base = match parts[0] {
        "" => None,
        r => Some(x86_reg(r)?),
    };
    let index = match parts.get(1) {
        None | Some(&"") => None,
        Some(r) => {
            let scale = match parts.get(2) {
                None => 1,
                Some(s) => match s.parse::<u8>() {
                    Ok(n @ (1 | 2 | 4 | 8)) => n,
                    _ => return Err(format!("'{s}' is not a scale (1, 2, 4 or 8)")),
                },
            };
            Some((x86_reg(r)?, scale))
        }
    };
    if parts.len() > 3 {
        return Err(format!("'({inside})' has too many parts"));
    }
    Ok(Operand::Memory {
        base,
        index,
        displacement,
    })
}

fn arm64_reg(text: &str) -> Result<MarkerRegister, String> {
    let t = text.trim();
    if t == "sp" {
        return Ok(MarkerRegister::Arm64Sp);
    }
    if t == "fp" {
        return Ok(MarkerRegister::Arm64(29));
    }
    if t == "lr" {
        return Ok(MarkerRegister::Arm64(30));
    }
    t.strip_prefix('x')
        .or_else(|| t.strip_prefix('w'))
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| *n <= 30)
        .map(MarkerRegister::Arm64)
        .ok_or_else(|| format!("'{t}' is not a general-purpose register"))
}

/// AArch64 syntax: `x1`, `w0`, `sp`, `5` or `#5`, `[sp]`, `[sp, 12]`,
/// `[x0, -8]`, `[x1, x2]`.
fn arm64_operand(text: &str) -> Result<Operand, String> {
    if let Some(inside) = text.strip_prefix('[') {
        let inside = inside
            .strip_suffix(']')
            .ok_or_else(|| "an unclosed '['".to_string())?;
        let parts: Vec<&str> = inside.split(',').map(str::trim).collect();
        let base = Some(arm64_reg(parts[0])?);
        let (index, displacement) = match parts.get(1) {
            None => (None, 0),
            Some(p) => match number(p.trim_start_matches('#')) {
                Some(d) => (None, d),
                None => (Some((arm64_reg(p)?, 1)), 0),
            },
        };
        if parts.len() > 2 {
            return Err(format!("'[{inside}]' has too many parts"));
        }
        return Ok(Operand::Memory {
            base,
            index,
            displacement,
        });
    }
    if let Some(n) = number(text.trim_start_matches(['#', '$'])) {
        return Ok(Operand::Constant(n));
    }
    arm64_reg(text).map(Operand::Register)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x86(text: &str) -> Vec<SdtArg> {
        parse_args(text, Arch::X86_64).unwrap()
    }

    fn arg(size: u8, signed: bool, operand: Operand) -> SdtArg {
        SdtArg {
            size,
            signed,
            operand,
        }
    }

    use MarkerRegister::{Arm64, Arm64Sp, X86};

    #[test]
    fn amd64_operands() {
        assert_eq!(
            x86("-4@%edi 8@-16(%rbp) 8@$5 %rax"),
            [
                arg(4, true, Operand::Register(X86("di"))),
                arg(
                    8,
                    false,
                    Operand::Memory {
                        base: Some(X86("bp")),
                        index: None,
                        displacement: -16
                    }
                ),
                arg(8, false, Operand::Constant(5)),
                arg(8, true, Operand::Register(X86("ax"))),
            ]
        );
        assert_eq!(
            x86("1@%al -2@%r9w 4@(%rax,%rdx,8) 8@0x10(%rsp) -1@$-3"),
            [
                arg(1, false, Operand::Register(X86("ax"))),
                arg(2, true, Operand::Register(X86("r9"))),
                arg(
                    4,
                    false,
                    Operand::Memory {
                        base: Some(X86("ax")),
                        index: Some((X86("dx"), 8)),
                        displacement: 0
                    }
                ),
                arg(
                    8,
                    false,
                    Operand::Memory {
                        base: Some(X86("sp")),
                        index: None,
                        displacement: 16
                    }
                ),
                arg(1, true, Operand::Constant(-3)),
            ]
        );
        assert!(x86("").is_empty());
    }

    #[test]
    fn arm64_operands() {
        let args =
            parse_args("8@x1 -4@[sp, 12] 8@[x0] -4@w3 4@5 8@[x29, -8]", Arch::Arm64).unwrap();
        assert_eq!(
            args,
            [
                arg(8, false, Operand::Register(Arm64(1))),
                arg(
                    4,
                    true,
                    Operand::Memory {
                        base: Some(Arm64Sp),
                        index: None,
                        displacement: 12
                    }
                ),
                arg(
                    8,
                    false,
                    Operand::Memory {
                        base: Some(Arm64(0)),
                        index: None,
                        displacement: 0
                    }
                ),
                arg(4, true, Operand::Register(Arm64(3))),
                arg(4, false, Operand::Constant(5)),
                arg(
                    8,
                    false,
                    Operand::Memory {
                        base: Some(Arm64(29)),
                        index: None,
                        displacement: -8
                    }
                ),
            ]
        );
    }

    #[test]
    fn bad_operands_are_errors() {
        let e = |t: &str, a: Arch| parse_args(t, a).unwrap_err();
        assert_eq!(
            e("3@%eax", Arch::X86_64),
            "'3@%eax': 3 is not an argument size (1, 2, 4 or 8, negative when signed)"
        );
        assert!(e("8@%xmm0", Arch::X86_64).contains("not a general-purpose register"));
        assert!(e("8@%fs:8", Arch::X86_64).contains("segment-relative"));
        assert!(e("8@counter(%rip)", Arch::X86_64).contains("symbolic operands"));
        assert!(e("8@(%rax,%rbx,3)", Arch::X86_64).contains("not a scale"));
        assert!(e("8@[x31]", Arch::Arm64).contains("not a general-purpose register"));
        assert!(e("8@[sp, 8", Arch::Arm64).contains("unclosed"));
    }

    /// glibc's markers name static symbols: the other arguments stay
    /// usable, the symbolic one says why it is not.
    #[test]
    fn an_undecodable_argument_leaves_the_others() {
        let (args, undecoded) = decode_args(
            "8@%rax 8@16+mp_(%rip) -4@perturb_byte(%rip)",
            Arch::X86_64,
            "m",
        );
        assert_eq!(args.len(), 3);
        assert_eq!(
            args[0].operand,
            Operand::Register(MarkerRegister::X86("ax"))
        );
        assert_eq!(args[1].operand, Operand::Undecoded);
        assert_eq!(undecoded.len(), 2);
        assert_eq!(undecoded[0].0, 1);
        assert!(
            undecoded[0].1.starts_with("m: argument '8@16+mp_(%rip)': "),
            "{}",
            undecoded[0].1
        );
        assert_eq!(undecoded[1].0, 2);
        let (args, undecoded) = decode_args("-4@x1 -4@[x0, 72]", Arch::Arm64, "m");
        assert_eq!(args.len(), 2);
        assert!(undecoded.is_empty());
    }

    /// A note as `<sys/sdt.h>` assembles it (64-bit, little-endian).
    fn note(pc: u64, base: u64, sem: u64, provider: &str, name: &str, args: &str) -> Vec<u8> {
        let mut desc = Vec::new();
        for a in [pc, base, sem] {
            desc.extend(a.to_le_bytes());
        }
        for s in [provider, name, args] {
            desc.extend(s.as_bytes());
            desc.push(0);
        }
        let mut out = Vec::new();
        out.extend(8u32.to_le_bytes());
        out.extend((desc.len() as u32).to_le_bytes());
        out.extend(3u32.to_le_bytes());
        out.extend(b"stapsdt\0");
        out.extend(&desc);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    #[test]
    fn notes_decode_in_order() {
        let mut section = note(0x1139, 0x2004, 0, "p", "one", "-4@%edi");
        section.extend(note(0x1150, 0x2004, 0x4010, "p", "two", ""));
        let got: Vec<RawMarker> = notes(&section, true)
            .map(|n| {
                let n = n.unwrap();
                assert_eq!((n.owner, n.kind), (&b"stapsdt"[..], 3));
                decode_note(n.desc, true, true, Arch::X86_64).unwrap()
            })
            .collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].pc, got[0].base, got[0].semaphore),
            (0x1139, 0x2004, 0)
        );
        assert_eq!(
            (
                got[0].provider.as_str(),
                got[0].name.as_str(),
                got[0].args.as_str()
            ),
            ("p", "one", "-4@%edi")
        );
        assert_eq!(
            (got[1].name.as_str(), got[1].semaphore, got[1].args.as_str()),
            ("two", 0x4010, "")
        );
        // A truncated note is an error, not a panic.
        let cut = &section[..section.len() - 30];
        assert!(notes(cut, true).any(|n| n.is_err()));
    }

    /// A program built here with `<sys/sdt.h>` (when the header and a C
    /// compiler are installed, as `cargo xtask setup` makes them).
    #[test]
    fn markers_of_a_compiled_program() {
        let program = test_program::build();
        let data = std::fs::read(&program).unwrap();
        let markers = markers(&data, "t").unwrap();
        let names: Vec<&str> = markers.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["plain", "three", "guarded"]);
        assert!(markers.iter().all(|m| m.provider == "test"));
        assert_eq!(markers[0].args, []);
        assert_eq!(markers[1].args.len(), 3);
        assert_eq!(markers[1].args[0].size, 1);
        assert!(markers[1].args[0].signed);
        assert_eq!(markers[1].args[2].size, 8);
        assert!(markers[2].semaphore.is_some());
        assert!(markers[0].semaphore.is_none());
        // The marker's offset is its nop in the file.
        let at = markers[0].offset as usize;
        assert_eq!(data[at], 0x90, "not a nop at {at:#x}");
        // arm64: the operands are arm64's, the marker a nop (d503201f).
        let arm64 = test_program::build_with("aarch64-linux-gnu-gcc", &[]);
        let data = std::fs::read(&arm64).unwrap();
        let markers = super::markers(&data, "t").unwrap();
        assert_eq!(markers.len(), 3);
        assert!(
            matches!(
                markers[1].args[0].operand,
                Operand::Memory {
                    base: Some(MarkerRegister::Arm64Sp),
                    ..
                } | Operand::Register(MarkerRegister::Arm64(_))
            ),
            "{:?}",
            markers[1]
        );
        let at = markers[0].offset as usize;
        assert_eq!(
            data[at..at + 4],
            [0x1f, 0x20, 0x03, 0xd5],
            "not a nop at {at:#x}"
        );
    }
}

#[cfg(test)]
pub(crate) mod test_program {
    //! A small C program with SDT markers, compiled for the tests that
    //! read them (skipped, with a note, without `<sys/sdt.h>`).

    use std::path::PathBuf;

    /// The program's source: a marker without arguments, one with three
    /// of different sizes, one guarded by its semaphore (in a second
    /// file: `_SDT_HAS_SEMAPHORES` gives every marker of a file one), and
    /// a call through the PLT.
    pub const SOURCE: &str = r#"
#include <stdio.h>
#include <sys/sdt.h>
void guarded(int);
int main(int argc, char **argv) {
    (void)argv;
    STAP_PROBE(test, plain);
    STAP_PROBE3(test, three, (signed char)argc, (short)(argc * 2), (long long)argc << 40);
    guarded(argc);
    puts("t");
    return 0;
}
"#;

    /// The second file: the guarded marker and its semaphore.
    pub const GUARDED: &str = r#"
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
__extension__ unsigned short test_guarded_semaphore __attribute__((unused)) __attribute__((section(".probes")));
void guarded(int);
void guarded(int n) {
    if (test_guarded_semaphore)
        STAP_PROBE1(test, guarded, n);
}
"#;

    /// Compiles [`SOURCE`] and [`GUARDED`] once with the host's `cc`
    /// (a dynamically linked program calling `puts`, for the PLT tests
    /// too).
    pub fn build() -> PathBuf {
        static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        BUILT.get_or_init(|| build_with("cc", &[])).clone()
    }

    /// Compiles [`SOURCE`] and [`GUARDED`] with `compiler` and `flags`;
    /// fails the test, saying what to install, without the compiler or
    /// `<sys/sdt.h>` (which Debian puts in the host's multiarch include
    /// directory: a copy is given to cross compilers).
    pub fn build_with(compiler: &str, flags: &[&str]) -> PathBuf {
        // Beside the test binary (cargo clean removes them), one directory
        // per build of this process.
        static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let exe = std::env::current_exe().expect("the test binary's path");
        let dir = exe
            .parent()
            .expect("a directory")
            .join("sdt-test-programs")
            .join(format!("{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the test program");
        let header = ["/usr/include/sys/sdt.h", "/usr/include/x86_64-linux-gnu/sys/sdt.h", "/usr/include/aarch64-linux-gnu/sys/sdt.h"]
            .iter()
            .map(std::path::Path::new)
            .find(|p| p.exists())
            .expect("<sys/sdt.h> is missing: apt-get install systemtap-sdt-dev (cargo xtask setup installs it)");
        std::fs::create_dir_all(dir.join("include/sys")).unwrap();
        for name in ["sdt.h", "sdt-config.h"] {
            let from = header.with_file_name(name);
            if from.exists() {
                std::fs::copy(&from, dir.join("include/sys").join(name)).unwrap();
            }
        }
        let src = dir.join("t.c");
        let guarded = dir.join("guarded.c");
        let exe = dir.join("t");
        std::fs::write(&src, SOURCE).unwrap();
        std::fs::write(&guarded, GUARDED).unwrap();
        let status = std::process::Command::new(compiler)
            .args(["-O0", "-g0"])
            .args(flags)
            .arg("-I")
            .arg(dir.join("include"))
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .arg(&guarded)
            .status()
            .unwrap_or_else(|e| panic!("running {compiler}: {e} (cargo xtask setup installs it)"));
        assert!(
            status.success(),
            "{compiler} failed on the SDT test program"
        );
        exe
    }
}
