//! The results' checksum: an order-sensitive FNV-1a hash over every bit of every value.
//!
//! Two runs agree exactly when they computed the same arrays, of the same shapes, in the same
//! order; that is how the lab and the tests tell that every step computed what the sequential
//! step computed.

/// FNV-1a over 64-bit words (shape words and the bits of each `f64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv::new()
    }
}

impl Fnv {
    /// The FNV-1a offset basis.
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Mix in one 64-bit word.
    pub fn word(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(0x0100_0000_01b3);
    }

    /// Mix in an array: its shape, then the bits of every value in order.
    pub fn array<'a>(&mut self, shape: &[usize], values: impl IntoIterator<Item = &'a f64>) {
        for &d in shape {
            self.word(d as u64);
        }
        for v in values {
            self.word(v.to_bits());
        }
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The checksum of one 1-D array (its length, then its values).
pub fn of_slice(values: &[f64]) -> String {
    let mut hash = Fnv::new();
    hash.array(&[values.len()], values);
    hash.hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_and_the_order_count() {
        let a = of_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(a, of_slice(&[1.0, 2.0, 3.0]));
        assert_ne!(a, of_slice(&[1.0, 3.0, 2.0]));
        assert_ne!(
            a,
            of_slice(&[1.0, 2.0, f64::from_bits(3.0f64.to_bits() + 1)])
        );
        assert_ne!(of_slice(&[]), of_slice(&[0.0]));
    }

    #[test]
    fn the_shape_is_part_of_the_hash() {
        let mut flat = Fnv::new();
        flat.array(&[4], &[1.0, 2.0, 3.0, 4.0]);
        let mut square = Fnv::new();
        square.array(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        assert_ne!(flat, square);
        assert_eq!(flat.hex().len(), 16);
    }
}
