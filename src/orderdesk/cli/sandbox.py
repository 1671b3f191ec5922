"""`orderdesk sandbox ...`: the workbench's controls of a running server (`serve --sandbox`), over HTTP.

Each command takes `--url` (the server, default http://127.0.0.1:8080), `--site` and `--token` (or
ORDERDESK_URL, ORDERDESK_SITE, ORDERDESK_TOKEN); `--json` prints the server's answer as it came, for
machines. Only httpx is imported here: these are short commands.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

sandbox_app = typer.Typer(help="Drive a sandbox server's controls: reset, snapshots, faults, disputes, captures.",
                          no_args_is_help=True)
snapshot_app = typer.Typer(help="Save, list and restore a site's snapshots.", no_args_is_help=True)
faults_app = typer.Typer(help="Add, list and clear a site's injected faults.", no_args_is_help=True)
sandbox_app.add_typer(snapshot_app, name="snapshot")
sandbox_app.add_typer(faults_app, name="faults")

UrlOption = Annotated[str, typer.Option("--url", envvar="ORDERDESK_URL", show_envvar=True,
                                        help="The sandbox server (serve --sandbox).")]
SiteOption = Annotated[str, typer.Option("--site", envvar="ORDERDESK_SITE", show_envvar=True, help="The site.")]
TokenOption = Annotated[str, typer.Option("--token", envvar="ORDERDESK_TOKEN", show_envvar=True,
                                          help="A token of the site (any scope).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the server's JSON answer on stdout.")]
DEFAULT_URL = "http://127.0.0.1:8080"


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _call(url: str, site: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """The control's answer (parsed JSON, or None for a 204); exits 1 with the server's message if refused."""
    import httpx

    base = url.rstrip("/").removesuffix("/v2")
    try:
        response = httpx.request(method, f"{base}/_orderdesk/sites/{site}/{path}", json=body, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        _say(f"error: cannot reach {base}: {error}")
        raise typer.Exit(code=1) from None
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        hint = " (is the server running with --sandbox?)" if "route cannot be found" in message else ""
        _say(f"error: {response.status_code} {message}{hint}")
        raise typer.Exit(code=1)
    return None if response.status_code == 204 or not response.content else response.json()


def _out(answer: Any, as_json: bool, human: str) -> None:
    if as_json:
        print(json.dumps(answer if answer is not None else {}))
    else:
        _say(human)


@sandbox_app.command("reset")
def reset(site: SiteOption, token: TokenOption, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Empty the site (orders, refunds, webhooks, ...); it keeps its tokens, settings and snapshots."""
    _out(_call(url, site, token, "POST", "reset"), as_json, f"site {site} reset")


