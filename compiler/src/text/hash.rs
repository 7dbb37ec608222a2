//! FNV-1a, the one stable hash of the project: the default module name
//! (`stap_` and the script's hash), the BTF name index, feature-probe
//! cache keys and xtask's caches. Its values must never change between
//! releases or machines (they name files), which rules out
//! `std::hash::DefaultHasher`; FNV-1a is a few lines, so no crate.
//!
//! [`Fnv1a64`] and [`Fnv1a128`] hash bytes as they come (`write`); for keys
//! made of several parts, `part` ends each one with a `0xff` byte (never in
//! UTF-8 text), so `("ab", "c")` and `("a", "bc")` differ.

macro_rules! fnv1a {
    ($name:ident, $word:ty, $offset:expr, $prime:expr, $bits:literal) => {
        #[doc = concat!("FNV-1a with ", $bits, "-bit parameters.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name($word);

        impl $name {
            /// The empty hash (the offset basis).
            pub const fn new() -> Self {
                $name($offset)
            }

            /// Hashes `bytes` in.
            pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
                for &b in bytes {
                    self.0 = (self.0 ^ <$word>::from(b)).wrapping_mul($prime);
                }
                self
            }

            /// Hashes one part of a key in, then the `0xff` separator.
            pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
                self.write(bytes).write(&[0xff])
            }

            /// The hash so far.
            pub fn finish(&self) -> $word {
                self.0
            }

            /// The hash in lower-case hex, zero-padded.
            pub fn hex(&self) -> String {
                format!("{:0width$x}", self.0, width = $bits / 4)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}

fnv1a!(Fnv1a64, u64, 0xcbf2_9ce4_8422_2325, 0x0100_0000_01b3, 64);
fnv1a!(
    Fnv1a128,
    u128,
    0x6c62_272e_07bb_0142_62b8_2175_6295_c58d,
    0x0000_0000_0100_0000_0000_0000_0000_013b,
    128
);

/// The 64-bit FNV-1a of `bytes`.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    Fnv1a64::new().write(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_test_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x85944171f73967e8);
        assert_eq!(
            Fnv1a128::new().write(b"a").finish(),
            0xd228cb696f1a8caf78912b704e4a8964
        );
        assert_eq!(Fnv1a64::new().hex(), "cbf29ce484222325");
    }

    #[test]
    fn parts_are_separated() {
        let ab_c = Fnv1a128::new().part(b"ab").part(b"c").finish();
        let a_bc = Fnv1a128::new().part(b"a").part(b"bc").finish();
        assert_ne!(ab_c, a_bc);
        assert_eq!(Fnv1a64::new().part(b"x").finish(), fnv1a_64(b"x\xff"));
    }
}
