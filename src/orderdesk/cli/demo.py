"""`orderdesk demo`: a demo site with orders and a token, then serve."""

from __future__ import annotations

from orderdesk.cli.common import DatabaseOption, err, lazy_module, open_database, settings
from orderdesk.cli.serve import HostOption, PortOption, run_server
from orderdesk.cli.worker import RetryIntervalOption
from orderdesk.domain.sites import Scope

access = lazy_module("orderdesk.services.access")

DEMO_ORDERS = 200


def demo(host: HostOption = None, port: PortOption = None, database: DatabaseOption = None,
         webhook_retry_interval: RetryIntervalOption = None) -> None:
    """Create a demo site, a token and 200 orders (on an empty database), then serve.

    Webhooks may go to addresses on this machine (a receiver on your laptop: see `orderdesk listen`), and
    the sandbox's controls are on (`POST /_orderdesk/sites/{site}/reset`, ...).
    """
    config = settings(database, host=host, port=port, webhook_retry_interval=webhook_retry_interval,
                      webhook_allow_private=True, sandbox=True)
    db = open_database(config)
    sites = access.list_sites(db)
    if sites:
        site = sites[0]
        err.print(f"using the existing site {site.name}; a new token is made for this run")
    else:
        site = access.create_site(db, "Demo Store", "USD")
        from orderdesk.seed.orders import seed_orders

        seed_orders(db, site, DEMO_ORDERS, seed=1)
    token, _ = access.create_token(db, site.id, [scope.value for scope in Scope])
    db.dispose()
    base = f"http://{config.host}:{config.port}/v2"
    err.print(f"""
[bold]orderdesk demo[/bold]
  API       {base}
  docs      http://{config.host}:{config.port}/docs
  site id   {site.id}
  token     {token}

  curl -s -H "Authorization: Bearer {token}" "{base}/sites/{site.id}/orders?limit=2"
  sandbox   http://{config.host}:{config.port}/_orderdesk/sites/{site.id}/reset (POST, the same token)
""", soft_wrap=True, highlight=False)
    run_server(config)
