#!/usr/bin/python3
"""Every relative link in docs/ (and the README's links into docs/) names a file or
directory that exists, so pages do not point at moved files. Usage: links_check.py <repo>"""
import glob
import os
import re
import sys

root = sys.argv[1]
pages = glob.glob(os.path.join(root, "docs", "**", "*.md"), recursive=True)
pages.append(os.path.join(root, "README.md"))
broken = []
for page in pages:
    text = re.sub(r"```.*?```", "", open(page).read(), flags=re.S)  # not in code blocks
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # URLs and anchors
        path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
        if not os.path.exists(path):
            broken.append(f"{os.path.relpath(page, root)}: ({target}) does not exist")
if broken:
    print("\n".join(broken))
    sys.exit(1)
print(f"{len(pages)} pages, every relative link resolves")
