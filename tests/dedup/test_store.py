"""The shared index in the database: the same candidates and scores as the in-memory index,
frequencies and bands kept up to date on every write, vectors caught up by change number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from center.core import clock, jobs
from center.core.db import db
from center.dedup import store
from center.dedup.engine import DedupIndex
from center.dedup.models import DocumentFingerprint, FundedProject, LshBucket, ShingleCount
from center.dedup.store import StoredIndex, VectorIndex, band_buckets
from tests.world import World


def _project(number: int) -> FundedProject:
    project = FundedProject(reference=f"R{number}", title=f"Project {number}", abstract="-",
                            imported_at=clock.now())
    db.session.add(project)
    db.session.flush()
    return project


def _store_all(world: World, fps: dict, settings) -> dict[str, str]:
    """Store every fingerprint under a funded project; return corpus id -> doc key."""
    keys = {}
    for number, (name, fp) in enumerate(fps.items()):
        project = _project(number)
        keys[name] = f"f:{project.id}"
        store.store_fingerprint(db.session, world.a.tenant_id, keys[name], fp, settings,
                                made_at=clock.now(), project_id=project.id)
    db.session.flush()
    return keys


def test_band_buckets_match_exactly_when_a_band_is_equal(dedup_settings) -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2**32, 128, dtype=np.uint64).astype(np.uint32)
    b = a.copy()
    b[2:] = rng.integers(0, 2**32, 126, dtype=np.uint64).astype(np.uint32)  # band 0 kept
    ha, hb = band_buckets(a, dedup_settings), band_buckets(b, dedup_settings)
    bands, _rows = store.band_shape(dedup_settings.candidate_threshold, dedup_settings.num_perm)
    assert len(ha) == bands and ha[0] == hb[0]
    assert not set(ha[1:].tolist()) & set(hb[1:].tolist())


def test_the_stored_index_finds_what_the_memory_index_finds(
        in_tenant: World, dedup_settings, lexical_fingerprints) -> None:
    keys = _store_all(in_tenant, lexical_fingerprints, dedup_settings)
    memory = DedupIndex.from_fingerprints(lexical_fingerprints.items(), dedup_settings)
    by_key = {key: name for name, key in keys.items()}
    stored = StoredIndex(db.session, in_tenant.a.tenant_id, dedup_settings)
    for name in lexical_fingerprints:
        expected = [(m.other_id, m.score, m.method) for m in memory.check(name, min_score=0.1)]
        got = [(by_key[m.other_id], m.score, m.method)
               for m in stored.check(keys[name], min_score=0.1)]
        assert sorted(got) == sorted(expected), name
    assert any(memory.check(name) for name in lexical_fingerprints)  # the corpus has copies


def test_frequencies_and_bands_follow_a_replaced_fingerprint(
        in_tenant: World, dedup_settings, lexical_fingerprints) -> None:
    tenant = in_tenant.a.tenant_id
    first, second = lexical_fingerprints["tb-en"], lexical_fingerprints["ws-other"]
    project = _project(1)
    for fp in (first, second):
        store.store_fingerprint(db.session, tenant, f"f:{project.id}", fp, dedup_settings,
                                made_at=clock.now(), project_id=project.id)
    only_second = set(store._signed(second.unique_shingles))
    counted = dict(db.session.execute(select(ShingleCount.shingle, ShingleCount.docs)).all())
    assert set(counted) == only_second and set(counted.values()) == {1}
    [row] = db.session.scalars(select(DocumentFingerprint))
    assert row.seq == 2
    assert sorted(db.session.scalars(select(LshBucket.bucket).where(
        LshBucket.fingerprint_id == row.id))) == sorted(
        band_buckets(second.signature, dedup_settings).tolist())
    assert db.session.scalar(select(func.count()).select_from(LshBucket)) == len(
        band_buckets(second.signature, dedup_settings))


def _index_rows(label: dict[str, int]) -> tuple[dict, list, list]:
    """The n-gram counts, and the bands and change numbers by document (``label``: doc key
    -> its place in the test, since row ids differ between two runs on PostgreSQL)."""
    counts = dict(db.session.execute(select(ShingleCount.shingle, ShingleCount.docs)).all())
    bands = sorted((label[key], band, bucket) for key, band, bucket in db.session.execute(
        select(DocumentFingerprint.doc_key, LshBucket.band, LshBucket.bucket).join(
            DocumentFingerprint, DocumentFingerprint.id == LshBucket.fingerprint_id)))
    seqs = sorted((label[key], seq) for key, seq in db.session.execute(
        select(DocumentFingerprint.doc_key, DocumentFingerprint.seq)))
    return counts, bands, seqs


def test_storing_many_at_once_writes_what_storing_each_writes(
        in_tenant: World, dedup_settings, lexical_fingerprints) -> None:
    """One call for a batch (as an import stores its rows) leaves the same n-gram counts,
    bands and change numbers as one call per document, replacements included."""
    tenant = in_tenant.a.tenant_id
    names = sorted(lexical_fingerprints)
    half = len(names) // 2

    def items() -> tuple[list, list, dict[str, int]]:
        projects = [_project(n) for n in range(len(names))]
        rows = [(f"f:{p.id}", lexical_fingerprints[name], {"made_at": clock.now(),
                                                           "project_id": p.id})
                for p, name in zip(projects, names, strict=True)]
        # The first half is stored, then replaced by other texts while the rest is added.
        replaced = [(key, lexical_fingerprints[names[-1 - n]], row)
                    for n, (key, _fp, row) in enumerate(rows[:half])]
        return rows, replaced, {key: n for n, (key, _fp, _row) in enumerate(rows)}

    rows, replaced, label = items()
    for key, fp, row in rows[:half] + replaced + rows[half:]:
        store.store_fingerprint(db.session, tenant, key, fp, dedup_settings, **row)
    expected = _index_rows(label)
    db.session.rollback()

    rows, replaced, label = items()
    store.store_fingerprints(db.session, tenant, rows[:half], dedup_settings)
    store.store_fingerprints(db.session, tenant, replaced + rows[half:], dedup_settings)
    assert _index_rows(label) == expected
    counts, bands, seqs = expected
    assert len(counts) > 100 and len({n for n, _band, _bucket in bands}) == len(names)
    assert [seq for _n, seq in seqs][-1] == len(names) + half
    with pytest.raises(ValueError, match="once per call"):
        store.store_fingerprints(db.session, tenant, rows[:1] * 2, dedup_settings)


def test_the_vector_index_catches_up_from_the_change_numbers(
        in_tenant: World, dedup_settings, fingerprints, tmp_path: Path) -> None:
    tenant = in_tenant.a.tenant_id
    subset = {k: fingerprints[k] for k in ("tb-en", "tb-ru", "ws-en")}
    keys = _store_all(in_tenant, subset, dedup_settings)
    vectors = VectorIndex(tmp_path, dedup_settings)
    assert vectors.catch_up(db.session, tenant) == 3
    assert vectors.catch_up(db.session, tenant) == 0  # nothing new: nothing read
    near = dict(vectors.nearest(fingerprints["tb-en"].document_vector, 1))
    assert keys["tb-en"] in near and keys["tb-ru"] in near  # one per language

    # A new process opens the saved files and reads only what was stored since.
    project = _project(9)
    store.store_fingerprint(db.session, tenant, f"f:{project.id}", fingerprints["tb-ko"],
                            dedup_settings, made_at=clock.now(), project_id=project.id)
    reopened = VectorIndex(tmp_path, dedup_settings)
    assert len(reopened) == 3 and reopened.last_seq == 3
    assert reopened.catch_up(db.session, tenant) == 1
    assert f"f:{project.id}" in dict(reopened.nearest(fingerprints["tb-en"].document_vector, 1))

    matches = StoredIndex(db.session, tenant, dedup_settings, reopened).check(keys["tb-en"])
    assert {m.other_id for m in matches} == {keys["tb-ru"], f"f:{project.id}"}


@pytest.mark.parametrize("task", ["dedup.check_proposal", "dedup.check_call",
                                  "dedup.import_projects", "monitoring.check_report"])
def test_duplicate_checks_run_on_the_dedup_queue(app, task: str) -> None:  # noqa: ANN001
    """Every task that compares text against the center's index runs where the index is."""
    assert jobs._TASKS[task].queue == jobs.DEDUP_QUEUE


