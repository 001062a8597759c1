"""Batches on dask.distributed: real worker processes, a killed worker, a re-run (issue 16)."""

from __future__ import annotations

import os
import signal
import threading
import time

import cv2
import numpy as np
import pytest

from gpudeconv.app.cli import main
from gpudeconv.media.batch import BatchError, plan_batch, run_batch
from tests.test_live import _frames as decoded_frames

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

OPTIONS = ["--psf", "gaussian:1.0", "--noise", "0.01"]
KWARGS = {"psf_spec": "gaussian:1.0", "noise": 0.01}


@pytest.fixture
def folder(tmp_path):
    """Three photos (one in a sub-folder), two short clips and one unreadable 'photo'."""
    from skimage import data

    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    photo = data.astronaut()[::4, ::4, ::-1].copy()
    for i in range(2):
        cv2.imwrite(str(root / f"p{i}.png"), np.roll(photo, 17 * i, axis=1))
    cv2.imwrite(str(root / "sub" / "q.png"), photo[:, :, 1])
    rng = np.random.default_rng(0)
    for name in ("c1", "c2"):
        writer = cv2.VideoWriter(
            str(root / f"{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 24, (96, 64)
        )
        for _ in range(40):
            writer.write(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
        writer.release()
    (root / "bad.png").write_bytes(b"not a png")
    (root / ".hidden.png").write_bytes(b"ignored")
    return root


def _frames(path):
    return np.array(decoded_frames(path))


def _same_as_single_file(source_root, batch_root, single_root):
    """Every batch output equals the single-file command's output for the same input."""
    for source, target in plan_batch(source_root, batch_root):
        if source.name == "bad.png":
            assert not target.exists()
            continue
        single = single_root / source.relative_to(source_root)
        single.parent.mkdir(parents=True, exist_ok=True)
        assert main(["deblur", str(source), str(single), *OPTIONS, "--quiet"]) == 0
        if source.suffix == ".mp4":
            np.testing.assert_array_equal(_frames(target), _frames(single))
            assert len(_frames(target)) == 40
        else:
            assert target.read_bytes() == single.read_bytes()


def test_batch_on_a_local_cluster_then_resumes(tmp_path, folder, capsys):
    out = tmp_path / "out"
    code = main(["deblur", str(folder), str(out), *OPTIONS, "--workers", "2", "--quiet"])
    report = capsys.readouterr().out
    assert code == 1  # one file failed; the others were restored
    assert "on 2 worker(s)" in report and "bad.png: MediaError: cannot read" in report
    lines = {line.split()[0]: line.split()[1:] for line in report.splitlines()[:4]}
    assert lines["restored"] == ["5", str(2 * 40 + 3)] and lines["failed"] == ["1"]
    _same_as_single_file(folder, out, tmp_path / "single")
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert not [p for p in stamps if p.name.startswith(".")]
    # The user's own hidden files beside the outputs are never taken for temporary ones.
    mine = [out / ".p0.20240101.png", out / ".p0.gpudeconv-backup.png"]
    for path in mine:
        path.write_text("precious")
    stamps.update({p: p.stat().st_mtime_ns for p in mine})
    # A re-run redoes nothing.
    again = run_batch(folder, out, workers=1, progress=False, **KWARGS)
    assert (again.count("skipped"), again.count("restored"), again.count("failed")) == (5, 0, 1)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps


def test_a_killed_worker_does_not_stop_the_batch(tmp_path, folder):
    from distributed import Client, LocalCluster

    out = tmp_path / "out"
    killed = {}
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)

        def kill_one_busy_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                for address, tasks in client.processing().items():
                    if tasks and address in pids:
                        killed[address] = list(tasks)
                        os.kill(pids[address], signal.SIGKILL)
                        return
                time.sleep(0.005)

        killer = threading.Thread(target=kill_one_busy_worker)
        killer.start()
        report = run_batch(folder, out, client=client, progress=False, **KWARGS)
        killer.join()
    assert killed, "no worker was busy to be killed"
    assert report.count("restored") == 5 and [o.source for o in report.failed] == [
        str(folder / "bad.png")
    ]
    _same_as_single_file(folder, out, tmp_path / "single")
    assert not [p for p in out.rglob(".*")]  # the killed task's temporary file is gone


def test_a_retried_task_whose_first_attempt_wrote_its_output_is_restored(tmp_path, folder):
    """A worker can die after its task's output appeared (a rename) but before the
    scheduler heard of it; the retry then finds the output: restored, not 'exists'."""
    from gpudeconv.media.batch import restore_one

    source, target = folder / "p0.png", tmp_path / "p0.png"
    options = _task_options()
    first = restore_one(str(source), str(target), options, planned_absent=True)
    assert first.status == "restored" and first.frames == 1
    written = target.read_bytes()
    retry = restore_one(str(source), str(target), options, planned_absent=True)
    assert retry.status == "restored" and target.read_bytes() == written
    # A target that was there when the batch was planned is never taken for its own.
    other = restore_one(str(source), str(target), options, planned_absent=False)
    assert other.status == "failed" and "exists" in other.reason


def _task_options() -> dict:
    """The options run_batch gives each task, for KWARGS."""
    return {
        "psf_spec": KWARGS["psf_spec"],
        "noise": KWARGS["noise"],
        "method": None,
        "backend": "auto",
        "space": "linear",
        "channels": None,
        "encode": None,
        "overwrite": False,
        "iterations": None,
        "kernel_size": None,
    }


def test_plan_and_refusals(tmp_path, folder):
    pairs = plan_batch(folder, tmp_path / "out")
    assert [s.relative_to(folder).as_posix() for s, _ in pairs] == [
        "bad.png",
        "c1.mp4",
        "c2.mp4",
        "p0.png",
        "p1.png",
        "sub/q.png",
    ]
    assert pairs[-1][1] == tmp_path / "out" / "sub" / "q.png"
    with pytest.raises(BatchError, match="one inside the other"):
        plan_batch(folder, folder / "restored")
    with pytest.raises(BatchError, match="one inside the other"):
        plan_batch(folder / "sub", folder)  # outputs would replace inputs
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no media")
    with pytest.raises(BatchError, match="no photos or videos"):
        plan_batch(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(BatchError, match="does not exist"):
        plan_batch(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BatchError, match="not a folder"):
        plan_batch(folder, tmp_path / "file")
    with pytest.raises(ValueError, match="--workers must be in"):
        run_batch(folder, tmp_path / "out", workers=0)
    with pytest.raises(ValueError, match="--kernel-size is for --psf estimate"):
        run_batch(folder, tmp_path / "out", kernel_size=15)  # once, not once per file
    with pytest.raises(BatchError, match="cannot reach the Dask scheduler"):
        run_batch(folder, tmp_path / "out2", scheduler="nonsense", progress=False)
    assert not (tmp_path / "out2").exists()


def test_one_task_passes_every_option_through(tmp_path, folder):
    """A batch task is the single-file command: the stills options reach it, a video given
    an iterative method fails with the command's own reason."""
    from gpudeconv.media.batch import restore_one

    options = {**KWARGS, "method": "tv", "iterations": 4, "backend": "cpu", "space": "srgb"}
    options.update({"channels": None, "encode": None, "overwrite": False})
    done = restore_one(str(folder / "p0.png"), str(tmp_path / "o" / "p0.png"), options)
    assert done.status == "restored" and done.frames == 1, done
    single = tmp_path / "single.png"
    argv = [str(folder / "p0.png"), str(single), *OPTIONS, "--method", "tv", "--iterations", "4"]
    assert main(["deblur", *argv, "--space", "srgb", "--quiet"]) == 0
    assert (tmp_path / "o" / "p0.png").read_bytes() == single.read_bytes()
    failed = restore_one(str(folder / "c1.mp4"), str(tmp_path / "o" / "c1.mp4"), options)
    assert failed.status == "failed" and "iterative method for photos" in failed.reason


# ---------------------------------------------------------------------------- security (#27)
def test_the_local_cluster_refuses_clients_without_its_certificate():
    """Another local user, with distributed and certificates of their own, gets nothing."""
    from distributed import Client, LocalCluster
    from distributed.security import Security

    from gpudeconv.media.batch import _private_cluster

    with _private_cluster(LocalCluster, 1) as cluster, Client(cluster) as ours:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        assert ours.run(os.getpid)  # we reach our workers
        for attempt in (address.replace("tls://", "tcp://"), address):
            security = Security.temporary() if attempt.startswith("tls") else None
            with pytest.raises((OSError, TimeoutError)):
                Client(attempt, security=security, timeout="3s")
        # its HTTP server hands out nothing (the scheduler's address was at this route)
        import urllib.error
        import urllib.request

        http = cluster.scheduler.http_server
        port = next(iter(http._sockets.values())).getsockname()[1]
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json/identity.json", timeout=3)
        assert answer.value.code == 404
        answer.value.close()  # its socket


def test_a_planted_scratch_folder_is_never_imported(tmp_path):
    """A module planted in the shared default scratch folder must not be importable."""
    import tempfile
    import uuid

    from distributed import Client, LocalCluster

    from gpudeconv.media.batch import _private_cluster

    shared = os.path.join(tempfile.gettempdir(), "dask-scratch-space")
    made = not os.path.exists(shared)
    os.makedirs(shared, exist_ok=True)
    name = f"planted_{uuid.uuid4().hex}"
    planted = os.path.join(shared, f"{name}.py")
    marker = tmp_path / "ran"
    with open(planted, "w") as f:
        f.write(f"open({str(marker)!r}, 'a').write('planted code ran')\n")
    try:
        with _private_cluster(LocalCluster, 1) as cluster, Client(cluster) as client:
            paths = client.run(lambda: __import__("sys").path)
            assert all(shared not in p for p in next(iter(paths.values())))

            def try_import(module: str = name) -> bool:
                import importlib

                try:
                    importlib.import_module(module)
                except ImportError:
                    return False
                return True

            assert not any(client.run(try_import).values())
            scratch = cluster.local_directory if hasattr(cluster, "local_directory") else None
        assert not marker.exists()
        assert scratch is None or not os.path.exists(scratch)  # removed afterwards
        assert not any("gpudeconv-dask-" in p for p in __import__("sys").path)
    finally:
        os.remove(planted)
        if made:
            os.rmdir(shared)


def test_a_symlinked_sub_folder_planted_in_output_is_not_followed(tmp_path, folder):
    """#27 item 15: the batch wrote through it, outside OUTPUT (and replaced files there)."""
    inputs = tmp_path / "in2"
    (inputs / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        (inputs / name).write_bytes((folder / "p0.png").read_bytes())
    victim = tmp_path / "victim"
    victim.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(victim, target_is_directory=True)
    report = run_batch(inputs, out, psf_spec="gaussian:1", noise=0.01, workers=1, progress=False)
    assert list(victim.iterdir()) == []
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert len(failed) == 1 and "symbolic link" in failed[0].reason
    assert (out / "a.png").exists()


def test_temporary_files_of_an_interrupted_batch_do_not_stay(tmp_path, folder, monkeypatch):
    """#27 item 9: Ctrl-C/SIGTERM left half-written temp files a re-run never removed."""
    import gpudeconv.media.batch as batch

    out = tmp_path / "out"
    out.mkdir()
    old = out / ".p0.gpudeconv-abcdefgh.png"  # left by an earlier, killed batch
    old.write_bytes(b"half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))

    def interrupted(client, todo, options, progress, root):
        (out / ".p1.gpudeconv-ABCDEFGH.png").write_bytes(b"half")  # a worker's, mid-write
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch(folder, out, psf_spec="gaussian:1", noise=0.01, workers=1, progress=False)
    assert sorted(p.name for p in out.iterdir()) == []


def test_a_scheduler_address_that_is_another_service_says_so(tmp_path, folder):
    """#27 item 18: an SSH-like greeting was read as a frame length: 'out of memory'."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def greet():
        try:
            connection, _ = server.accept()
            connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n" * 4)
            time.sleep(3)
            connection.close()
        except OSError:
            pass

    thread = threading.Thread(target=greet, daemon=True)
    thread.start()
    try:
        with pytest.raises(BatchError, match="not as a Dask scheduler"):
            run_batch(folder, tmp_path / "out", psf_spec="gaussian:1", noise=0.01,
                      scheduler=f"tcp://127.0.0.1:{port}", progress=False)  # fmt: skip
    finally:
        server.close()
        thread.join(timeout=5)


def test_a_second_batch_into_the_same_output_is_refused(tmp_path, folder):
    """#27 item 20 (batches): two batches into one OUTPUT raced and swept each other."""
    import fcntl

    from gpudeconv.media.batch import LOCK_NAME

    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK_NAME, "w") as held:  # a running batch holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(BatchError, match="another batch is writing"):
            run_batch(folder, out, psf_spec="gaussian:1", noise=0.01, workers=1, progress=False)
    report = run_batch(folder, out, psf_spec="gaussian:1", noise=0.01, workers=1, progress=False)
    assert any(o.status == "restored" for o in report.outcomes)
