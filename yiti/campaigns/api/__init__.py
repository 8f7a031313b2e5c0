"""API endpoints of campaigns (``router``; mounted at /api/v1/campaigns).

Thin, like the other routers: schemas in, one selector or service call, schemas out, with the
scoping of the web UI. Campaigns, offers, segments, checklists, conflicts and funnels are
company-wide plans every role with ``campaign.view`` reads (aggregates, no personal data);
changing them needs ``campaign.manage`` for the campaign's owner unit. Deliveries are shown
only for the customers the caller may see, with phones and e-mails masked (reveal one
customer at a time through ``GET /customers/{id}?reveal=true``, audited).

Gift reservations are not an endpoint: a gift is reserved when the customer accepts, through
``POST /deliveries/{id}/outcome`` (a call or visit) or ``POST /deliveries/{id}/responses``.
"""

from yiti.campaigns.api.routes import router

__all__ = ["router"]
