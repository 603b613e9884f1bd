//! The array-population task of the second tutorial: fill one long `f64` array with a function
//! of the index, and everything steps 10-14 share around it.
//!
//! The tutorial's element is `i * base**2` with `base = 2.0`: one multiplication, far too cheap
//! to be worth a process. `--work ROUNDS` makes each element cost more: round 1 is the
//! tutorial's `i * base^2`, and every further round is one step of a linear congruential
//! recurrence (a multiply, an add and a mask), so the operations grow linearly with `ROUNDS`
//! (the time need not: the lab's calibration measures it at each `--work`) and the compiler
//! cannot skip the rounds. Every value is an integer below 2^53, so it is exact in
//! `f64`: every process, thread and ordering produces bit-identical arrays, compared with `==`
//! and hashed with [`crate::checksum`].

use crate::matmul::Verdict;
use ndarray::{arr1, Array1, ArrayView1, Axis, Ix1};
use procpool::Item;
use std::collections::BTreeSet;
use std::ops::Range;

/// The tutorial's array length.
pub const DEFAULT_LEN: usize = 1_000_000;
/// The tutorial's `base_value`; round 1 of every element is `i * BASE^2`.
pub const BASE: u64 = 2;
/// The default `--work`: rounds that make one element cost about what one element of the
/// tutorial's loop (`result[i] = i * base_value**2` over a NumPy array) costs in CPython on
/// the same machine, so that the default runs re-create the tutorial's situation.
///
/// Measured on the reference machine (2 cores, shared with other work), interleaved, five
/// times each: the tutorial's loop over 300,000 elements (CPython 3.11, NumPy 2.3) against
/// `10-populate-sequential --len 300000 --work 1000 --json` (its `fill` phase per element and
/// round): 1.35-1.83 µs per Python element against 2.9-4.1 ns per round, 427-467 rounds per
/// Python element while the machine was loaded; unloaded, 0.92 µs per Python element against
/// the lab's calibrated 0.37-0.41 ns per round, about 2,400 rounds. 1,000 lies between the
/// two. The NumPy twin of step 10 measures the same thing with
/// `numpy/10-populate-sequential.py --work 1 --json` (its `fill` phase over `len`; 2.6 µs per
/// element once on the loaded machine, its element being the masked integer recurrence's
/// first round rather than the tutorial's float product). The lab records both costs in every
/// run (the calibration's element at this `--work`; the twin's loop at `--work 1` when twins
/// run) so that the ratio on any machine can be read from its results.
pub const DEFAULT_WORK: usize = 1000;
/// The most rounds per element `--work` accepts.
pub const MAX_WORK: usize = 1_000_000_000;
/// Bytes of one element.
pub const ELEMENT_BYTES: u64 = 8;

/// Values are kept below 2^53, where every integer is exact in `f64`.
const MASK: u64 = (1 << 53) - 1;
/// Multiplier and increment of the recurrence (Knuth's MMIX constants; full period mod 2^53).
const MUL: u64 = 0x5851_f42d_4c95_7f2d;
const INC: u64 = 0x1405_7b7e_f767_814f;

/// Element `i` after `work` rounds: round 1 is the tutorial's `i * base**2`, each further
/// round one step of `x = (a x + c) mod 2^53`.
#[inline]
pub fn element(i: usize, work: usize) -> f64 {
    let mut x = (i as u64).wrapping_mul(BASE * BASE) & MASK;
    for _ in 1..work {
        x = x.wrapping_mul(MUL).wrapping_add(INC) & MASK;
    }
    x as f64
}

/// Fill `out` with elements `first, first + 1, ...`: a worker's part of the array.
pub fn fill(out: &mut [f64], first: usize, work: usize) {
    for (k, x) in out.iter_mut().enumerate() {
        *x = element(first + k, work);
    }
}

/// Cut `0..len` into at most `parts` consecutive, non-empty slices whose lengths differ by at
/// most one. (The tutorial's `chunk_size = total_size // num_processes` silently drops the
/// remainder when `len` is not a multiple of the worker count; these slices cover every index.)
pub fn slices(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, len.max(1));
    let (size, extra) = (len / parts, len % parts);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let end = start + size + usize::from(p < extra);
            let range = start..end;
            start = end;
            range
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// A slice task for a pool worker, `(start_index, size, work)` as one small array, like the
/// tutorial's `(start_index, size, base_value)` tuples.
pub fn slice_task(range: &Range<usize>, work: usize) -> Item {
    let words = [range.start as f64, range.len() as f64, work as f64];
    vec![arr1(&words).into_dyn()]
}

/// The whole numbers in `item`'s first array, which must hold exactly `N` of them.
fn whole_numbers<const N: usize>(task: usize, item: &Item) -> Result<[usize; N], String> {
    let bad = || format!("task {task}: expected {N} whole numbers, got {item:?}");
    let first = item.first().ok_or_else(bad)?;
    if item.len() != 1 || first.len() != N {
        return Err(bad());
    }
    let mut out = [0; N];
    for (slot, &v) in out.iter_mut().zip(first.iter()) {
        if !(v >= 0.0 && v.fract() == 0.0 && v < (1u64 << 53) as f64) {
            return Err(bad());
        }
        *slot = v as usize;
    }
    Ok(out)
}

