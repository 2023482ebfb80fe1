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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32-bit big-endian ELF with one section `.note.x` holding `bytes` at address 0x1000.
    fn elf32_be(bytes: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; 52];
        d[..6].copy_from_slice(b"\x7fELF\x01\x02");
        let data_off = d.len() as u32;
        d.extend_from_slice(bytes);
        let names_off = d.len() as u32;
        d.extend_from_slice(b"\0.note.x\0.shstrtab\0");
        let shoff = d.len() as u32;
        let mut sh = |name: u32, kind: u32, addr: u32, off: u32, size: u32| {
            for v in [name, kind, 0, addr, off, size, 0, 0, 0, 0] {
                d.extend_from_slice(&v.to_be_bytes());
            }
        };
        sh(0, 0, 0, 0, 0);
        sh(1, 1, 0x1000, data_off, bytes.len() as u32);
        sh(9, 3, 0, names_off, 19);
        d[0x20..0x24].copy_from_slice(&shoff.to_be_bytes());
        d[0x2E..0x30].copy_from_slice(&40u16.to_be_bytes());
        d[0x30..0x32].copy_from_slice(&3u16.to_be_bytes());
        d[0x32..0x34].copy_from_slice(&2u16.to_be_bytes());
        d
    }

    #[test]
    fn thirty_two_bit_big_endian() {
        let file = elf32_be(b"\x00\x00\x10\x04abcd");
        let elf = Elf::parse(&file).unwrap();
        assert!(!elf.wide && elf.big);
        let (s, bytes) = elf.section(".note.x").unwrap();
        assert_eq!((s.addr, bytes), (0x1000, &b"\x00\x00\x10\x04abcd"[..]));
        assert_eq!(elf.word(bytes, 4), Some(0x1004));
        assert_eq!(elf.read_address(0x1004, 4), Some(&b"abcd"[..]));
        assert_eq!(elf.read_address(0x1006, 4), None, "past the section");
        assert!(elf.section(".shstrtab").is_some());
        assert!(elf.section(".missing").is_none());
    }

    #[test]
    fn headers_pointing_outside_the_file_are_errors() {
        let mut file = elf32_be(b"x");
        file[0x30..0x32].copy_from_slice(&0x7fffu16.to_be_bytes());
        assert!(Elf::parse(&file).is_err());
        assert!(Elf::parse(b"\x7fELF\x03\x01").is_err());
    }
}
