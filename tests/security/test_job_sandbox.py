"""A hostile researcher's job (issue 13, "Why" 5 and 7; SPE-01, SPE-10): each attempt must fail.

A job runs the researcher's Python with a valid permit and nothing else. It must not read the
server's environment (bubblewrap is process 1 of the sandbox and once kept it), run as host
root, take the machine's processes, disk, memory or the server's memory through its log or its
outputs, or reach the kernel through calls a sandbox has no use for."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from bastide.workspaces import jobs, running
from bastide.workspaces import service as workspaces

SANDBOX_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant
SECRET = "s3cret-the-sandbox-must-never-see"


def _run(platform, actor, ws_id, script):
    job_id = jobs.submit(platform, actor=actor, ws_id=ws_id, name="attack", kind="python",
                         script="print('inside', flush=True)\n" + script)
    return jobs.run(platform, job_id=job_id)


def _outputs(platform, ws_id) -> list[str]:
    with platform.db.unit_of_work() as s:
        return [o.name for o in jobs.list_outputs(s, workspaces.get_workspace(s, ws_id))]


ENVIRONMENT = """
import glob, os
seen = [open(p, 'rb').read() for p in glob.glob('/proc/[0-9]*/environ') if os.access(p, os.R_OK)]
seen.append(repr(dict(os.environ)).encode())
print('LEAK' if any(b'SECRET' in s or b's3cret' in s or b'BASTIDE_S3' in s for s in seen) else 'clean', len(seen))
import time; time.sleep(3)  # while the test looks at it from the host
"""


@SANDBOX_ONLY
def test_a_job_sees_neither_the_servers_environment_nor_runs_as_host_root(ready, monkeypatch):
    platform, p, _permit, ws_id, _done = ready
    monkeypatch.setenv("BASTIDE_S3_SECRET_KEY", SECRET)  # what the server's environment may hold
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    seen: dict = {}
    watcher = threading.Thread(target=lambda: seen.update(_host_uids()))
    watcher.start()
    job = _run(platform, p["alice"], ws_id, ENVIRONMENT)
    watcher.join()
    assert job.status == "succeeded", job.log
    assert "clean" in job.log and "LEAK" not in job.log, job.log
    assert seen["uids"], "the job's processes were not seen from the host"
    if os.geteuid() == 0:  # a root server hands the sandbox to an unprivileged uid of its workspace's own
        assert seen["uids"] == {platform.settings.sandbox_uid_base + ws_id}, seen
    else:
        assert seen["uids"] == {os.geteuid()}


def _host_uids(timeout: float = 20) -> dict:
    """The host uids of the running job's processes (bubblewrap and its children), seen from outside."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with running._LOCK:
            processes = [process for _ws, process in running._RUNNING.values()]
        if processes:
            time.sleep(1)  # the script is asleep by now
            return {"uids": {uid for pid in _tree(processes[0].pid) for uid in _uids(pid)}}
        time.sleep(0.05)
    return {"uids": set()}


def _tree(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children += [int(c) for c in task.read_text().split()]
    return [pid] + [p for child in children for p in _tree(child)]


def _uids(pid: int) -> set[int]:
    line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("Uid:"))
    return {int(u) for u in line.split()[1:]}


LIMITS = {
    # name: (script, what the job's log must say)
    "processes": ("import subprocess\nprocs = [subprocess.Popen(['sleep', '30']) for _ in range(1000)]",
                  "Resource temporarily unavailable"),
    "a sparse file past the file-size limit": ("open('/out/big.bin', 'wb').truncate(2 * 10**9)", "File too large"),
    "a file past the file-size limit": ("open('/out/big.bin', 'wb').write(b'x' * 30 * 10**6)", "File too large"),
    "/tmp past its size": ("open('/tmp/fill', 'wb').write(b'x' * 40 * 10**6)", "No space left on device"),
    "memory": ("x = bytearray(3 * 10**9)", "MemoryError"),
}


