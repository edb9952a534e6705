//! The walls around a server build, raised in the child between fork and
//! exec: no network (a network namespace of its own, with no interface up),
//! the whole file system read-only but the build's work folder, the store,
//! keys and other tenants' build caches hidden, and resource limits. A Rust
//! build runs build scripts and proc macros natively and `include_bytes!`
//! reads any path, so a tenant's build must not see what the server sees.
//! If a wall cannot be raised the build is refused, never run without it.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What the child is allowed and what it is not; every path is made a C
/// string here, in the parent, because the child may not allocate.
#[derive(Debug)]
pub struct Isolation {
    /// The build's folder, writable; the tenant's cargo cache is mounted
    /// inside it.
    work: CString,
    /// The tenant's persistent cargo target folder, and where in `work` it
    /// is mounted (cargo sees one fixed path, so its cache stays fresh).
    target_from: CString,
    target_at: CString,
    /// Folders covered by an empty read-only tmpfs.
    hide_dirs: Vec<CString>,
    /// Files covered by /dev/null.
    hide_files: Vec<CString>,
    /// `RLIMIT_DATA` of every process of the build, bytes.
    data_limit: u64,
    /// `RLIMIT_FSIZE`: the largest file the build may write, bytes.
    file_size_limit: u64,
    /// Only when the kernel refuses a plain network namespace and a user
    /// namespace is needed: the lines that map the caller's ids into it
    /// (without them, nothing could be created).
    uid_map: CString,
    gid_map: CString,
}

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: libc::c_uint = 0x8000;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
}

impl Isolation {
    /// `hide`: paths the build must not read (folders or files); those that
    /// do not exist are skipped.
    pub fn new(
        work: &Path,
        target_from: &Path,
        target_at: &Path,
        hide: &[PathBuf],
        data_limit: u64,
        file_size_limit: u64,
    ) -> io::Result<Self> {
        let (mut hide_dirs, mut hide_files) = (Vec::new(), Vec::new());
        for path in hide {
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => hide_dirs.push(c_path(path)?),
                Ok(_) => hide_files.push(c_path(path)?),
                Err(_) => {}
            }
        }
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(Self {
            work: c_path(work)?,
            target_from: c_path(target_from)?,
            target_at: c_path(target_at)?,
            hide_dirs,
            hide_files,
            data_limit,
            file_size_limit,
            uid_map: CString::new(format!("{uid} {uid} 1\n")).unwrap_or_default(),
            gid_map: CString::new(format!("{gid} {gid} 1\n")).unwrap_or_default(),
        })
    }

    /// Raises the walls in the calling process. Meant for the child after
    /// fork: it only makes system calls on memory prepared in [`Self::new`].
    ///
    /// # Safety
    /// Changes the namespaces, mounts and limits of the calling process:
    /// call it only in a child about to exec.
    pub unsafe fn enter(&self) -> io::Result<()> {
        // SAFETY (whole body): plain system calls on NUL-terminated strings
        // and structs owned by `self`, which outlives the calls.
        unsafe {
            let namespaces = libc::CLONE_NEWNET | libc::CLONE_NEWNS;
            if libc::unshare(namespaces) != 0 {
                // Without CAP_SYS_ADMIN: a user namespace of our own grants
                // it for namespaces made inside it.
                check(libc::unshare(libc::CLONE_NEWUSER | namespaces))?;
                write_file(c"/proc/self/setgroups", c"deny")?;
                write_file(c"/proc/self/uid_map", &self.uid_map)?;
                write_file(c"/proc/self/gid_map", &self.gid_map)?;
            }
            // Nothing done below may reach the server's mount namespace.
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            // The work folder becomes a mount of its own (made writable
            // again below), with the tenant's cargo cache inside it.
            check(libc::mount(
                self.work.as_ptr(),
                self.work.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                self.target_from.as_ptr(),
                self.target_at.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
            for dir in &self.hide_dirs {
                check(libc::mount(
                    c"tmpfs".as_ptr(),
                    dir.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    c"size=4k,mode=000".as_ptr().cast(),
                ))?;
            }
            for file in &self.hide_files {
                check(libc::mount(
                    c"/dev/null".as_ptr(),
                    file.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
            set_read_only(c"/", true)?;
            set_read_only(&self.work, false)?;
            limit(libc::RLIMIT_DATA, self.data_limit)?;
            limit(libc::RLIMIT_FSIZE, self.file_size_limit)?;
            limit(libc::RLIMIT_CORE, 0)?;
        }
        Ok(())
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `mount_setattr(path, AT_RECURSIVE)`: every mount at and below `path`
/// read-only, or writable again.
unsafe fn set_read_only(path: &std::ffi::CStr, read_only: bool) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: if read_only { MOUNT_ATTR_RDONLY } else { 0 },
        attr_clr: if read_only { 0 } else { MOUNT_ATTR_RDONLY },
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: a valid path and a struct of the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

unsafe fn limit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let rlimit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: a valid rlimit struct.
    check(unsafe { libc::setrlimit(resource, &rlimit) })
}

/// open, write, close: no allocation.
unsafe fn write_file(path: &std::ffi::CStr, text: &std::ffi::CStr) -> io::Result<()> {
    // SAFETY: valid NUL-terminated strings; the fd is closed before return.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let bytes = text.to_bytes();
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        let error = io::Error::last_os_error();
        libc::close(fd);
        if written != bytes.len() as isize {
            return Err(error);
        }
    }
    Ok(())
}
