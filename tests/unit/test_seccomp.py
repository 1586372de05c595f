"""The seccomp filter (workspaces/seccomp.py) compiles with the distribution's libseccomp, and
its rules name calls that exist on this architecture (the behaviour is tested by the hostile
jobs in tests/security/test_job_sandbox.py)."""

from bastide.workspaces import seccomp


def test_the_filter_compiles_and_differs_where_loopback_is_allowed():
    closed, loopback = seccomp.program(), seccomp.program(loopback=True)
    assert len(closed) % 8 == 0 and len(loopback) % 8 == 0  # BPF instructions are 8 bytes
    assert closed != loopback


def test_the_denied_calls_are_known_to_libseccomp():
    lib = seccomp._library()
    known = [name for name in seccomp.DENIED if lib.seccomp_syscall_resolve_name(name.encode()) >= 0]
    assert {"ptrace", "mount", "unshare", "setns", "bpf", "keyctl", "perf_event_open", "userfaultfd"} <= set(known)


def test_the_filter_travels_in_a_file_descriptor():
    import os

    fd = seccomp.memfd()
    try:
        assert os.read(fd, 1 << 16) == seccomp.program()
    finally:
        os.close(fd)
