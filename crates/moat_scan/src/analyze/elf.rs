//! Just enough of ELF to find a section by name: the file header, the section headers and the
//! section-name string table, 32- or 64-bit, either byte order. Every offset is checked against
//! the file's length; nothing is mapped or relocated.
//!
//! Written by hand rather than with a crate: two sections (`.go.buildinfo`, `.dep-v0`) and an
//! address lookup are all the analyzers need, and this is smaller than the lightest build of
//! `object` (`read_core` + `elf`) or `goblin`, with no dependency to audit.

/// The ELF magic.
const MAGIC: &[u8] = b"\x7fELF";
/// A section without bytes in the file (`.bss`).
const SHT_NOBITS: u32 = 8;

/// Whether `data` starts with an ELF header.
pub(crate) fn is_elf(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// One section header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Section {
    name: u32,
    kind: u32,
    /// Virtual address when loaded.
    pub(crate) addr: u64,
    offset: u64,
    size: u64,
}

/// A parsed ELF file.
#[derive(Debug)]
pub(crate) struct Elf<'a> {
    data: &'a [u8],
    /// 64-bit.
    pub(crate) wide: bool,
    /// Big-endian.
    pub(crate) big: bool,
    sections: Vec<Section>,
    names: Option<Section>,
}

impl<'a> Elf<'a> {
    /// Reads the headers.
    pub(crate) fn parse(data: &'a [u8]) -> Result<Elf<'a>, String> {
        if !is_elf(data) || data.len() < 52 {
            return Err("not an ELF file".into());
        }
        let wide = match data[4] {
            1 => false,
            2 => true,
            c => return Err(format!("unknown ELF class {c}")),
        };
        let big = match data[5] {
            1 => false,
            2 => true,
            e => return Err(format!("unknown ELF byte order {e}")),
        };
        let mut elf = Elf {
            data,
            wide,
            big,
            sections: Vec::new(),
            names: None,
        };
        let (shoff, shentsize, shnum, mut shstrndx) = if wide {
            (
                elf.u64_at(0x28)?,
                elf.u16_at(0x3A)?,
                elf.u16_at(0x3C)?,
                elf.u16_at(0x3E)?,
            )
        } else {
            (
                u64::from(elf.u32_at(0x20)?),
                elf.u16_at(0x2E)?,
                elf.u16_at(0x30)?,
                elf.u16_at(0x32)?,
            )
        };
        if shoff == 0 {
            return Ok(elf);
        }
        let min_entsize = if wide { 64 } else { 40 };
        if usize::from(shentsize) < min_entsize {
            return Err(format!("section header size {shentsize}"));
        }
        // Extended numbering: the count and the names' index live in section 0.
        let first = elf.section_at(shoff)?;
        let count = if shnum == 0 {
            first.size
        } else {
            u64::from(shnum)
        };
        if shstrndx == 0xffff {
            shstrndx = u16::try_from(elf.link_of(shoff)?).unwrap_or(0);
        }
        let max = (data.len() as u64).saturating_sub(shoff) / u64::from(shentsize);
        if count > max {
            return Err(format!("{count} section headers do not fit in the file"));
        }
        for i in 0..count {
            let s = elf.section_at(shoff + i * u64::from(shentsize))?;
            elf.sections.push(s);
        }
        elf.names = elf.sections.get(usize::from(shstrndx)).copied();
        Ok(elf)
    }

    /// The bytes of the section called `name`, when there is one with bytes in the file.
    pub(crate) fn section(&self, name: &str) -> Option<(&Section, &'a [u8])> {
        let names = self.bytes_of(self.names.as_ref()?)?;
        self.sections.iter().find_map(|s| {
            let start = usize::try_from(s.name).ok()?;
            let rest = names.get(start..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            if &rest[..end] == name.as_bytes() {
                Some((s, self.bytes_of(s)?))
            } else {
                None
            }
        })
    }

    /// `len` bytes at virtual address `addr`, from the section that holds them.
    pub(crate) fn read_address(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        self.sections.iter().find_map(|s| {
            if s.kind == SHT_NOBITS || addr < s.addr || addr.checked_add(len)? > s.addr + s.size {
                return None;
            }
            let bytes = self.bytes_of(s)?;
            let start = usize::try_from(addr - s.addr).ok()?;
            bytes.get(start..start + usize::try_from(len).ok()?)
        })
    }

    /// A pointer-sized word of the file's width and byte order from `bytes`.
    pub(crate) fn word(&self, bytes: &[u8], ptr_size: usize) -> Option<u64> {
        read_uint(bytes, 0, ptr_size, self.big)
    }

    fn bytes_of(&self, s: &Section) -> Option<&'a [u8]> {
        if s.kind == SHT_NOBITS {
            return None;
        }
        let start = usize::try_from(s.offset).ok()?;
        let end = start.checked_add(usize::try_from(s.size).ok()?)?;
        self.data.get(start..end)
    }

    fn section_at(&self, off: u64) -> Result<Section, String> {
        let o = usize::try_from(off).map_err(|_| "offset too large".to_owned())?;
        Ok(if self.wide {
            Section {
                name: self.u32_at(o)?,
                kind: self.u32_at(o + 4)?,
                addr: self.u64_at(o + 16)?,
                offset: self.u64_at(o + 24)?,
                size: self.u64_at(o + 32)?,
            }
        } else {
            Section {
                name: self.u32_at(o)?,
                kind: self.u32_at(o + 4)?,
                addr: u64::from(self.u32_at(o + 12)?),
                offset: u64::from(self.u32_at(o + 16)?),
                size: u64::from(self.u32_at(o + 20)?),
            }
        })
    }

    fn link_of(&self, off: u64) -> Result<u32, String> {
        let o = usize::try_from(off).map_err(|_| "offset too large".to_owned())?;
        self.u32_at(o + if self.wide { 40 } else { 24 })
    }

    fn u16_at(&self, o: usize) -> Result<u16, String> {
        read_uint(self.data, o, 2, self.big)
            .map(|v| v as u16)
            .ok_or_else(|| format!("truncated at {o}"))
    }

    fn u32_at(&self, o: usize) -> Result<u32, String> {
        read_uint(self.data, o, 4, self.big)
            .map(|v| v as u32)
            .ok_or_else(|| format!("truncated at {o}"))
    }

    fn u64_at(&self, o: usize) -> Result<u64, String> {
        read_uint(self.data, o, 8, self.big).ok_or_else(|| format!("truncated at {o}"))
    }
}

/// An unsigned integer of `size` bytes (1–8) at `offset`.
pub(crate) fn read_uint(data: &[u8], offset: usize, size: usize, big: bool) -> Option<u64> {
    let bytes = data.get(offset..offset.checked_add(size)?)?;
    if size == 0 || size > 8 {
        return None;
    }
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    Some(if big {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    })
}
