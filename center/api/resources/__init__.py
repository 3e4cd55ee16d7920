"""The API's endpoints, one module per domain area; `BLUEPRINTS` in the document's order."""

from center.api.resources.agreements import blp as agreements
from center.api.resources.calls import blp as calls
from center.api.resources.portfolio import blp as portfolio
from center.api.resources.proposals import blp as proposals
from center.api.resources.reviews import blp as reviews
from center.api.resources.token import blp as token

BLUEPRINTS = [token, calls, proposals, reviews, portfolio, agreements]
