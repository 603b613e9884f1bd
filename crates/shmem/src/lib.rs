//! f64 arrays in named POSIX shared memory, viewed as `ndarray` arrays by several processes.
//!
//! One process, the *owner*, creates a [`SharedArray`]: a shared-memory object made with
//! `shm_open(O_CREAT | O_EXCL | O_RDWR, 0600)` under a name nobody can guess
//! (`/cnd-<pid>-<128 random bits in hex>`), sized for the array, zero-filled and mapped shared.
//! Worker processes open the same object with [`Attached::open`] and map it too: every process
//! sees every other's writes, and nothing is copied. [`SharedArray::descriptor`] turns the
//! layout into one string (`name:dim0xdim1...`) a worker can receive in an environment
//! variable and hand to [`Attached::open_descriptor`].
//!
//! # Lifecycle
//!
//! 1. `create`: the owner makes the object and registers its name for cleanup.
//! 2. Workers `attach`: each maps the object by name.
//! 3. The owner calls [`SharedArray::unlink`] once every worker has attached: the name is gone,
//!    the mappings stay valid, and the memory is freed when the last mapping goes away.
//! 4. Everybody works on its mapping.
//! 5. `drop`: mappings are unmapped; the owner also unlinks if it had not done so yet.
//!
//! ```
//! use shmem::{Attached, SharedArray};
//!
//! let mut owner = SharedArray::create(&[2, 3])?; // like np.zeros((2, 3)) in shared memory
//! let descriptor = owner.descriptor(); // e.g. put it in a worker's environment
//! // ... in the worker process:
//! let mut worker = Attached::open_descriptor(&descriptor)?;
//! // ... back in the owner, once every worker has attached:
//! owner.unlink()?;
//! worker.view_mut()[[1, 2]] = 5.0;
//! assert_eq!(owner.view()[[1, 2]], 5.0);
//! # Ok::<(), shmem::ShmError>(())
//! ```
//!
//! Nothing synchronises the processes' accesses: give each worker its own part of the array to
//! write, and use something else (a pipe, a process exit) to say when a part is ready.
//!
//! # What survives which ending
//!
//! - Normal exit, an error returned from `main`, a panic that unwinds: the owner's `Drop` unlinks.
//! - Ctrl-C (SIGINT), SIGTERM, SIGHUP: [`install_cleanup_handler`] (called by `create`) unlinks
//!   every name this process still has linked and exits with 128 + the signal (130, 143, 129).
//!   It is a signal handler that does only async-signal-safe work (`unlink`, `write`, `_exit`),
//!   so it cannot deadlock on a lock another thread holds.
//! - SIGKILL of a worker: the kernel drops its mapping; no name belongs to it, nothing leaks.
//! - SIGKILL of the owner *after* `unlink`: nothing leaks; the memory goes with the last mapping.
//! - SIGKILL of the owner *before* `unlink`, or `panic = "abort"`, or a crash: no code runs, so
//!   the name stays in `/dev/shm` until the next process using this crate starts: its first
//!   `create` (or [`install_cleanup_handler`]) calls [`remove_stale`], which removes this user's
//!   objects whose pid (part of every name) no longer exists. Unlinking right after the workers
//!   attach keeps that window short. [`leftovers`] lists what a given process left behind.
//!
//! Names are listed from `/dev/shm`, where Linux keeps POSIX shared memory; [`leftovers`] and
//! the free-space check are Linux-specific, the rest is POSIX.

use std::cell::UnsafeCell;
use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::sync::Once;

use memmap2::{MmapMut, MmapOptions};
use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn};
use trace::State;

/// Every name this crate creates starts with this (after the leading `/`).
pub const NAME_PREFIX: &str = "cnd-";

/// Where Linux shows POSIX shared-memory objects as files.
pub const SHM_DIR: &str = "/dev/shm";

/// Exit status after SIGINT (Ctrl-C) once the handler removed the arrays: 128 + 2.
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

/// Exit status after SIGTERM once the handler removed the arrays: 128 + 15.
pub const TERMINATED_EXIT_CODE: i32 = 143;

