"""The system calls a researcher's process may not make (SPE-01), as a seccomp filter that
bubblewrap loads before it starts the process (`--seccomp FD`).

Written with the distribution's libseccomp (Debian's libseccomp2, already on every machine
systemd runs on) through ctypes: the library compiles the rules to BPF for this machine's
architecture, and a call from another architecture's table kills the process. The list is
Docker's default profile less what a user namespace needs no rule for, plus the network:
a process in the sandbox may open unix sockets only (its engine socket), or loopback ones too
where Spark's JVM talks to its Python in the same sandbox (`loopback=True`); the namespace has
no other interface anyway. A denied call fails with EPERM, so programs report it."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from functools import cache

from bastide.errors import Unavailable

ALLOW = 0x7FFF0000
# what a process could use to climb out: kernel modules and keys, other processes' memory,
# mounts and new namespaces, raw kernel interfaces, clocks, swap and reboot
DENIED = (
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
    "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
    "open_tree", "perf_event_open", "pivot_root", "process_madvise", "process_vm_readv", "process_vm_writev",
    "ptrace", "quotactl", "quotactl_fd", "reboot", "request_key", "setns", "settimeofday", "swapoff", "swapon",
    "syslog", "umount2", "unshare", "uselib", "userfaultfd", "vhangup",
)
# new namespaces through clone's flags (clone3 answers ENOSYS: its flags are in memory, where
# seccomp cannot look, and the C library then falls back to clone)
CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
CMP_EQ, CMP_GT, CMP_MASKED_EQ = 4, 6, 7


class SeccompUnavailable(Unavailable):
    code = "sandbox_unavailable"


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


@cache
def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        raise SeccompUnavailable("libseccomp is missing: install it (apt-get install libseccomp2) to run "
                                 "researchers' code") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_Arg)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def _rule(lib, ctx, action: int, name: str, *args: tuple[int, int, int, int]) -> None:
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number < 0:  # not a call of this architecture (iopl on arm64): nothing to deny
        return
    array = (_Arg * max(len(args), 1))(*[_Arg(*a) for a in args])
    if lib.seccomp_rule_add_array(ctx, action, number, len(args), array) != 0:
        raise SeccompUnavailable(f"libseccomp refused the rule on {name}")


@cache
def program(*, loopback: bool = False) -> bytes:
    """The compiled filter (BPF), the same for every sandbox of a kind: built once a process."""
    lib = _library()
    ctx = lib.seccomp_init(ALLOW)
    if not ctx:
        raise SeccompUnavailable("libseccomp could not start a filter")
    try:
        for name in DENIED:
            _rule(lib, ctx, _errno(errno.EPERM), name)
        _rule(lib, ctx, _errno(errno.ENOSYS), "clone3")
        for flag in CLONE_NAMESPACES:
            _rule(lib, ctx, _errno(errno.EPERM), "clone", (0, CMP_MASKED_EQ, flag, flag))
        _deny_sockets(lib, ctx, allowed=(AF_UNIX, AF_INET, AF_INET6) if loopback else (AF_UNIX,))
        read, write = os.pipe()
        try:
            if lib.seccomp_export_bpf(ctx, write) != 0:
                raise SeccompUnavailable("libseccomp could not compile the filter")
            os.close(write)
            write = -1
            return _read_all(read)
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
    finally:
        lib.seccomp_release(ctx)


def _deny_sockets(lib, ctx, *, allowed: tuple[int, ...]) -> None:
    """socket() of any family but `allowed` fails: each smaller family by name, the larger ones
    at once (libseccomp takes one comparison per argument in a rule)."""
    for call in ("socket", "socketpair"):
        for family in sorted(set(range(max(allowed))) - set(allowed)):
            _rule(lib, ctx, _errno(errno.EAFNOSUPPORT), call, (0, CMP_EQ, family, 0))
        _rule(lib, ctx, _errno(errno.EAFNOSUPPORT), call, (0, CMP_GT, max(allowed), 0))


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def memfd(*, loopback: bool = False) -> int:
    """A file descriptor holding the filter, for bubblewrap's --seccomp (the caller closes it)."""
    fd = os.memfd_create("bastide-seccomp", 0)
    os.write(fd, program(loopback=loopback))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
