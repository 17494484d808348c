//! Named network namespaces, made and entered in-process the way iproute2 does it.
//!
//! The lab puts its TAPs in a network namespace of its own so that what it configures in
//! the kernel (addresses, routes, links) cannot disturb the host's networking, and so that
//! everything it made goes away with the namespace. The namespace is named exactly as
//! `ip netns add` would name it (a bind mount of the namespace on `/run/netns/NAME`), so while
//! the lab runs a user can step into it from a plain shell with `ip netns exec NAME ...`.
//!
//! A network namespace belongs to a thread, not to a process: [`NetNs::run`] enters it on a
//! thread of its own and leaves the caller's thread where it was. File descriptors opened
//! there (a TAP, an rtnetlink socket) stay bound to the namespace whichever thread uses them
//! afterwards, so that is how the rest of the lab reaches into it.

use std::ffi::CString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::netlink::Rtnl;

/// Where iproute2 keeps its named network namespaces.
const RUN_DIR: &str = "/run/netns";

/// NS_GET_NSTYPE (`_IO(0xb7, 0x3)` in linux/nsfs.h): which kind of namespace an fd refers to.
const NS_GET_NSTYPE: u32 = 0xb703;

/// Serialises the first-time setup of [`RUN_DIR`]: two threads both finding it not yet a
/// mount point would otherwise stack two bind mounts on it.
static RUN_DIR_SETUP: Mutex<()> = Mutex::new(());

/// A named network namespace, `/run/netns/NAME`.
pub struct NetNs {
    name: String,
    path: PathBuf,
    /// Holds the namespace alive for as long as this value lives, even after [`NetNs::remove`].
    file: File,
    /// Made by this process, so removed on drop.
    owned: bool,
    /// Already removed: a second removal must not unmount or unlink a namespace that someone
    /// else has since created under the same name.
    removed: bool,
}

impl std::fmt::Debug for NetNs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetNs")
            .field("name", &self.name)
            .field("fd", &self.file.as_raw_fd())
            .field("owned", &self.owned)
            .field("removed", &self.removed)
            .finish()
    }
}