/// Why a shared array could not be created, opened or removed. `Display` is one line.
#[derive(Debug)]
pub enum ShmError {
    /// The shape's element count or byte size overflows `usize` or `off_t`.
    TooLarge {
        /// The shape asked for.
        shape: Vec<usize>,
    },
    /// `/dev/shm` has less free space than the array needs.
    NoSpace {
        /// Bytes the array needs.
        needed: u64,
        /// Bytes free in `/dev/shm`.
        available: u64,
    },
    /// `create_named` was given a name that already exists.
    Exists {
        /// The name.
        name: String,
    },
    /// `open` was given a name that does not exist (or was already unlinked).
    NotFound {
        /// The name.
        name: String,
    },
    /// The object's size does not match the shape the caller expects.
    SizeMismatch {
        /// The object's name.
        name: String,
        /// Bytes the shape needs.
        expected: u64,
        /// Bytes the object has.
        actual: u64,
    },
    /// A name that POSIX shared memory does not accept (`/` then no other `/`, no NUL).
    BadName {
        /// The name given.
        name: String,
    },
    /// More arrays linked at once than the signal handler's table holds.
    TooMany {
        /// How many the table holds.
        limit: usize,
    },
    /// A descriptor string that is not `name:dim0xdim1...`.
    BadDescriptor {
        /// The descriptor given.
        descriptor: String,
    },
    /// Any other operating-system error, with the call that failed.
    Os {
        /// The call that failed (`shm_open`, `mmap`, ...).
        op: &'static str,
        /// The object's name.
        name: String,
        /// The operating system's error.
        source: io::Error,
    },
}

impl fmt::Display for ShmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShmError::TooLarge { shape } => {
                write!(f, "shared array of shape {shape:?} is too large to address")
            }
            ShmError::NoSpace { needed, available } => write!(
                f,
                "not enough space in {SHM_DIR}: the array needs {} but only {} is available",
                human_bytes(*needed),
                human_bytes(*available)
            ),
            ShmError::Exists { name } => write!(f, "shared memory object {name} already exists"),
            ShmError::NotFound { name } => write!(f, "shared memory object {name} does not exist"),
            ShmError::SizeMismatch {
                name,
                expected,
                actual,
            } => write!(
                f,
                "shared memory object {name} has {actual} bytes but the shape needs {expected}"
            ),
            ShmError::BadName { name } => write!(
                f,
                "invalid shared memory name {name:?}: it must be '/' followed by up to 254 \
                 characters without '/' or NUL"
            ),
            ShmError::TooMany { limit } => write!(
                f,
                "more than {limit} shared arrays linked at once; unlink some before creating more"
            ),
            ShmError::BadDescriptor { descriptor } => write!(
                f,
                "invalid shared array descriptor {descriptor:?}: expected NAME:DIM0xDIM1..."
            ),
            ShmError::Os { op, name, source } => write!(f, "{op} {name}: {source}"),
        }
    }
}

impl std::error::Error for ShmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ShmError::Os { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {} ({n} bytes)", UNITS[unit])
    }
}

// ---------------------------------------------------------------------------------------------
// The registry of linked names and the SIGINT / SIGTERM / SIGHUP handler.
//
// The handler runs inside a signal handler, on whatever thread the signal lands, while another
// thread may hold any lock (the allocator's, stdout's, this crate's) or be inside fork(). So it
// takes no lock and allocates nothing: the names live in a fixed table of slots whose states
// are atomics, each slot holding the object's path ready for unlink(2) (async-signal-safe), and
// the handler ends with _exit(2).

/// How many names one process can have linked at once.
const SLOTS: usize = 64;
/// Room for `/dev/shm` + a name of up to 255 bytes + NUL.
const PATH_BYTES: usize = 288;

const FREE: u8 = 0;
/// A thread is writing the slot's path: the handler must not read it.
const WRITING: u8 = 1;
/// The path is complete and the name is (or is about to be) linked.
const LINKED: u8 = 2;

struct Slot {
    state: AtomicU8,
    path: UnsafeCell<[u8; PATH_BYTES]>,
}

// SAFETY: `path` is written only by the thread that moved `state` from FREE to WRITING, and
// read (by the handler or the unlinking thread) only while `state` is LINKED.
unsafe impl Sync for Slot {}

#[allow(clippy::declare_interior_mutable_const)] // only used to build the array below
const EMPTY_SLOT: Slot = Slot {
    state: AtomicU8::new(FREE),
    path: UnsafeCell::new([0; PATH_BYTES]),
};
static REGISTRY: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
static HANDLER: Once = Once::new();

