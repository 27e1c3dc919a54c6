//! The server's heap: how glibc's allocator is set up for it, and handing
//! memory freed by the heap back to the operating system.
//!
//! A rendering (a network, its metrics and gap report, a layout chain)
//! allocates and frees hundreds of megabytes on a large programme, spread
//! over the allocator's per-thread arenas; glibc keeps most of what is freed
//! mapped for reuse, so the server's resident memory would stay at its peak
//! long after the rendering ended. [`release_freed`] asks it to give the
//! free pages back, and [`settle_heap`] keeps fewer pages to give back in
//! the first place (decision 026).

/// Sets glibc's allocator up for a long-running server, before its threads
/// allocate: at most one arena per core (glibc's default is eight per core,
/// each keeping its own free pages, and the renderings and the background
/// layouts run on a pool of threads that each would get one), and blocks of
/// 1 MiB or more mapped on their own, so that a large buffer (a body, a
/// network's ties, a model's vectors) goes back to the system when freed
/// instead of leaving a hole between smaller blocks that live on. Does
/// nothing elsewhere.
pub fn settle_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: `mallopt` takes two integers and changes the allocator's
        // settings under its own lock; a value it refuses leaves the
        // setting as it was.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

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