impl NetNs {
    /// Creates /run/netns/NAME as `ip netns add` does: a fresh network namespace bind-mounted
    /// on an empty file there, `/run/netns` being made a shared mount the first time so that
    /// later mounts (and unmounts) propagate to other mount namespaces. A name already taken
    /// is an error of kind [`io::ErrorKind::AlreadyExists`]. Unlike `ip netns add`, `lo` is
    /// brought up inside. On any failure nothing is left behind.
    pub fn create(name: &str) -> io::Result<NetNs> {
        check_name(name)?;
        prepare_run_dir()?;
        let path = Path::new(RUN_DIR).join(name);
        // Mode 0 and exclusive creation, as iproute2: the file is only a mount point, and
        // O_EXCL is what makes two labs (or a lab and `ip netns add`) unable to share a name.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o000)
            .open(&path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "network namespace {name:?} already exists ({} is taken)",
                        path.display()
                    ),
                ));
            }
            Err(e) => return Err(context(e, format_args!("creating {}", path.display()))),
        }
        let mut cleanup = Cleanup {
            path: path.clone(),
            armed: true,
        };

        // unshare(CLONE_NEWNET) moves the calling thread for good, so a throwaway thread does
        // it: the caller's thread stays in its namespace, and the bind mount keeps the new one
        // alive after the thread is gone.
        let file = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("hoplab-netns".into())
                .spawn_scoped(s, || -> io::Result<File> {
                    // SAFETY: unshare takes no pointers; it only changes this thread's
                    // network namespace, and this thread runs nothing else afterwards.
                    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                        return Err(context(io::Error::last_os_error(), "unshare(CLONE_NEWNET)"));
                    }
                    bind_mount(Path::new("/proc/thread-self/ns/net"), &path)?;
                    let file = File::open(&path)
                        .map_err(|e| context(e, format_args!("opening {}", path.display())))?;
                    bring_lo_up().map_err(|e| context(e, format_args!("in {name}")))?;
                    Ok(file)
                })?
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
        })
        .map_err(|e| context(e, format_args!("creating network namespace {name}")))?;

        cleanup.armed = false;
        Ok(NetNs {
            name: name.to_string(),
            path,
            file,
            owned: true,
            removed: false,
        })
    }

    /// An existing namespace, `/run/netns/NAME` (not removed on drop).
    pub fn open(name: &str) -> io::Result<NetNs> {
        check_name(name)?;
        let path = Path::new(RUN_DIR).join(name);
        let file = File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                io::Error::new(
                    e.kind(),
                    format!("network namespace {name:?} does not exist"),
                )
            } else {
                context(e, format_args!("opening {}", path.display()))
            }
        })?;
        // A file left behind by a crashed `ip netns add` is not mounted: say so now rather
        // than fail obscurely at the first setns.
        // SAFETY: NS_GET_NSTYPE takes no argument; the fd is open for the call's duration.
        let kind = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE as _) };
        if kind != libc::CLONE_NEWNET {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a network namespace", path.display()),
            ));
        }
        Ok(NetNs {
            name: name.to_string(),
            path,
            file,
            owned: false,
            removed: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a thread that joined this namespace (setns), and returns what it returned.
    /// File descriptors opened there (a TAP, a netlink socket) stay in this namespace when
    /// used from any thread. A panic in `f` is resumed in the caller.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> io::Result<R> {
        let fd = self.file.as_fd();
        std::thread::scope(|s| {
            let thread = std::thread::Builder::new()
                .name("hoplab-netns".into())
                .spawn_scoped(s, move || -> io::Result<R> {
                    setns(fd).map_err(|e| context(e, format_args!("entering {}", self.name)))?;
                    Ok(f())
                })?;
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A command that runs in this namespace: the child joins it with setns between fork and
    /// exec. It also gets SIGKILL if the thread that spawns it dies (PR_SET_PDEATHSIG), so a
    /// killed lab leaves no process behind: spawn it from a thread that outlives the child
    /// (not from inside [`NetNs::run`], whose thread ends when `f` returns).
    ///
    /// Only the network namespace changes: unlike `ip netns exec`, `/sys` and `/etc` are the
    /// caller's.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        // A copy of the fd, owned by the command, so that it can outlive this NetNs; it is
        // close-on-exec, so the program does not inherit it.
        let ns = self.file.try_clone().ok();
        let parent = std::process::id();
        let hook = move || -> io::Result<()> {
            // SAFETY: prctl(PR_SET_PDEATHSIG) takes integers only and is async-signal-safe.
            if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl, when the signal could no longer come.
            // SAFETY: getppid takes nothing and is async-signal-safe.
            if u32::try_from(unsafe { libc::getppid() }) != Ok(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            let Some(ns) = &ns else {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            };
            // SAFETY: the fd is owned by this closure, so open; setns is async-signal-safe.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        };
        // SAFETY: the hook runs in the forked child before exec and only calls
        // async-signal-safe functions (prctl, getppid, setns); it allocates nothing, as
        // `io::Error::from_raw_os_error` and `last_os_error` do not allocate.
        unsafe { command.pre_exec(hook) };
        command
    }

    /// Removes the namespace's name as `ip netns del` does: unmount (detached, so processes
    /// still inside keep it) then unlink. Idempotent. Meant for namespaces this process
    /// created (drop does it for them), but it works on an opened one too, to clear one left
    /// behind by a lab that was killed. The namespace itself lives on while this value (or
    /// anything inside it) does.
    pub fn remove(&mut self) -> io::Result<()> {
        if self.removed {
            return Ok(());
        }
        unmount(&self.path)?;
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(context(e, format_args!("removing {}", self.path.display()))),
        }
        self.removed = true;
        Ok(())
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if self.owned {
            let _ = self.remove();
        }
    }
}

/// Undoes a half-made [`NetNs::create`] unless disarmed.
struct Cleanup {
    path: PathBuf,
    armed: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.armed {
            let _ = unmount(&self.path);
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn context(e: io::Error, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// As iproute2: a name is one path component.
fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 255
        || name.contains(['/', '\0'])
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a valid network namespace name"),
        ));
    }
    Ok(())
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} contains a NUL byte", path.display()),
        )
    })
}

