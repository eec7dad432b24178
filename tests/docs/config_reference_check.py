#!/usr/bin/python3
"""Checks a daemon's configuration reference (docs/config/<daemon>.md) against the code.

The reference documents each key as a table row whose first cell is the key path in
backticks: `section.key`, `listeners[].settings.batch_size` ([] marks an array of tables).
A key whose type cell starts with "table" is a map with free-form keys (e.g. reservations).

1. Every key the parser accepts is documented: each `reject_unknown({...})` list in the
   given sources (apps/<daemon>/, its library) must equal the documented children of one
   table (its keys and sub-tables). A list no table matches is reported with the keys
   missing from the closest table, by name, with the row to add.
2. Every documented key is accepted: every ```toml block of the reference must pass
   `<daemon> validate`, together the blocks must set every documented key, and they may set
   no undocumented one. ${CREDENTIALS_DIRECTORY}/<file> in a block is a file the check
   creates (systemd's LoadCredential= directory), so *_file secrets validate; any other
   ${VAR} the environment does not set gets a stand-in value.
3. Every documented table rejects unknown keys: a block with an extra key in that table
   must fail `validate`, naming the key.

The ```toml blocks of other pages (getting-started guides) given after the reference are
validated the same way and may set only documented keys.

Usage: config_reference_check.py <daemon-binary> <reference.md> <source dir|file.cpp|other.md>...
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

PROBE = "undocumented_probe_key"


def documented_keys(md):
    """{path: type} from the reference's table rows."""
    keys = {}
    for line in md.splitlines():
        m = re.match(r"\|\s*`([a-z_][\w.\[\]]*)`\s*\|\s*([^|]*)\|", line)
        if m:
            keys[m.group(1)] = m.group(2).strip()
    return keys


def children(keys):
    """{table path: set of child names} ("" is the root)."""
    tree = {"": set()}
    for path in keys:
        parts = path.split(".")
        for i, part in enumerate(parts):
            parent = ".".join(parts[:i])
            tree.setdefault(parent, set()).add(part.removesuffix("[]"))
            if i < len(parts) - 1:
                tree.setdefault(".".join(parts[: i + 1]), set())
    return tree


def accepted_lists(sources):
    """[(file:line, set of keys, table name hint)] of every reject_unknown({...}) call in the
    given files and directories (*.cpp below them). The hint is the nearest table("x") or
    table_array("x") before the call, what the parser calls that table."""
    files = []
    for src in sources:
        if os.path.isdir(src):
            files += sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs
                            if f.endswith(".cpp"))
        else:
            files.append(src)
    found = []
    for path in files:
        text = open(path).read()
        for m in re.finditer(r"reject_unknown\(\s*\{([^}]*)\}", text):
            line = text.count("\n", 0, m.start()) + 1
            before = re.findall(r'table(?:_array)?\("([\w]+)"', text[max(0, m.start() - 300):m.start()])
            found.append((f"{os.path.relpath(path)}:{line}", set(re.findall(r'"([^"]+)"', m.group(1))),
                          before[-1] if before else None))
    return found


