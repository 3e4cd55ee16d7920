"""The duplicate-effort index kept in the database, shared by every process.

Instead of an index rebuilt in memory by each process from every stored fingerprint, the
parts of `center.dedup.engine.DedupIndex` that find candidates live where all processes
see them, kept up to date as each fingerprint is stored:

- **LSH bands** as indexed rows (`LshBucket`): a check looks up its own 28 bucket hashes
  and gets the documents sharing any of them, as datasketch's MinHashLSH would;
- **document frequencies** as a table (`ShingleCount`), one +1 / -1 per distinct n-gram
  when a fingerprint is stored or replaced;
- **document vectors** in a usearch index (int8, cosine), one file per tenant and language
  under ``DEDUP_INDEX_DIR``, owned by the process that runs checks (the ``dedup`` queue's
  worker). It catches up from the fingerprints' change sequence (`DocumentFingerprint.seq`),
  reading only rows after the last number it saw, so a new process answers its first check
  after reading what changed since the files were saved, never every row.

Re-ranking and the decision are the engine's, unchanged (`StoredIndex` is a `DedupIndex`
whose fingerprints, frequencies and candidates come from here); they read only the
checked document's and the candidates' stored fingerprints.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHashLSH
from sqlalchemy import BigInteger, delete, func, literal, select, text, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from center.dedup.engine import (
    DedupIndex,
    DocId,
    Fingerprint,
    Settings,
    closest_by_signature,
)
from center.dedup.models import DedupSequence, DocumentFingerprint, LshBucket, ShingleCount
from center.dedup.text import mix64

log = logging.getLogger(__name__)

#: Values per IN (...) list when reading or writing many n-grams at once.
_BATCH = 5000
#: A check compares the signatures of at most this many times ``max_candidates`` LSH
#: candidates (those sharing the most bands), whatever the archive's size, and reads the
#: whole fingerprints of the ``max_candidates`` closest.
LSH_READ_FACTOR = 2
#: An LSH bucket that more documents share is boilerplate, not evidence of copying (in a
#: synthetic archive of 100,000 proposals, single buckets held up to 39% of it). A check
#: leaves such buckets out, so it counts at most this many rows per band whatever the
#: archive's size; their documents are still found through their other bands and the
#: vector search. At 100,000 a cap of 1,000 lost 6 of 1,910 planted copies; 5,000 lost none.
LSH_BUCKET_CAP = 5000


# --- LSH bands -------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def band_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) that datasketch's MinHashLSH picks for ``threshold``."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def band_buckets(signature: np.ndarray, settings: Settings) -> np.ndarray:
    """The bucket of each LSH band of ``signature``: a 64-bit hash (signed, as stored) of
    the band number and its signature values. Two signatures share a bucket exactly when a
    band of them is equal."""
    bands, rows = band_shape(settings.candidate_threshold, settings.num_perm)
    values = signature[: bands * rows].astype(np.uint64).reshape(bands, rows)
    with np.errstate(over="ignore"):
        acc = mix64(np.arange(1, bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        for column in range(rows):
            acc = mix64(acc ^ (values[:, column] + np.uint64(column + 1)))
    return acc.view(np.int64)


def signature_bytes(fp: Fingerprint | bytes) -> bytes:
    """The MinHash signature of a fingerprint (or of its stored blob) as
    `DocumentFingerprint.signature` keeps it."""
    if isinstance(fp, bytes | memoryview):
        fp = Fingerprint.from_bytes(bytes(fp))
    return fp.signature.astype("<u4").tobytes()


def _signed(shingles: np.ndarray) -> list[int]:
    return np.ascontiguousarray(shingles, dtype=np.uint64).view(np.int64).tolist()


# --- writing ---------------------------------------------------------------------------------

def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def next_seq(session: Session, tenant_id: int, count: int = 1) -> int:
    """Take the tenant's next ``count`` change numbers and return the last of them. The
    counter row stays locked until the transaction ends, so writers of one tenant's
    fingerprints take turns: numbers are committed in order and the frequency updates
    never deadlock. Taking several at once updates the row once: PostgreSQL keeps every
    version a transaction writes of a row, so a number taken per document made each
    further update walk all the earlier ones."""
    table = DedupSequence.__table__
    session.execute(_insert(session, table).values(tenant_id=tenant_id, last_seq=0)
                    .on_conflict_do_nothing(index_elements=["tenant_id"]))
    return session.execute(update(table).where(table.c.tenant_id == tenant_id)
                           .values(last_seq=table.c.last_seq + count)
                           .returning(table.c.last_seq)).scalar_one()


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_UPSERT = ("INSERT INTO dedup_shingle_counts (tenant_id, shingle, docs) {source} "
           "ON CONFLICT (tenant_id, shingle) DO UPDATE "
           "SET docs = dedup_shingle_counts.docs + excluded.docs")
#: On PostgreSQL the n-grams and their steps are two array parameters, made rows by unnest.
_PG_INCREMENT = _UPSERT.format(
    source="SELECT :tenant, k.key, k.step "
    "FROM unnest(CAST(:keys AS bigint[]), CAST(:steps AS integer[])) AS k(key, step)")
_PG_DECREMENT = ("UPDATE dedup_shingle_counts AS c SET docs = c.docs + k.step "
                 "FROM unnest(CAST(:keys AS bigint[]), CAST(:steps AS integer[])) AS k(key, step) "
                 "WHERE c.tenant_id = :tenant AND c.shingle = k.key")


def net_counts(added: Iterable[Fingerprint], removed: Iterable[Fingerprint] = ()
               ) -> tuple[np.ndarray, np.ndarray]:
    """The change of document frequency that storing ``added`` and dropping ``removed``
    makes: each n-gram once (sorted), with its step, n-grams whose count stays left out."""
    parts = [fp.unique_shingles for fp in added]
    signs = [np.ones(len(p), dtype=np.int64) for p in parts]
    for fp in removed:
        parts.append(fp.unique_shingles)
        signs.append(np.full(len(fp.unique_shingles), -1, dtype=np.int64))
    if not parts:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    keys, inverse = np.unique(np.concatenate(parts), return_inverse=True)
    steps = np.bincount(inverse.ravel(), weights=np.concatenate(signs),
                        minlength=len(keys)).astype(np.int64)
    keep = steps != 0
    return keys[keep], steps[keep]


def _count(session: Session, tenant_id: int, shingles: np.ndarray, steps: np.ndarray) -> None:
    """Add ``steps`` to the document counts of ``shingles`` (each n-gram once), one statement
    each way on PostgreSQL; a count that falls to zero is deleted."""
    for sign in (1, -1):
        chosen = steps > 0 if sign > 0 else steps < 0
        keys, by = _signed(shingles[chosen]), steps[chosen].tolist()
        if not keys:
            continue
        params = {"tenant": tenant_id, "keys": keys, "steps": by}
        if _postgres(session):
            if sign > 0:
                session.execute(text(_PG_INCREMENT), params)
            else:
                session.execute(text(_PG_DECREMENT), params)
                session.execute(text(
                    "DELETE FROM dedup_shingle_counts WHERE tenant_id = :tenant AND docs <= 0 "
                    "AND shingle = ANY(CAST(:keys AS bigint[]))"), params)
            continue
        rows = [{"tenant": tenant_id, "key": k, "step": n} for k, n in zip(keys, by, strict=True)]
        if sign > 0:
            session.execute(text(_UPSERT.format(source="VALUES (:tenant, :key, :step)")), rows)
        else:
            session.execute(text("UPDATE dedup_shingle_counts SET docs = docs + :step "
                                 "WHERE tenant_id = :tenant AND shingle = :key"), rows)
            session.execute(text("DELETE FROM dedup_shingle_counts WHERE tenant_id = :tenant "
                                 "AND shingle = :key AND docs <= 0"), rows)


def store_fingerprint(session: Session, tenant_id: int, doc_key: str, fp: Fingerprint,
                      settings: Settings, **row: Any) -> DocumentFingerprint:
    """Store ``fp`` as the fingerprint of ``doc_key`` (replacing any older one) and bring
    the LSH bands and document frequencies up to date, in the caller's transaction."""
    return store_fingerprints(session, tenant_id, [(doc_key, fp, row)], settings)[0]