/// What `unlink(2)` takes for `name` on this system: `/dev/shm/<name>` on Linux (plain unlink
/// is async-signal-safe; shm_unlink is not on POSIX's list), the name itself elsewhere.
fn unlink_path(name: &str) -> String {
    if cfg!(target_os = "linux") {
        format!("{SHM_DIR}{name}")
    } else {
        name.to_string()
    }
}

/// Put `name` in the table before the object exists, so a signal at any moment after the
/// object is created finds it.
fn register(name: &str) -> Result<(), ShmError> {
    let path = unlink_path(name);
    if path.len() >= PATH_BYTES {
        return Err(ShmError::BadName { name: name.into() });
    }
    for slot in &REGISTRY {
        if slot
            .state
            .compare_exchange(FREE, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: WRITING gives this thread the slot's path alone.
            let buf = unsafe { &mut *slot.path.get() };
            buf[..path.len()].copy_from_slice(path.as_bytes());
            buf[path.len()] = 0;
            slot.state.store(LINKED, Ordering::Release);
            return Ok(());
        }
    }
    Err(ShmError::TooMany { limit: SLOTS })
}

/// Take `name` out of the table; with `unlink`, remove the object too (before its slot is
/// freed, so a signal in between still finds it). `None` when `name` was not registered.
fn deregister(name: &str, unlink: bool) -> Option<io::Result<()>> {
    let path = unlink_path(name);
    let slot = REGISTRY.iter().find(|slot| {
        // SAFETY: a LINKED slot's path is complete and nobody writes it until it is FREE.
        slot.state.load(Ordering::Acquire) == LINKED
            && unsafe { &*slot.path.get() }.split(|&b| b == 0).next() == Some(path.as_bytes())
    })?;
    let result = unlink.then(|| {
        // SAFETY: the path is NUL-terminated and stays put while the state is LINKED.
        if unsafe { libc::unlink((*slot.path.get()).as_ptr().cast()) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    });
    // Two threads deregistering the same name both unlink; one of them frees the slot.
    slot.state
        .compare_exchange(LINKED, FREE, Ordering::AcqRel, Ordering::Relaxed)
        .ok()?;
    Some(result.unwrap_or(Ok(())))
}

/// Whether `name` is in the table.
fn registered(name: &str) -> bool {
    let path = unlink_path(name);
    REGISTRY.iter().any(|slot| {
        // SAFETY: as in deregister.
        slot.state.load(Ordering::Acquire) == LINKED
            && unsafe { &*slot.path.get() }.split(|&b| b == 0).next() == Some(path.as_bytes())
    })
}

/// The process that installed the handler. A child forked from it (between `fork` and `exec`
/// the handler is still installed) must not remove its parent's names.
static OWNER_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe calls: getpid, unlink, write, _exit.
    // SAFETY: getpid and _exit are async-signal-safe.
    if unsafe { libc::getpid() } != OWNER_PID.load(Ordering::Relaxed) {
        unsafe { libc::_exit(128 + signal) };
    }
    for slot in &REGISTRY {
        if slot.state.load(Ordering::Acquire) == LINKED {
            // SAFETY: a LINKED slot holds a complete NUL-terminated path.
            unsafe { libc::unlink((*slot.path.get()).as_ptr().cast()) };
        }
    }
    let message: &[u8] = match signal {
        libc::SIGINT => b"interrupted (SIGINT): shared memory removed\n",
        libc::SIGTERM => b"terminated (SIGTERM): shared memory removed\n",
        _ => b"hung up (SIGHUP): shared memory removed\n",
    };
    // SAFETY: write and _exit are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(128 + signal);
    }
}