/// Read a [`slice_task`]: the indices to fill and the rounds per element.
pub fn read_slice_task(task: usize, item: &Item) -> Result<(Range<usize>, usize), String> {
    let [start, size, work] = whole_numbers::<3>(task, item)?;
    Ok((start..start + size, work))
}

/// A per-element task for the queue step: `(index, work)`.
pub fn element_task(i: usize, work: usize) -> Item {
    vec![arr1(&[i as f64, work as f64]).into_dyn()]
}

/// Compute one [`element_task`] in a worker and answer `(index, value)`, the tutorial's
/// `result_queue.put((index, value))`.
pub fn element_in_worker(task: usize, item: Item) -> Result<Item, String> {
    let [i, work] = whole_numbers::<2>(task, &item)?;
    Ok(vec![arr1(&[i as f64, element(i, work)]).into_dyn()])
}

/// Write every `(index, value)` result into a new array of `len` elements:
/// `result_array[idx] = value`. An index out of range or a malformed result is an error.
pub fn scatter(results: &[Item], len: usize) -> Result<Array1<f64>, String> {
    let mut array = Array1::zeros(len);
    for (n, item) in results.iter().enumerate() {
        let pair: Vec<f64> = match item.as_slice() {
            [pair] if pair.len() == 2 => pair.iter().copied().collect(),
            _ => return Err(format!("result {n} is not an (index, value) pair")),
        };
        let (index, value) = (pair[0], pair[1]);
        let slot = (index >= 0.0 && index.fract() == 0.0)
            .then(|| array.get_mut(index as usize))
            .flatten()
            .ok_or_else(|| format!("result {n} names index {index}, outside 0..{len}"))?;
        *slot = value;
    }
    Ok(array)
}

/// `np.concatenate(subarrays)`: the first array of every result, end to end, in one new array.
pub fn concatenate(results: &[Item]) -> Result<Array1<f64>, String> {
    let parts: Vec<ArrayView1<f64>> = results
        .iter()
        .enumerate()
        .map(|(n, item)| {
            item.first()
                .and_then(|a| a.view().into_dimensionality::<Ix1>().ok())
                .ok_or_else(|| format!("result {n} is not a 1-D sub-array"))
        })
        .collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Ok(Array1::zeros(0));
    }
    ndarray::concatenate(Axis(0), &parts).map_err(|e| e.to_string())
}

/// Arrays up to this many rounds in total (`len x work`) are checked element by element;
/// above it, at the sampled indices only (the full check would cost as much as the fill).
pub const FULL_CHECK_ROUNDS: u128 = 1 << 25;
/// Evenly spaced and pseudo-random indices checked, each, when not every element is.
pub const SAMPLES: usize = 512;

/// The indices checked when the array is too expensive to check whole: the first and the last,
/// the first and last of every slice in `edges`, and [`SAMPLES`] evenly spaced and as many
/// pseudo-random indices.
pub fn sample_indices(len: usize, edges: &[Range<usize>]) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    let mut picked = BTreeSet::from([0, len - 1]);
    for r in edges.iter().filter(|r| !r.is_empty()) {
        picked.extend([r.start, r.end - 1].into_iter().filter(|&i| i < len));
    }
    picked.extend((0..SAMPLES).map(|k| k * len / SAMPLES));
    // SplitMix64 from a fixed seed: the same indices every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    picked.extend((0..SAMPLES).map(|_| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % len as u64) as usize
    }));
    picked.into_iter().collect()
}

