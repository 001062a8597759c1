"""Many files: ``gpudeconv deblur INPUT_DIR/ OUTPUT_DIR/`` on ``dask.distributed``.

Every photo and video under ``INPUT_DIR`` (sub-folders included, mirrored under
``OUTPUT_DIR``) is one task: :func:`gpudeconv.media.files.deblur_file` with the same options as
a single file, run in a worker *process* (a ``LocalCluster`` of ``workers`` processes, or
an existing cluster at ``scheduler`` — dask-jobqueue, dask-kubernetes, ``dask scheduler``).

- Resumable: outputs appear only complete (each is written under a temporary name and
  renamed), so an existing output is a finished one and is skipped; a re-run redoes
  nothing. Temporary files of tasks that died with their worker are removed at the end.
- A failing file is reported, not fatal; a worker that dies has its task re-run on
  another (``distributed``'s ``allowed-failures``) before the file counts as failed.
- The summary: files restored, skipped and failed (with their reasons), frames, time
  and throughput.

Videos are one task each (split into segments they could not be joined exactly: every
segment would start a new GOP). Concurrent batches into one ``OUTPUT_DIR`` are not
supported (each removes temporary files it did not make).

Needs ``distributed`` (``pip install 'gpudeconv[dask]'``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AppError, InvalidArgumentError

__all__ = ["BatchReport", "FileOutcome", "plan_batch", "run_batch"]

#: ``--workers`` default: one process per core, at most this many.
MAX_DEFAULT_WORKERS = 8
#: ``--workers`` default when the files go to a GPU: every worker process holds its own
#: CUDA context and memory pool on the one device; two overlap one file's decoding and
#: encoding with the other's GPU work, more only share the GPU.
GPU_DEFAULT_WORKERS = 2


def default_workers(backend: str) -> int:
    """How many worker processes a local batch starts when ``--workers`` is not given."""
    from ..engine.backends import ENV_VAR, cuda_unavailable_reason

    chosen = os.environ.get(ENV_VAR) or backend if backend == "auto" else backend
    on_gpu = chosen == "cuda" or (chosen == "auto" and cuda_unavailable_reason() is None)
    cores = min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
    return min(cores, GPU_DEFAULT_WORKERS) if on_gpu else cores


class BatchError(AppError):
    """A batch that could not start (its folders, its cluster)."""


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file of a batch."""

    source: str
    target: str
    status: str  # 'restored', 'skipped' or 'failed'
    frames: int = 0
    seconds: float = 0.0
    reason: str = ""


@dataclass
class BatchReport:
    """All outcomes of a batch and its wall time; ``str()`` is the summary table."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0

    def count(self, status: str) -> int:
        """How many files ended with ``status``."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[FileOutcome]:
        """The files that failed, in input order."""
        return [o for o in self.outcomes if o.status == "failed"]

    def __str__(self) -> str:
        done = [o for o in self.outcomes if o.status == "restored"]
        frames = sum(o.frames for o in done)
        rows = [
            f"{'':10}{'files':>7}{'frames':>9}",
            f"{'restored':10}{len(done):>7}{frames:>9}",
            f"{'skipped':10}{self.count('skipped'):>7}{'':>9}",
            f"{'failed':10}{self.count('failed'):>7}{'':>9}",
        ]
        rate = frames / self.seconds if self.seconds > 0 else 0.0
        rows.append(
            f"batch of {len(self.outcomes)} files in {self.seconds:.1f} s on {self.workers} "
            f"worker(s): {rate:.1f} frames/s, {len(done) / max(self.seconds, 1e-9):.2f} files/s"
        )
        for o in self.failed:
            rows.append(f"failed: {o.source}: {o.reason}")
        return "\n".join(rows)


