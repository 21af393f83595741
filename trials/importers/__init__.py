"""Importing registry exports: ClinicalTrials.gov legacy XML, API v2 JSON and the oncology JSON lines.

`import_paths` is the entry point for commands and scripts. Parsing is pure (`common`, one module per
format, `sources` for files and archives); writing is `trials.services.trial_import_record`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from tqdm import tqdm

from trials.importers.common import RecordError, TrialRecord
from trials.importers.sources import FORMATS, collect_documents, parse_document
from trials.services import Outcome, RegistryCache, trial_import_record, trials_parse_on_commit

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "ImportSummary", "RecordError", "TrialRecord", "import_paths"]


@dataclass
class ImportSummary:
    """What an import run did. With all-or-nothing and any failure, `rolled_back` is set and nothing stays."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RecordError] = field(default_factory=list)
    elapsed: float = 0.0
    rolled_back: bool = False

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    @property
    def records_per_second(self) -> float:
        return self.processed / self.elapsed if self.elapsed else 0.0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def fail(self, error: RecordError) -> None:
        self.failed += 1
        self.errors.append(error)


class _RollBack(Exception):
    """Raised inside the run's transaction to undo an all-or-nothing run that had failures."""


def import_paths(
    paths: Iterable[str | Path],
    *,
    fmt: str = "auto",
    all_or_nothing: bool = False,
    progress: bool = True,
    limit: int | None = None,
    batch_size: int = 100,
    parse: bool = True,
) -> ImportSummary:
    """Import every trial found in the given files, folders and .tgz/.tar.gz archives.

    Each trial is written atomically (`trial_import_record`), so a bad record is reported and skipped
    without leaving half a trial behind. Those per-trial transactions are committed `batch_size` at a time
    as savepoints of one transaction: a commit costs a disk sync, which on SQLite took longer than the
    import itself; a failed trial still rolls back alone. `batch_size=1` commits every trial on its own.
    With `all_or_nothing`, the whole run is one transaction and any failure undoes it.
    `limit` stops after that many records (imported or failed). With `parse`, every created or changed
    trial's eligibility text is queued for parsing after its batch commits (in-process without a broker),
    one task per batch.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    started = time.perf_counter()
    summary = ImportSummary()
    cache = RegistryCache()
    with ExitStack() as stack:
        documents, missing = collect_documents(paths, stack)
        for error in missing:
            summary.fail(error)
        # One step per document until a document turns out to hold several records (JSON lines, pages).
        bar = stack.enter_context(
            tqdm(total=len(documents), unit="rec", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        )
        try:
            parse_queue: list[int] = []
            queue_parses = partial(_queue_parses, parse_queue)
            with _run_transaction(all_or_nothing), _CommitEvery(batch_size, queue_parses) as batch:
                for document in documents:
                    if limit is not None and summary.processed >= limit:
                        break
                    try:
                        items = parse_document(document, fmt=fmt)
                    except RecordError as error:
                        summary.fail(error)
                        bar.update(1)
                        continue
                    bar.total += len(items) - 1
                    bar.refresh()
                    for source, item in items:
                        if limit is not None and summary.processed >= limit:
                            break
                        _import_item(source, item, summary, cache, parse=parse, parse_queue=parse_queue)
                        batch.step()
                        bar.update(1)
                if all_or_nothing and summary.failed:
                    raise _RollBack
        except _RollBack:
            summary.rolled_back = True
    summary.elapsed = time.perf_counter() - started
    return summary


@contextmanager
def _run_transaction(all_or_nothing: bool) -> Iterator[None]:
    if all_or_nothing:
        with transaction.atomic():
            yield
    else:
        yield


def _queue_parses(trial_ids: list[int]) -> None:
    if trial_ids:
        trials_parse_on_commit(trial_ids=trial_ids)
        trial_ids.clear()


class _CommitEvery:
    """A transaction that commits and starts afresh after every `size` steps; `before_commit` runs first."""

    def __init__(self, size: int, before_commit: Callable[[], None]):
        if size < 1:
            raise ValueError("batch_size must be at least 1")
        self.size = size
        self.before_commit = before_commit
        self.steps = 0
        self.block: transaction.Atomic | None = None

    def __enter__(self) -> _CommitEvery:
        self._begin()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self.block is not None
        self.before_commit()
        self.block.__exit__(*exc_info)

    def step(self) -> None:
        self.steps += 1
        if self.steps >= self.size:
            self.__exit__(None, None, None)
            self._begin()

    def _begin(self) -> None:
        self.steps = 0
        self.block = transaction.atomic()
        self.block.__enter__()


def _import_item(
    source: str,
    item: TrialRecord | RecordError,
    summary: ImportSummary,
    cache: RegistryCache,
    *,
    parse: bool,
    parse_queue: list[int],
) -> None:
    if isinstance(item, RecordError):
        summary.fail(item)
        return
    try:
        summary.count(
            trial_import_record(record=item, source=source, cache=cache, parse=parse, parse_queue=parse_queue)
        )
    except DatabaseError as exc:
        # The record's own transaction has rolled back; the run goes on with the next one.
        summary.fail(RecordError(f"could not be saved: {exc}", source=source, nct_id=item.nct_id))
    except Exception as exc:
        # So has it here: a failure no check foresaw is that record's, reported with the others.
        log.exception("unexpected failure saving %s from %s", item.nct_id, source)
        message = f"could not be saved: {exc.__class__.__name__}: {exc}"
        summary.fail(RecordError(message, source=source, nct_id=item.nct_id))