/// Check `array` against [`element`]: its length must be `len`, and every element (when that
/// is cheap, see [`FULL_CHECK_ROUNDS`]) or every sampled index must hold the function's value.
pub fn verify(array: &[f64], len: usize, work: usize, edges: &[Range<usize>]) -> Verdict {
    let full = (len as u128) * (work as u128) <= FULL_CHECK_ROUNDS;
    let indices: Vec<usize> = if full {
        (0..len).collect()
    } else {
        sample_indices(len, edges)
    };
    let mut wrong: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| array.get(i) != Some(&element(i, work)))
        .collect();
    if array.len() > len {
        wrong.push(len);
    }
    let method = if full {
        "every element equals the element function".to_string()
    } else {
        format!(
            "sampled elements (first, last, the ends of {} slices, {SAMPLES} evenly spaced, \
             {SAMPLES} random) equal the element function",
            edges.len()
        )
    };
    Verdict {
        checked: indices.len(),
        wrong,
        unit: "indices",
        method,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_round_is_the_tutorials_element() {
        for i in [0, 1, 7, 999_999, (1 << 50) + 3] {
            assert_eq!(element(i, 1), i as f64 * 2.0f64.powi(2));
        }
    }

    #[test]
    fn more_rounds_give_other_exact_values() {
        let light: Vec<f64> = (0..100).map(|i| element(i, 1)).collect();
        let heavy: Vec<f64> = (0..100).map(|i| element(i, 10)).collect();
        assert_ne!(light, heavy);
        assert!(heavy.iter().all(|v| v.fract() == 0.0 && *v < 2f64.powi(53)));
        let distinct: BTreeSet<u64> = heavy.iter().map(|v| v.to_bits()).collect();
        assert_eq!(distinct.len(), 100, "one value per index");
        assert_ne!(element(5, 10), element(5, 11));
    }

    #[test]
    fn slices_cover_every_index_once() {
        for len in [1, 2, 7, 33, 100] {
            for parts in [1, 2, 3, 4, 8, 200] {
                let s = slices(len, parts);
                assert_eq!(s.len(), parts.min(len), "len {len} parts {parts}");
                assert_eq!(s[0].start, 0);
                assert_eq!(s.last().unwrap().end, len);
                assert!(s.windows(2).all(|w| w[0].end == w[1].start));
                let sizes: Vec<usize> = s.iter().map(|r| r.len()).collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1 && *min >= 1, "{sizes:?}");
            }
        }
        assert_eq!(slices(7, 3), vec![0..3, 3..5, 5..7]);
    }

    #[test]
    fn tasks_round_trip_and_bad_tasks_are_errors() {
        let item = slice_task(&(5..12), 30);
        assert_eq!(read_slice_task(0, &item), Ok((5..12, 30)));
        let answer = element_in_worker(3, element_task(9, 4)).unwrap();
        assert_eq!(answer[0].as_slice().unwrap(), &[9.0, element(9, 4)]);
        for bad in [
            vec![],
            vec![arr1(&[1.0, 2.0]).into_dyn()],
            vec![arr1(&[1.5, 2.0, 3.0]).into_dyn()],
            vec![arr1(&[-1.0, 2.0, 3.0]).into_dyn()],
            vec![arr1(&[f64::NAN, 2.0, 3.0]).into_dyn()],
        ] {
            let err = read_slice_task(4, &bad).unwrap_err();
            assert!(err.starts_with("task 4:"), "{err}");
        }
    }

    #[test]
    fn scatter_places_results_by_index_and_refuses_bad_ones() {
        let len = 7;
        let mut results: Vec<Item> = (0..len)
            .rev()
            .map(|i| element_in_worker(i, element_task(i, 3)).unwrap())
            .collect();
        let array = scatter(&results, len).unwrap();
        assert!(verify(array.as_slice().unwrap(), len, 3, &[]).ok());
        results[0] = vec![arr1(&[7.0, 1.0]).into_dyn()];
        assert!(scatter(&results, len).unwrap_err().contains("index 7"));
        results[0] = vec![arr1(&[1.0]).into_dyn()];
        assert!(scatter(&results, len).is_err());
    }

    #[test]
    fn concatenate_joins_sub_arrays_in_order() {
        let parts: Vec<Item> = slices(33, 4)
            .iter()
            .map(|r| {
                let mut sub = vec![0.0; r.len()];
                fill(&mut sub, r.start, 2);
                vec![Array1::from(sub).into_dyn()]
            })
            .collect();
        let whole = concatenate(&parts).unwrap();
        let expected: Vec<f64> = (0..33).map(|i| element(i, 2)).collect();
        assert_eq!(whole.to_vec(), expected);
        assert!(concatenate(&[vec![]]).is_err());
    }

    #[test]
    fn verify_catches_a_wrong_element_short_or_long_array() {
        let expected: Vec<f64> = (0..33).map(|i| element(i, 5)).collect();
        assert!(verify(&expected, 33, 5, &[]).ok());
        let mut wrong = expected.clone();
        wrong[17] += 1.0;
        let verdict = verify(&wrong, 33, 5, &[]);
        assert_eq!(verdict.wrong, vec![17]);
        assert!(verdict.to_string().contains("indices 17"), "{verdict}");
        assert_eq!(verify(&expected[..32], 33, 5, &[]).wrong, vec![32]);
        let mut long = expected.clone();
        long.push(0.0);
        assert_eq!(verify(&long, 33, 5, &[]).wrong, vec![33]);
        assert!(
            !verify(&expected, 33, 6, &[]).ok(),
            "other work, other values"
        );
    }

    #[test]
    fn large_arrays_are_sampled_at_slice_edges() {
        let len = 1_000_003;
        let edges = slices(len, 3);
        let picked = sample_indices(len, &edges);
        for r in &edges {
            assert!(picked.contains(&r.start) && picked.contains(&(r.end - 1)));
        }
        assert!(picked.contains(&0) && picked.contains(&(len - 1)));
        assert!(picked.len() > SAMPLES && picked.iter().all(|&i| i < len));
        // An error at a slice edge is found by the sampled check.
        let work = 64;
        assert!(len as u128 * work as u128 > FULL_CHECK_ROUNDS);
        let mut array = vec![0.0; len];
        for &i in &picked {
            array[i] = element(i, work);
        }
        assert!(verify(&array, len, work, &edges).ok());
        array[edges[1].start] = 0.5;
        assert_eq!(
            verify(&array, len, work, &edges).wrong,
            vec![edges[1].start]
        );
    }
}
