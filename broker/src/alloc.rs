//! The broker's global allocator: the system allocator, except that
//! allocations of 1 GiB or more are served by lazily committed anonymous
//! mappings (`MAP_NORESERVE`).
//!
//! Why: `kafka-protocol` (0.18) sizes a `Vec` from an array length read off
//! the wire before decoding a single element. A 20-byte request claiming
//! 2^32 elements asks for hundreds of GiB; the kernel's overcommit heuristic
//! refuses that, and a refused allocation aborts the process. Served by a
//! mapping that is never touched, the allocation succeeds, the decoder then
//! fails on the missing bytes, the connection is closed, and the mapping is
//! returned, costing no memory. Legitimate buffers never come near the
//! threshold (requests are capped by `socket.request.max.bytes`, reads by
//! the segment size), and where one does, the mapping is ordinary memory.
//! Upstream fixes that bound the capacity by the bytes left are pending
//! (kafka-protocol-rs PRs #152, #161, #200); this can go once one is released.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

/// Allocations at least this large are mapped lazily.
const LAZY_THRESHOLD: usize = 1 << 30;
const PAGE_SIZE: usize = 4096;

pub struct BrokerAllocator;

fn is_lazy(layout: &Layout) -> bool {
    layout.size() >= LAZY_THRESHOLD && layout.align() <= PAGE_SIZE
}

/// Maps `size` bytes of zeroed, not yet committed memory.
fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        p.cast()
    }
}

// SAFETY: every block comes from either the system allocator or `map`, and
// `is_lazy` on the block's layout tells which, so each is freed by its own.
unsafe impl GlobalAlloc for BrokerAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_lazy(&layout) {
            map(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_lazy(&layout) {
            // Anonymous mappings are zero-filled.
            map(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if is_lazy(&layout) {
            // SAFETY: `block` was mapped by `map` with this size.
            unsafe { libc::munmap(block.cast(), layout.size()) };
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(block, layout) }
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` is valid for `layout.align()`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_lazy(&layout) && !is_lazy(&new_layout) {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.realloc(block, layout, new_size) };
        }
        // SAFETY: `new_layout` has a non-zero size (it or `layout` is large).
        let new_block = unsafe { self.alloc(new_layout) };
        if !new_block.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two sizes
            // and do not overlap; the old one is freed with its own layout.
            unsafe {
                ptr::copy_nonoverlapping(block, new_block, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
        }
        new_block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_blocks_are_mapped_lazily_and_usable() {
        let allocator = BrokerAllocator;
        // Far more than any test machine has: only a lazy mapping can serve it.
        let layout = Layout::from_size_align(1 << 40, 8).unwrap();
        unsafe {
            let block = allocator.alloc(layout);
            assert!(!block.is_null());
            *block = 42;
            *block.add((1 << 40) - 1) = 7;
            assert_eq!(*block, 42);
            let small = Layout::from_size_align(64, 8).unwrap();
            let shrunk = allocator.realloc(block, layout, 64);
            assert_eq!(*shrunk, 42);
            allocator.dealloc(shrunk, small);
        }
    }
}