def store_fingerprints(session: Session, tenant_id: int,
                       items: Sequence[tuple[str, Fingerprint, dict[str, Any]]],
                       settings: Settings) -> list[DocumentFingerprint]:
    """Store many fingerprints at once, each ``(doc_key, fingerprint, other columns)``,
    replacing older ones of the same documents: one change-number update, one insert of
    LSH bands and one update of document frequencies for them all."""
    keys = [key for key, _fp, _row in items]
    if len(set(keys)) != len(keys):
        raise ValueError("each document is stored once per call")
    if not items:
        return []
    last = next_seq(session, tenant_id, len(items))
    old = []
    for chunk in _chunks(keys):
        old += session.execute(select(DocumentFingerprint.id, DocumentFingerprint.blob).where(
            DocumentFingerprint.tenant_id == tenant_id,
            DocumentFingerprint.doc_key.in_(chunk))).all()
    buckets = LshBucket.__table__
    for chunk in _chunks([r.id for r in old]):
        session.execute(delete(buckets).where(buckets.c.tenant_id == tenant_id,
                                              buckets.c.fingerprint_id.in_(chunk)))
        session.execute(delete(DocumentFingerprint).where(DocumentFingerprint.id.in_(chunk)))
    first = last - len(items) + 1
    stored = [DocumentFingerprint(tenant_id=tenant_id, doc_key=key, lang=fp.lang,
                                  blob=fp.to_bytes(), signature=signature_bytes(fp),
                                  seq=first + n, **row)
              for n, (key, fp, row) in enumerate(items)]
    session.add_all(stored)
    session.flush()
    _index(session, tenant_id, [(s.id, fp) for s, (_k, fp, _r) in zip(stored, items, strict=True)],
           settings, removed=[Fingerprint.from_bytes(r.blob) for r in old])
    return stored


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _index(session: Session, tenant_id: int, stored: Sequence[tuple[int, Fingerprint]],
           settings: Settings, removed: Sequence[Fingerprint] = ()) -> None:
    """Write the LSH bands of stored fingerprints, given as ``(row id, fingerprint)``, and
    count their n-grams (less those of the ``removed`` fingerprints they replace)."""
    rows = [(fingerprint_id, band, bucket) for fingerprint_id, fp in stored
            for band, bucket in enumerate(band_buckets(fp.signature, settings).tolist())]
    if rows and _postgres(session):
        ids, bands, hashes = (list(column) for column in zip(*rows, strict=True))
        session.execute(text(
            "INSERT INTO dedup_lsh_buckets (tenant_id, fingerprint_id, band, bucket) "
            "SELECT :tenant, b.fp, b.band, b.bucket FROM unnest(CAST(:ids AS integer[]), "
            "CAST(:bands AS smallint[]), CAST(:buckets AS bigint[])) AS b(fp, band, bucket)"),
            {"tenant": tenant_id, "ids": ids, "bands": bands, "buckets": hashes})
    elif rows:
        session.execute(text(
            "INSERT INTO dedup_lsh_buckets (tenant_id, fingerprint_id, band, bucket) "
            "VALUES (:tenant_id, :fingerprint_id, :band, :bucket)"),
            [{"tenant_id": tenant_id, "fingerprint_id": fingerprint_id, "band": band,
              "bucket": bucket} for fingerprint_id, band, bucket in rows])
    _count(session, tenant_id, *net_counts([fp for _id, fp in stored], removed))


