//! glibc's allocator, tuned for long-running services.
//!
//! glibc raises its mmap and trim thresholds at run time: after a program frees one large
//! mmapped block (Argon2id's 19 MiB of working memory at every sign-in does), allocations up to
//! that size come from the heap, and up to twice that much free memory is kept at the top of
//! every heap instead of going back to the system. Measured on the proxy (bench/RESULTS.md, "LLM
//! proxy"): 68 MB resident after a load test instead of 45 MB, and the memory of a burst of
//! 1,000 connections never returned. [`tune`] fixes both thresholds at glibc's own defaults
//! (128 KiB), which switches that heuristic off.

/// The tuning, in glibc's `GLIBC_TUNABLES` syntax.
pub const GLIBC_TUNABLES: &str =
    "glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072";

/// Set to `off` to run without the tuning.
pub const OPT_OUT: &str = "KEYWARD_MALLOC_TUNING";

/// Runs this program again (same process id, arguments and environment) with [`GLIBC_TUNABLES`]
/// set, since glibc reads it only at start. Does nothing when `GLIBC_TUNABLES` is already set
/// (an operator's own tuning wins, and the second start stops here) or [`OPT_OUT`] is `off`,
/// and on other platforms. Returns only when nothing was done, or with the error when the
/// program could not be executed again (it then goes on untuned).
pub fn tune() -> Option<std::io::Error> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;
        if !wanted(
            std::env::var_os("GLIBC_TUNABLES").as_deref(),
            std::env::var_os(OPT_OUT).as_deref(),
        ) {
            return None;
        }
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return Some(e),
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        Some(
            std::process::Command::new(exe)
                .arg0(arg0)
                .args(args)
                .env("GLIBC_TUNABLES", GLIBC_TUNABLES)
                .exec(),
        )
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

/// Whether to tune, given `GLIBC_TUNABLES` and [`OPT_OUT`] as they are set.
fn wanted(tunables: Option<&std::ffi::OsStr>, opt_out: Option<&std::ffi::OsStr>) -> bool {
    tunables.is_none() && opt_out.is_none_or(|v| v != "off")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn an_operators_tuning_or_opt_out_wins() {
        assert!(wanted(None, None));
        assert!(wanted(None, Some(OsStr::new("on"))));
        assert!(!wanted(None, Some(OsStr::new("off"))));
        // Also the second start: the variable is set by then, so there is no loop.
        assert!(!wanted(Some(OsStr::new(GLIBC_TUNABLES)), None));
        assert!(!wanted(Some(OsStr::new("glibc.malloc.arena_max=2")), None));
    }
}
