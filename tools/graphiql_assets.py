"""GraphiQL's files, served by the server itself (graph/static/graphiql/): fetch them from npm, or check them.

    python tools/graphiql_assets.py update   # npm pack each package of files.json, copy its files and licences,
                                             # record their digests in files.json and the README's table
    python tools/graphiql_assets.py check    # offline: the files on disk match files.json and the README's table

To move to another version: change "version" in graph/static/graphiql/files.json (and the paths if the package
moved its files), run `update`, then run the tests (tests/foundation/test_graphiql_offline.py). The server never
fetches anything at run time; only this script uses the network, through npm.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "graph" / "static" / "graphiql"
MANIFEST = STATIC / "files.json"
README = STATIC / "README.md"
TABLE_START = "<!-- files: written by tools/graphiql_assets.py -->"
TABLE_END = "<!-- end of files -->"


def digests(data: bytes) -> dict[str, str]:
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "sha384": "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(),
    }


def npm_tarball(spec: str, folder: Path) -> tarfile.TarFile:
    name = subprocess.run(
        ["npm", "pack", "--silent", spec], cwd=folder, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    return tarfile.open(folder / name)


def member(tarball: tarfile.TarFile, path: str) -> bytes:
    extracted = tarball.extractfile(f"package/{path}")
    if extracted is None:
        raise SystemExit(f"{path} is not a file of {tarball.name}")
    return extracted.read()


def table(manifest: dict) -> str:
    rows = ["| served as `/graphiql/static/…` | npm package | path in the tarball | sha256 |", "|---|---|---|---|"]
    for package in manifest["packages"]:
        spec = f"{package['name']}@{package['version']}"
        for file in package["files"]:
            rows.append(f"| `{spec}/{file['path']}` | `{spec}` | `package/{file['path']}` | `{file['sha256']}` |")
    return "\n".join(rows)


def update() -> None:
    manifest = json.loads(MANIFEST.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tarballs: dict[str, tarfile.TarFile] = {}

        def tarball(spec: str) -> tarfile.TarFile:
            if spec not in tarballs:
                tarballs[spec] = npm_tarball(spec, Path(tmp))
            return tarballs[spec]

        for package in manifest["packages"]:
            spec = f"{package['name']}@{package['version']}"
            folder = STATIC / spec
            files = []
            for file in package["files"]:
                path = file if isinstance(file, str) else file["path"]
                data = member(tarball(spec), path)
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_bytes(data)
                files.append({"path": path, **digests(data)})
            package["files"] = files
            for licence in package["licences"]:
                (folder / licence["as"]).write_bytes(member(tarball(licence["from"]), licence["path"]))
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    tail = rest.split(TABLE_END, 1)[1]
    README.write_text(f"{head}{TABLE_START}\n{table(manifest)}\n{TABLE_END}{tail}")


def check() -> list[str]:
    manifest = json.loads(MANIFEST.read_text())
    problems = []
    for package in manifest["packages"]:
        spec = f"{package['name']}@{package['version']}"
        for file in package["files"]:
            path = STATIC / spec / file["path"]
            if not path.is_file() or digests(path.read_bytes()) != {k: file[k] for k in ("sha256", "sha384")}:
                problems.append(f"{spec}/{file['path']} differs from files.json")
        for licence in package["licences"]:
            if not (STATIC / spec / licence["as"]).is_file():
                problems.append(f"{spec}/{licence['as']} is missing")
    if table(manifest) not in README.read_text():
        problems.append("README.md's table differs from files.json")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    elif sys.argv[1:] == ["check"]:
        found = check()
        print("\n".join(found) or "ok")
        sys.exit(1 if found else 0)
    else:
        sys.exit(__doc__)
