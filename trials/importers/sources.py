"""Finding documents in files, folders and tar archives, and splitting each document into records.

Archives (.tgz, .tar.gz, .tar) are read member by member in place, and single gzip-compressed documents
(e.g. trials.jsonl.gz) are decompressed in memory: nothing is ever extracted to disk.
A document that cannot be read as a whole (truncated, not UTF-8) raises RecordError before any of its
records is returned, so nothing from it is imported.
"""

from __future__ import annotations

import gzip
import json
import logging
import tarfile
import zlib
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trials.importers import ctgov_json, ctgov_xml, oncology_jsonl
from trials.importers.common import RecordError, TrialRecord

log = logging.getLogger(__name__)

FORMATS = ("auto", "ctgov-xml", "ctgov-json", "oncology-jsonl")

ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")
LINES_SUFFIXES = (".jsonl", ".ndjson")
DOCUMENT_SUFFIXES = (".xml", ".json", *LINES_SUFFIXES)
# What reading a damaged file, archive or compressed stream raises; zlib.error is corrupt compressed data.
READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)
# A single gzip-compressed document, e.g. trials.jsonl.gz; its format is read from the name inside.
GZIP_SUFFIX = ".gz"

# What an archive's members, or one gzip-compressed document, may take uncompressed. A registry dump is a
# fraction of this; a small file that unpacks past it (a "zip bomb") would fill the memory or the disk.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024

# A folder or an archive given with nothing to import in it (the registry's CSV download, say) is a failure,
# not a run that imported nothing and succeeded.
NO_DOCUMENT = "holds no trial document (.xml, .json, .jsonl or .ndjson, also gzip-compressed or in a .tgz)"

# (source, record) or the error that record raised; `source` names the file, member or line.
ParsedItem = tuple[str, TrialRecord | RecordError]


@dataclass(frozen=True)
class Document:
    name: str
    read: Callable[[], bytes]


def collect_documents(
    paths: Iterable[str | Path], stack: ExitStack
) -> tuple[list[Document], list[RecordError]]:
    """Every document under the given paths, in a stable order; archives stay open on `stack`."""
    documents: list[Document] = []
    errors: list[RecordError] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _is_input(p.name))
            if not files:
                errors.append(RecordError(NO_DOCUMENT, source=str(given)))
        elif path.is_file():
            files = [path]
        else:
            errors.append(RecordError("no such file or folder", source=str(given)))
            continue
        for file in files:
            if file.name.lower().endswith(ARCHIVE_SUFFIXES):
                try:
                    found = _archive_documents(file, stack)
                except RecordError as error:
                    errors.append(error)
                except READ_ERRORS as exc:
                    errors.append(RecordError(f"not a readable tar archive: {exc}", source=str(file)))
                else:
                    documents.extend(found)
                    if not found:
                        errors.append(RecordError(NO_DOCUMENT, source=str(file)))
            elif file.name.lower().endswith(GZIP_SUFFIX):
                documents.append(Document(name=str(file), read=_gunzip_reader(file)))
            else:
                documents.append(Document(name=str(file), read=file.read_bytes))
    return documents, errors


def _is_input(name: str) -> bool:
    return _inner_name(name).endswith(DOCUMENT_SUFFIXES) or name.lower().endswith(ARCHIVE_SUFFIXES)


def _inner_name(name: str) -> str:
    lowered = name.lower()
    return lowered.removesuffix(GZIP_SUFFIX) if not lowered.endswith(ARCHIVE_SUFFIXES) else lowered


def _limit() -> str:
    return f"{MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MiB"