def flatten(value, prefix, keys, out):
    """Key paths a parsed TOML block sets, in the reference's notation."""
    if isinstance(value, dict) and not keys.get(prefix, "").startswith("table"):
        for k, v in value.items():
            flatten(v, f"{prefix}.{k}" if prefix else k, keys, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for v in value:
            flatten(v, prefix + "[]", keys, out)
    else:
        out.add(prefix)


def validate(daemon, text, env):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "config.toml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([daemon, "validate", "--config", path], env=env,
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr


def main():
    os.umask(0o077)  # secret files we write: the daemons refuse world-readable ones
    daemon, ref = sys.argv[1], sys.argv[2]
    sources = [a for a in sys.argv[3:] if not a.endswith(".md")]
    pages = [ref] + [a for a in sys.argv[3:] if a.endswith(".md")]
    md = open(ref).read()
    keys = documented_keys(md)
    problems = []
    if not keys:
        sys.exit(f"{ref}: no key rows (| `section.key` | type | default | meaning |)")
    tree = children(keys)

    # 1. Accepted by the code -> documented.
    for where, accepted, hint in accepted_lists(sources):
        if any(accepted == names for names in tree.values()):
            continue
        table, names = max(tree.items(), key=lambda t: (len(t[1] & accepted), -len(t[1])))
        if 2 * len(names & accepted) < len(accepted):
            # No documented table is close: a section the reference lacks altogether.
            section = hint or "<section>"
            problems.append(f"{where} accepts keys no table of {ref} documents "
                            f"(the parser's table(\"{section}\")): {', '.join(sorted(accepted))}; "
                            f"add a row per key, e.g. | `{section}.{sorted(accepted)[0]}` | type "
                            f"| default | meaning | (with its full path)")
            continue
        missing = sorted(accepted - names)
        extra = sorted(names - accepted)
        label = f"[{table.replace('[]', '')}]" if table else "the top level"
        msg = f"{where} accepts keys of {label} that {ref} does not document:"
        if missing and not table:
            msg += " " + ", ".join(missing) + " (a section: add a row per key, | `" + \
                missing[0] + ".<key>` | type | default | meaning |)"
        elif missing:
            msg += " " + ", ".join(missing) + " (add a row | `" + table + "." + missing[0] + \
                "` | type | default | meaning |)"
        if extra:
            msg += f"; documented there but not accepted by this list: {', '.join(extra)}"
        problems.append(msg)

    # 2. Documented -> accepted: the examples validate and cover every key.
    blocks, origin = [], []
    for page in pages:
        found = re.findall(r"```toml\n(.*?)```", open(page).read(), re.S)
        blocks += found
        origin += [f"{os.path.relpath(page)} example {i}" for i in range(1, len(found) + 1)]
    if not re.search(r"```toml\n", md):
        problems.append(f"{ref}: no ```toml example blocks to validate the keys with")
    creds = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, creds, True)
    env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
    covered = set()
    for name_of, block in zip(origin, blocks):
        for var in re.findall(r"\$\{(\w+)\}", block):  # ${RADIUS_SECRET}: a stand-in value
            env.setdefault(var, f"doc-check-{var.lower()}-0123456789abcdef")
        for name in re.findall(r"\$\{CREDENTIALS_DIRECTORY\}/([\w.-]+)", block):
            with open(os.path.join(creds, name), "w") as f:
                f.write("doc-check-secret-0123456789abcdef\n")
        try:
            parsed = tomllib.loads(block)
        except tomllib.TOMLDecodeError as e:
            problems.append(f"{name_of} is not TOML: {e}")
            continue
        keys_set = set()
        flatten(parsed, "", keys, keys_set)
        for k in sorted(keys_set - set(keys)):
            problems.append(f"{name_of} sets `{k}`, which has no row in {ref}")
        covered |= keys_set
        rc, out = validate(daemon, block, env)
        if rc != 0:
            problems.append(f"{name_of} does not validate:\n{out}")
    for k in sorted(set(keys) - covered):
        problems.append(f"{ref}: `{k}` is documented but set by no example, so nothing checks "
                        f"that {os.path.basename(daemon)} accepts it")

    # 3. Every documented table is strict (rejects a key it does not know).
    for table in sorted(t for t in tree if t):
        if keys.get(table, "").startswith("table"):
            continue  # a free-form map
        header = table.replace("[]", "")
        for block in blocks:
            m = re.search(rf"^\[\[?{re.escape(header)}\]\]?[ \t]*(#.*)?$", block, re.M)
            if m:
                probe = block[: m.end()] + f"\n{PROBE} = 1" + block[m.end():]
                rc, out = validate(daemon, probe, env)
                if rc == 0 or PROBE not in out:
                    problems.append(f"[{header}] accepts an unknown key without an error "
                                    f"naming it (validate exit {rc}): {out.strip()[:300]}")
                break
        else:
            problems.append(f"{ref}: no example has a [{header}] header to probe")
    rc, out = validate(daemon, f"{PROBE} = 1\n" + (blocks[0] if blocks else ""), env)
    if rc == 0 or PROBE not in out:
        problems.append(f"the top level accepts an unknown key (validate exit {rc})")

    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{ref}: {len(keys)} keys documented, accepted and checked against "
          f"{len(accepted_lists(sources))} parser key lists")


if __name__ == "__main__":
    main()
