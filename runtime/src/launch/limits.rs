//! The process limits a run of many tenants needs, checked before anything starts (by `run` and
//! by `validate`), so that a tenant never fails halfway through a start for a reason the
//! configuration could have been told about.

use crate::error::SetupError;

/// Open files a tenant may hold at once: its backlog file (one descriptor, written and read back)
/// while its sink is behind or all queues are over their memory budget; one more with a stdout
/// file.
const FILES_PER_TENANT: u64 = 1;
/// The replication and SQL connections, epoll and eventfds, the state files, the compile cache
/// (about 15 measured; twice that for headroom).
const FILES_BESIDES: u64 = 32;
/// Address space a tenant's sink reserves: each linear memory reserves 4 GiB plus a guard region,
/// which lets compiled code skip bounds checks (see `sandbox::engine`); most sinks have one.
const ADDRESS_SPACE_PER_TENANT: u64 = (4 << 30) + (64 << 20);

/// Checks (and where allowed, raises) the limits `tenants` tenants need, `stdout_files` of them
/// with a stdout file: open files (`RLIMIT_NOFILE`; the soft limit is raised, as Go's runtime and
/// most servers do, since 1,024 is a default for `select()`, not a budget, and the hard one too
/// when the process may, e.g. as root) and address space (`RLIMIT_AS`, when set). An error names
/// the limit, what is needed and how to fix it.
pub fn check_process_limits(tenants: usize, stdout_files: usize) -> Result<(), SetupError> {
    let files = FILES_BESIDES + FILES_PER_TENANT * tenants as u64 + stdout_files as u64;
    let tenants = tenants as u64;
    let (soft, hard) = limit(libc::RLIMIT_NOFILE);
    if soft < files && !set(libc::RLIMIT_NOFILE, files, hard.max(files)) {
        if hard < files {
            return Err(SetupError::new(format!(
                "{tenants} tenants may hold up to {files} open files, but this process may open \
                 only {hard} (hard limit, ulimit -Hn): raise it (ulimit -Hn, or LimitNOFILE= in a \
                 systemd unit, nofile in /etc/security/limits.conf) or run fewer tenants per process"
            )));
        }
        set(libc::RLIMIT_NOFILE, files, hard);
    }
    let (soft, _) = limit(libc::RLIMIT_AS);
    let needed = ADDRESS_SPACE_PER_TENANT * tenants + (4 << 30);
    if soft != libc::RLIM_INFINITY && soft < needed {
        return Err(SetupError::new(format!(
            "{tenants} tenants reserve about {} GiB of address space (4 GiB per sink memory, \
             mostly never touched), but this process is limited to {} GiB (ulimit -v): lift the \
             limit (ulimit -v unlimited) or run fewer tenants per process",
            needed >> 30,
            soft >> 30
        )));
    }
    Ok(())
}

/// The soft and hard values of a resource limit.
fn limit(resource: libc::__rlimit_resource_t) -> (u64, u64) {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(resource, &mut rl) } != 0 {
        return (libc::RLIM_INFINITY, libc::RLIM_INFINITY);
    }
    (rl.rlim_cur, rl.rlim_max)
}

/// Sets a limit; whether it took. Raising a soft limit up to the hard one needs no privilege,
/// raising the hard one does (`CAP_SYS_RESOURCE`).
fn set(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> bool {
    let rl = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct we pass. A failure leaves the limit as it was.
    unsafe { libc::setrlimit(resource, &rl) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_tenants_fit_after_the_soft_file_limit_is_raised() {
        let (_, hard) = limit(libc::RLIMIT_NOFILE);
        if hard < FILES_BESIDES + FILES_PER_TENANT * 1_000 {
            // A machine with a hard limit this low cannot run them: the error must say so.
            let e = check_process_limits(1_000, 0).unwrap_err().to_string();
            assert!(e.contains("ulimit -Hn"), "{e}");
            return;
        }
        check_process_limits(1_000, 0).unwrap();
        assert!(limit(libc::RLIMIT_NOFILE).0 >= FILES_BESIDES + FILES_PER_TENANT * 1_000);
    }

    #[test]
    fn more_tenants_than_the_kernel_allows_open_files_are_named_with_the_fix() {
        // More than fs.nr_open (at most 2^30): no privilege can raise the hard limit that far.
        let tenants = 1 << 30;
        let e = check_process_limits(tenants, 0).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{tenants} tenants may hold up to")),
            "{e}"
        );
        assert!(e.contains("run fewer tenants per process"), "{e}");
    }
}
