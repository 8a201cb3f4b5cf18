"""Screenshot of Neo4j Browser running one explore query (docs/images/*.png).

Drives headless Chromium over the DevTools protocol: logs in to Browser on the local server,
sets the parameters, runs the query, maximises its frame and saves a PNG. Needs the Debian
package chromium-headless-shell and the websocket-client package (not project dependencies):

    python docs/browser_screenshot.py HTTP_PORT BOLT_PORT PASSWORD OUT.png \
        ':params {dataset: "ml-100k", user: "1", k: 5}' cypher/explore/user_recommendations.cypher
"""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

HTTP, BOLT, PASSWORD, OUT = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
PARAMS, QUERY = sys.argv[5], open(sys.argv[6]).read()
proc = subprocess.Popen(["chromium-headless-shell", "--no-sandbox", "--remote-debugging-port=9333",
                         "--window-size=1500,860", "--hide-scrollbars", "--user-data-dir=" + tempfile.mkdtemp(), "about:blank"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
try:
    for _ in range(50):
        try:
            pages = json.load(urllib.request.urlopen("http://127.0.0.1:9333/json"))
            break
        except OSError:
            time.sleep(0.2)
    page = next(p for p in pages if p["type"] == "page")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"])
    n = [0]
    def call(method, **params):
        n[0] += 1
        ws.send(json.dumps({"id": n[0], "method": method, "params": params}))
        while True:
            msg = json.loads(ws.recv())
            if msg.get("id") == n[0]:
                return msg.get("result", msg.get("error"))
    def js(expr):
        r = call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        return r.get("result", {}).get("value")
    def wait_for(expr, timeout=60):
        t = time.time()
        while time.time() - t < timeout:
            if js(expr):
                return True
            time.sleep(0.5)
        raise SystemExit(f"timeout waiting for {expr}")
    call("Emulation.setDeviceMetricsOverride", width=1500, height=860, deviceScaleFactor=1, mobile=False)
    call("Page.navigate", url=f"http://127.0.0.1:{HTTP}/browser/")
    wait_for("!!document.querySelector('[data-testid=password]')")
    js("""(() => { const set = (el, v) => { const d = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value');
         d.set.call(el, v); el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); };
         set(document.querySelector('[data-testid=boltaddress]'), 'bolt://127.0.0.1:%s');
         set(document.querySelector('[data-testid=password]'), %s);
         const u = document.querySelector('[data-testid=username]'); if (u) set(u, 'neo4j');
         document.querySelector('[data-testid=connect]').click(); return true; })()""" % (BOLT, json.dumps(PASSWORD)))
    wait_for("document.body.innerText.includes('Connected to Neo4j') || document.body.innerText.includes('You are connected')", 60)
    time.sleep(1)
    def run(text):
        js("(() => { const el = document.querySelector('#monaco-main-editor textarea, .monaco-editor textarea'); el.focus(); return !!el; })()")
        call("Input.insertText", text=text)
        time.sleep(0.3)
        call("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13, modifiers=2)
        call("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13, modifiers=2)
        time.sleep(3)
    run(PARAMS)
    run(QUERY)
    time.sleep(3)
    js("""(() => { for (const el of document.querySelectorAll('div')) {
        if (el.childElementCount < 4 && el.innerText && el.innerText.startsWith('To help make Neo4j Browser better')) { el.remove(); return true; } } })()""")
    js("(() => { const b = document.querySelector('[title=\"Fullscreen\"], [aria-label=\"Fullscreen\"]'); if (b) { b.click(); return true; } return false; })()")
    time.sleep(2)
    shot = call("Page.captureScreenshot", format="png")
    open(OUT, "wb").write(base64.b64decode(shot["data"]))
    print("saved", OUT)
finally:
    os.killpg(proc.pid, signal.SIGTERM)
