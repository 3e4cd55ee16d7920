"""Agreements: the versions a person may see (the staff all, the parties those issued to
them), with the figures they state, and their PDFs."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from center.agreements import permissions
from center.agreements.models import Agreement, AgreementStatus
from center.api.auth import api_blueprint, token_roles
from center.api.resources.common import money, page_of_list, page_of_query, refuse, with_items
from center.api.schemas import AgreementSchema, PageArgs, paged
from center.core.db import db
from center.core.downloads import send_stored
from center.core.links import external_url
from center.tenants.models import Role
from center.tenants.permissions import current_roles

blp = api_blueprint("api_agreements", "Agreements", "Agreements and their PDFs.")

#: The staff, and the parties an agreement is issued to.
READERS = (Role.admin, Role.officer, Role.applicant, Role.reviewer, Role.signatory)


def load_agreement(agreement_id: int) -> Agreement:
    agreement = db.get_or_404(Agreement, agreement_id)
    if not permissions.can_view(current_user, agreement, current_roles()):
        refuse(404, _("No such agreement."))
    return agreement


def present_agreement(agreement: Agreement) -> dict[str, Any]:
    currency = agreement.currency
    return {
        "id": agreement.id, "proposal_id": agreement.proposal_id,
        "reference": agreement.reference, "number": agreement.number,
        "status": agreement.status, "generated_at": agreement.generated_at,
        "issued_at": agreement.issued_at, "countersigned_at": agreement.countersigned_at,
        "total": money(agreement.total, currency),
        "donors": [{"donor_id": int(s["donor_id"]), "donor": s["short_name"],
                    "offered": money(s["amount"], currency)} for s in agreement.donor_shares],
        "sha256": agreement.sha256, "filename": agreement.filename,
        "download": external_url("api_agreements.pdf", agreement_id=agreement.id),
    }


@blp.route("/agreements", endpoint="list")
@token_roles(*READERS)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, paged(AgreementSchema, "AgreementPage"))
def list_agreements(**args: Any) -> dict[str, Any]:
    """The agreement versions you may see, newest first."""
    query = select(Agreement).order_by(Agreement.generated_at.desc(), Agreement.id.desc())
    held = current_roles()
    if held & {Role.admin, Role.officer}:
        rows, page = page_of_query(query, args)
    else:  # a party: the versions issued to them, which the permissions decide (at once)
        issued = db.session.scalars(query.where(Agreement.status != AgreementStatus.draft)
                                    .options(*permissions.LOADS))
        rows, page = page_of_list(permissions.visible(current_user, issued, held), args)
    return with_items(page, [present_agreement(a) for a in rows])


@blp.route("/agreements/<int:agreement_id>", endpoint="show")
@token_roles(*READERS, loads=load_agreement)
@blp.response(200, AgreementSchema)
def show_agreement(agreement_id: int) -> dict[str, Any]:
    """One agreement version."""
    return present_agreement(load_agreement(agreement_id))


@blp.route("/agreements/<int:agreement_id>/pdf", endpoint="pdf")
@token_roles(*READERS, loads=load_agreement)
@blp.response(200, content_type="application/pdf", description="The PDF as stored.")
@blp.alt_response(302, description="A short-lived link to the PDF (S3 storage).")
def agreement_pdf(agreement_id: int) -> Any:
    """The version's PDF, byte for byte as stored (its sha256 in `X-Content-SHA256`)."""
    agreement = load_agreement(agreement_id)
    return send_stored(agreement.pdf_key, filename=agreement.filename,
                       content_type="application/pdf", sha256=agreement.sha256)
