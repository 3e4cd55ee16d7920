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
from collections.abc import Collection, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHashLSH
from sqlalchemy import delete, func, select, text, update
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
#: A check reads the fingerprints of at most this many times ``max_candidates`` LSH
#: candidates (those sharing the most bands), whatever the archive's size.
LSH_READ_FACTOR = 2


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


def _signed(shingles: np.ndarray) -> list[int]:
    return np.ascontiguousarray(shingles, dtype=np.uint64).view(np.int64).tolist()


# --- writing ---------------------------------------------------------------------------------

def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def next_seq(session: Session, tenant_id: int) -> int:
    """Take the tenant's next change number. The counter row stays locked until the
    transaction ends, so writers of one tenant's fingerprints take turns: numbers are
    committed in order and the frequency updates never deadlock."""
    table = DedupSequence.__table__
    session.execute(_insert(session, table).values(tenant_id=tenant_id, last_seq=0)
                    .on_conflict_do_nothing(index_elements=["tenant_id"]))
    return session.execute(update(table).where(table.c.tenant_id == tenant_id)
                           .values(last_seq=table.c.last_seq + 1)
                           .returning(table.c.last_seq)).scalar_one()


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_UPSERT = ("INSERT INTO dedup_shingle_counts (tenant_id, shingle, docs) {source} "
           "ON CONFLICT (tenant_id, shingle) DO UPDATE "
           "SET docs = dedup_shingle_counts.docs + excluded.docs")


def _count(session: Session, tenant_id: int, unique_shingles: np.ndarray, step: int) -> None:
    """Add ``step`` to the document count of each n-gram (one statement on PostgreSQL)."""
    keys = _signed(unique_shingles)
    if not keys:
        return
    if _postgres(session):
        params = {"tenant": tenant_id, "keys": keys, "step": step}
        if step > 0:
            session.execute(text(_UPSERT.format(
                source="SELECT :tenant, k, :step FROM unnest(CAST(:keys AS bigint[])) AS k")),
                params)
        else:
            session.execute(text(
                "UPDATE dedup_shingle_counts SET docs = docs + :step WHERE tenant_id = :tenant "
                "AND shingle = ANY(CAST(:keys AS bigint[]))"), params)
            session.execute(text(
                "DELETE FROM dedup_shingle_counts WHERE tenant_id = :tenant AND docs <= 0 "
                "AND shingle = ANY(CAST(:keys AS bigint[]))"), params)
        return
    rows = [{"tenant": tenant_id, "key": k, "step": step} for k in keys]
    if step > 0:
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
    seq = next_seq(session, tenant_id)
    old = session.execute(select(DocumentFingerprint.id, DocumentFingerprint.blob).where(
        DocumentFingerprint.tenant_id == tenant_id,
        DocumentFingerprint.doc_key == doc_key)).first()
    if old is not None:
        _count(session, tenant_id, Fingerprint.from_bytes(old.blob).unique_shingles, -1)
        session.execute(delete(LshBucket.__table__).where(
            LshBucket.__table__.c.tenant_id == tenant_id,
            LshBucket.__table__.c.fingerprint_id == old.id))
        session.execute(delete(DocumentFingerprint).where(DocumentFingerprint.id == old.id))
    stored = DocumentFingerprint(tenant_id=tenant_id, doc_key=doc_key, lang=fp.lang,
                                 blob=fp.to_bytes(), seq=seq, **row)
    session.add(stored)
    session.flush()
    _index(session, tenant_id, stored.id, fp, settings)
    return stored


def _index(session: Session, tenant_id: int, fingerprint_id: int, fp: Fingerprint,
           settings: Settings) -> None:
    """Write the LSH bands of a stored fingerprint and count its n-grams."""
    buckets = band_buckets(fp.signature, settings).tolist()
    if _postgres(session):
        session.execute(text(
            "INSERT INTO dedup_lsh_buckets (tenant_id, fingerprint_id, band, bucket) "
            "SELECT :tenant, :fp, b.ord - 1, b.bucket "
            "FROM unnest(CAST(:buckets AS bigint[])) WITH ORDINALITY AS b(bucket, ord)"),
            {"tenant": tenant_id, "fp": fingerprint_id, "buckets": buckets})
    else:
        session.execute(text(
            "INSERT INTO dedup_lsh_buckets (tenant_id, fingerprint_id, band, bucket) "
            "VALUES (:tenant_id, :fingerprint_id, :band, :bucket)"),
            [{"tenant_id": tenant_id, "fingerprint_id": fingerprint_id, "band": band,
              "bucket": bucket} for band, bucket in enumerate(buckets)])
    _count(session, tenant_id, fp.unique_shingles, 1)


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
    for row in rows:
        _index(session, tenant_id, row.id, Fingerprint.from_bytes(row.blob), settings)
    if rows:
        table = DedupSequence.__table__
        session.execute(_insert(session, table).values(tenant_id=tenant_id, last_seq=0)
                        .on_conflict_do_nothing(index_elements=["tenant_id"]))
        session.execute(update(table).where(table.c.tenant_id == tenant_id).values(
            last_seq=max(r.seq for r in rows)))
    return len(rows)


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
            self.known.update(self.session.execute(text(
                "SELECT shingle, docs FROM dedup_shingle_counts WHERE tenant_id = :tenant "
                "AND shingle = ANY(CAST(:keys AS bigint[]))"),
                {"tenant": self.tenant_id, "keys": wanted}).all())
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
        table = LshBucket.__table__
        # Counted on the bucket index first, then joined: the plan cannot start from every
        # fingerprint of the tenant.
        shared = (select(table.c.fingerprint_id, func.count().label("bands"))
                  .where(table.c.tenant_id == self.tenant_id,
                         table.c.bucket.in_(band_buckets(fp.signature, self.settings).tolist()))
                  .group_by(table.c.fingerprint_id)
                  .subquery())
        query = (select(DocumentFingerprint.doc_key)
                 .join(shared, shared.c.fingerprint_id == DocumentFingerprint.id)
                 .where(DocumentFingerprint.tenant_id == self.tenant_id)
                 .order_by(shared.c.bands.desc(), DocumentFingerprint.doc_key))
        if exclude:
            query = query.where(DocumentFingerprint.doc_key.not_in([str(k) for k in exclude]))
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def candidates(self, fp: Fingerprint, *, exclude: Collection[DocId] = ()
                   ) -> dict[DocId, set[str]]:
        found: dict[DocId, set[str]] = {}
        # Only the documents sharing the most buckets are read, so that a check reads as
        # many fingerprints in an archive of a million as in one of a thousand; the
        # signatures then keep the closest ``max_candidates`` of them.
        keys = self.lsh_keys(fp, exclude=exclude,
                             limit=LSH_READ_FACTOR * self.settings.max_candidates)
        self._docs.load(keys)
        keys = [k for k in keys if dict.__contains__(self._docs, k)]
        keys = closest_by_signature(fp, keys, [self._docs[k].signature for k in keys],
                                    self.settings)
        for key in keys:
            found.setdefault(key, set()).add("lsh")
        vector = self._usable_vector(fp)
        if vector is not None and self.vector_index is not None:
            near = [k for k, _ in self.vector_index.nearest(
                vector, self.settings.semantic_neighbours + 1) if k not in exclude]
            self._docs.load(near)
            for key in near:
                if dict.__contains__(self._docs, key):
                    found.setdefault(key, set()).add("semantic")
        self._docs.load(found)
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
