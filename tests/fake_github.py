"""A stateful fake of GitHub on 127.0.0.1, for tests that assert what GitHub holds afterwards.

It serves, over HTTPS with a throw-away CA (trustme):

- the REST API under `/api/v3`, the layout of GitHub Enterprise Server, which the
  real `gh` uses for any host but github.com (`GH_HOST`) and CML for an origin
  that is not on github.com: the repository (its default branch), users, issue
  comments of pull requests (list with pagination, create, update), pull requests
  (list filtered by state, `owner:branch` head and base; create with GitHub's
  validation errors; get; update; merge);
- the repository itself over git's smart HTTP (`git http-backend`), so pushes
  land in a bare repository that the pull requests read their branches from.

Every request must carry a token the fake handed out (`token X` or `Bearer X` for
the API, Basic auth with the token as password for git): the repository is
private. Requests are recorded; state is plain attributes, for assertions.
The GraphQL endpoint is not modelled: it answers 404 (recorded), so a tool that
needs it fails loudly instead of passing by accident.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True)
class User:
    login: str
    type: str = "User"  # "Bot" for apps such as github-actions[bot]


BOT = User("github-actions[bot]", "Bot")  # GITHUB_TOKEN's identity
HUMAN = User("octocat")


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    user: User


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    user: User
    state: str = "open"
    merged: bool = False


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: dict[str, str]
    login: str | None
    status: int
    body: Any = None
    git: bool = False  # git traffic (smart HTTP), not the API


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.payload = status, {"message": message, **extra}


@dataclass
class FakeGitHub:
    root: Path
    repository: str = "example-org/example-repo"
    default_branch: str = "main"
    tokens: dict[str, User] = field(default_factory=dict)
    pulls: list[Pull] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = iter(range(1001, 10**9))
        self._numbers = iter(range(1, 10**9))
        self.git_root = self.root / "git"
        self.bare = self.git_root / f"{self.repository}.git"
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "--bare", "-b", self.default_branch, str(self.bare), cwd=self.root)
        ca = trustme.CA()
        self.ca_file = self.root / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(self._context)

    # ------------------------------------------------------------ for the tests

    def token(self, user: User = BOT) -> str:
        """A new token that authenticates as `user`."""
        token = f"ghs_{secrets.token_hex(16)}"
        self.tokens[token] = user
        return token

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def clone_url(self) -> str:
        return f"https://{self.host}/{self.repository}.git"

    def client_env(self) -> dict[str, str]:
        """What `gh`, git and Python clients need to reach and trust this fake."""
        return {
            "GH_HOST": self.host,
            "SSL_CERT_FILE": str(self.ca_file),
            "GIT_SSL_CAINFO": str(self.ca_file),
            "GH_PROMPT_DISABLED": "1",
            "GH_NO_UPDATE_NOTIFIER": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }

    def branches(self) -> dict[str, str]:
        listed = self._git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
        return dict(line.split(" ") for line in listed.splitlines())

    def git(self, *args: str) -> str:
        """A git command in the bare repository (e.g. to read a branch's commits)."""
        return self._git(*args)

    def open_pulls(self) -> list[Pull]:
        return [pull for pull in self.pulls if pull.state == "open"]

    def comments_on(self, number: int) -> list[Comment]:
        return [comment for comment in self.comments if comment.issue == number]

    def writes(self) -> list[Request]:
        """API requests that could change state (git traffic excluded)."""
        return [r for r in self.requests if r.method != "GET" and not r.git]

    def open_pull(self, head: str, base: str | None = None, user: User = HUMAN) -> Pull:
        """A person opens a pull request on github.com."""
        with self._lock:
            return self._create_pull(
                {"head": head, "base": base or self.default_branch, "title": head}, user
            )

    def comment(self, number: int, body: str, user: User = HUMAN) -> Comment:
        """A person comments on pull request `number`."""
        with self._lock:
            return self._add_comment(number, body, user)

    def merge(self, number: int) -> None:
        """A maintainer merges the pull request (a merge commit; the head branch stays)."""
        with self._lock:
            self._merge(self._pull(number))

    def close(self, number: int) -> None:
        with self._lock:
            self._pull(number).state = "closed"

    @contextmanager
    def serving(self) -> Iterator[FakeGitHub]:
        fake = self

        class Handler(_Handler):
            github = fake

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                # TLS in the request's own thread: a stalled client holds up no other.
                request.settimeout(60)
                try:
                    request = fake._context.wrap_socket(request, server_side=True)
                except (OSError, ssl.SSLError):
                    return
                super().finish_request(request, client_address)

        server = Server(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)

    # ------------------------------------------------------------ model

    def _git(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", *args], cwd=cwd or self.bare, capture_output=True, text=True, env=env
        )
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def _sha(self, branch: str) -> str | None:
        return self.branches().get(branch)

    def _pull(self, number: int) -> Pull:
        for pull in self.pulls:
            if pull.number == number:
                return pull
        raise ApiError(404, "Not Found")

    def _owner(self) -> str:
        return self.repository.split("/")[0]

    def _user_json(self, user: User) -> dict[str, Any]:
        return {"login": user.login, "type": user.type, "id": abs(hash(user.login)) % 10**8}

    def _url(self, path: str) -> str:
        return f"https://{self.host}/{self.repository}/{path}"

    def _pull_json(self, pull: Pull) -> dict[str, Any]:
        def ref(branch: str) -> dict[str, Any]:
            return {
                "ref": branch,
                "label": f"{self._owner()}:{branch}",
                "sha": self._sha(branch),
                "repo": {"full_name": self.repository},
            }

        return {
            "number": pull.number,
            "state": pull.state,
            "merged": pull.merged,
            "title": pull.title,
            "body": pull.body,
            "user": self._user_json(pull.user),
            "head": ref(pull.head),
            "base": ref(pull.base),
            "html_url": self._url(f"pull/{pull.number}"),
        }

    def _comment_json(self, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "body": comment.body,
            "user": self._user_json(comment.user),
            "html_url": self._url(f"pull/{comment.issue}#issuecomment-{comment.id}"),
        }

    def _add_comment(self, number: int, body: str, user: User) -> Comment:
        self._pull(number)  # comments need an existing pull request
        comment = Comment(next(self._ids), number, body, user)
        self.comments.append(comment)
        return comment

    def _create_pull(self, data: dict[str, Any], user: User) -> Pull:
        head = str(data.get("head", "")).removeprefix(f"{self._owner()}:")
        base = str(data.get("base", ""))
        for name, branch in (("head", head), ("base", base)):
            if self._sha(branch) is None:
                raise ApiError(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "PullRequest", "field": name, "code": "invalid"}],
                )
        if any(p.head == head and p.base == base for p in self.open_pulls()):
            raise _invalid(f"A pull request already exists for {self._owner()}:{head}.")
        if not self._git("rev-list", f"{base}..{head}"):
            raise _invalid(f"No commits between {base} and {head}")
        pull = Pull(
            next(self._numbers),
            head,
            base,
            str(data.get("title", "")),
            str(data.get("body") or ""),
            user,
        )
        self.pulls.append(pull)
        return pull

    def _merge(self, pull: Pull) -> None:
        if pull.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        done = subprocess.run(
            ["git", "merge-tree", "--write-tree", pull.base, pull.head],
            cwd=self.bare,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ApiError(405, "Pull Request is not mergeable")
        identity = {"GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com"}
        identity |= {"GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
        message = f"Merge pull request #{pull.number} from {self._owner()}:{pull.head}"
        commit = self._git(
            "commit-tree", done.stdout.split()[0], "-p", pull.base, "-p", pull.head,
            "-m", message, env={**os.environ, **identity},
        )  # fmt: skip
        self._git("update-ref", f"refs/heads/{pull.base}", commit)
        pull.state, pull.merged = "closed", True

    def api(
        self, method: str, path: str, query: dict[str, str], data: Any, user: User
    ) -> tuple[int, Any]:
        """One REST call: (status, payload). Raises ApiError for GitHub's errors."""
        repo = f"/repos/{re.escape(self.repository)}"
        routes = [
            ("GET", rf"{repo}", self._get_repository),
            ("GET", r"/user", self._get_user),
            ("GET", r"/users/(?P<login>[^/]+)", self._get_user),
            ("GET", rf"{repo}/issues/(?P<number>\d+)/comments", self._list_comments),
            ("POST", rf"{repo}/issues/(?P<number>\d+)/comments", self._post_comment),
            ("PATCH", rf"{repo}/issues/comments/(?P<id>\d+)", self._patch_comment),
            ("GET", rf"{repo}/pulls", self._list_pulls),
            ("POST", rf"{repo}/pulls", self._post_pull),
            ("GET", rf"{repo}/pulls/(?P<number>\d+)", self._get_pull),
            ("PATCH", rf"{repo}/pulls/(?P<number>\d+)", self._patch_pull),
            ("PUT", rf"{repo}/pulls/(?P<number>\d+)/merge", self._put_merge),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                body = data if isinstance(data, dict) else {}
                return handler(user=user, query=query, data=body, **match.groupdict())
        raise ApiError(404, "Not Found")

    def _get_repository(self, **_: Any) -> tuple[int, Any]:
        return 200, {
            "full_name": self.repository,
            "name": self.repository.split("/")[1],
            "owner": {"login": self._owner(), "type": "Organization"},
            "private": True,
            "default_branch": self.default_branch,
        }

    def _get_user(self, user: User, login: str | None = None, **_: Any) -> tuple[int, Any]:
        return 200, self._user_json(User(login) if login else user)

    def _list_comments(self, number: str, **_: Any) -> tuple[int, Any]:
        self._pull(int(number))
        return 200, [self._comment_json(c) for c in self.comments_on(int(number))]

    def _post_comment(self, number: str, data: dict, user: User, **_: Any) -> tuple[int, Any]:
        return 201, self._comment_json(self._add_comment(int(number), _text(data, "body"), user))

    def _patch_comment(self, id: str, data: dict, **_: Any) -> tuple[int, Any]:
        comment = next((c for c in self.comments if c.id == int(id)), None)
        if comment is None:
            raise ApiError(404, "Not Found")
        comment.body = _text(data, "body")
        return 200, self._comment_json(comment)

    def _list_pulls(self, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        state = query.get("state", "open")
        pulls = [p for p in self.pulls if state == "all" or p.state == state]
        owner, _, branch = query.get("head", "").partition(":")
        if branch:  # only the documented `owner:branch` form filters
            pulls = [p for p in pulls if owner == self._owner() and p.head == branch]
        if "base" in query:
            pulls = [p for p in pulls if p.base == query["base"]]
        return 200, [self._pull_json(p) for p in reversed(pulls)]  # newest first

    def _post_pull(self, data: dict, user: User, **_: Any) -> tuple[int, Any]:
        return 201, self._pull_json(self._create_pull(data, user))

    def _get_pull(self, number: str, **_: Any) -> tuple[int, Any]:
        return 200, self._pull_json(self._pull(int(number)))

    def _patch_pull(self, number: str, data: dict, **_: Any) -> tuple[int, Any]:
        pull = self._pull(int(number))
        for key in ("title", "body", "state"):
            if key in data:
                setattr(pull, key, _text(data, key))
        return 200, self._pull_json(pull)

    def _put_merge(self, number: str, **_: Any) -> tuple[int, Any]:
        self._merge(self._pull(int(number)))
        return 200, {"merged": True, "message": "Pull Request successfully merged"}


def _invalid(message: str) -> ApiError:
    """GitHub's 422 for a pull request it will not open, with its reason."""
    error = {"resource": "PullRequest", "code": "custom", "message": message}
    return ApiError(422, "Validation Failed", errors=[error])


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ApiError(
            422,
            "Validation Failed",
            errors=[{"resource": "Issue", "field": key, "code": "missing_field"}],
        )
    return value


PER_PAGE, MAX_PER_PAGE = 30, 100


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _user(self) -> User | None:
        kind, _, credential = (self.headers.get("Authorization") or "").partition(" ")
        if kind.lower() == "basic":
            credential = base64.b64decode(credential).decode().partition(":")[2]
        elif kind.lower() not in ("token", "bearer"):
            return None
        return self.github.tokens.get(credential.strip())

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        github = self.github
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        raw = self._body()
        user = self._user()
        git = re.fullmatch(
            rf"/{re.escape(github.repository)}(?:\.git)?(/(?:info/refs|git-upload-pack|git-receive-pack))",
            url.path,
        )
        if user is None:
            given = self.headers.get("Authorization")
            message = "Bad credentials" if given else "Requires authentication"
            headers = {"Content-Type": "application/json"}
            if git:  # so that git says it needs credentials
                headers["WWW-Authenticate"] = 'Basic realm="GitHub"'
            with github._lock:
                github.requests.append(
                    Request(self.command, url.path, query, None, 401, git=bool(git))
                )
            self._send(401, json.dumps({"message": message}).encode(), headers)
            return
        if git:
            status, headers, body = self._git_backend(git.group(1), url.query, raw, user)
            with github._lock:
                github.requests.append(
                    Request(self.command, url.path, query, user.login, status, git=True)
                )
            self._send(status, body, headers)
            return
        data = json.loads(raw) if raw.strip() else None
        path = url.path.removeprefix("/api/v3")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        with github._lock:
            try:
                if not url.path.startswith("/api/v3/"):
                    raise ApiError(404, "Not Found")
                status, payload = github.api(self.command, path, query, data, user)
            except ApiError as error:
                status, payload = error.status, error.payload
            if isinstance(payload, list):
                payload, link = _page(payload, query, f"https://{github.host}{url.path}")
                headers |= {"Link": link} if link else {}
            github.requests.append(Request(self.command, path, query, user.login, status, data))
        self._send(status, json.dumps(payload).encode(), headers)

    def _git_backend(
        self, path: str, query: str, body: bytes, user: User
    ) -> tuple[int, dict[str, str], bytes]:
        github = self.github
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(github.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{github.repository}.git{path}",
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user.login,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, content = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, content = done.stdout.partition(b"\n\n")
        headers, status = {}, 200
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value.strip()
        return status, headers, content


def _page(items: list[Any], query: dict[str, str], url: str) -> tuple[list[Any], str]:
    """GitHub's pagination: `per_page` (30, at most 100), `page`, and a Link header."""
    per_page = min(int(query.get("per_page", PER_PAGE)), MAX_PER_PAGE)
    page = int(query.get("page", 1))
    last = max(1, -(-len(items) // per_page))
    links = []
    if page < last:
        for rel, number in (("next", page + 1), ("last", last)):
            link = urllib.parse.urlencode({**query, "per_page": per_page, "page": number})
            links.append(f'<{url}?{link}>; rel="{rel}"')
    return items[(page - 1) * per_page : page * per_page], ", ".join(links)