def _gunzip_reader(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        with gzip.open(path) as compressed:
            data = compressed.read(MAX_UNCOMPRESSED_BYTES + 1)
        if len(data) > MAX_UNCOMPRESSED_BYTES:
            inner = path.name[: -len(GZIP_SUFFIX)]
            raise RecordError(f"refused: {inner} is more than {_limit()} uncompressed", source=str(path))
        return data

    return read


def _archive_documents(path: Path, stack: ExitStack) -> list[Document]:
    """The archive's documents; RecordError, with nothing read, if its files take too much room unpacked."""
    # The caller's ExitStack closes the archive once every member has been read.
    archive = stack.enter_context(tarfile.open(path))  # noqa: SIM115
    members = []
    total = 0
    # Member by member, not `getmembers()`: each header gives its member's size, so the archive is refused
    # before the stream is unpacked past a member too large, which would take that long just to skip.
    for member in archive:
        if not member.isfile():
            continue
        total += member.size
        if total > MAX_UNCOMPRESSED_BYTES:
            name = member.name.removeprefix("./")
            raise RecordError(
                f"refused: more than {_limit()} uncompressed once {name} is counted", source=str(path)
            )
        if member.name.lower().endswith(DOCUMENT_SUFFIXES):
            members.append(member)
    # Member order is the archive's order, so reading them one after another only ever seeks forward.
    return [
        Document(name=f"{path}:{member.name.removeprefix('./')}", read=_member_reader(archive, member))
        for member in members
    ]


def _member_reader(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        extracted = archive.extractfile(member)
        if extracted is None:
            raise RecordError("archive member is not a regular file", source=member.name)
        with extracted:
            return extracted.read()

    return read


def parse_document(document: Document, *, fmt: str = "auto") -> list[ParsedItem]:
    """All records of one document, or RecordError when the document as a whole is unreadable."""
    try:
        data = document.read()
    except READ_ERRORS as exc:
        raise RecordError(f"cannot be read: {exc}", source=document.name) from None
    name = document.name
    if fmt == "ctgov-xml" or (fmt == "auto" and _looks_like_xml(name, data)):
        return [(name, _record_or_error(lambda: ctgov_xml.parse_document(data, source=name), name))]
    text = _decode(data, name)
    if _inner_name(name).endswith(LINES_SUFFIXES):
        items = _parse_lines(text, name, fmt)
        if not items:
            # Most likely the wrong file, or one whose export failed: said, not imported as nothing.
            raise RecordError("holds no trial record: the file is empty or only blank lines", source=name)
        return _refuse_conflicting_repeats(items)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and "\n" in text.strip():
            return _refuse_conflicting_repeats(_parse_lines(text, name, fmt))
        raise RecordError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=name
        ) from None
    except RecursionError:
        raise _too_deep(text, name) from None
    if _nested_too_deeply(value):
        raise _too_deep(text, name)
    if isinstance(value, dict) and "studies" in value:
        value = value["studies"]
        if not isinstance(value, list):
            raise RecordError("'studies' is not a list", source=name)
    if isinstance(value, list):
        return _refuse_conflicting_repeats(
            [_parse_object(item, f"{name}[{index}]", fmt) for index, item in enumerate(value)]
        )
    return [_parse_object(value, name, fmt)]


def _refuse_conflicting_repeats(items: list[ParsedItem]) -> list[ParsedItem]:
    """A trial given twice in one document with different content fails at each place: which is current
    cannot be told, and importing both in turn would keep whichever came last without a word. A repeat
    identical to the first is the same record (re-importing it changes nothing)."""
    places: dict[str, list[int]] = {}
    for index, (_, item) in enumerate(items):
        if isinstance(item, TrialRecord):
            places.setdefault(item.nct_id, []).append(index)
    refused = list(items)
    for nct_id, indexes in places.items():
        records = [items[index][1] for index in indexes]
        if len({record.checksum for record in records if isinstance(record, TrialRecord)}) < 2:
            continue
        sources = [items[index][0] for index in indexes]
        for index, source in zip(indexes, sources, strict=True):
            others = ", ".join(other for other in sources if other != source)
            message = f"is given again with different content at {others}: none of them is imported"
            refused[index] = (source, RecordError(message, source=source, nct_id=nct_id, field="nct_id"))
    return refused


# Registry records nest a few levels; far deeper JSON is refused before any code walks it, since reading
# it (and even printing it in an error) recurses once per level.
MAX_JSON_DEPTH = 100
TOO_DEEP = f"not readable JSON: nested more than {MAX_JSON_DEPTH} levels deep"


def _nested_too_deeply(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False


def _too_deep(text: str, name: str) -> RecordError:
    return RecordError(f"{TOO_DEEP} from line {_line_too_deep(text)}", source=name)


def _line_too_deep(text: str) -> int:
    """The line on which the JSON text first nests more than MAX_JSON_DEPTH levels deep."""
    depth = 0
    in_string = escaped = False
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return line
        elif char in "]}":
            depth -= 1
    return line


def _looks_like_xml(name: str, data: bytes) -> bool:
    return _inner_name(name).endswith(".xml") or data.lstrip().startswith(b"<")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise RecordError(f"not UTF-8: byte 0x{byte} at line {line}, column {column}", source=name) from None


def _parse_lines(text: str, name: str, fmt: str) -> list[ParsedItem]:
    items: list[ParsedItem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        source = f"{name}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            items.append(
                (source, RecordError(f"not valid JSON at column {exc.colno}: {exc.msg}", source=source))
            )
            continue
        except RecursionError:
            items.append((source, RecordError(TOO_DEEP, source=source)))
            continue
        if _nested_too_deeply(value):
            items.append((source, RecordError(TOO_DEEP, source=source)))
            continue
        items.append(_parse_object(value, source, fmt))
    return items


def _parse_object(value: Any, source: str, fmt: str) -> ParsedItem:
    # Without a protocolSection an object can only be the flat export; its parser names what is missing.
    if fmt == "ctgov-json" or (fmt == "auto" and ctgov_json.is_study(value)):
        return source, _record_or_error(lambda: ctgov_json.parse_study(value, source=source), source)
    return source, _record_or_error(lambda: oncology_jsonl.parse_trial(value, source=source), source)


def _record_or_error(parse: Callable[[], TrialRecord], source: str) -> TrialRecord | RecordError:
    try:
        return parse()
    except RecordError as exc:
        return exc
    except Exception as exc:
        # A record no parser rule foresaw fails alone, reported like any other, and the run goes on.
        log.exception("unexpected failure reading %s", source)
        return RecordError(f"could not be read: {exc.__class__.__name__}: {exc}", source=source)
