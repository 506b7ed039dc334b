"""The `docker` stand-in's work (see `docker` beside this file)."""

import hashlib
import json
import os
import sys
from pathlib import Path

args = sys.argv[1:]
calls = Path(os.environ["STANDIN_CALLS"])
state = calls.with_name("docker-state.json")
known = json.loads(state.read_text()) if state.is_file() else {"built": [], "logged_in": []}
files: dict[str, str] = {}
if args[:1] == ["build"]:
    context = Path(args[-1])
    tags = [args[i + 1] for i, arg in enumerate(args) if arg in {"--tag", "-t"}]
    if not (context / "Dockerfile").is_file() or not tags:
        sys.exit("docker stand-in: build needs a tag and a context holding a Dockerfile")
    models = sorted((context / "models").glob("[!.]*"))  # .dockerignore keeps .gitignore out
    files = {str(p.relative_to(context)): hashlib.md5(p.read_bytes()).hexdigest() for p in models}
    known["built"] += tags
elif args[:1] == ["login"]:
    if "--password-stdin" not in args or not sys.stdin.read().strip():
        sys.exit("docker stand-in: login needs a password on stdin")
    known["logged_in"].append(args[1])
elif args[:1] == ["push"]:
    if args[1] not in known["built"] or args[1].split("/")[0] not in known["logged_in"]:
        sys.exit(f"docker stand-in: push {args[1]}: not built or not logged in to its registry")
else:
    sys.exit(f"docker stand-in: unsupported call: docker {' '.join(args)}")
state.write_text(json.dumps(known))
with calls.open("a") as handle:
    handle.write(json.dumps({"tool": "docker", "args": args, "files": files}) + "\n")
