"""Running a script report's process: what `subprocess.run` does, at a fraction of its cost.

A script report starts one process per interval, so starting it is most of what the runner
spends on a short script. `subprocess.run(argv, cwd=folder, capture_output=True)` spends about
0.2 ms of the runner's CPU on it (in Python: handles, the environment encoded anew, an error
pipe); `Launcher` calls the C library's `posix_spawn` (through `ctypes`), with the environment
encoded once per run, stdout and stderr into anonymous files read once the process has exited,
and the same promises as `subprocess.Popen(close_fds=True, restore_signals=True, cwd=folder)`:
the working directory is `cwd`, no descriptor but 0, 1 and 2 is inherited, and SIGPIPE and
SIGXFSZ are back to their defaults. Python's `os.posix_spawn` can neither change the working
directory nor close the other descriptors (3.11), hence the C library's
`posix_spawn_file_actions_addchdir_np` and `..._addclosefrom_np` (glibc 2.34+); where one is
missing (musl, macOS), `subprocess.Popen` runs the script instead, with the same result.
The output goes to anonymous files read once the process has exited, not to pipes read to their
end, so a process the script leaves in the background is not waited for.

A process still running after `timeout` seconds is killed (one watchdog thread for all).
"""

from __future__ import annotations

import ctypes
import io
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence


@dataclass
class Finished:
    """A finished process: its exit status (negative: killed by that signal), stdout, and stderr
    (read only when the status is not 0), and whether it was killed for running too long."""

    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


class Launcher:
    """Runs scripts with one environment; safe to call from many threads.

    `run` raises OSError (with `strerror`) when the script cannot be started (not found, not
    executable, no `#!` line).
    """

    def __init__(self, env: Mapping[str, str], *, native: bool | None = None):
        self.env = dict(env)
        self.native = _LIBC is not None if native is None else native and _LIBC is not None
        if self.native:
            self._envp = _strings([f"{k}={v}" for k, v in self.env.items()])

    def run(self, argv: Sequence[str], cwd: Path, timeout: float) -> Finished:
        """Run `argv` (argv[0] a path) in the folder `cwd` and wait for it, `timeout` seconds at most."""
        if not self.native:
            return _popen(argv, cwd, self.env, timeout)
        out = _anonymous_fd()
        try:
            err = _anonymous_fd()
            try:
                pid = _spawn(argv, cwd, out, err, self._envp)
                timed_out = _wait(pid, timeout)
                status = _reap(pid)
                stdout = os.pread(out, os.fstat(out).st_size, 0)
                stderr = os.pread(err, os.fstat(err).st_size, 0) if status else b""
            finally:
                os.close(err)
        finally:
            os.close(out)
        return Finished(status, stdout, stderr, timed_out)


def _anonymous_fd() -> int:
    """`_anonymous`, as a bare descriptor (the caller closes it): a memfd costs half as much without a file object around it."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("script-output", os.MFD_CLOEXEC)
    with _anonymous() as handle:
        return os.dup(handle.fileno())


def _anonymous() -> io.FileIO:
    """A file with no name, gone when closed (a memfd on Linux)."""
    if hasattr(os, "memfd_create"):
        return io.FileIO(os.memfd_create("script-output", os.MFD_CLOEXEC), "w+")
    import tempfile

    return tempfile.TemporaryFile(buffering=0)


def _popen(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float) -> Finished:
    """`Launcher.run` by `subprocess.Popen`, where the C library lacks what `_spawn` needs."""
    with _anonymous() as out, _anonymous() as err:
        with subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=cwd, env=env) as proc:
            _WATCHDOG.watch(proc, timeout, proc.kill)
            try:
                proc.wait()
            finally:
                timed_out = _WATCHDOG.forget(proc)
        out.seek(0)
        err.seek(0)
        return Finished(proc.returncode, out.read(), err.read() if proc.returncode else b"", timed_out)


def _wait(pid: int, timeout: float) -> bool:
    """Wait for `pid` to exit without reaping it, so that the watchdog never signals a reused pid; True when it was killed for its time."""
    _WATCHDOG.watch(pid, timeout, lambda: os.kill(pid, signal.SIGKILL))
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    finally:
        timed_out = _WATCHDOG.forget(pid)
    return timed_out


def _reap(pid: int) -> int:
    """The exit status of an exited child, as `Popen.returncode` gives it."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


# --- the C library's posix_spawn ------------------------------------------------------------

_SETSIGDEF = 0x04  # POSIX_SPAWN_SETSIGDEF, the same value in glibc, musl and macOS
_OPAQUE = 1024  # bytes for posix_spawn_file_actions_t, posix_spawnattr_t and sigset_t (glibc: 80, 336, 128)