#: Rows derived from the stored fingerprints: a tenant backup leaves them out and
#: `index_restored` writes them again.
DERIVED_TABLES = ("dedup_lsh_buckets", "dedup_shingle_counts", "dedup_sequences")


def index_restored(session: Session, tenant_id: int, settings: Settings) -> int:
    """Write the bands, n-gram counts and change counter of a tenant whose fingerprints were
    restored without them (`center.core.backup`); their change numbers are kept. Return how
    many fingerprints were indexed."""
    rows = session.execute(select(DocumentFingerprint.id, DocumentFingerprint.blob,
                                  DocumentFingerprint.seq).where(
        DocumentFingerprint.tenant_id == tenant_id).order_by(DocumentFingerprint.seq)).all()
    for chunk in _chunks(rows):
        _index(session, tenant_id, [(r.id, Fingerprint.from_bytes(r.blob)) for r in chunk],
               settings)
    if rows:
        table = DedupSequence.__table__
        session.execute(_insert(session, table).values(tenant_id=tenant_id, last_seq=0)
                        .on_conflict_do_nothing(index_elements=["tenant_id"]))
        session.execute(update(table).where(table.c.tenant_id == tenant_id).values(
            last_seq=max(r.seq for r in rows)))
    return len(rows)


def reindex(session: Session, tenant_id: int, settings: Settings) -> int:
    """Write a tenant's bands, n-gram counts and change counter again from its stored
    fingerprints (`flask dedup-reindex`), for a database where they are missing or wrong;
    the change numbers are kept, so the vector indexes need nothing. Return how many
    fingerprints were indexed."""
    for table in (LshBucket.__table__, ShingleCount.__table__, DedupSequence.__table__):
        session.execute(delete(table).where(table.c.tenant_id == tenant_id))
    return index_restored(session, tenant_id, settings)