@sandbox_app.command("seed")
def seed(orders: Annotated[int, typer.Option(help="How many orders to write (up to 10,000 a call).", min=1)],
         site: SiteOption, token: TokenOption,
         seed_value: Annotated[int, typer.Option("--seed", help="The same seed writes the same orders.")] = 0,
         url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Write seeded orders to the site, as `orderdesk seed` does (through the server)."""
    written = _call(url, site, token, "POST", "seed", {"orders": orders, "seed": seed_value})
    _out(written, as_json, f"seeded {written['orders']} orders")


@snapshot_app.command("save")
def snapshot_save(name: Annotated[str, typer.Argument(help="The snapshot's name.")], site: SiteOption,
                  token: TokenOption, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Keep the site's data as it is now under NAME."""
    saved = _call(url, site, token, "POST", "snapshots", {"name": name})
    _out(saved, as_json, f"saved snapshot {saved['name']} ({saved['orders']} orders)")


@snapshot_app.command("restore")
def snapshot_restore(name: Annotated[str, typer.Argument(help="The snapshot's name.")], site: SiteOption,
                     token: TokenOption, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Make the site's data what snapshot NAME kept, byte for byte."""
    _out(_call(url, site, token, "POST", f"snapshots/{name}/restore"), as_json, f"restored snapshot {name}")


@snapshot_app.command("list")
def snapshot_list(site: SiteOption, token: TokenOption, url: UrlOption = DEFAULT_URL,
                  as_json: JsonOption = False) -> None:
    """The site's snapshots, oldest first (names on stdout)."""
    listed = _call(url, site, token, "GET", "snapshots")
    if as_json:
        print(json.dumps(listed))
        return
    for snapshot in listed["snapshots"]:
        print(snapshot["name"])
        _say(f"  {snapshot['createdOn']}  {snapshot['orders']} orders")


@snapshot_app.command("delete")
def snapshot_delete(name: Annotated[str, typer.Argument(help="The snapshot's name.")], site: SiteOption,
                    token: TokenOption, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Delete snapshot NAME."""
    _out(_call(url, site, token, "DELETE", f"snapshots/{name}"), as_json, f"deleted snapshot {name}")


@faults_app.command("add")
def faults_add(
    operation: Annotated[str, typer.Option(help='An operationId (get-order, list-orders, ...) or "*".')],
    site: SiteOption, token: TokenOption,
    status: Annotated[int | None, typer.Option(help="Answer this 4xx or 5xx status instead.")] = None,
    delay_ms: Annotated[int, typer.Option(help="Answer this many milliseconds late.")] = 0,
    drop: Annotated[bool, typer.Option("--drop", help="Close the connection without an answer.")] = False,
    times: Annotated[int | None, typer.Option(help="Only the next N requests (default: until cleared).")] = None,
    probability: Annotated[float, typer.Option(help="Each request chosen with this probability (0 to 1).")] = 1.0,
    url: UrlOption = DEFAULT_URL, as_json: JsonOption = False,
) -> None:
    """Add a fault; prints its id on stdout."""
    fault: dict[str, Any] = {"operation": operation, "delayMs": delay_ms, "drop": drop, "probability": probability}
    if status is not None:
        fault["status"] = status
    if times is not None:
        fault["times"] = times
    added = _call(url, site, token, "POST", "faults", fault)
    if as_json:
        print(json.dumps(added))
    else:
        print(added["id"])
        _say(f"added a fault on {added['operation']}")


@faults_app.command("list")
def faults_list(site: SiteOption, token: TokenOption, url: UrlOption = DEFAULT_URL,
                as_json: JsonOption = False) -> None:
    """The site's faults, oldest first (ids on stdout)."""
    listed = _call(url, site, token, "GET", "faults")
    if as_json:
        print(json.dumps(listed))
        return
    for fault in listed["faults"]:
        print(fault["id"])
        what = (f"status {fault['status']}" if fault["status"] else "drop" if fault["drop"] else "delay") + \
            (f" after {fault['delayMs']} ms" if fault["delayMs"] else "")
        left = "until cleared" if fault["remaining"] is None else f"{fault['remaining']} left"
        _say(f"  {fault['operation']}: {what}, {left}")


@faults_app.command("clear")
def faults_clear(site: SiteOption, token: TokenOption,
                 fault_id: Annotated[str | None, typer.Option("--id", help="Only this fault.")] = None,
                 url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Delete the site's faults (or one, with --id)."""
    path = "faults" if fault_id is None else f"faults/{fault_id}"
    done = "faults cleared" if fault_id is None else f"fault {fault_id} deleted"
    _out(_call(url, site, token, "DELETE", path), as_json, done)


@sandbox_app.command("dispute")
def dispute(order: Annotated[str, typer.Option(help="The orderId.")], site: SiteOption, token: TokenOption,
            outcome: Annotated[str | None, typer.Option(help="Close the dispute: won or lost.")] = None,
            url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """The customer disputes the order's payment (with --outcome, it closes); prints the new status."""
    answer = _call(url, site, token, "POST", f"orders/{order}/dispute", {} if outcome is None else {"outcome": outcome})
    print(json.dumps(answer) if as_json else answer["status"])


@sandbox_app.command("capture")
def capture(order: Annotated[str, typer.Option(help="The orderId.")], site: SiteOption, token: TokenOption,
            amount: Annotated[int | None, typer.Option(help="Minor units captured (default: what was paid).")] = None,
            url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """The processor captures a pending order's payment; prints the new status."""
    answer = _call(url, site, token, "POST", f"orders/{order}/capture", {} if amount is None else {"amount": amount})
    print(json.dumps(answer) if as_json else answer["status"])