def test_a_check_reads_a_bounded_number_of_fingerprints_however_many_share_a_band(
        in_tenant: World, dedup_settings, lexical_fingerprints) -> None:
    """Twelve light edits of one text share its bands; with room for two candidates, the
    check compares the signatures of four of them (the ones sharing the most bands), reads
    the whole fingerprints of the two it keeps, and still finds the copy."""
    from dataclasses import replace

    settings = replace(dedup_settings, max_candidates=2, use_embeddings=False)
    original = lexical_fingerprints["tb-en"]
    _bands, rows = store.band_shape(settings.candidate_threshold, settings.num_perm)
    copies = {}
    for n in range(12):
        signature = original.signature.copy()
        signature[: rows * (n + 1)] += np.uint32(1)  # copy n differs in its first n + 1 bands
        copies[f"copy-{n}"] = replace(original, signature=signature)
    keys = _store_all(in_tenant, {"tb-en": original, **copies}, settings)
    index = StoredIndex(db.session, in_tenant.a.tenant_id, settings)
    shared = index.lsh_keys(original, exclude={keys["tb-en"]})
    assert len(shared) == 12 and shared[0] == keys["copy-0"]
    compared = index._lsh_rows(original, {keys["tb-en"]}, store.LSH_READ_FACTOR * 2)
    assert [key for key, _signature in compared] == shared[: store.LSH_READ_FACTOR * 2]
    assert all((signature == copies[f"copy-{n}"].signature).all()
               for n, (_key, signature) in enumerate(compared))
    found = index.candidates(original, exclude={keys["tb-en"]})
    assert set(found) == {keys["copy-0"], keys["copy-1"]}
    assert set(dict(index._docs)) == set(found)  # no other fingerprint was read whole