# --- reading ---------------------------------------------------------------------------------

class _StoredDocs(dict):
    """doc_key -> Fingerprint, read from the database on first use and kept for one check."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        super().__init__()
        self.session, self.tenant_id = session, tenant_id
        self.missing: set[DocId] = set()

    def load(self, keys: Iterable[DocId]) -> None:
        wanted = [k for k in keys if not dict.__contains__(self, k) and k not in self.missing]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.session.execute(select(DocumentFingerprint.doc_key,
                                               DocumentFingerprint.blob).where(
                DocumentFingerprint.tenant_id == self.tenant_id,
                DocumentFingerprint.doc_key.in_(chunk)))
            for key, blob in rows:
                self[key] = Fingerprint.from_bytes(blob)
            self.missing.update(k for k in chunk if not dict.__contains__(self, k))

    def __contains__(self, key: object) -> bool:
        self.load([key])
        return dict.__contains__(self, key)

    def __missing__(self, key: DocId) -> Fingerprint:
        self.load([key])
        if not dict.__contains__(self, key):
            raise KeyError(key)
        return dict.__getitem__(self, key)

    def get(self, key: DocId, default: Any = None) -> Any:
        self.load([key])
        return dict.get(self, key, default)


class _StoredFrequency:
    """Document frequencies read from `ShingleCount`, each n-gram once per check."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.session, self.tenant_id = session, tenant_id
        self.known: dict[int, int] = {}

    def prefetch(self, shingles: np.ndarray) -> None:
        table = ShingleCount.__table__
        wanted = [k for k in _signed(np.unique(shingles)) if k not in self.known]
        self.known.update(dict.fromkeys(wanted, 0))
        if wanted and _postgres(self.session):
            # One index probe per n-gram, joined from the list: written as ``shingle =
            # ANY(...)`` the planner scanned every n-gram of the tenant to filter them.
            self.known.update(self.session.execute(text(
                "SELECT c.shingle, c.docs FROM unnest(CAST(:keys AS bigint[])) AS k(shingle) "
                "JOIN dedup_shingle_counts AS c "
                "ON c.tenant_id = :tenant AND c.shingle = k.shingle"),
                {"tenant": self.tenant_id, "keys": sorted(wanted)}).all())
            return
        for start in range(0, len(wanted), _BATCH):
            chunk = wanted[start : start + _BATCH]
            self.known.update(self.session.execute(select(table.c.shingle, table.c.docs).where(
                table.c.tenant_id == self.tenant_id, table.c.shingle.in_(chunk))).all())

    def counts(self, shingles: np.ndarray) -> np.ndarray:
        keys = _signed(shingles)
        known = self.known
        if any(k not in known for k in keys):
            self.prefetch(shingles)
        return np.fromiter((known[k] for k in keys), dtype=np.int64, count=len(keys))


