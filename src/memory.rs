//! The process's heap: the allocator (jemalloc, decision 029), how it is set
//! up for a long-running server, and handing memory freed by the heap back
//! to the operating system.
//!
//! The batch commands (`import`, `copy`) allocate and free millions of small
//! blocks from a few threads: the state the ledger folds in, the records it
//! hands to the store's writer (which frees them on its own thread), and
//! parsed lines. jemalloc serves them from per-thread caches and size-class
//! runs; glibc's allocator spent about a third of the ledger's thread on its
//! free lists there.
//!
//! A rendering (a network, its metrics and gap report, a layout chain)
//! allocates and frees hundreds of megabytes on a large programme, spread
//! over the allocator's arenas. Left to itself, jemalloc keeps freed pages
//! for a while for reuse, so the server's resident memory would stay near its
//! peak after the rendering ended. [`settle_heap`] makes a server give freed
//! pages back within a second, and [`release_freed`] hands back, after a
//! load or a rendering, what is still held (decisions 026 and 029).

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once, before the first allocation: one arena per
/// processor, each thread using the arena of the processor it runs on
/// (jemalloc's default is four arenas per processor, each thread keeping
/// its own, and each arena keeps its own partly used pages). On the
/// 1,000,000-event programme this brought a server's memory after the reads
/// from 983 to 959 MiB, as with glibc (BENCHMARKS.md, decision 029).
/// jemalloc declares this string weak, for a program to define.
#[cfg(not(target_env = "msvc"))]
#[used]
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 20] = b"percpu_arena:percpu\0";

/// How long a server's arenas keep freed pages before handing them back, in
/// milliseconds (jemalloc's default: 10,000). Short enough that a server's
/// memory follows what its views hold rather than the peak of the last
/// rendering; long enough that the pages a request frees are reused by the
/// next ones instead of being handed back and faulted in again each time.
#[cfg(not(target_env = "msvc"))]
const SERVER_DECAY_MS: isize = 1_000;

/// Sets the allocator up for a long-running server, before its threads
/// allocate: freed pages are handed back to the operating system after
/// [`SERVER_DECAY_MS`] ("dirty" pages; none are kept "muzzy", lazily freed
/// and still counted as resident), for the arenas that exist and for those
/// made later, by jemalloc's background thread rather than by the threads
/// that serve requests. The batch commands keep jemalloc's defaults. Does
/// nothing where jemalloc is not the allocator.
pub fn settle_heap() {
    #[cfg(not(target_env = "msvc"))]
    {
        let arenas = control_read::<u32>(c"arenas.narenas").unwrap_or(0);
        for (setting, ms) in [("dirty_decay_ms", SERVER_DECAY_MS), ("muzzy_decay_ms", 0)] {
            control_write(&format!("arenas.{setting}"), ms);
            for arena in 0..arenas {
                control_write(&format!("arena.{arena}.{setting}"), ms);
            }
        }
        control_write("background_thread", true);
    }
}

/// Returns the heap's free pages to the operating system (jemalloc's purge
/// of every arena). Costs a pass over the arenas: call it after a large
/// burst of frees (the loading of a log, a rendering), not on every request.
pub fn release_freed() {
    #[cfg(not(target_env = "msvc"))]
    {
        // 4096 is jemalloc's index for every arena (`MALLCTL_ARENAS_ALL`).
        let name = c"arena.4096.purge";
        // SAFETY: the name is a NUL-terminated string; a purge reads and
        // writes no value, so every pointer is null and every length 0, as
        // jemalloc requires of this control.
        let failed = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            )
        };
        if failed != 0 {
            tracing::debug!(code = failed, "the allocator's purge was refused");
        }
    }
}

/// Reads one of jemalloc's controls.
#[cfg(not(target_env = "msvc"))]
fn control_read<T: Copy + Default>(name: &std::ffi::CStr) -> Option<T> {
    let mut value = T::default();
    let mut len = std::mem::size_of::<T>();
    // SAFETY: `value` and `len` are valid for writing and `len` is the size
    // of `value`, whose type is the control's (checked by jemalloc, which
    // refuses a length that differs).
    let failed = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            (&raw mut value).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (failed == 0).then_some(value)
}

/// Writes one of jemalloc's controls; a refusal (an unknown arena, say) is
/// logged and leaves the setting as it was.
#[cfg(not(target_env = "msvc"))]
fn control_write<T: Copy>(name: &str, mut value: T) {
    let Ok(name) = std::ffi::CString::new(name) else {
        return;
    };
    // SAFETY: the name is NUL-terminated, and `value` is valid for reading
    // for its size, which is the length given; jemalloc refuses a length
    // that is not its control's.
    let failed = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut value).cast(),
            std::mem::size_of::<T>(),
        )
    };
    if failed != 0 {
        tracing::debug!(control = ?name, code = failed, "an allocator setting was refused");
    }
}

#[cfg(all(test, not(target_env = "msvc")))]
mod tests {
    use super::*;

    #[test]
    fn a_server_heap_hands_freed_pages_back_soon_from_a_background_thread() {
        settle_heap();
        let decay = Some(SERVER_DECAY_MS);
        assert_eq!(control_read::<isize>(c"arenas.dirty_decay_ms"), decay);
        assert_eq!(control_read::<isize>(c"arena.0.dirty_decay_ms"), decay);
        assert_eq!(control_read::<isize>(c"arena.0.muzzy_decay_ms"), Some(0));
        assert_eq!(control_read::<bool>(c"background_thread"), Some(true));
        // The options the program gave jemalloc were read.
        let mode = control_read::<*const std::ffi::c_char>(c"opt.percpu_arena")
            .expect("jemalloc's option");
        // SAFETY: jemalloc answers a pointer to one of its static strings.
        let mode = unsafe { std::ffi::CStr::from_ptr(mode) };
        assert_eq!(mode.to_str(), Ok("percpu"));
        // A purge of every arena is a control jemalloc takes.
        release_freed();
    }
}
