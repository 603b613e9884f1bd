//! Transparent huge pages for large arrays, the way NumPy asks for them.
//!
//! NumPy calls `madvise(MADV_HUGEPAGE)` on every array of 4 MiB or more, so on Linux a
//! 2000x2000 matrix is backed by 2 MiB pages: 16 page faults on first touch instead of 7,813,
//! and fewer TLB misses inside the product. Rust's default allocator gives no such advice.
//! [`HugePages`] does, for every allocation of at least [`THRESHOLD`] bytes: it maps the memory
//! itself, aligned to the kernel's huge page ([`huge_page`]), and advises it. Smaller
//! allocations, and every allocation on other systems, go to the system allocator.
//!
//! It is opt-in, one binary at a time: each example says `workload::huge_pages!();` (see
//! [`huge_pages!`](crate::huge_pages)); a program that links this crate without that line
//! keeps its own global allocator.
//!
//! The advice only matters where `/sys/kernel/mm/transparent_hugepage/enabled` says `madvise`
//! (a common default); with `always` the kernel uses huge pages anyway, with `never` not at all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Allocations of at least this many bytes are mapped on their own and advised (NumPy's limit).
pub const THRESHOLD: usize = 4 << 20;
/// The huge page size assumed where the kernel does not say: x86-64's and arm64's 2 MiB.
pub const DEFAULT_HUGE_PAGE: usize = 2 << 20;
/// Where Linux says the size of its transparent huge pages.
const HPAGE_PMD_SIZE: &str = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";

