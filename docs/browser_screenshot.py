"""Screenshots of the graph views of ``cypher/explore/`` in Neo4j Browser (docs/images/).

Why a script: the pictures in docs/browser.md and the README must show what a user gets from
``mllmrec explore NAME --browser``, so each one is taken by opening exactly that URL
(``mllmrec.ops.explore.browser_link``) in headless Chromium, with the project's style
(mllmrec/ops/mllmrec.grass) applied through Browser's ``:style`` command.

Needs the Debian package ``chromium`` and the ``websocket-client`` package (``pip install
-e .[docs]``); neither is needed by the project or its tests. Talks to the server of the
mllmrec configuration (``neo4j.uri``, ``neo4j.http_port``, password as ``mllmrec`` finds it)::

    python docs/browser_screenshot.py --config my.yaml --dataset ml-100k --user 1
"""
from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from mllmrec.config import Neo4jSettings, load_settings
from mllmrec.db import connect, resolve_password
from mllmrec.ops.explore import (
    browser_link,
    browser_url,
    get_query,
    run_explore,
    style_command,
)

ROOT = Path(__file__).resolve().parent
WIDTH, HEIGHT = 1400, 900
DEBUG_PORT = 9333


class Page:
    """One Chromium tab driven over the DevTools protocol."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=600)
        self.n = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expr: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        return r.get("result", {}).get("value")

    def wait_for(self, expr: str, what: str, timeout: float = 60) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if self.js(expr):
                return
            time.sleep(0.5)
        debug = Path(tempfile.gettempdir()) / "browser_screenshot-timeout.png"
        self.screenshot(debug)
        raise SystemExit(f"timed out waiting for {what} (page as it was: {debug})")

    def key(self, key: str, code: str, vk: int, modifiers: int = 0) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code,
                      windowsVirtualKeyCode=vk, modifiers=modifiers)

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first visible element matching ``selector``."""
        box = self.js(f"(() => {{ const r = Array.from(document.querySelectorAll({json.dumps(selector)}))"
                      ".map(e => e.getBoundingClientRect()).find(r => r.width > 0);"
                      "return r ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()")
        if box is None:
            raise SystemExit(f"nothing to click at {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left",
                      clickCount=1)

    def screenshot(self, out: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["data"]))


def start_chromium(profile: str) -> subprocess.Popen[bytes]:
    exe = shutil.which("chromium") or shutil.which("chromium-headless-shell")
    if not exe:
        raise SystemExit("no chromium on PATH: apt-get install -y chromium")
    return subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile}",
         f"--remote-debugging-port={DEBUG_PORT}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def open_page() -> Page:
    for _ in range(100):
        try:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{DEBUG_PORT}/json"))
            page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
            page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                      deviceScaleFactor=1, mobile=False)
            return page
        except (OSError, StopIteration):
            time.sleep(0.2)
    raise SystemExit("chromium did not open its DevTools port")


def connect_if_asked(page: Page, password: str) -> None:
    """If Browser shows its connection form (pre-filled from the URL's ``dbms``), give it the
    password and connect; then wait until Browser says it is connected."""
    page.wait_for("!!document.querySelector('[data-testid=password]') || "
                  "document.body.innerText.includes('You are connected')", "Neo4j Browser to load")
    time.sleep(2)
    if page.js("!!document.querySelector('[data-testid=password]')"):
        page.js("(() => { const el = document.querySelector('[data-testid=password]');"
                "Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, "
                + json.dumps(password) + "); el.dispatchEvent(new Event('input', {bubbles: true}));"
                "document.querySelector('[data-testid=connect]').click(); })()")
    page.wait_for("document.body.innerText.includes('You are connected')", "the connection")
    time.sleep(1)


def apply_style(page: Page, neo4j: Neo4jSettings, password: str) -> None:
    """Run ``:style`` with the project's style: opened as an ``?cmd=edit`` URL like the views
    (typing it would meet the editor's auto-closing brackets), then Run."""
    page.call("Page.navigate", url=browser_url(neo4j, style_command()))
    run_editor(page, password)
    time.sleep(3)
    if page.js("document.body.innerText.includes('InvalidGrass')"):
        raise SystemExit("Browser refused the style: " + page.js("document.body.innerText")[:500])


def run_editor(page: Page, password: str) -> None:
    """Wait for the editor and the connection (logging in if asked), press Ctrl+Enter in it."""
    page.wait_for("!!document.querySelector('#monaco-main-editor textarea')", "the editor")
    connect_if_asked(page, password)
    page.js("document.querySelector('#monaco-main-editor textarea').focus()")
    page.key("Enter", "Enter", 13, modifiers=2)


def shoot_view(page: Page, url: str, password: str, out: Path) -> None:
    """Open a ``--browser`` URL, press Run, let the layout settle, save the maximised frame."""
    page.call("Page.navigate", url=url)
    run_editor(page, password)
    page.wait_for("document.querySelectorAll('svg g.node').length > 0", "the graph view")
    time.sleep(1)
    # The first frame is the query's: maximise it; drop the usage-data banner.
    page.js("""(() => { const f = document.querySelector('[data-testid=frame]');
        const b = f.querySelector('[title="Fullscreen"], [aria-label="Fullscreen"], [title="Maximize"]');
        if (b) b.click();
        for (const el of document.querySelectorAll('div')) {
          if (el.childElementCount < 4 && el.innerText.startsWith('To help make Neo4j Browser')) el.remove(); }
    })()""")
    time.sleep(8)  # the force layout settles
    # Real clicks: fold the properties panel away, then zoom to fit the whole frame.
    page.click("[aria-label='Collapse the node properties display']")
    time.sleep(1)
    page.click("[aria-label='zoom-to-fit']")
    time.sleep(3)
    page.screenshot(out)
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="mllmrec configuration file (the server to use)")
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--user", default="1")
    ap.add_argument("--item", default="50", help="item for item_neighbourhood")
    ap.add_argument("--out", type=Path, default=ROOT / "images")
    ap.add_argument("--views", default="user_neighbourhood,item_neighbourhood,"
                    "recommendation_path,dataset_overview", help="comma-separated graph views")
    args = ap.parse_args()
    settings = load_settings(args.config, {"dataset": args.dataset})
    chosen = args.views.split(",")
    top = args.item
    if "recommendation_path" in chosen:
        with connect(settings.neo4j) as store:
            recs = run_explore(store, "user_recommendations", args.dataset,
                               {"user": args.user, "k": "1"})
        top = next(r["item"] for r in recs if r["kind"] == "recommendation")
    views = {"user_neighbourhood": {"user": args.user},
             "item_neighbourhood": {"item": args.item, "hops": "2"},
             "recommendation_path": {"user": args.user, "item": top},
             "dataset_overview": {}}
    views = {name: views[name] for name in chosen}
    profile = tempfile.mkdtemp(prefix="mllmrec-chromium-")
    proc = start_chromium(profile)
    try:
        page = open_page()
        password = resolve_password(settings.neo4j) or ""
        apply_style(page, settings.neo4j, password)
        # Show exactly the query's relationships: without this Browser adds every relationship
        # between the shown nodes (e.g. SIMILAR self-loops and edges of other builds).
        page.call("Page.navigate", url=browser_url(settings.neo4j, ":config autoComplete: false"))
        run_editor(page, password)
        time.sleep(2)
        args.out.mkdir(parents=True, exist_ok=True)
        for name, overrides in views.items():
            q = get_query(name)
            url = browser_link(q, q.params(args.dataset, overrides), settings.neo4j).url
            shoot_view(page, url, password, args.out / f"browser-{name.replace('_', '-')}.png")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