class StoredIndex(DedupIndex):
    """A tenant's index read from the database (and the vector index, when given): the
    engine's checks and scores, with nothing rebuilt. Cheap to make; make one per request
    or job, since it keeps what it read. Written through `store_fingerprint`."""

    def __init__(self, session: Session, tenant_id: int, settings: Settings,
                 vectors: VectorIndex | None = None) -> None:
        # Not DedupIndex.__init__: it would build an in-memory LSH and vector table.
        self.settings = settings
        self._weighted = {}
        self._lock = threading.RLock()
        self.session, self.tenant_id, self.vector_index = session, tenant_id, vectors
        self._docs = _StoredDocs(session, tenant_id)  # type: ignore[assignment]
        self._df = _StoredFrequency(session, tenant_id)  # type: ignore[assignment]

    def __len__(self) -> int:
        return self.session.scalar(select(func.count()).select_from(DocumentFingerprint).where(
            DocumentFingerprint.tenant_id == self.tenant_id)) or 0

    def add(self, doc_id: DocId, fp: Fingerprint) -> None:
        raise TypeError("A stored index is written through store_fingerprint()")

    remove = add  # type: ignore[assignment]

    def lsh_keys(self, fp: Fingerprint, *, exclude: Collection[DocId] = (),
                 limit: int | None = None) -> list[str]:
        """Keys of the documents sharing an LSH bucket with ``fp``, those sharing the most
        buckets first (the number of equal bands grows with the Jaccard similarity), at
        most ``limit`` of them."""
        return [key for key, _signature in self._lsh_rows(fp, exclude, limit)]

    def _lsh_rows(self, fp: Fingerprint, exclude: Collection[DocId], limit: int | None
                  ) -> list[tuple[str, np.ndarray]]:
        """`lsh_keys` with each document's MinHash signature."""
        table = LshBucket.__table__
        exclude = [str(k) for k in exclude]
        # Counted on the bucket index alone, the most shared first, then joined: neither
        # the plan nor the join can start from every fingerprint of the tenant.
        shared = (select(table.c.fingerprint_id, func.count().label("bands"))
                  .where(table.c.tenant_id == self.tenant_id,
                         table.c.bucket.in_(self._telling_buckets(fp)))
                  .group_by(table.c.fingerprint_id)
                  .order_by(func.count().desc(), table.c.fingerprint_id))
        if limit is not None:
            shared = shared.limit(limit + len(exclude))
        shared = shared.subquery()
        query = (select(DocumentFingerprint.doc_key, DocumentFingerprint.signature)
                 .join(shared, shared.c.fingerprint_id == DocumentFingerprint.id)
                 .where(DocumentFingerprint.tenant_id == self.tenant_id)
                 .order_by(shared.c.bands.desc(), DocumentFingerprint.id))
        if exclude:
            query = query.where(DocumentFingerprint.doc_key.not_in(exclude))
        if limit is not None:
            query = query.limit(limit)
        return [(key, np.frombuffer(signature, dtype="<u4"))
                for key, signature in self.session.execute(query)]

    def _telling_buckets(self, fp: Fingerprint) -> list[int]:
        """The LSH buckets of ``fp`` that at most `LSH_BUCKET_CAP` documents share, each
        counted only up to one past the cap."""
        table = LshBucket.__table__
        buckets = band_buckets(fp.signature, self.settings).tolist()
        sizes = union_all(*(
            select(literal(bucket, BigInteger).label("bucket"),
                   func.count().label("docs")).select_from(
                select(table.c.fingerprint_id).where(table.c.tenant_id == self.tenant_id,
                                                     table.c.bucket == bucket)
                .limit(LSH_BUCKET_CAP + 1).subquery())
            for bucket in buckets))
        return [bucket for bucket, docs in self.session.execute(sizes)
                if docs <= LSH_BUCKET_CAP]

    def candidates(self, fp: Fingerprint, *, exclude: Collection[DocId] = ()
                   ) -> dict[DocId, set[str]]:
        found: dict[DocId, set[str]] = {}
        # Only the documents sharing the most buckets are compared, so that a check reads
        # as much in an archive of a million as in one of a thousand; their signatures then
        # choose the closest ``max_candidates``, and only those are read whole.
        rows = self._lsh_rows(fp, exclude, LSH_READ_FACTOR * self.settings.max_candidates)
        keys = closest_by_signature(fp, [key for key, _s in rows], [s for _k, s in rows],
                                    self.settings)
        for key in keys:
            found.setdefault(key, set()).add("lsh")
        vector = self._usable_vector(fp)
        if vector is not None and self.vector_index is not None:
            for key, _cosine in self.vector_index.nearest(
                    vector, self.settings.semantic_neighbours + 1):
                if key not in exclude:
                    found.setdefault(key, set()).add("semantic")
        self._docs.load(found)
        # A vector index can be a step behind a fingerprint just replaced or removed.
        found = {key: stages for key, stages in found.items()
                 if dict.__contains__(self._docs, key)}
        self._df.prefetch(np.concatenate(
            [fp.shingles] + [self._docs[k].shingles for k in found]))
        return found

    def _usable_vector(self, fp: Fingerprint) -> np.ndarray | None:
        if not self.settings.use_embeddings or fp.model != self.settings.embedding_model:
            return None
        return fp.document_vector

    def memory_bytes(self) -> int:
        return sum(fp.shingles.nbytes + fp.signature.nbytes
                   + (0 if fp.vectors is None else fp.vectors.nbytes)
                   for fp in dict.values(self._docs))