def plan_batch(input_dir: str | Path, output_dir: str | Path) -> list[tuple[Path, Path]]:
    """``(source, target)`` for every photo and video under ``input_dir``, sorted.

    Hidden files (a leading ``.``, gpudeconv's temporary files included) are left out;
    ``output_dir`` may not be ``input_dir`` or inside it (its outputs would be inputs of
    the next run).
    """
    source_root, target_root = Path(input_dir), Path(output_dir)
    if not source_root.is_dir():
        raise BatchError(f"input folder {str(source_root)!r} does not exist")
    if target_root.exists() and not target_root.is_dir():
        raise BatchError(f"output {str(target_root)!r} exists and is not a folder")
    if target_root.is_dir() and not os.access(target_root, os.W_OK | os.X_OK):
        # Said once, not as one failure per file.
        raise BatchError(f"output folder {str(target_root)!r} is not writable")
    source_real, target_real = source_root.resolve(), target_root.resolve()
    if target_real.is_relative_to(source_real) or source_real.is_relative_to(target_real):
        raise BatchError(
            f"output folder {str(target_root)!r} and input folder {str(source_root)!r} are "
            "one inside the other: outputs would become inputs, or replace them"
        )
    from .files import IMAGE_SUFFIXES, VIDEO_SUFFIXES

    suffixes = IMAGE_SUFFIXES + VIDEO_SUFFIXES  # the single-file command's formats
    pairs = []
    for path in sorted(source_root.rglob("*")):
        relative = path.relative_to(source_root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() in suffixes:
            pairs.append((path, target_root / relative))
    if not pairs:
        raise BatchError(
            f"no photos or videos under {str(source_root)!r} (looked for {', '.join(suffixes)})"
        )
    return pairs


def restore_one(
    source: str,
    target: str,
    options: dict[str, Any],
    planned_absent: bool = False,
    root: str | None = None,
) -> FileOutcome:
    """One task: restore ``source`` into ``target``; every failure becomes an outcome.

    ``planned_absent``: ``target`` did not exist when the batch was planned. If it exists
    now (and the batch does not overwrite), this is a retry whose first attempt wrote it
    (outputs appear whole, by a rename) and whose worker died before reporting: restored.
    ``root``: the batch's OUTPUT folder; ``target`` must stay inside it (see
    :func:`_make_folders_inside`).
    """
    from .files import _deblur_file

    if planned_absent and not options.get("overwrite") and Path(target).exists():
        return FileOutcome(source, target, "restored", reason="written by an earlier attempt")
    start = time.perf_counter()
    try:
        if root is not None:
            _make_folders_inside(Path(root), Path(target).parent)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        _, frames = _deblur_file(source, target, progress=False, compare=None, **options)
    except Exception as exc:  # a batch goes on: the reason is reported at the end
        return FileOutcome(source, target, "failed", reason=_reason(exc))
    return FileOutcome(source, target, "restored", frames, time.perf_counter() - start)


#: The lock a batch holds on its OUTPUT folder (a hidden file: never a batch's input).
LOCK_NAME = ".gpudeconv-batch.lock"


@contextmanager
def _output_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` for one batch; a second batch is refused.

    Two batches into one OUTPUT raced (the later replaced the earlier's outputs, each
    swept the other's temporary files); the lock is released when the process ends,
    however it ends.
    """
    import fcntl

    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    held = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchError(
                f"another batch is writing into {str(folder)!r}; wait for it to end"
            ) from None
        held = True
        yield
    finally:
        if held:  # removed while still held: nobody else has it
            (folder / LOCK_NAME).unlink(missing_ok=True)
        os.close(fd)


def _make_folders_inside(root: Path, folder: Path) -> None:
    """Make ``folder`` (under ``root``) one level at a time, following no symbolic link.

    A sub-folder someone planted in OUTPUT as a link to elsewhere would have the batch
    write — and, with ``--overwrite``, replace — files outside OUTPUT.
    """
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise BatchError(
                f"{str(current)!r} in the output folder is a symbolic link: not followed "
                "(it would write outside the output folder)"
            )
        current.mkdir(exist_ok=True)
    if not folder.resolve().is_relative_to(root.resolve()):
        raise BatchError(f"{str(folder)!r} is outside the output folder {str(root)!r}")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_batch(
    input_dir: str | Path,
    output_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    progress: bool = True,
    overwrite: bool = False,
    psf_spec: str = "auto",
    noise: float | None = None,
    method: str | None = None,
    backend: str = "auto",
    space: str = "linear",
    channels: str | None = None,
    encode: Any = None,
    iterations: int | None = None,
    kernel_size: int | None = None,
) -> BatchReport:
    """Restore every photo and video under ``input_dir`` into ``output_dir``.

    Parameters
    ----------
    input_dir, output_dir : path
        The folders; ``output_dir`` is created, sub-folders mirrored.
    workers : int, optional
        Worker processes of a ``LocalCluster`` (default: the cores, at most 8; at most
        2 when the files go to a GPU — see :func:`default_workers`).
    scheduler : str, optional
        The address of a running Dask scheduler to use instead (``tcp://host:8786``).
    client : distributed.Client, optional
        A client to use as it is (tests; notebooks with their own cluster).
    overwrite : bool
        Redo files whose output exists (by default they are finished: skipped).
    psf_spec, noise, method, backend, space, channels, encode, iterations, kernel_size
        As for :func:`gpudeconv.media.files.deblur_file` (the iterative stills methods fail a
        batch's videos, each with its reason).
    """
    if workers is not None and not 1 <= int(workers) <= 1024:
        raise InvalidArgumentError(f"--workers must be in 1..1024; got {workers!r}")
    if workers is not None and scheduler is not None:
        raise InvalidArgumentError("give --workers (a local cluster) or --scheduler, not both")
    if kernel_size is not None and psf_spec != "estimate":
        # Refused once here rather than failing every file with the same reason.
        raise InvalidArgumentError(
            "--kernel-size is for --psf estimate (a blind camera-shake kernel)"
        )
    pairs = plan_batch(input_dir, output_dir)
    options = {
        "psf_spec": psf_spec,
        "noise": noise,
        "method": method,
        "backend": backend,
        "space": space,
        "channels": channels,
        "encode": encode,
        "overwrite": overwrite,
        "iterations": iterations,
        "kernel_size": kernel_size,
    }
    start, started_at = time.perf_counter(), time.time()
    outcomes: dict[Path, FileOutcome] = {}
    todo = []  # (source, target, whether the target was absent when planned)
    for source, target in pairs:
        present = target.exists() or target.is_symlink()
        if present and not overwrite:
            outcomes[source] = FileOutcome(str(source), str(target), "skipped")
        else:
            todo.append((source, target, not present))
    with _client(client, workers or default_workers(backend), scheduler) as active:
        report = BatchReport(workers=len(active.scheduler_info()["workers"]))
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        with _output_lock(Path(output_dir)):
            # Temporary files an interrupted earlier batch left (its workers were killed
            # before they could clean up) go first; this batch's own go at the end,
            # however it ends. The lock keeps a second batch from sweeping a running one's.
            _remove_orphans(pairs, since=None)
            try:
                if todo:
                    outcomes.update(_run(active, todo, options, progress, Path(output_dir)))
            finally:
                _remove_orphans(pairs, since=started_at)
    report.outcomes = [outcomes[source] for source, _ in pairs]
    report.seconds = time.perf_counter() - start
    return report


def _run(
    client: Any,
    todo: list[tuple[Path, Path, bool]],
    options: dict[str, Any],
    progress: bool,
    root: Path,
) -> dict[Path, FileOutcome]:
    import sys

    from distributed import as_completed
    from tqdm import tqdm

    futures = {
        client.submit(restore_one, str(s), str(t), options, absent, str(root), pure=False): (s, t)
        for s, t, absent in todo
    }
    outcomes = {}
    with tqdm(total=len(todo), unit="file", disable=not progress, file=sys.stderr) as bar:
        for future in as_completed(futures):
            source, target = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the task's worker died too often (KilledWorker), …
                outcome = FileOutcome(str(source), str(target), "failed", reason=_reason(exc))
            outcomes[source] = outcome
            bar.update()
    return outcomes


@contextmanager
def _client(client: Any, workers: int | None, scheduler: str | None) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BatchError("a batch needs dask.distributed: pip install 'gpudeconv[dask]'") from None
    if scheduler is not None:
        try:
            remote = Client(scheduler, timeout="20s")
        except (OSError, ValueError, TypeError) as exc:  # unreachable, or not an address
            raise BatchError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
        except MemoryError:  # another service's greeting read as a frame length of exabytes
            raise BatchError(
                f"{scheduler!r} answered, but not as a Dask scheduler (its reply is not "
                "distributed's protocol)"
            ) from None
        with remote:
            yield remote
        return
    count = workers or min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
    with _private_cluster(LocalCluster, count) as cluster, Client(cluster) as local:
        yield local


@contextmanager
def _private_cluster(cluster_class: Any, count: int) -> Iterator[Any]:
    """A local cluster that no other user of the machine can reach or plant code in.

    - Its scheduler, workers and this process talk over TLS with a throwaway certificate
      (``Security.temporary()``): a client without it cannot connect, so another local
      user cannot submit code to run as us (a plain ``tcp://127.0.0.1`` scheduler lets
      anyone on the machine in).
    - Its HTTP servers serve nothing (no dashboard, no JSON route that hands out the
      scheduler's address).
    - Its scratch space is a fresh 0700 folder of ours, removed afterwards: distributed
      puts the scratch folder on ``sys.path``, and the shared default
      (``/tmp/dask-scratch-space``) may already exist, made and filled by someone else.
    """
    import logging
    import shutil
    import tempfile

    try:
        from distributed.security import Security

        security = Security.temporary()
    except ImportError:  # Security.temporary needs the cryptography package
        raise BatchError(
            "a local batch needs the cryptography package (its cluster talks over TLS "
            "so that no other user can reach it): pip install 'gpudeconv[dask]'"
        ) from None
    import dask

    scratch = tempfile.mkdtemp(prefix="gpudeconv-dask-")
    # distributed always starts an HTTP server; with no routes it serves nothing. The
    # scheduler takes its scratch folder from the config, the workers from the argument.
    quiet = {
        "distributed.scheduler.http.routes": [],
        "distributed.worker.http.routes": [],
        "temporary-directory": scratch,
    }
    try:
        with dask.config.set(quiet):
            cluster = cluster_class(
                n_workers=count,
                threads_per_worker=1,
                processes=True,
                protocol="tls://",
                host="127.0.0.1",
                security=security,
                dashboard_address=None,
                scheduler_kwargs={"dashboard": False},
                local_directory=scratch,
                silence_logs=logging.ERROR,
            )
        with cluster:
            yield cluster
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        # distributed put the scratch folders on our sys.path: a removed folder left there
        # could be made again by someone else, so the entries go too.
        import sys

        sys.path[:] = [p for p in sys.path if not p.startswith(scratch)]


def _remove_orphans(pairs: list[tuple[Path, Path]], since: float | None) -> None:
    """Remove temporary outputs left by tasks whose worker was killed.

    Only gpudeconv's temporary names (``.<stem>.gpudeconv-<8 random><suffix>``, see
    :data:`gpudeconv.media.io.TEMP_MARK`) beside a target, owned by us, modified since ``since``
    (the batch's start, wall-clock seconds like file times; None: any age — the leftovers
    of an interrupted earlier batch, swept when the next one starts).
    """
    from .io import TEMP_MARK, temp_stem

    for _, target in pairs:
        stem = re.escape(temp_stem(target))
        pattern = re.compile(rf"^\.{stem}\.{TEMP_MARK}[A-Za-z0-9_]{{8}}{re.escape(target.suffix)}$")
        if not target.parent.is_dir():
            continue
        for sibling in target.parent.iterdir():
            if not pattern.match(sibling.name) or sibling.is_symlink() or not sibling.is_file():
                continue
            info = sibling.stat()
            if info.st_uid == os.getuid() and (since is None or info.st_mtime >= since - 1.0):
                sibling.unlink(missing_ok=True)