/// `mkdir -p /run/netns`, then make it a shared mount, bind-mounting it on itself first if
/// it is not a mount point yet: the same steps, in the same order, as iproute2, so that a
/// namespace's mount (and its unmount) propagates to mount namespaces cloned later.
fn prepare_run_dir() -> io::Result<()> {
    let _guard = RUN_DIR_SETUP.lock().unwrap_or_else(|e| e.into_inner());
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(RUN_DIR)
        .map_err(|e| context(e, format_args!("creating {RUN_DIR}")))?;
    let dir = cstring(Path::new(RUN_DIR))?;
    let mut made_mount_point = false;
    loop {
        // SAFETY: all pointers are to NUL-terminated strings that outlive the call (or null
        // for the unused data argument).
        let rc = unsafe {
            libc::mount(
                c"".as_ptr(),
                dir.as_ptr(),
                c"none".as_ptr(),
                libc::MS_SHARED | libc::MS_REC,
                std::ptr::null(),
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // EINVAL: not a mount point yet, which one bind mount fixes.
        if e.raw_os_error() != Some(libc::EINVAL) || made_mount_point {
            return Err(context(e, format_args!("mount --make-shared {RUN_DIR}")));
        }
        // SAFETY: as above.
        let rc = unsafe {
            libc::mount(
                dir.as_ptr(),
                dir.as_ptr(),
                c"none".as_ptr(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return Err(context(e, format_args!("mount --bind {RUN_DIR} {RUN_DIR}")));
        }
        made_mount_point = true;
    }
}

fn bind_mount(source: &Path, target: &Path) -> io::Result<()> {
    let (src, dst) = (cstring(source)?, cstring(target)?);
    // SAFETY: all pointers are to NUL-terminated strings that outlive the call (or null for
    // the unused data argument).
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            c"none".as_ptr(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(context(
            e,
            format_args!("mount --bind {} {}", source.display(), target.display()),
        ));
    }
    Ok(())
}

/// `umount -l`; a path that is not (or no longer) a mount point is fine.
fn unmount(path: &Path) -> io::Result<()> {
    let target = cstring(path)?;
    // SAFETY: the pointer is to a NUL-terminated string that outlives the call.
    if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } != 0 {
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) {
            return Err(context(e, format_args!("umount {}", path.display())));
        }
    }
    Ok(())
}

fn setns(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: the fd is borrowed, so open for the call; setns only changes this thread's
    // network namespace.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A fresh namespace's `lo` is down, and much expects 127.0.0.1 to work.
fn bring_lo_up() -> io::Result<()> {
    let mut rtnl = Rtnl::open()?;
    let lo = rtnl
        .link_by_name("lo")?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no lo interface"))?;
    rtnl.set_link(lo.index, Some(true), None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::process::Stdio;

    use crate::tap::test_support::privileged;

    fn unique_name() -> String {
        crate::tap::test_support::unique_name("hl-test-ns")
    }

    /// Which namespace: the nsfs device and inode (what /proc shows as "net:[INODE]").
    fn ns_id(ns: &NetNs) -> (u64, u64) {
        let meta = ns.file.metadata().unwrap();
        (meta.dev(), meta.ino())
    }

    fn ns_id_of(path: impl AsRef<Path>) -> (u64, u64) {
        let meta = std::fs::metadata(path).unwrap();
        (meta.dev(), meta.ino())
    }

    #[test]
    fn create_run_command_remove() {
        if !privileged("create_run_command_remove") {
            return;
        }
        let name = unique_name();
        // Removed on drop, including when an assertion below fails.
        let mut ns = NetNs::create(&name).unwrap();
        assert_eq!(ns.name(), name);
        assert_eq!(ns.path(), Path::new(RUN_DIR).join(&name));
        assert!(ns.path().exists());
        let id = ns_id(&ns);
        let host = ns_id_of("/proc/self/ns/net");
        assert_ne!(id, host);

        // Same name again: refused, and the first one is untouched.
        let again = NetNs::create(&name).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists, "{again}");
        assert!(again.to_string().contains(&name), "{again}");
        assert!(ns.path().exists());

        // Opened by name, it is the same namespace.
        let opened = NetNs::open(&name).unwrap();
        assert_eq!(ns_id(&opened), id);
        drop(opened); // not owned: the name stays
        assert!(ns.path().exists());

        // run() is on a thread inside; the caller's thread stays outside.
        let inside = ns.run(|| ns_id_of("/proc/thread-self/ns/net")).unwrap();
        assert_eq!(inside, id);
        assert_eq!(ns_id_of("/proc/thread-self/ns/net"), host);
        let borrowed = String::from("not 'static");
        assert_eq!(ns.run(|| borrowed.len()).unwrap(), 11);
        let lo = ns
            .run(|| Rtnl::open()?.link_by_name("lo"))
            .unwrap()
            .unwrap()
            .expect("lo exists");
        assert!(lo.up && lo.kind.is_none(), "{lo:?}");

        // command(): the child is inside. `cat` waits on its stdin while we look at it.
        let mut child = ns
            .command("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let child_ns = std::fs::metadata(format!("/proc/{}/ns/net", child.id()));
        drop(child.stdin.take());
        let status = child.wait().unwrap();
        let child_ns = child_ns.unwrap();
        assert_eq!((child_ns.dev(), child_ns.ino()), id);
        assert!(status.success(), "{status}");

        ns.remove().unwrap();
        assert!(!ns.path().exists());
        ns.remove().unwrap(); // idempotent
        let gone = NetNs::open(&name).unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::NotFound, "{gone}");
        // The namespace itself lives on while the NetNs does.
        assert_eq!(ns.run(|| 7).unwrap(), 7);
    }

    #[test]
    fn drop_removes_only_what_it_created() {
        if !privileged("drop_removes_only_what_it_created") {
            return;
        }
        let name = unique_name();
        let ns = NetNs::create(&name).unwrap();
        let path = ns.path().to_path_buf();
        let opened = NetNs::open(&name).unwrap();
        drop(opened);
        assert!(path.exists());
        drop(ns);
        assert!(!path.exists());
        assert!(
            !std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap()
                .contains(&name)
        );
    }

    #[test]
    fn a_panic_in_run_reaches_the_caller() {
        if !privileged("a_panic_in_run_reaches_the_caller") {
            return;
        }
        let ns = NetNs::create(&unique_name()).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ns.run(|| panic!("inside")).unwrap();
        }));
        assert!(caught.is_err());
        assert_eq!(ns.run(|| 1).unwrap(), 1);
    }

    #[test]
    fn bad_names_are_refused_before_touching_anything() {
        for name in ["", ".", "..", "a/b", "../etc", "a\0b"] {
            let e = NetNs::create(name).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{name:?}: {e}");
            let e = NetNs::open(name).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{name:?}: {e}");
        }
    }

    #[test]
    fn opening_a_missing_namespace_is_not_found() {
        let e = NetNs::open(&unique_name()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    }
}
