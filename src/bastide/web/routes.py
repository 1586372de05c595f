"""The pages' routers, one module per domain, mounted by bastide.server beside the API's."""

from bastide.web import admin, airlock, dictionary, governance, pages, review, workspace

ROUTERS = [module.router for module in (pages, governance, admin, workspace, airlock, dictionary, review)]