@SANDBOX_ONLY
def test_a_job_cannot_take_processes_disk_or_memory(ready):
    platform, p, _permit, ws_id, _done = ready
    s = platform.settings
    s.sandbox_processes, s.job_output_file_size, s.sandbox_tmp_size, s.job_memory_limit = 300, "20MB", "16MB", "1GB"
    for attempt, (script, said) in LIMITS.items():
        job = _run(platform, p["alice"], ws_id, script)
        assert job.log.startswith("inside"), (attempt, job.log)  # the script ran: the limit stopped it
        assert job.status == "failed" and said in job.log, (attempt, job.log)
    assert "big.bin" not in str(_outputs(platform, ws_id)) or all(
        size <= 20 * 10**6 for size in _sizes(platform, ws_id))


def _sizes(platform, ws_id) -> list[int]:
    with platform.db.unit_of_work() as s:
        return [o.size for o in jobs.list_outputs(s, workspaces.get_workspace(s, ws_id))]


@SANDBOX_ONLY
def test_a_flood_of_outputs_or_of_log_stops_the_job_and_keeps_nothing_whole_in_memory(ready):
    platform, p, _permit, ws_id, _done = ready
    s = platform.settings
    s.job_outputs_size, s.job_log_size, s.job_log_shown = "30MB", "5MB", "4KB"
    outputs = _run(platform, p["alice"], ws_id, "import time\nfor i in range(100):\n"
                   "    open(f'/out/part-{i}.bin', 'wb').write(os.urandom(2 * 10**6)); time.sleep(0.05)\n"
                   .replace("import time", "import os, time"))
    assert outputs.status == "killed" and "outputs passed 30MB" in outputs.log, outputs.log
    assert not [n for n in _outputs(platform, ws_id) if n.startswith("part-")]
    flood = _run(platform, p["alice"], ws_id, "while True: print('0123456789' * 100)")
    assert flood.status == "killed" and "printed more than 5MB" in flood.log
    assert len(flood.log.encode()) < 5_000  # what is shown is capped
    chatty = _run(platform, p["alice"], ws_id, "for i in range(2000): print('row', i)")
    assert chatty.status == "succeeded" and len(chatty.log.encode()) < 5_000
    assert f"kept whole as the output {chatty.reference}/job.log" in chatty.log
    with platform.db.unit_of_work() as session:
        log = next(o for o in jobs.list_outputs(session, workspaces.get_workspace(session, ws_id))
                   if o.job_id == chatty.id)
        assert log.name == "job.log" and jobs.read_output(session, platform, log).count(b"row") == 2000


KERNEL = {
    "ptrace": "libc.ptrace(16, 1, 0, 0)",  # PTRACE_ATTACH to process 1
    "mount": "libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)",
    "a new user namespace": "libc.unshare(0x10000000)",
    "a netlink socket": "__import__('socket').socket(16, 2)",
    "a packet socket": "__import__('socket').socket(17, 3)",
    "an inet socket": "__import__('socket').socket(2, 1)",
    "keyctl": "libc.syscall(250, 0, 0, 0, 0)" if os.uname().machine == "x86_64" else "libc.syscall(219, 0, 0, 0, 0)",
    "io_uring": "libc.syscall(425, 8, 0)",
    "bpf": "libc.syscall(321, 0, 0, 0)" if os.uname().machine == "x86_64" else "libc.syscall(280, 0, 0, 0)",
}
PROBE = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
try:
    result = {call}
    print('RESULT', result, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
except OSError as exc:
    print('RESULT', -1, errno.errorcode.get(exc.errno, exc.errno))
"""


@SANDBOX_ONLY
def test_system_calls_a_sandbox_has_no_use_for_are_refused(ready):
    platform, p, _permit, ws_id, _done = ready
    script = "\n".join(f"print({name!r}, end=' ')\n" + PROBE.format(call=call) for name, call in KERNEL.items())
    job = _run(platform, p["alice"], ws_id, script)
    assert job.status == "succeeded", job.log
    for line in job.log.splitlines()[1:]:
        name, outcome = line.split(" RESULT ")
        code, reason = outcome.split()
        assert code == "-1" and reason in ("EPERM", "EAFNOSUPPORT", "ENOSYS"), (name, outcome)
