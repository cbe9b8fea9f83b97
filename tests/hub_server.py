"""A Hugging Face Hub on 127.0.0.1 for the tests: the part of the Hub's HTTP API that
huggingface_hub's snapshot_download uses (a repository's info at a revision, then each file's
metadata and bytes under /resolve/), serving folders made in the test. huggingface_hub talks to
it when HF_ENDPOINT names it, exactly as to huggingface.co.

    with HubServer({"org/model": {"main": folder}}) as endpoint:
        ... HF_ENDPOINT=endpoint ...

Each branch's folder gets a commit hash of its own (from its files); a request names a branch or
that commit. An unknown repository or revision is answered as the Hub answers it (404 with its
X-Error-Code), which huggingface_hub turns into its own errors.
"""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


def commit_of(folder: Path) -> str:
    """A 40-hex commit hash standing for the folder's files, as git's would."""
    digest = hashlib.sha1()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class HubServer:
    def __init__(self, repos: dict[str, dict[str, Path]]):
        # repo id -> revision (branch or commit) -> (commit, folder)
        self.revisions: dict[str, dict[str, tuple[str, Path]]] = {}
        for repo, branches in repos.items():
            found = self.revisions.setdefault(repo, {})
            for branch, folder in branches.items():
                commit = commit_of(Path(folder))
                found[branch] = found[commit] = (commit, Path(folder))
        self.requests: list[str] = []  # what was asked, "METHOD path"

    def __enter__(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (http.server's name)
                hub.answer(self, body=True)

            def do_HEAD(self):  # noqa: N802
                hub.answer(self, body=False)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        self.requests.append(f"{handler.command} {handler.path}")
        path = unquote(handler.path.split("?")[0])
        if path.startswith("/api/models/"):
            repo, _, revision = path.removeprefix("/api/models/").partition("/revision/")
            found = self.lookup(handler, repo, revision or "main")
            if found:
                commit, folder = found
                files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
                info = {"id": repo, "modelId": repo, "sha": commit, "siblings": [{"rfilename": f} for f in files]}
                self.send(handler, 200, json.dumps(info).encode(), {"Content-Type": "application/json"}, body)
            return
        parts = path.lstrip("/").split("/")
        if "resolve" not in parts:
            return self.send(handler, 404, b"not found", {}, body)
        at = parts.index("resolve")
        repo, revision, name = "/".join(parts[:at]), parts[at + 1], "/".join(parts[at + 2 :])
        found = self.lookup(handler, repo, revision)
        if not found:
            return
        commit, folder = found
        file = folder / name
        if not file.is_file():
            return self.send(handler, 404, b"entry not found", {"X-Error-Code": "EntryNotFound"}, body)
        data = file.read_bytes()
        headers = {"ETag": f'"{hashlib.sha256(data).hexdigest()}"', "X-Repo-Commit": commit}
        self.send(handler, 200, data, {"Content-Type": "application/octet-stream", **headers}, body)

    def lookup(self, handler, repo: str, revision: str) -> tuple[str, Path] | None:
        if repo not in self.revisions:
            self.send(handler, 404, b"Repository not found", {"X-Error-Code": "RepoNotFound"}, True)
            return None
        if revision not in self.revisions[repo]:
            self.send(handler, 404, b"Invalid rev id", {"X-Error-Code": "RevisionNotFound"}, True)
            return None
        return self.revisions[repo][revision]

    @staticmethod
    def send(handler, status: int, data: bytes, headers: dict, body: bool) -> None:
        handler.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(data))}.items():
            handler.send_header(key, value)
        handler.end_headers()
        if body and handler.command != "HEAD":
            handler.wfile.write(data)