/// The size and alignment of a transparent huge page: the kernel's `hpage_pmd_size`, read once,
/// or [`DEFAULT_HUGE_PAGE`] where it is missing or not a power of two.
pub fn huge_page() -> usize {
    static SIZE: AtomicUsize = AtomicUsize::new(0);
    match SIZE.load(Ordering::Relaxed) {
        0 => {
            let read = std::fs::read_to_string(HPAGE_PMD_SIZE).ok();
            let size = read.and_then(|s| s.trim().parse::<usize>().ok());
            let size = size.filter(|s| s.is_power_of_two() && *s >= 4096);
            let size = size.unwrap_or(DEFAULT_HUGE_PAGE);
            SIZE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

/// The global allocator: large allocations on advised huge pages, the rest from [`System`].
/// Install it with [`huge_pages!`](crate::huge_pages).
pub struct HugePages;

/// Make [`HugePages`] this binary's global allocator: `workload::huge_pages!();` at the top
/// level of a binary's root file, once.
#[macro_export]
macro_rules! huge_pages {
    () => {
        #[global_allocator]
        static HUGE_PAGES: $crate::hugepages::HugePages = $crate::hugepages::HugePages;
    };
}

/// Whether an allocation of `layout` is mapped here rather than by [`System`].
fn large(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= THRESHOLD && layout.align() <= huge_page()
}

// SAFETY: large blocks come from `map` (fresh, zeroed, aligned to huge_page() >= their
// alignment, at least their size) and go back to `unmap` with the same size; every other
// block goes to and from `System` unchanged. `large` depends on the layout alone, so alloc and
// dealloc of one block always take the same path.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if large(layout) {
            map(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if large(layout) {
            map(layout.size()) // anonymous mappings are zeroed, lazily, by the kernel
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if large(layout) {
            unmap(ptr, layout.size());
        } else {
            // SAFETY: `ptr` came from System.alloc with this layout (see `large`).
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees a valid non-zero `new_size` for this alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !large(layout) && !large(new_layout) {
            // SAFETY: both sides are System's; forwarded with the caller's guarantees.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: as for alloc; the old block is valid for `layout.size()` bytes.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: distinct blocks, each valid for the bytes copied.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

/// `size` rounded up to whole huge pages: what is mapped for a block of `size` bytes.
fn mapped_len(size: usize) -> usize {
    size.next_multiple_of(huge_page())
}

/// A fresh anonymous mapping of `mapped_len(size)` bytes starting on a huge-page boundary,
/// advised `MADV_HUGEPAGE`; null when the kernel refuses the memory.
#[cfg(target_os = "linux")]
fn map(size: usize) -> *mut u8 {
    let huge = huge_page();
    let len = mapped_len(size);
    let Some(over) = len.checked_add(huge) else {
        return std::ptr::null_mut();
    };
    // Map one huge page more than needed, so that an aligned start lies inside; trim the rest.
    // SAFETY: a new private anonymous mapping; no existing memory is touched.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            over,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    let head = (raw as usize).next_multiple_of(huge) - raw as usize;
    // SAFETY: the trimmed pieces lie inside the mapping just made and are never handed out;
    // the advice covers exactly the block returned. Failed advice (THP unsupported) leaves
    // ordinary pages, which is still correct memory.
    unsafe {
        let start = raw.cast::<u8>().add(head);
        if head > 0 {
            libc::munmap(raw, head);
        }
        if huge - head > 0 {
            libc::munmap(start.add(len).cast(), huge - head);
        }
        libc::madvise(start.cast(), len, libc::MADV_HUGEPAGE);
        start
    }
}

/// Unmap a block made by [`map`].
#[cfg(target_os = "linux")]
fn unmap(ptr: *mut u8, size: usize) {
    // SAFETY: `ptr` and `mapped_len(size)` are exactly a mapping `map` returned.
    unsafe { libc::munmap(ptr.cast(), mapped_len(size)) };
}

#[cfg(not(target_os = "linux"))]
fn map(_size: usize) -> *mut u8 {
    unreachable!("`large` is false off Linux")
}

#[cfg(not(target_os = "linux"))]
fn unmap(_ptr: *mut u8, _size: usize) {
    unreachable!("`large` is false off Linux")
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::huge_pages!();

    #[test]
    fn large_blocks_are_aligned_zeroed_and_grow_with_their_contents() {
        let n = THRESHOLD / 8 + 3;
        let mut v = vec![0.0f64; n];
        assert_eq!(v.as_ptr() as usize % huge_page(), 0);
        assert!(v.iter().all(|&x| x == 0.0));
        v[n - 1] = 7.0;
        v.extend_from_slice(&[1.0; 1000]); // realloc from a large block to a larger one
        assert_eq!((v[n - 1], v[n + 999], v.len()), (7.0, 1.0, n + 1000));
        v.truncate(10);
        v.shrink_to_fit(); // realloc from a large block to a small one
        assert_eq!(v.len(), 10);
        let mut small = vec![1u8; 100];
        small.resize(THRESHOLD + 1, 2); // and from a small block to a large one
        assert_eq!((small[99], small[THRESHOLD]), (1, 2));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn large_blocks_are_advised_for_huge_pages() {
        let enabled = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled");
        match enabled {
            Err(e) => return eprintln!("skipped: transparent huge pages unavailable ({e})"),
            Ok(mode) if mode.contains("[never]") => {
                return eprintln!("skipped: transparent huge pages are off ([never])")
            }
            Ok(_) => {}
        }
        let v = vec![1.0f64; THRESHOLD / 8];
        let start = v.as_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        // the mapping holding the block carries the advice: `hg` in its VmFlags
        let flags = smaps
            .split("\n")
            .scan(false, |inside, line| {
                if let Some((range, _)) = line.split_once(' ') {
                    if let Some((lo, hi)) = range.split_once('-') {
                        if let (Ok(lo), Ok(hi)) =
                            (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                        {
                            *inside = lo <= start && start < hi;
                        }
                    }
                }
                Some((*inside, line.to_string()))
            })
            .find(|(inside, line)| *inside && line.starts_with("VmFlags:"))
            .map(|(_, line)| line);
        let flags = flags.expect("the block's mapping is in /proc/self/smaps");
        assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
    }
}