/// Install (once; later calls do nothing) a SIGINT / SIGTERM / SIGHUP handler that unlinks
/// every [`SharedArray`] name this process still has linked, writes one line on stderr and
/// exits at once with status 128 + the signal: 130 for SIGINT ([`INTERRUPTED_EXIT_CODE`]), 143
/// for SIGTERM ([`TERMINATED_EXIT_CODE`]), 129 for SIGHUP. The first call also removes the
/// objects that dead processes left behind (see [`remove_stale`]).
///
/// It is a real signal handler doing only async-signal-safe work (`unlink`, `write`, `_exit`),
/// so it is correct whatever the other threads are doing (forking, computing in OpenBLAS,
/// holding the allocator's lock), and the process exits within moments. Worker processes
/// started with `PR_SET_PDEATHSIG` die with it. [`SharedArray::create`] calls it.
pub fn install_cleanup_handler() {
    HANDLER.call_once(|| {
        remove_stale();
        // SAFETY: getpid has no preconditions.
        OWNER_PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
        // SAFETY: a zeroed sigaction with a handler of the right type and a full mask, so the
        // handler is not interrupted by another of the three signals.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigfillset(&mut action.sa_mask);
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// Unlink every name this process created and still has linked. Returns how many it removed.
/// The mappings stay valid; the owners' later `unlink` and `Drop` do nothing more.
pub fn unlink_all() -> usize {
    let mut removed = 0;
    for slot in &REGISTRY {
        if slot.state.load(Ordering::Acquire) != LINKED {
            continue;
        }
        // SAFETY: as in deregister; the path is copied out before the slot can be freed.
        let path = unsafe { &*slot.path.get() }
            .split(|&b| b == 0)
            .next()
            .map(<[u8]>::to_vec);
        let name = path.and_then(|p| String::from_utf8(p).ok());
        let name = name.map(|p| p.strip_prefix(SHM_DIR).map(str::to_string).unwrap_or(p));
        if let Some(name) = name {
            if matches!(deregister(&name, true), Some(Ok(()))) {
                removed += 1;
            }
        }
    }
    removed
}

/// Remove the objects in `/dev/shm` that this crate's naming scheme (`cnd-<pid>-...`) made
/// for processes that no longer exist and that belong to this user: what a SIGKILL, an OOM
/// kill or a crash left before its owner could unlink. Returns the names removed. A live pid
/// (even a reused one) keeps its objects: only a pid that `kill(pid, 0)` says is gone counts.
pub fn remove_stale() -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(SHM_DIR) else {
        return Vec::new();
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let Ok(file) = entry.file_name().into_string() else {
            continue;
        };
        let Some(pid) = file
            .strip_prefix(NAME_PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
            .filter(|&pid| pid > 0)
        else {
            continue;
        };
        if entry.metadata().ok().map(|m| m.uid()) != Some(me) || process_exists(pid) {
            continue;
        }
        let name = format!("/{file}");
        if raw_unlink(&name).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// Whether a process with this pid exists (alive or a zombie), as `kill(pid, 0)` tells.
fn process_exists(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn raw_unlink(name: &str) -> io::Result<()> {
    let c_name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: c_name is a valid NUL-terminated string.
    if unsafe { libc::shm_unlink(c_name.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

// ---------------------------------------------------------------------------------------------
// Names, shapes, descriptors.

fn random_name() -> Result<String, ShmError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ShmError::Os {
        op: "getrandom for",
        name: "a shared memory name".into(),
        source: io::Error::other(e.to_string()),
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("/{NAME_PREFIX}{}-{hex}", std::process::id()))
}

fn check_name(name: &str) -> Result<CString, ShmError> {
    let bad = || ShmError::BadName { name: name.into() };
    let rest = name.strip_prefix('/').ok_or_else(bad)?;
    if rest.is_empty() || rest.len() > 254 || rest.contains('/') || rest == "." || rest == ".." {
        return Err(bad());
    }
    CString::new(name).map_err(|_| bad())
}

/// Bytes an f64 array of this shape takes, if that fits in `usize` and `off_t`.
fn byte_len(shape: &[usize]) -> Result<usize, ShmError> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(size_of::<f64>()))
        .filter(|&b| libc::off_t::try_from(b).is_ok())
        .ok_or_else(|| ShmError::TooLarge {
            shape: shape.to_vec(),
        })
}

/// `name:dim0xdim1...`; a 0-dimensional array has nothing after the colon.
fn format_descriptor(name: &str, shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("{name}:{}", dims.join("x"))
}

/// Split a descriptor made by [`SharedArray::descriptor`] into its name and shape.
pub fn parse_descriptor(descriptor: &str) -> Result<(String, Vec<usize>), ShmError> {
    let bad = || ShmError::BadDescriptor {
        descriptor: descriptor.into(),
    };
    let (name, dims) = descriptor.rsplit_once(':').ok_or_else(bad)?;
    check_name(name)?;
    let shape = if dims.is_empty() {
        Vec::new()
    } else {
        dims.split('x')
            .map(|d| d.parse::<usize>().map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok((name.to_string(), shape))
}

/// Free bytes in `/dev/shm`, or `None` where it cannot be asked (no `/dev/shm`).
fn shm_available() -> Option<u64> {
    let dir = CString::new(SHM_DIR).ok()?;
    // SAFETY: statvfs only writes into the zeroed struct we pass.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(dir.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

/// Names (with the leading `/`, as [`Attached::open`] takes them) of objects in `/dev/shm`
/// that this crate's naming scheme made for process `pid`, sorted. For tests and leak checks.
pub fn leftovers(pid: u32) -> Vec<String> {
    let prefix = format!("{NAME_PREFIX}{pid}-");
    let Ok(entries) = std::fs::read_dir(SHM_DIR) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .map(|n| format!("/{n}"))
        .collect();
    names.sort();
    names
}

/// Remove a name from the system, for example one that [`leftovers`] found after a crash.
pub fn unlink_name(name: &str) -> Result<(), ShmError> {
    check_name(name)?;
    deregister(name, false);
    raw_unlink(name).map_err(|e| os_error("shm_unlink", name, e))
}

fn os_error(op: &'static str, name: &str, source: io::Error) -> ShmError {
    match source.raw_os_error() {
        Some(libc::EEXIST) => ShmError::Exists { name: name.into() },
        Some(libc::ENOENT) => ShmError::NotFound { name: name.into() },
        _ => ShmError::Os {
            op,
            name: name.into(),
            source,
        },
    }
}

fn shm_open(name: &CString, flags: libc::c_int) -> io::Result<File> {
    // SAFETY: name is NUL-terminated; a non-negative result is a fresh fd we now own.
    let fd = unsafe { libc::shm_open(name.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(unsafe { File::from_raw_fd(fd) })
    }
}

fn view_of<'a>(shape: &[usize], data: &'a [f64]) -> ArrayViewD<'a, f64> {
    ArrayViewD::from_shape(IxDyn(shape), data).expect("mapping length matches the shape")
}

fn view_mut_of<'a>(shape: &[usize], data: &'a mut [f64]) -> ArrayViewMutD<'a, f64> {
    ArrayViewMutD::from_shape(IxDyn(shape), data).expect("mapping length matches the shape")
}

/// Ask for transparent huge pages on a mapping, as NumPy does for its large arrays: 2 MiB pages
/// mean 512 times fewer page faults when the arrays are first written. Shared memory gets them
/// only where the kernel allows huge pages on `/dev/shm` (its tmpfs `huge=` mount option, or
/// `/sys/kernel/mm/transparent_hugepage/shmem_enabled` set to `force`); elsewhere the advice is
/// a no-op, and a refused advice leaves ordinary pages, so its result is ignored.
fn advise_huge_pages(map: &MmapMut) {
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    #[cfg(not(target_os = "linux"))]
    let _ = map;
}

fn f64s(map: &MmapMut, len: usize) -> &[f64] {
    // SAFETY: the mapping is page-aligned and holds len f64s (checked at creation/attach);
    // every bit pattern is a valid f64.
    unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<f64>(), len) }
}

fn f64s_mut(map: &mut MmapMut, len: usize) -> &mut [f64] {
    // SAFETY: as in f64s, and we hold the mapping mutably.
    unsafe { std::slice::from_raw_parts_mut(map.as_mut_ptr().cast::<f64>(), len) }
}

/// The accessors [`SharedArray`] and [`Attached`] share: both hold `shape`, `len` (elements)
/// and `map` (the mapping).
macro_rules! array_accessors {
    () => {
        /// The array's shape.
        pub fn shape(&self) -> &[usize] {
            &self.shape
        }

        /// The whole array, read-only.
        pub fn view(&self) -> ArrayViewD<'_, f64> {
            view_of(&self.shape, self.as_slice())
        }

        /// The whole array, writable.
        pub fn view_mut(&mut self) -> ArrayViewMutD<'_, f64> {
            let len = self.len;
            view_mut_of(&self.shape, f64s_mut(&mut self.map, len))
        }

        /// The elements in row-major order.
        pub fn as_slice(&self) -> &[f64] {
            f64s(&self.map, self.len)
        }

        /// The elements in row-major order, writable.
        pub fn as_slice_mut(&mut self) -> &mut [f64] {
            f64s_mut(&mut self.map, self.len)
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The owner.

/// The owner of a shared array: it created the object and removes its name on
/// [`unlink`](SharedArray::unlink), on drop, or on Ctrl-C / SIGTERM.
#[derive(Debug)]
pub struct SharedArray {
    name: String,
    shape: Vec<usize>,
    len: usize,
    map: MmapMut,
    linked: bool,
}

impl SharedArray {
    /// Create a zero-filled array of this shape under a fresh, unguessable name.
    pub fn create(shape: &[usize]) -> Result<SharedArray, ShmError> {
        SharedArray::create_named(&random_name()?, shape)
    }

    /// Create a zero-filled array under a given name, failing if the name exists. Meant for
    /// tests: a chosen name is a guessable one, so prefer [`create`](SharedArray::create).
    pub fn create_named(name: &str, shape: &[usize]) -> Result<SharedArray, ShmError> {
        let c_name = check_name(name)?;
        let bytes = byte_len(shape)?;
        let _mapping = trace::span("map shared array", State::Setup).map(|s| s.bytes(bytes as u64));
        if let Some(available) = shm_available() {
            if bytes as u64 > available {
                return Err(ShmError::NoSpace {
                    needed: bytes as u64,
                    available,
                });
            }
        }
        install_cleanup_handler();

        // Registered before it exists, so a signal at any moment after shm_open finds it. (A
        // signal before shm_open fails with EEXIST would unlink that other object: a chosen
        // name's risk; a random name cannot exist already.)
        register(name)?;
        let file = shm_open(&c_name, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR).map_err(|e| {
            deregister(name, false);
            os_error("shm_open", name, e)
        })?;

        let unlink_on_error = |err: ShmError| {
            let _ = unlink_name(name);
            err
        };
        size_and_secure(&file, bytes).map_err(|(op, e)| unlink_on_error(os_error(op, name, e)))?;
        // SAFETY: we created the object and sized it to `bytes`; nobody else can shrink it
        // except by deliberately opening our unguessable name.
        let map = unsafe { MmapOptions::new().len(bytes).map_mut(&file) }
            .map_err(|e| unlink_on_error(os_error("mmap", name, e)))?;
        advise_huge_pages(&map);
        Ok(SharedArray {
            name: name.to_string(),
            shape: shape.to_vec(),
            len: bytes / size_of::<f64>(),
            map,
            linked: true,
        })
    }

    /// The object's name, `/cnd-<pid>-<hex>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `name:dim0xdim1...`: everything a worker needs for [`Attached::open_descriptor`].
    pub fn descriptor(&self) -> String {
        format_descriptor(&self.name, &self.shape)
    }

    array_accessors!();

    /// Remove the name now; calling it again does nothing. Call it once every worker has
    /// attached: the mappings stay valid, and from here on nothing can leak, even on SIGKILL.
    pub fn unlink(&mut self) -> Result<(), ShmError> {
        if !self.linked {
            return Ok(());
        }
        self.linked = false;
        // unlink_all may have removed it already: then it is done.
        match deregister(&self.name, true) {
            Some(Err(e)) => Err(os_error("shm_unlink", &self.name, e)),
            _ => Ok(()),
        }
    }

    /// Whether the name still exists (`unlink` has not been called, nor [`unlink_all`]).
    pub fn is_linked(&self) -> bool {
        self.linked && registered(&self.name)
    }
}

/// Set the size (zero-filled), reserve the pages where the OS can, and make the mode 0600
/// whatever the umask.
fn size_and_secure(file: &File, bytes: usize) -> Result<(), (&'static str, io::Error)> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: plain syscalls on an fd we own.
    if unsafe { libc::fchmod(fd, 0o600) } != 0 {
        return Err(("fchmod", io::Error::last_os_error()));
    }
    if unsafe { libc::ftruncate(fd, bytes as libc::off_t) } != 0 {
        return Err(("ftruncate", io::Error::last_os_error()));
    }
    // Reserve the pages now, so a full /dev/shm is an error here rather than a SIGBUS later.
    #[cfg(target_os = "linux")]
    if bytes > 0 {
        let rc = unsafe { libc::posix_fallocate(fd, 0, bytes as libc::off_t) };
        if rc != 0 {
            return Err(("posix_fallocate", io::Error::from_raw_os_error(rc)));
        }
    }
    Ok(())
}

impl Drop for SharedArray {
    fn drop(&mut self) {
        // Nothing to report to from a destructor; unlink has no other failure worth a panic.
        let _ = self.unlink();
    }
}

// ---------------------------------------------------------------------------------------------
// A worker's handle.

/// A worker's handle on an array another process created. Dropping it unmaps the array.
#[derive(Debug)]
pub struct Attached {
    name: String,
    shape: Vec<usize>,
    len: usize,
    map: MmapMut,
}

impl Attached {
    /// Open an existing object read-write, check its size matches `shape`, and map it.
    pub fn open(name: &str, shape: &[usize]) -> Result<Attached, ShmError> {
        let c_name = check_name(name)?;
        let bytes = byte_len(shape)?;
        let _mapping = trace::span("map shared array", State::Setup).map(|s| s.bytes(bytes as u64));
        let file = shm_open(&c_name, libc::O_RDWR).map_err(|e| os_error("shm_open", name, e))?;
        let actual = file
            .metadata()
            .map_err(|e| os_error("fstat", name, e))?
            .len();
        if actual != bytes as u64 {
            return Err(ShmError::SizeMismatch {
                name: name.into(),
                expected: bytes as u64,
                actual,
            });
        }
        // SAFETY: the object has exactly `bytes` bytes; the owner never shrinks it.
        let map = unsafe { MmapOptions::new().len(bytes).map_mut(&file) }
            .map_err(|e| os_error("mmap", name, e))?;
        advise_huge_pages(&map);
        Ok(Attached {
            name: name.into(),
            shape: shape.to_vec(),
            len: bytes / size_of::<f64>(),
            map,
        })
    }

    /// `name:dim0xdim1...`, as [`SharedArray::descriptor`] gives it.
    pub fn descriptor(&self) -> String {
        format_descriptor(&self.name, &self.shape)
    }

    /// Open the array a [`SharedArray::descriptor`] string describes.
    pub fn open_descriptor(descriptor: &str) -> Result<Attached, ShmError> {
        let (name, shape) = parse_descriptor(descriptor)?;
        Attached::open(&name, &shape)
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    array_accessors!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_round_trip() {
        for shape in [vec![], vec![3], vec![2, 3, 4]] {
            let d = format_descriptor("/cnd-1-ab", &shape);
            assert_eq!(parse_descriptor(&d).unwrap(), ("/cnd-1-ab".into(), shape));
        }
        assert_eq!(format_descriptor("/x", &[2, 3]), "/x:2x3");
        for bad in ["", "noname", "/x:2x", "/x:2xq", "x:2", "/a/b:2"] {
            assert!(parse_descriptor(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("/cnd-ok").is_ok());
        for bad in ["", "/", "nolead", "/a/b", "/..", "/a\0b"] {
            assert!(matches!(check_name(bad), Err(ShmError::BadName { .. })));
        }
        assert!(check_name(&format!("/{}", "a".repeat(255))).is_err());
    }

    #[test]
    fn byte_len_rejects_overflow() {
        assert_eq!(byte_len(&[2, 3]).unwrap(), 48);
        assert_eq!(byte_len(&[]).unwrap(), 8);
        assert_eq!(byte_len(&[0, 5]).unwrap(), 0);
        assert!(matches!(
            byte_len(&[usize::MAX, 2]),
            Err(ShmError::TooLarge { .. })
        ));
        assert!(byte_len(&[usize::MAX / 8 + 1]).is_err());
    }

    #[test]
    fn errors_are_one_line() {
        let errors = [
            ShmError::NoSpace {
                needed: 3 << 30,
                available: 1 << 20,
            },
            ShmError::Exists { name: "/x".into() },
            ShmError::SizeMismatch {
                name: "/x".into(),
                expected: 48,
                actual: 40,
            },
            ShmError::TooLarge { shape: vec![1, 2] },
        ];
        for e in errors {
            let s = e.to_string();
            assert!(!s.contains('\n') && !s.is_empty(), "{s}");
        }
        let s = ShmError::NoSpace {
            needed: 3 << 30,
            available: 1 << 20,
        }
        .to_string();
        assert!(s.contains("3.0 GiB") && s.contains("1.0 MiB"), "{s}");
    }
}
