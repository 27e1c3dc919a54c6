//! Handing memory freed by the heap back to the operating system.
//!
//! A rendering (a network, its metrics and gap report, a layout chain)
//! allocates and frees hundreds of megabytes on a large programme, spread
//! over the allocator's per-thread arenas; glibc keeps most of what is freed
//! mapped for reuse, so the server's resident memory would stay at its peak
//! long after the rendering ended. [`release_freed`] asks it to give the
//! free pages back.

/// Returns the heap's free pages to the operating system (glibc's
/// `malloc_trim`, which walks every arena); does nothing elsewhere. Costs a
/// pass over the free lists: call it after a large burst of frees (the
/// loading of a log, a rendering), not on every request.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and only reorganises the
    // allocator's own free lists, under the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
