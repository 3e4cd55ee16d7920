"""What the API's requests and answers look like (marshmallow): the OpenAPI document is
generated from these, and every answer is serialised through them."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from center.api.models import TokenScope
from center.calls.models import CALL_STATES
from center.core.pagination import MAX_PAGE
from center.proposals.models import ForegroundIP, ProposalStatus

#: The most rows one page of a list holds.
MAX_PER_PAGE = 100


class PageArgs(Schema):
    """``?page=`` and ``?per_page=`` of every list."""

    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": "Page number, from 1."})
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                              metadata={"description": f"Rows a page, at most {MAX_PER_PAGE}."})


class CallListArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(list(CALL_STATES)),
                          metadata={"description": "Only calls in this state now."})
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "Words the title contains."})


class PageSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Rows in all pages."})
    pages = fields.Integer(required=True)


def paged(item: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of ``item`` rows."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item), required=True)})


class Money(Schema):
    """An amount in units of its currency (a decimal string, never a float)."""

    amount = fields.Decimal(as_string=True, required=True, metadata={
        "type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
        "example": "125000.00"})
    currency = fields.String(required=True, metadata={"example": "EUR"})


class DonorOffer(Schema):
    donor_id = fields.Integer(required=True)
    donor = fields.String(required=True, metadata={"description": "The donor's short name."})
    offered = fields.Nested(Money, required=True)


class CallSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(list(CALL_STATES)))
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)
    topics = fields.List(fields.String(), required=True)
    eligible_countries = fields.List(fields.String(), required=True,
                                     metadata={"description": "ISO 3166 codes."})
    max_duration_months = fields.Integer(required=True)
    budget_ceiling = fields.Nested(Money, required=True)
    review_mode = fields.String(required=True)
    donors = fields.List(fields.Nested(DonorOffer), required=True)
    url = fields.Url(required=True, metadata={"description": "The call's page."})


class Problem(Schema):
    section = fields.String(required=True)
    message = fields.String(required=True)


class ProposalSummary(Schema):
    id = fields.Integer(required=True)
    call_id = fields.Integer(required=True)
    title = fields.String(required=True)
    acronym = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in
                                                                   ProposalStatus]))
    status_label = fields.String(required=True)
    version = fields.Integer(required=True, metadata={
        "description": "Send it back as expected_version to submit: a proposal changed "
                       "since is refused (409) instead of overwritten."})
    created_at = fields.AwareDateTime(required=True)
    submitted_at = fields.AwareDateTime(required=True, allow_none=True)
    url = fields.Url(required=True)


class SectionRevision(Schema):
    overview = fields.Integer(required=True)
    ip = fields.Integer(required=True)


class ProposalSchema(ProposalSummary):
    topic = fields.String(required=True)
    abstract = fields.String(required=True)
    objectives = fields.String(required=True)
    keywords = fields.String(required=True)
    duration_months = fields.Integer(required=True, allow_none=True)
    foreground_ip = fields.String(required=True, allow_none=True)
    foreground_ip_terms = fields.String(required=True)
    publication_policy = fields.String(required=True)
    total_budget = fields.Nested(Money, required=True)
    asked_by_donor = fields.List(fields.Nested(DonorOffer), required=True, metadata={
        "description": "What the proposal asks of each donor (in `offered`)."})
    editable = fields.Boolean(required=True)
    revisions = fields.Nested(SectionRevision, required=True, metadata={
        "description": "Each section's revision: send it back as expected_revision."})
    problems = fields.List(fields.Nested(Problem), required=True, metadata={
        "description": "What still stops the submission."})


class NewProposal(Schema):
    call_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class OverviewUpdate(Schema):
    """The overview section; fields left out keep their value."""

    class Meta:
        unknown = EXCLUDE

    expected_revision = fields.Integer(validate=validate.Range(min=0, max=2**31 - 1),
                                       metadata={"description": "The section's revision you "
                                                 "read; a later save is refused (409)."})
    title = fields.String()
    acronym = fields.String()
    topic = fields.String()
    abstract = fields.String()
    objectives = fields.String()
    keywords = fields.String()
    duration_months = fields.Integer(allow_none=True, validate=validate.Range(
        min=-(2**31), max=2**31 - 1))


class IPUpdate(Schema):
    """The IP plan; fields left out keep their value."""

    class Meta:
        unknown = EXCLUDE

    expected_revision = fields.Integer(validate=validate.Range(min=0, max=2**31 - 1))
    foreground_ip = fields.String(allow_none=True, validate=validate.OneOf(
        [v.value for v in ForegroundIP]))
    foreground_ip_terms = fields.String()
    publication_policy = fields.String()


class SubmitRequest(Schema):
    expected_version = fields.Integer(required=True, validate=validate.Range(min=0,
                                                                            max=2**31 - 1))
    declaration = fields.Boolean(required=True, metadata={
        "description": "True: the applicant makes the declaration shown on the preview page."})


class Criterion(Schema):
    name = fields.String(required=True, metadata={"description": "The key of its score."})
    weight = fields.Float(required=True, metadata={"description": "Percent of the total."})
    scale = fields.Integer(required=True, metadata={"description": "Scores run 1 to this."})


class ReviewSchema(Schema):
    scores = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    comments_to_applicants = fields.String(required=True)
    confidential_comments = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True, allow_none=True)
    version = fields.Integer(required=True)


class AssignmentSummary(Schema):
    id = fields.Integer(required=True)
    proposal_id = fields.Integer(required=True)
    call_id = fields.Integer(required=True)
    title = fields.String(required=True, metadata={
        "description": "Struck of names on a double-blind call."})
    status = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True, allow_none=True)
    submitted = fields.Boolean(required=True)
    url = fields.Url(required=True)


class ProposalCopy(Schema):
    """The reviewer's copy of the proposal: on a double-blind call, struck of every name."""

    blind = fields.Boolean(required=True)
    title = fields.String(required=True)
    acronym = fields.String(required=True)
    topic = fields.String(required=True)
    abstract = fields.String(required=True)
    objectives = fields.String(required=True)
    keywords = fields.String(required=True)
    duration_months = fields.Integer(required=True, allow_none=True)
    partners = fields.List(fields.Dict(), required=True)
    total_budget = fields.Nested(Money, required=True)