def test_the_reindex_command_writes_missing_bands_and_counts_again(
        app, in_tenant: World, dedup_settings, lexical_fingerprints) -> None:  # noqa: ANN001
    """A database whose bands and n-gram counts were never built (or were lost) gets them
    back from the stored fingerprints, the same as when they were stored."""
    from sqlalchemy import delete

    from center.core.audit import AuditEvent
    from center.dedup.models import DedupSequence

    tenant = in_tenant.a.tenant_id
    keys = _store_all(in_tenant, lexical_fingerprints, dedup_settings)
    db.session.commit()
    label = {key: n for n, key in enumerate(sorted(keys.values()))}
    expected = _index_rows(label)
    last_seq = db.session.scalar(select(DedupSequence.last_seq))
    for model in (LshBucket, ShingleCount, DedupSequence):
        db.session.execute(delete(model).where(model.tenant_id == tenant))
    db.session.commit()
    assert not db.session.scalar(select(func.count()).select_from(LshBucket))

    result = app.test_cli_runner().invoke(args=["dedup-reindex", "--tenant", in_tenant.a.slug])
    assert result.exit_code == 0, result.output
    assert f"written again for {len(keys)} stored fingerprints" in result.output
    assert _index_rows(label) == expected
    assert db.session.scalar(select(DedupSequence.last_seq)) == last_seq
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "dedup.reindexed")) == 1
    assert app.test_cli_runner().invoke(
        args=["dedup-reindex", "--tenant", "nowhere"]).exit_code != 0
