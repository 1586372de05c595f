"""The API's routers, mounted by bastide.server under one OpenAPI document."""

from bastide.api import airlock_views, catalogue_views, governance_views, identity_views, workspace_views

ROUTERS = [views.router for views in (catalogue_views, identity_views, governance_views, workspace_views,
                                      airlock_views)]