# --- the vector index ------------------------------------------------------------------------

class VectorIndex:
    """Document vectors of one tenant in usearch indexes (one per language, int8 cosine),
    saved under ``directory`` and caught up from the change sequence.

    Keys are change numbers; ``state.json`` maps the live ones to their documents. A
    document removed without a new fingerprint leaves a stale key behind, which a search
    skips (its fingerprint row is gone)."""

    def __init__(self, directory: Path, settings: Settings) -> None:
        self.directory, self.settings = Path(directory), settings
        self.last_seq = 0
        self.by_doc: dict[str, tuple[str, int]] = {}  # doc_key -> (lang, seq)
        self.by_seq: dict[int, str] = {}
        self.indexes: dict[str, Any] = {}
        self.lock = threading.Lock()
        state = self.directory / "state.json"
        if state.exists():
            data = json.loads(state.read_text())
            if data.get("model") == settings.embedding_model:
                self.last_seq = data["last_seq"]
                self.by_doc = {k: (lang, seq) for k, (lang, seq) in data["docs"].items()}
                self.by_seq = {seq: k for k, (_lang, seq) in self.by_doc.items()}
                for lang in data["languages"]:
                    self.indexes[lang] = self._restore(self.directory / f"{lang}.usearch")

    @staticmethod
    def _new(ndim: int) -> Any:
        from usearch.index import Index

        return Index(ndim=ndim, metric="cos", dtype="i8")

    @staticmethod
    def _restore(path: Path) -> Any:
        from usearch.index import Index

        return Index.restore(str(path))

    def catch_up(self, session: Session, tenant_id: int) -> int:
        """Index the fingerprints stored after the last change number seen; return how many."""
        done = 0
        with self.lock:
            newest = session.scalar(select(func.max(DocumentFingerprint.seq)).where(
                DocumentFingerprint.tenant_id == tenant_id)) or 0
            if newest < self.last_seq:  # the database was restored or emptied: start over
                log.warning("dedup vector index of tenant %s is ahead of the database; "
                            "re-indexing", tenant_id)
                self.last_seq, self.by_doc, self.by_seq, self.indexes = 0, {}, {}, {}
            while True:
                rows = session.execute(select(
                    DocumentFingerprint.seq, DocumentFingerprint.doc_key,
                    DocumentFingerprint.blob).where(
                    DocumentFingerprint.tenant_id == tenant_id,
                    DocumentFingerprint.seq > self.last_seq).order_by(
                    DocumentFingerprint.seq).limit(1000)).all()
                if not rows:
                    break
                for seq, doc_key, blob in rows:
                    self._put(seq, doc_key, Fingerprint.from_bytes(blob))
                    self.last_seq = seq
                done += len(rows)
            if done:
                self._save()
        return done

    def _put(self, seq: int, doc_key: str, fp: Fingerprint) -> None:
        old = self.by_doc.pop(doc_key, None)
        if old is not None:
            self.by_seq.pop(old[1], None)
            if old[0] in self.indexes:
                self.indexes[old[0]].remove(old[1])
        if not self.settings.use_embeddings or fp.model != self.settings.embedding_model:
            return
        vector = fp.document_vector
        if vector is None:
            return
        index = self.indexes.get(fp.lang)
        if index is None:
            index = self.indexes[fp.lang] = self._new(len(vector))
        if index.ndim != len(vector):
            return
        index.add(seq, vector)
        self.by_doc[doc_key] = (fp.lang, seq)
        self.by_seq[seq] = doc_key

    def _save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for lang, index in self.indexes.items():
            tmp = self.directory / f"{lang}.usearch.tmp"
            index.save(str(tmp))
            os.replace(tmp, self.directory / f"{lang}.usearch")
        tmp = self.directory / "state.json.tmp"
        tmp.write_text(json.dumps({
            "model": self.settings.embedding_model, "last_seq": self.last_seq,
            "languages": sorted(self.indexes),
            "docs": {k: [lang, seq] for k, (lang, seq) in self.by_doc.items()}}))
        os.replace(tmp, self.directory / "state.json")

    def nearest(self, vector: np.ndarray, per_language: int) -> list[tuple[str, float]]:
        """The ``per_language`` nearest documents of every language, with their cosine."""
        out = []
        with self.lock:
            for index in self.indexes.values():
                if not len(index):
                    continue
                found = index.search(vector.astype(np.float32), min(per_language, len(index)))
                for key, distance in zip(found.keys.tolist(), found.distances.tolist(),
                                         strict=True):
                    doc = self.by_seq.get(int(key))
                    if doc is not None:
                        out.append((doc, 1.0 - float(distance)))
        return out

    def __len__(self) -> int:
        return len(self.by_doc)


_vector_indexes: dict[tuple[str, int], VectorIndex] = {}
_vector_lock = threading.Lock()


def vector_index(session: Session, tenant_id: int, settings: Settings,
                 directory: str | Path) -> VectorIndex | None:
    """This process's vector index of the tenant, loaded from ``directory`` once and caught
    up with the fingerprints stored since; None without embeddings."""
    if not settings.use_embeddings:
        return None
    path = Path(directory) / f"tenant-{tenant_id}"
    with _vector_lock:
        index = _vector_indexes.get((str(path), tenant_id))
        if index is None:
            index = _vector_indexes[(str(path), tenant_id)] = VectorIndex(path, settings)
    index.catch_up(session, tenant_id)
    return index


def forget_vector_indexes() -> None:
    """Drop the loaded vector indexes (tests); the saved files stay."""
    with _vector_lock:
        _vector_indexes.clear()