class AssignmentSchema(AssignmentSummary):
    rubric = fields.List(fields.Nested(Criterion), required=True)
    editable = fields.Boolean(required=True)
    proposal = fields.Nested(ProposalCopy, required=True, allow_none=True, metadata={
        "description": "Null until the reviewer declared no conflict of interest."})
    review = fields.Nested(ReviewSchema, required=True, allow_none=True)


class ReviewSubmission(Schema):
    expected_version = fields.Integer(required=True, validate=validate.Range(min=0,
                                                                            max=2**31 - 1),
                                      metadata={"description": "The review's version you "
                                                "read (0 before the first save)."})
    scores = fields.Dict(keys=fields.String(validate=validate.Length(max=100)),
                         values=fields.Raw(), required=True, metadata={
                             "description": "Scores by criterion name, 1 to its scale."})
    comments_to_applicants = fields.String(load_default="")
    confidential_comments = fields.String(load_default="")
    submit = fields.Boolean(load_default=False, metadata={
        "description": "True submits the review (final); false saves a draft."})


class DonorShare(Schema):
    donor_id = fields.Integer(required=True)
    donor = fields.String(required=True)
    committed = fields.Nested(Money, required=True)
    paid = fields.Nested(Money, required=True)


class ProjectSchema(Schema):
    id = fields.Integer(required=True)
    proposal_id = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    opened_at = fields.AwareDateTime(required=True)
    committed = fields.Nested(Money, required=True, metadata={
        "description": "What the donors committed (not what the proposal asked)."})
    paid = fields.Nested(Money, required=True)
    reports_accepted = fields.Integer(required=True)
    reports_total = fields.Integer(required=True)
    donors = fields.List(fields.Nested(DonorShare), required=True)
    url = fields.Url(required=True)


class AgreementSchema(Schema):
    id = fields.Integer(required=True)
    proposal_id = fields.Integer(required=True)
    reference = fields.String(required=True)
    number = fields.Integer(required=True, metadata={"description": "The version's number."})
    status = fields.String(required=True)
    generated_at = fields.AwareDateTime(required=True)
    issued_at = fields.AwareDateTime(required=True, allow_none=True)
    countersigned_at = fields.AwareDateTime(required=True, allow_none=True)
    total = fields.Nested(Money, required=True, metadata={
        "description": "What the donors committed, as the agreement states it."})
    donors = fields.List(fields.Nested(DonorOffer), required=True, metadata={
        "description": "Each donor's share as the agreement states it (in `offered`)."})
    sha256 = fields.String(required=True, metadata={"description": "Of the PDF's bytes."})
    filename = fields.String(required=True)
    download = fields.Url(required=True, metadata={"description": "The PDF (this API, with "
                                                   "the same token)."})


class TokenInfo(Schema):
    """The token the request carries, and who it acts for."""

    name = fields.String(required=True)
    scope = fields.String(required=True, validate=validate.OneOf([s.value for s in TokenScope]))
    expires_at = fields.AwareDateTime(required=True, allow_none=True)
    user = fields.String(required=True)
    email = fields.Email(required=True)
    center = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
