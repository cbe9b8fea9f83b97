"""A real headless browser for the tests: Chromium's headless shell (Debian's
chromium-headless-shell, which `make test` installs where it can), driven over the DevTools
protocol on a pipe (--remote-debugging-pipe: JSON messages ending in NUL on file descriptors 3
and 4), so no WebSocket library is needed.

    with Browser() as browser:
        page = browser.open("file:///.../report.html")
        browser.wait_for(page, "document.body.innerText.includes('Results')")
        text = browser.evaluate(page, "document.body.innerText")
        browser.click(page, "Tables")                      # the element whose whole text it is
        inner = browser.evaluate_in_frame(page, "document.title")   # its first iframe's document
"""

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

NAMES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    """The first Chromium on the PATH (or where Debian puts the headless shell)."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    debian = "/usr/lib/chromium-headless-shell/chromium-headless-shell"
    return debian if os.access(debian, os.X_OK) else None


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str | None = None, timeout: float = 60.0):
        self.executable = executable or find_browser()
        if not self.executable:
            raise BrowserError(f"no Chromium on the PATH (looked for {', '.join(NAMES)})")
        self.timeout = timeout
        self.next_id = 0
        self.buffer = b""

    def __enter__(self) -> "Browser":
        # Chromium reads commands from its fd 3 and writes answers to its fd 4.
        commands_read, self.commands = os.pipe()
        self.answers, answers_write = os.pipe()
        argv = [
            self.executable,
            "--headless",
            "--no-sandbox",  # the tests run as root in a container
            "--disable-gpu",
            "--remote-debugging-pipe",
            "--allow-file-access-from-files",
            "about:blank",
        ]

        def wire() -> None:  # in the child, before exec: its fds 3 and 4 are the pipes' ends
            os.dup2(commands_read, 3)
            os.dup2(answers_write, 4)

        self.stderr = tempfile.TemporaryFile()  # a file, not a pipe: a chatty browser never blocks on it
        self.process = subprocess.Popen(
            argv,
            pass_fds=(3, 4),  # kept open in the child, where wire() made them the pipes' ends
            preexec_fn=wire,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )
        os.close(commands_read)
        os.close(answers_write)
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(BrowserError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.commands)
        os.close(self.answers)
        self.stderr.close()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """One DevTools command; its result (events in between are skipped)."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self.read(deadline, method)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})

    def read(self, deadline: float, method: str) -> dict:
        """The next message, waiting no later than the deadline."""
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.answers], [], [], left)[0]:
                raise BrowserError(f"{method}: no answer in {self.timeout:.0f} s")
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                self.stderr.seek(0)
                stderr = self.stderr.read().decode(errors="replace").strip().splitlines()
                raise BrowserError(f"{self.executable} ended: {stderr[-1] if stderr else 'no message'}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def open(self, url: str) -> str:
        """A new page at the URL; its session."""
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        return self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def evaluate(self, session: str, expression: str):
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:60]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, session: str, condition: str, seconds: float = 30.0):
        """Until the page's JavaScript condition is true (the page renders as it loads)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.evaluate(session, condition)
            if value:
                return value
            time.sleep(0.2)
        raise BrowserError(f"not true after {seconds:.0f} s: {condition}")

    def click(self, session: str, text: str) -> None:
        """Click the innermost element whose whole text is `text`, as a user would."""
        found = self.evaluate(
            session,
            "(text => { const hit = Array.from(document.querySelectorAll('*'))"
            ".filter(e => e.textContent.trim() === text).pop(); if (hit) hit.click(); return !!hit; })"
            f"({json.dumps(text)})",
        )
        if not found:
            raise BrowserError(f"nothing on the page reads {text!r}")

    def evaluate_in_frame(self, session: str, expression: str):
        """An expression in the page's first iframe (a data: URL's document, which the page's own
        scripts may not read), in a world of its own."""
        frames = self.send("Page.getFrameTree", session=session)["frameTree"].get("childFrames", [])
        if not frames:
            raise BrowserError("the page has no iframe")
        world = self.send("Page.createIsolatedWorld", {"frameId": frames[0]["frame"]["id"]}, session)
        found = self.send(
            "Runtime.evaluate",
            {"expression": expression, "contextId": world["executionContextId"], "returnByValue": True},
            session,
        )
        return found["result"].get("value")
