"""Reviewer suggestions: expertise match, donors represented, caps and balance, conflicts."""

from __future__ import annotations

from center.reviews.matching import Candidate, ExpertiseIndex, Need, proposal_terms, suggest, terms


def _index(proposals: dict[int, str], reviewers: dict[int, str]) -> ExpertiseIndex:
    return ExpertiseIndex({k: proposal_terms(v, "", "", "") for k, v in proposals.items()},
                          {k: terms(v) for k, v in reviewers.items()})


def test_terms_drop_stop_words_numbers_and_fold_plurals() -> None:
    assert terms("The studies of 2 Isotopes in rivers and Bacteria") == [
        "isotope", "river", "bacteria"]


def test_the_reviewer_whose_expertise_fits_ranks_first() -> None:
    index = _index({1: "tuberculosis drug resistance genomics"},
                   {10: "water hydrology", 11: "tuberculosis genomics", 12: ""})
    assert index.match(1, 11).score > index.match(1, 10).score == 0
    assert index.match(1, 11).shared[:2] in (("tuberculosis", "genomic"),
                                              ("genomic", "tuberculosis"))
    assert index.match(1, 12).score == 0


def test_every_donor_of_the_call_is_represented_before_a_better_fit_of_the_same_donor() -> None:
    index = _index({1: "tuberculosis genomics"},
                   {10: "tuberculosis genomics", 11: "tuberculosis genomics sequencing",
                    20: "botany"})
    candidates = [Candidate(10, 1, 0, 5), Candidate(11, 1, 0, 5), Candidate(20, 2, 0, 5)]
    plan = suggest([Need(1, {})], candidates, per_proposal=2, donor_ids=[1, 2], index=index)
    assert sorted(p.user_id for p in plan.picks) in ([10, 20], [11, 20])
    assert plan.unrepresented == {1: []} and plan.short == {1: 0}


def test_no_reviewer_passes_their_cap_and_load_is_spread() -> None:
    index = _index({n: "soil chemistry" for n in range(1, 5)},
                   {10: "soil chemistry", 11: "soil chemistry"})
    candidates = [Candidate(10, 1, 0, 2), Candidate(11, 1, 0, 2)]
    needs = [Need(n, {}) for n in range(1, 5)]
    plan = suggest(needs, candidates, per_proposal=1, donor_ids=[1], index=index)
    loads = [sum(1 for p in plan.picks if p.user_id == uid) for uid in (10, 11)]
    assert loads == [2, 2]


def test_a_full_reviewer_is_not_suggested_and_the_shortfall_is_reported() -> None:
    index = _index({1: "soil", 2: "soil"}, {10: "soil"})
    plan = suggest([Need(1, {}), Need(2, {})], [Candidate(10, 1, 1, 2)], per_proposal=1,
                   donor_ids=[1], index=index)
    assert len(plan.picks) == 1
    assert sorted(plan.short.values()) == [0, 1]


def test_excluded_and_already_assigned_reviewers_are_never_suggested() -> None:
    index = _index({1: "soil"}, {10: "soil", 11: "soil", 12: "soil"})
    candidates = [Candidate(uid, 1, 0, 5) for uid in (10, 11, 12)]
    plan = suggest([Need(1, {11: 1}, excluded={10})], candidates, per_proposal=3,
                   donor_ids=[1], index=index)
    assert [p.user_id for p in plan.picks] == [12]
    assert plan.short == {1: 1}


def test_suggestions_are_the_same_on_every_run() -> None:
    proposals = {n: f"topic{n % 3} shared words" for n in range(1, 8)}
    reviewers = {10 + n: f"topic{n % 3} shared" for n in range(6)}
    candidates = [Candidate(uid, 1 + uid % 2, 0, 3) for uid in reviewers]
    runs = {tuple((p.proposal_id, p.user_id) for p in suggest(
        [Need(pid, {}) for pid in proposals], candidates, per_proposal=2, donor_ids=[1, 2],
        index=_index(proposals, reviewers)).picks) for _ in range(3)}
    assert len(runs) == 1
