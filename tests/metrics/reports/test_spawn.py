"""Starting script processes: the C library's posix_spawn gives what subprocess.Popen gives (working
directory, descriptors, signals, exit status, output, timeout), with real processes both ways."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

import pytest

from metrics.reports import spawn

WAYS = [pytest.param(True, id="posix_spawn"), pytest.param(False, id="subprocess")]


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def _native_available() -> None:
    if spawn._LIBC is None:
        pytest.skip("this C library lacks posix_spawn_file_actions_addchdir_np/addclosefrom_np: the subprocess way runs")


@pytest.mark.parametrize("native", WAYS)
def test_what_a_script_gets(tmp_path: Path, native: bool) -> None:
    """Working directory, argv, environment, only descriptors 0-2, SIGPIPE and SIGXFSZ at their defaults."""
    work = tmp_path / "query folder"
    work.mkdir()
    script = _script(
        tmp_path,
        "probe",
        'pwd; printf "%s|" "$@"; echo; echo "$PROBE"; [ -e /proc/$$/fd/$LEAK ] && echo open || echo closed; grep SigIgn /proc/$$/status\n',
    )
    leaked_r, leaked_w = os.pipe()
    os.set_inheritable(leaked_w, True)  # Popen(close_fds=True) closes even an inheritable descriptor
    try:
        launcher = spawn.Launcher({**os.environ, "PROBE": "a b=c", "LEAK": str(leaked_w)}, native=native)
        assert launcher.native is native
        done = launcher.run([str(script), "2026-11-01", "x y", ""], work, 60)
    finally:
        os.close(leaked_r)
        os.close(leaked_w)
    assert done.returncode == 0 and not done.timed_out and done.stderr == b""
    cwd, args, env, fds, ignored = done.stdout.decode().splitlines()
    assert cwd == str(work)
    assert args == "2026-11-01|x y||"
    assert env == "a b=c"
    assert fds == "closed"
    mask = int(ignored.split()[1], 16)
    assert not mask & (1 << (signal.SIGPIPE - 1)) and not mask & (1 << (signal.SIGXFSZ - 1))


@pytest.mark.parametrize("native", WAYS)
def test_exit_status_and_stderr(tmp_path: Path, native: bool) -> None:
    script = _script(tmp_path, "fails", "echo out; echo 'went wrong' >&2; exit 3\n")
    done = spawn.Launcher(os.environ, native=native).run([str(script)], tmp_path, 60)
    assert (done.returncode, done.stdout, done.stderr, done.timed_out) == (3, b"out\n", b"went wrong\n", False)
    killed = _script(tmp_path, "killed", "kill -TERM $$\n")
    assert spawn.Launcher(os.environ, native=native).run([str(killed)], tmp_path, 60).returncode == -signal.SIGTERM


@pytest.mark.parametrize("native", WAYS)
def test_a_large_output_is_read_whole(tmp_path: Path, native: bool) -> None:
    script = _script(tmp_path, "big", 'i=0; while [ $i -lt 20000 ]; do echo "line $i with some text"; i=$((i+1)); done\n')
    done = spawn.Launcher(os.environ, native=native).run([str(script)], tmp_path, 60)
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 20000 and lines[-1] == "line 19999 with some text"


@pytest.mark.parametrize("native", WAYS)
def test_a_script_that_cannot_start(tmp_path: Path, native: bool) -> None:
    launcher = spawn.Launcher(os.environ, native=native)
    with pytest.raises(OSError) as missing:
        launcher.run([str(tmp_path / "nothing")], tmp_path, 60)
    assert missing.value.errno == errno.ENOENT
    plain = tmp_path / "plain"
    plain.write_text("echo no interpreter line\n")
    plain.chmod(0o755)
    with pytest.raises(OSError) as no_line:
        launcher.run([str(plain)], tmp_path, 60)
    assert no_line.value.errno == errno.ENOEXEC
    with pytest.raises(ValueError, match="null byte"):
        launcher.run([str(plain), "a\0b"], tmp_path, 60)
    not_executable = _script(tmp_path, "not_executable", "echo hi\n")
    not_executable.chmod(0o644)
    with pytest.raises(OSError) as refused:
        launcher.run([str(not_executable)], tmp_path, 60)
    assert refused.value.errno == errno.EACCES


@pytest.mark.parametrize("native", WAYS)
def test_a_script_past_its_time_is_killed(tmp_path: Path, native: bool) -> None:
    script = _script(tmp_path, "slow", "echo started; exec sleep 30\n")
    started = time.monotonic()
    done = spawn.Launcher(os.environ, native=native).run([str(script)], tmp_path, 0.5)
    assert done.timed_out and done.returncode == -signal.SIGKILL and done.stdout == b"started\n"
    assert time.monotonic() - started < 10  # the watchdog looks once a second


def test_many_threads_each_get_their_own_output(tmp_path: Path) -> None:
    """Outputs never cross between processes started at once from several threads."""
    from concurrent.futures import ThreadPoolExecutor

    script = _script(tmp_path, "echo", 'printf "%s\\n" "$1"; echo "err $1" >&2; exit $(( $1 % 2 ))\n')
    launcher = spawn.Launcher(os.environ)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: launcher.run([str(script), str(n)], tmp_path, 60), range(200)))
    for n, done in enumerate(results):
        assert done.stdout == f"{n}\n".encode() and done.returncode == n % 2
        assert done.stderr == (f"err {n}\n".encode() if n % 2 else b"")