def _load() -> ctypes.CDLL | None:
    """The C library, when it has every function `_spawn` needs."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        for name in (
            "posix_spawn",
            "posix_spawn_file_actions_init",
            "posix_spawn_file_actions_destroy",
            "posix_spawn_file_actions_adddup2",
            "posix_spawn_file_actions_addchdir_np",
            "posix_spawn_file_actions_addclosefrom_np",
            "posix_spawnattr_init",
            "posix_spawnattr_setflags",
            "posix_spawnattr_setsigdefault",
            "sigemptyset",
            "sigaddset",
        ):
            getattr(libc, name)
    except (OSError, AttributeError):
        return None
    libc.posix_spawn.argtypes = [
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.POINTER(ctypes.c_char_p),
    ]
    libc.posix_spawn_file_actions_adddup2.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    libc.posix_spawn_file_actions_addchdir_np.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    libc.posix_spawn_file_actions_addclosefrom_np.argtypes = [ctypes.c_void_p, ctypes.c_int]
    for name in ("posix_spawn_file_actions_init", "posix_spawn_file_actions_destroy", "posix_spawnattr_init", "sigemptyset"):
        getattr(libc, name).argtypes = [ctypes.c_void_p]
    libc.posix_spawnattr_setflags.argtypes = [ctypes.c_void_p, ctypes.c_short]
    libc.posix_spawnattr_setsigdefault.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    libc.sigaddset.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return libc


def _attributes(libc: ctypes.CDLL) -> ctypes.Array:
    """Spawn attributes as `restore_signals=True` has them: SIGPIPE and SIGXFSZ, which Python ignores, back to their defaults."""
    attr = ctypes.create_string_buffer(_OPAQUE)
    defaults = ctypes.create_string_buffer(_OPAQUE)
    _check(libc.posix_spawnattr_init(attr))
    _check(libc.sigemptyset(defaults))
    for number in (signal.SIGPIPE, signal.SIGXFSZ):
        _check(libc.sigaddset(defaults, number))
    _check(libc.posix_spawnattr_setsigdefault(attr, defaults))
    _check(libc.posix_spawnattr_setflags(attr, _SETSIGDEF))
    return attr


def _check(code: int) -> None:
    if code:
        raise OSError(code if code > 0 else ctypes.get_errno(), os.strerror(code if code > 0 else ctypes.get_errno()))


def _strings(values: Sequence[str]) -> ctypes.Array:
    """A NULL-terminated `char *[]` (kept alive by the returned array); ValueError for a NUL inside a value, as `subprocess` gives."""
    encoded = [os.fsencode(v) for v in values]
    if any(b"\0" in v for v in encoded):
        raise ValueError("embedded null byte")
    return (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)


_LIBC = _load()
_ATTR = _attributes(_LIBC) if _LIBC is not None else None


def _spawn(argv: Sequence[str], cwd: Path, stdout: int, stderr: int, envp: ctypes.Array) -> int:
    """Start `argv` in `cwd` with stdout and stderr on these descriptors; its pid."""
    assert _LIBC is not None
    pid = ctypes.c_int()
    code = _LIBC.posix_spawn(ctypes.byref(pid), os.fsencode(argv[0]), _actions(stdout, stderr, cwd), _ATTR, _strings(argv), envp)
    if code:
        raise OSError(code, os.strerror(code), argv[0])
    return pid.value


_KEPT_ACTIONS = 32
"""File actions a thread keeps: a run spawns from a few folders, into descriptors whose numbers come back (the lowest free)."""
_THREAD = threading.local()


def _actions(stdout: int, stderr: int, cwd: Path) -> ctypes.Array:
    """The file actions of a spawn (stdout and stderr onto these descriptors, none other kept, `cwd`
    the working directory), made once per thread for each set of values: `posix_spawn` only reads
    them, and they name descriptors by number, so they serve every spawn with the same numbers."""
    assert _LIBC is not None
    kept: dict[tuple[int, int, Path], ctypes.Array] | None = getattr(_THREAD, "actions", None)
    if kept is None:
        kept = _THREAD.actions = {}
    key = (stdout, stderr, cwd)
    actions = kept.get(key)
    if actions is not None:
        return actions
    if len(kept) >= _KEPT_ACTIONS:
        for old in kept.values():  # this thread's own, none in use by a spawn now
            _LIBC.posix_spawn_file_actions_destroy(old)
        kept.clear()
    actions = ctypes.create_string_buffer(_OPAQUE)
    _check(_LIBC.posix_spawn_file_actions_init(actions))
    try:
        _check(_LIBC.posix_spawn_file_actions_adddup2(actions, stdout, 1))
        _check(_LIBC.posix_spawn_file_actions_adddup2(actions, stderr, 2))
        _check(_LIBC.posix_spawn_file_actions_addclosefrom_np(actions, 3))
        _check(_LIBC.posix_spawn_file_actions_addchdir_np(actions, os.fsencode(cwd)))
    except BaseException:
        _LIBC.posix_spawn_file_actions_destroy(actions)
        raise
    kept[key] = actions
    return actions


# --- the watchdog -------------------------------------------------------------------------------


class _Watchdog:
    """Kills the processes it watches once their time is up; one thread for all, started when first needed."""

    def __init__(self, period: float = 1.0):
        self.period = period
        self.deadlines: dict[object, tuple[float, Callable[[], None]]] = {}
        self.expired: set[object] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def watch(self, key: object, seconds: float, kill: Callable[[], None]) -> None:
        with self.lock:
            self.deadlines[key] = (time.monotonic() + seconds, kill)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="script-watchdog", daemon=True)
                self.thread.start()

    def forget(self, key: object) -> bool:
        """Stop watching `key`; True when it was killed for running too long."""
        with self.lock:
            self.deadlines.pop(key, None)
            if key in self.expired:
                self.expired.discard(key)
                return True
            return False

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            now = time.monotonic()
            with self.lock:
                late = [(key, kill) for key, (deadline, kill) in self.deadlines.items() if deadline <= now]
                for key, _ in late:
                    del self.deadlines[key]
                    self.expired.add(key)
                # Killed under the lock: a process is reaped only after `forget`, so its pid is still its own.
                for _, kill in late:
                    try:
                        kill()
                    except ProcessLookupError:
                        pass


_WATCHDOG = _Watchdog()
